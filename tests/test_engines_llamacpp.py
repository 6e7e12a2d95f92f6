"""llama.cpp: the real llama-server in a locally built image, followed through the console's scanner,
its /metrics read with the console's name map, a chat through --jinja; its plan, arithmetic written out."""

from __future__ import annotations

import time

import pytest

from console import engines
from console.engines.events import Capacity, Failure, Phase, PhaseReached, phase_of
from console.engines.llamacpp.plan import gguf_bytes, kv_bytes, plan
from console.engines.plan import DOES_NOT_FIT, FITS, FITS_SHORTER
from console.planner.catalog import GiB, MODELS, MiB

LLAMA = engines.get("llamacpp")
KEY = "sk-llama-test-0123456789abcdef"


# -- the plan --------------------------------------------------------------------------------

def test_gguf_weights_match_the_published_files():
    """Experts MXFP4 (17 B per 32 values), the rest Q8_0 (34 B per 32): 12.07 GB for 20b, whose
    published gpt-oss-20b-mxfp4.gguf is 12.1 GB; 63.2 GB for 120b (published: three shards, ~63 GB)."""
    m20, m120 = MODELS["gpt-oss-20b"], MODELS["gpt-oss-120b"]
    assert gguf_bytes(m20) == int(m20.expert_params * 17 / 32 + m20.dense_params * 34 / 32)
    assert round(gguf_bytes(m20) / 1e9, 2) == 12.07
    assert round(gguf_bytes(m120) / 1e9, 1) == 63.2


def test_kv_cache_with_the_sliding_window_cache():
    """20b at -c 131072, 4 slots: 12 full layers × 131,072 cells × 2 KiB = 3 GiB, plus 12 sliding
    layers × pad256(min(131072, 128 × 4 + 512)) = 1,024 cells × 2 KiB = 24 MiB."""
    m = MODELS["gpt-oss-20b"]
    assert kv_bytes(m, 131072, 4) == 12 * 131072 * 2048 + 12 * 1024 * 2048 == 3 * GiB + 24 * MiB
    assert kv_bytes(m, 600, 4) == 12 * 600 * 2048 + 12 * 768 * 2048  # window cache capped at -c, padded


def test_20b_on_a_24_gb_card_and_120b_where_it_does_not_fit():
    p = plan("gpt-oss-20b", "RTX-4090-24GB")
    # 11.24 GiB weights + 3.02 GiB KV + 0.38 GiB logits buffer = 14.65 GiB of the card's ~23 GiB
    assert p.verdict == FITS and round((p.weights_bytes + p.kv_bytes + p.overhead_bytes) / GiB, 2) == 14.65
    assert p.overhead_bytes == 512 * 201088 * 4
    no = plan("gpt-oss-120b", "RTX-4090-24GB")
    assert no.verdict == DOES_NOT_FIT and "--n-cpu-moe" in no.fixes[0]
    two = plan("gpt-oss-120b", "A100-40GB", 2)
    assert two.verdict == FITS and two.weights_bytes == -(-gguf_bytes(MODELS["gpt-oss-120b"]) // 2)


def test_a_context_that_does_not_fit_gets_the_largest_that_does():
    """20b on a 14 GiB card: the card less its driver reserve and CUDA context (the planner's
    estimate for an unmeasured card) − 11.24 GiB weights − 0.38 GiB logits − 12 SWA layers ×
    1,024 cells × 2 KiB leaves room for ⌊room / (12 × 2 KiB)⌋ cells, rounded down to 256."""
    from console.planner.catalog import gpu_from_nvml
    from console.planner.memory import card_overhead

    m = MODELS["gpt-oss-20b"]
    card = gpu_from_nvml("NVIDIA Test 14GB", 14 * GiB, (8, 9))
    p = plan(m, card)
    usable = 14 * GiB - card_overhead(card).total
    room = usable - gguf_bytes(m) - 512 * 201088 * 4 - 12 * 1024 * 2048
    expected = room // (12 * 2048)
    expected -= expected % 256
    assert p.verdict == FITS_SHORTER and p.max_context == expected and 50_000 < expected < 131_072
    assert p.fix_settings == {"max_model_len": expected} and p.fixes[0].startswith(f"-c {expected}")
    assert plan(m, card, ctx_size=expected).verdict == FITS


# -- the real llama-server -------------------------------------------------------------------

def _values(port: int = 8080, **more):
    return {"model": "/models/smollm2.gguf", "served_model_name": "smollm2", "max_model_len": 2048, "port": port,
            "enable_metrics": True, "tool_call_parser": "gpt-oss", "reasoning_parser": "gpt-oss",
            "max_running_requests": 2, "threads": 2, "log_verbosity": 4, **more}


def _follow(container, scanner, until, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    events: list = []
    seen = 0
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = container.logs().decode(errors="replace").splitlines()
        events += scanner.feed(lines[seen:])
        seen = len(lines)
        if until(events):
            return events, lines
        container.reload()
        if container.status in ("exited", "dead"):
            lines = container.logs().decode(errors="replace").splitlines()
            return events + scanner.feed(lines[seen:]), lines
        time.sleep(0.2)
    raise AssertionError("timed out; log so far:\n" + "\n".join(lines[-60:]))


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "api-key"
    path.write_text(KEY + "\n")
    path.chmod(0o644)  # read by the container's user; the test's own temporary folder
    return path


def test_real_llama_server_ready_metrics_and_jinja_chat(llamacpp_image, containers, key_file):
    import httpx

    from console.server.metrics import parse
    from tests.fixtures.docker_engine import free_port

    port = free_port()
    argv = LLAMA.argv(_values()) + LLAMA.key_file_argv("/run/secrets/api-key")
    assert "--jinja" in argv and argv[argv.index("-ngl") + 1] == "99"
    assert KEY not in " ".join(argv)  # the key travels as a file, not argv
    c = containers.run(llamacpp_image, argv[1:], ports={"8080/tcp": ("127.0.0.1", port)},
                       volumes={str(key_file): {"bind": "/run/secrets/api-key", "mode": "ro"}})
    events, lines = _follow(c, LLAMA.scanner(), lambda evs: any(phase_of(e) is Phase.READY for e in evs))
    reached = [phase_of(e) for e in events if phase_of(e) is not None]
    assert max(reached) is Phase.READY, "\n".join(lines[-40:])  # "listening on" follows "model loaded"
    assert [p for p in (Phase.LOADING_WEIGHTS, Phase.WEIGHTS_LOADED, Phase.KV_POOL, Phase.CAPACITY_KNOWN)
            if p not in reached] == []
    cap = [e for e in events if isinstance(e, Capacity)]
    assert any(e.weights_gib for e in cap) and any(e.kv_memory_gib for e in cap)
    slots = next(e for e in cap if e.slots is not None)
    assert slots.slots == 2 and slots.kv_tokens == 2048
    assert not [e for e in events if isinstance(e, Failure)]
    assert "model_load_failed" not in {d.code for d in LLAMA.scanner().diagnoses(lines)}

    base = f"http://127.0.0.1:{port}"
    assert httpx.get(base + LLAMA.probes.health, timeout=5).status_code == 200
    assert httpx.get(base + LLAMA.probes.models, timeout=5).status_code == 401
    assert httpx.get(base + LLAMA.probes.metrics, timeout=5).status_code == 401 and LLAMA.probes.metrics_need_key
    auth = {"Authorization": f"Bearer {KEY}"}
    models = httpx.get(base + LLAMA.probes.models, headers=auth, timeout=5).json()
    assert "smollm2" in [m["id"] for m in models["data"]]
    reply = httpx.post(base + "/v1/chat/completions", headers=auth, timeout=120, json={
        "model": "smollm2", "max_tokens": 8, "temperature": 0,
        "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Say hi."}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["choices"][0]["message"]["role"] == "assistant" and body["usage"]["completion_tokens"] >= 1
    # `tools` are only accepted through the Jinja template path ("tools param requires --jinja flag")
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                               "parameters": {"type": "object", "properties": {
                                                   "city": {"type": "string"}}, "required": ["city"]}}}]
    with_tools = httpx.post(base + "/v1/chat/completions", headers=auth, timeout=120, json={
        "model": "smollm2", "max_tokens": 24, "temperature": 0, "tools": tools,
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}]})
    assert with_tools.status_code == 200, with_tools.text
    assert with_tools.json()["choices"][0]["finish_reason"] in ("stop", "tool_calls", "length")
    props = httpx.get(base + "/props", headers=auth, timeout=5).json()
    assert "<|im_start|>" in props["chat_template"]
    snap = parse(httpx.get(base + LLAMA.probes.metrics, headers=auth, timeout=5).text, names=LLAMA.metric_names)
    assert snap.counters["prompt_tokens"] >= 1 and snap.counters["generation_tokens"] >= 1
    assert snap.gauges["running"] == 0 and "gen_throughput" in snap.gauges
    c.stop(timeout=10)
    assert c.wait(timeout=30)["StatusCode"] == 0


def test_real_llama_server_missing_model_is_diagnosed(llamacpp_image, containers):
    argv = LLAMA.argv(_values(model="/models/absent.gguf"))
    c = containers.run(llamacpp_image, argv[1:])
    assert c.wait(timeout=60)["StatusCode"] != 0
    lines = c.logs().decode(errors="replace").splitlines()
    codes = [d.code for d in LLAMA.scanner().diagnoses(lines)]
    assert codes and codes[0] == "model_load_failed", "\n".join(lines[-30:])


def test_real_llama_server_flags_match_the_fixture():
    """The fixture was taken from this binary's --help: same flags today (regenerate when the pin moves)."""
    import json
    import subprocess
    from pathlib import Path

    from tests.conftest import need
    from tests.docker.images import LLAMA_SERVER

    need(LLAMA_SERVER.exists(), f"the llama-server binary at {LLAMA_SERVER} (run tests/peers/setup_llama_server.sh)")
    fixture = json.loads((Path(__file__).parent / "data" / "engines" / "llamacpp-flags.json").read_text())
    help_text = subprocess.run([str(LLAMA_SERVER), "--help"], capture_output=True, text=True, timeout=60).stdout
    for flag in ("--jinja", "-ngl", "--reasoning-format", "--metrics", "--api-key-file", "-hf", "-c", "--alias"):
        assert flag in fixture["flags"] and flag in help_text
    assert fixture["version"] == LLAMA.version


def test_scanner_reads_a_server_that_fails_to_bind():
    events = LLAMA.scanner().feed([
        "srv          start: couldn't bind HTTP server socket, hostname: 0.0.0.0, port: 8080",
        "srv           main: exiting due to HTTP server error",
    ])
    assert [e.diagnosis.code for e in events if isinstance(e, Failure)] == ["port_in_use", "http_failed"]
    assert not [e for e in events if isinstance(e, PhaseReached)]


# -- real logs of this binary (tests/data/logs/llamacpp_*.log, captured from it) ----------------

LOGS = __import__("pathlib").Path(__file__).parent / "data" / "logs"


def test_default_verbosity_log():
    events = LLAMA.scanner().feed((LOGS / "llamacpp_default.log").read_text().splitlines())
    assert [phase_of(e) for e in events if phase_of(e)] == [
        Phase.STARTING, Phase.LOADING_WEIGHTS, Phase.CAPACITY_KNOWN, Phase.READY, Phase.HTTP_UP]
    cap = next(e for e in events if isinstance(e, Capacity))
    # -c 2048 over --parallel 2 without a unified cache: two slots of 1,024 cells each
    assert (cap.slots, cap.context_len, cap.kv_tokens, cap.max_concurrency) == (2, 1024, 2048, 2.0)
    assert events[0].time == "0.00.008.372"
    from console.engines.events import Serving

    stats = [e for e in events if isinstance(e, Serving)]
    assert len(stats) == 1 and stats[0].gen_throughput == 5.69


def test_verbose_log_has_the_memory_lines():
    events = LLAMA.scanner().feed((LOGS / "llamacpp_verbose.log").read_text().splitlines())
    caps = [e for e in events if isinstance(e, Capacity)]
    assert caps[0].weights_gib == round(92.10 / 1024, 3) and caps[1].kv_memory_gib == round(45.0 / 1024, 4)
    assert Phase.WEIGHTS_LOADED in [phase_of(e) for e in events] and Phase.KV_POOL in [phase_of(e) for e in events]


def test_missing_model_log():
    lines = (LOGS / "llamacpp_fail_missing_model.log").read_text().splitlines()
    assert [d.code for d in LLAMA.scanner().diagnoses(lines)] == ["model_load_failed"]
