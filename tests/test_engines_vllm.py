"""vLLM: its log lines through the scanner, its plan with the arithmetic written out, its metrics,
and the stand-in image (vLLM's lines, routes and metric names) on the real Docker Engine."""

from __future__ import annotations

import time

import pytest

from console import engines
from console.engines.events import Capacity, Failure, Phase, PhaseReached, Serving, phase_of
from console.engines.plan import DOES_NOT_FIT, FITS, FITS_SHORTER
from console.engines.vllm.plan import CALIBRATED_OVERHEAD, plan
from console.planner.catalog import GiB, MiB

VLLM = engines.get("vllm")

# Lines as vLLM 0.34.0 formats them (vllm/logger.py) and as 0.10 printed them (no process part).
START = """\
(APIServer pid=1) INFO 08-12 10:23:41 [utils.py:233] non-default args: {'model_tag': 'openai/gpt-oss-120b', 'api_key': '***'}
(APIServer pid=1) INFO 08-12 10:23:41 [startup.py:22] vLLM server version 0.34.0, serving model openai/gpt-oss-120b
(EngineCore_DP0 pid=150) INFO 08-12 10:23:50 [gpu_model_runner.py:412] Loading model from scratch...
Loading safetensors checkpoint shards:  33% Completed | 5/15 [00:05<00:10,  1.01s/it]
(EngineCore_DP0 pid=150) INFO 08-12 10:24:30 [gpu_model_runner.py:442] Model loading took 64.38 GiB memory and 39.500000 seconds
(EngineCore_DP0 pid=150) INFO 08-12 10:24:41 [gpu_worker.py:796] Available KV cache memory: 5.78 GiB
(EngineCore_DP0 pid=150) INFO 08-12 10:24:41 [kv_cache_utils.py:1169] GPU KV cache size: 149,429 tokens, Maximum concurrency for 131,072 tokens per request: 1.14x
Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:05<00:00, 12.5it/s]
(EngineCore_DP0 pid=150) INFO 08-12 10:24:50 [gpu_model_runner.py:1217] Graph capturing finished in 7 secs, took 0.85 GiB
(APIServer pid=1) INFO 08-12 10:24:55 [api_server.py:139] Starting vLLM server on http://0.0.0.0:8000
(APIServer pid=1) INFO:     Application startup complete.
(APIServer pid=1) INFO 08-12 10:25:05 [loggers.py:271] Engine 000: Avg prompt throughput: 12.5 tokens/s, Avg generation throughput: 210.4 tokens/s, Running: 3 reqs, Waiting: 1 reqs, GPU KV cache usage: 4.2%, Prefix cache hit rate: 50.0%
""".splitlines()

OLD_FORMAT = """\
INFO 08-06 03:11:02 [gpu_model_runner.py:1892] Starting to load model openai/gpt-oss-120b...
INFO 08-06 03:12:10 [gpu_model_runner.py:1920] Model loading took 65.9651 GiB and 60.12 seconds
INFO 08-06 03:12:20 [gpu_worker.py:276] Available KV cache memory: -2.14 GiB
ERROR 08-06 03:12:20 [core.py:700] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.
INFO 08-06 03:12:20 [kv_cache_utils.py:833] GPU KV cache size: 1,234 tokens
INFO 08-06 03:12:20 [kv_cache_utils.py:837] Maximum concurrency for 131,072 tokens per request: 0.01x
""".splitlines()


def test_start_up_lines_become_neutral_events():
    events = VLLM.scanner().feed(START)
    phases = [phase_of(e) for e in events if phase_of(e) is not None]
    assert phases == [Phase.STARTING, Phase.STARTING, Phase.LOADING_WEIGHTS, Phase.LOADING_WEIGHTS,
                      Phase.WEIGHTS_LOADED, Phase.KV_POOL, Phase.CAPACITY_KNOWN, Phase.CUDA_GRAPH,
                      Phase.CUDA_GRAPH_DONE, Phase.HTTP_UP, Phase.READY]
    caps = [e for e in events if isinstance(e, Capacity)]
    assert caps[0].weights_gib == 64.38 and caps[1].kv_memory_gib == 5.78
    assert (caps[2].kv_tokens, caps[2].context_len, caps[2].max_concurrency) == (149_429, 131_072, 1.14)
    first = next(e for e in events if isinstance(e, PhaseReached))
    assert first.time == "08-12 10:23:41"
    version = [e.detail for e in events if isinstance(e, PhaseReached) and e.detail.startswith("vLLM")]
    assert version == ["vLLM 0.34.0"]
    stats = [e for e in events if isinstance(e, Serving)]
    assert len(stats) == 1
    s = stats[0]
    assert (s.running, s.queued, s.gen_throughput, s.prompt_throughput) == (3, 1, 210.4, 12.5)
    assert s.kv_usage == pytest.approx(0.042) and s.extra == {"Prefix cache hit rate": "50.0"}


def test_published_failure_lines_are_diagnosed():
    events = VLLM.scanner().feed(OLD_FORMAT)
    codes = [e.diagnosis.code for e in events if isinstance(e, Failure)]
    assert codes == ["kv_memory_negative", "kv_memory_negative"]
    caps = [e for e in events if isinstance(e, Capacity)]
    assert caps[0].weights_gib == 65.9651 and caps[1].kv_memory_gib == -2.14
    assert caps[2].kv_tokens == 1234 and caps[3].max_concurrency == 0.01
    fix = events[[isinstance(e, Failure) for e in events].index(True)].diagnosis.fix
    assert "MEM_FRACTION_STATIC" in fix and "--gpu-memory-utilization" in fix


@pytest.mark.parametrize("line, code", [
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
     "79.19 GiB of which 1.06 GiB is free.", "cuda_oom"),
    ("ValueError: The quantization method mxfp4 is not supported for the current GPU. Minimum capability: 80. "
     "Current capability: 75.", "mxfp4_unsupported"),
    ("ValueError: To serve at least one request with the model's max seq len (131072), (4.79 GiB KV cache is "
     "needed, which is larger than the available KV cache memory (1.82 GiB). Based on the available memory, the "
     "estimated maximum model length is 44032.", "kv_too_small"),
    ("(APIServer pid=1) ERROR 12-04 10:00:00 [core_client.py:1] RuntimeError: Engine core initialization failed. "
     "See root cause above. Failed core proc(s): {}", "engine_init_failed"),
    ("OSError: [Errno 98] Address already in use", "port_in_use"),
])
def test_failure_rules(line, code):
    fails = [e for e in VLLM.scanner().feed([line]) if isinstance(e, Failure)]
    assert [f.diagnosis.code for f in fails] == [code]


def test_a_flood_of_access_and_stat_lines_yields_the_newest_stats_only():
    access = '(APIServer pid=1) INFO:     127.0.0.1:50000 - "POST /v1/chat/completions HTTP/1.1" 200 OK'
    stat = ("(APIServer pid=1) INFO 12-04 10:00:{:02d} [loggers.py:271] Engine 000: Avg prompt throughput: 1.0 "
            "tokens/s, Avg generation throughput: {}.0 tokens/s, Running: 1 reqs, Waiting: 0 reqs, GPU KV cache "
            "usage: 1.0%")
    lines = [access] * 5000 + [stat.format(1, 100), stat.format(2, 200)] + [access] * 100
    scanner = VLLM.scanner()
    events = scanner.feed(lines)
    assert [type(e) for e in events] == [Serving] and events[0].gen_throughput == 200.0
    assert scanner.counts == {"lines": 5102, "stats": 2}


# -- the plan --------------------------------------------------------------------------------

H100_CUDA_TOTAL = (81559 - 480) * MiB  # NVML's total less the driver's reserve: what CUDA reports
W120_TP1 = 69_309_753_984  # console.planner.fit.weight_bytes_per_gpu("gpt-oss-120b", 1) = 64.55 GiB


def test_calibration_reproduces_the_published_negative_kv_line():
    """vllm issue 23278: 120b on one H100 at vLLM 0.10.1's defaults logged -2.14 GiB."""
    assert CALIBRATED_OVERHEAD == round((0.90 * H100_CUDA_TOTAL + 2.14 * GiB - W120_TP1) / MiB) * MiB
    p = plan("gpt-oss-120b", "H100-80GB", version="0.10")
    budget = int(0.90 * H100_CUDA_TOTAL)  # 71.26 GiB
    assert p.budget_bytes == budget
    assert p.kv_bytes == budget - W120_TP1 - CALIBRATED_OVERHEAD
    assert round(p.kv_bytes / GiB, 2) == -2.14
    assert p.verdict == DOES_NOT_FIT and "Available KV cache memory: -2.14 GiB" in p.reasons[0]


def test_why_the_defaults_fail_on_one_h100_and_what_fixes_it():
    p = plan("gpt-oss-120b", "H100-80GB", version="0.10")
    # One 131,072-token request: ⌈131072/16⌉ = 8192 full-attention blocks plus
    # ⌈min(127 + 8192 in flight, 131072)/16⌉ + 1 = 521 sliding-window blocks, each block
    # 16 × 2 × 8 KV heads × 64 × 2 B × 18 layers = 589,824 B → 8,713 × 589,824 B = 4.79 GiB.
    need = (8192 + 521) * 589_824
    assert any(f"{need / GiB:.2f} GiB" in a for a in p.arithmetic)
    # Fix 1: utilization so the budget covers weights + overhead + one request: ⌈…/total⌉ = 0.99.
    assert (W120_TP1 + CALIBRATED_OVERHEAD + need) / H100_CUDA_TOTAL == pytest.approx(0.9875, abs=1e-4)
    assert p.fixes[0].startswith("--gpu-memory-utilization 0.99")
    assert p.fix_settings == {"mem_fraction_static": 0.99}
    # Fix 2: at 0.95, 0.95 × 79.18 − 64.55 − 8.85 = 1.82 GiB holds one request of 44,032 tokens
    # (44,032 tokens: 2,752 + 523 blocks = 3,275 × 589,824 B = 1.80 GiB ≤ 1.82 GiB).
    assert p.fixes[1].startswith("--gpu-memory-utilization 0.95 --max-model-len 44032")
    # Fix 3: two GPUs: weights 32.29 GiB per GPU leave 0.90 × 79.18 − 32.29 − 8.85 = 30.12 GiB.
    assert p.fixes[2].startswith("TP=2 over 2 GPUs") and "30.12 GiB" in p.fixes[2]
    fixed = plan("gpt-oss-120b", "H100-80GB", version="0.10", gpu_memory_utilization=0.99)
    assert fixed.verdict == FITS and fixed.concurrency >= 1
    shorter = plan("gpt-oss-120b", "H100-80GB", version="0.10", gpu_memory_utilization=0.95, max_model_len=44032)
    assert shorter.verdict == FITS


def test_the_pinned_release_fits_with_the_extensible_kv_cache():
    """vLLM 0.34.0 defaults gpu_memory_utilization to 1.0 (extensible KV cache): 79.18 − 64.55 − 8.85
    = 5.78 GiB → 10,517 blocks; a 131,072-token request needs 8,192 + (⌈(127 + 2 × 8192)/16⌉ + 1 =
    1,033) = 9,225 blocks → 1.14 requests → 'GPU KV cache size: 149,429 tokens'."""
    p = plan("gpt-oss-120b", "H100-80GB")
    assert p.engine_version == "0.34.0" and p.budget_bytes == H100_CUDA_TOTAL
    blocks = p.kv_bytes // 589_824
    assert blocks == 10_517
    assert p.verdict == FITS and p.concurrency == round(10_517 / 9_225, 2) == 1.14
    assert p.kv_tokens == int(10_517 / 9_225 * 131_072) == 149_429


def test_more_gpus_and_smaller_cards():
    two = plan("gpt-oss-120b", "H100-80GB", 2)
    assert two.tp == 2 and two.verdict == FITS and two.concurrency == 15.01
    small = plan("gpt-oss-20b", "RTX-4090-24GB")
    assert small.verdict == FITS_SHORTER and small.fix_settings["max_model_len"] % 1024 == 0
    old = plan("gpt-oss-20b", "H100-80GB", version="0.10")
    assert old.verdict == FITS


def test_plan_input_errors_are_sentences():
    from console.engines.plan import PlanError

    with pytest.raises(PlanError, match="TP=3"):
        plan("gpt-oss-120b", "H100-80GB", 4, tp=3)
    with pytest.raises(PlanError, match="no vLLM planning rules for version '0.5'"):
        plan("gpt-oss-120b", "H100-80GB", version="0.5")
    with pytest.raises(PlanError, match="unknown GPU"):
        plan("gpt-oss-120b", "H900")
    assert VLLM.plan("gpt-oss-120b", "H100-80GB", mem_fraction_static=0.99, engine_version="0.10").verdict == FITS


# -- metrics ---------------------------------------------------------------------------------

def test_vllm_metrics_parse_into_the_consoles_names():
    from console.server.metrics import parse
    from tests.docker.standin_vllm.vllm_serve import Metrics

    m = Metrics("openai/gpt-oss-120b")
    m.prompt, m.generation, m.success, m.running = 120, 480, 4, 2
    m.hist["time_to_first_token_seconds"][1].extend([0.03, 0.05, 0.07, 0.3])
    snap = parse(m.render(), names=VLLM.metric_names)
    assert snap.gauges == {"running": 2.0, "queued": 0.0, "token_usage": 0.02}
    assert snap.counters == {"prompt_tokens": 120.0, "generation_tokens": 480.0, "requests": 4.0}
    ttft = snap.histograms["ttft"]
    assert ttft.count == 4 and 0.04 <= ttft.quantile(0.5) <= 0.06
    assert snap.models == ["openai/gpt-oss-120b"]
    assert parse(m.render()).gauges == {}  # SGLang's names find nothing on a vLLM page


# -- the stand-in image on the real Docker Engine ----------------------------------------------

def _follow(container, scanner, until, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    events: list = []
    seen = 0
    while time.monotonic() < deadline:
        lines = container.logs().decode(errors="replace").splitlines()
        events += scanner.feed(lines[seen:])
        seen = len(lines)
        if until(events):
            return events, lines
        container.reload()
        if container.status in ("exited", "dead"):
            lines = container.logs().decode(errors="replace").splitlines()
            events += scanner.feed(lines[seen:])
            return events, lines
        time.sleep(0.2)
    raise AssertionError(f"timed out; log so far:\n{chr(10).join(lines)}")


def _run(containers, image, argv, scenario="ok", port=None):
    kwargs = {"environment": {"FAKE_VLLM_SCENARIO": scenario, "FAKE_VLLM_DELAY": "0.05"}}
    if port:
        kwargs["ports"] = {"8000/tcp": ("127.0.0.1", port)}
    # The stand-in's entrypoint is `vllm serve` like the real image's: pass what follows it.
    return containers.run(image, argv[2:], **kwargs)


def test_standin_reaches_ready_through_the_scanner_and_serves_vllms_routes(standin_vllm_image, containers):
    import httpx

    from console.server.metrics import parse
    from tests.fixtures.docker_engine import free_port

    port = free_port()
    argv = VLLM.argv({"model": "openai/gpt-oss-20b", "port": 8000, "api_key": "sk-standin-key-0123456789",
                      "reasoning_parser": "gpt-oss", "tool_call_parser": "gpt-oss", "max_model_len": 32768})
    c = _run(containers, standin_vllm_image, argv, port=port)
    events, lines = _follow(c, VLLM.scanner(), lambda evs: any(phase_of(e) is Phase.READY for e in evs))
    reached = [phase_of(e) for e in events if phase_of(e) is not None]
    assert reached[-1] is Phase.READY and Phase.CAPACITY_KNOWN in reached
    cap = next(e for e in events if isinstance(e, Capacity) and e.context_len)
    assert cap.context_len == 32768
    assert "sk-standin-key" not in "\n".join(lines)  # vLLM logs its args with the key as ***
    base = f"http://127.0.0.1:{port}"
    # the console's own client: ready = /health 200 and /v1/models answering (with the key)
    from console.server.client import ServerClient

    with ServerClient(base, api_key="sk-standin-key-0123456789") as client:
        assert client.wait_ready(timeout_s=30, interval_s=0.1) == ["openai/gpt-oss-20b"]
    assert httpx.get(base + VLLM.probes.health).status_code == 200
    assert httpx.get(base + "/v1/models").status_code == 401
    auth = {"Authorization": "Bearer sk-standin-key-0123456789"}
    assert httpx.get(base + "/v1/models", headers=auth).json()["data"][0]["id"] == "openai/gpt-oss-20b"
    assert httpx.get(base + VLLM.probes.version).json() == {"version": "0.34.0"}
    reply = httpx.post(base + "/v1/chat/completions", headers=auth, json={
        "model": "openai/gpt-oss-20b", "messages": [{"role": "user", "content": "hello"}]}).json()
    assert reply["choices"][0]["message"]["content"] == "You said: hello"
    snap = parse(httpx.get(base + VLLM.probes.metrics).text, names=VLLM.metric_names)
    assert snap.counters["requests"] == 1 and snap.histograms["e2e"].count == 1
    c.stop(timeout=10)
    assert c.wait(timeout=20)["StatusCode"] == 0


@pytest.mark.parametrize("scenario, code", [("kv_negative", "kv_memory_negative"), ("oom", "cuda_oom")])
def test_standin_failures_are_diagnosed(standin_vllm_image, containers, scenario, code):
    argv = VLLM.argv({"model": "openai/gpt-oss-120b"})
    c = _run(containers, standin_vllm_image, argv, scenario=scenario)
    events, lines = _follow(c, VLLM.scanner(), lambda evs: False)
    codes = {e.diagnosis.code for e in events if isinstance(e, Failure)}
    assert codes == {code, "engine_init_failed"}
    # stdout and stderr interleave in any order: the specific cause still comes first
    assert [d.code for d in VLLM.scanner().diagnoses(lines)] == [code, "engine_init_failed"]
    assert c.wait(timeout=20)["StatusCode"] == 1
    assert not any(phase_of(e) is Phase.READY for e in events)


def test_standin_refuses_a_flag_vllm_does_not_have(standin_vllm_image, containers):
    c = containers.run(standin_vllm_image, ["openai/gpt-oss-20b", "--context-length", "8192"])
    assert c.wait(timeout=30)["StatusCode"] == 2
    assert "unrecognized arguments: --context-length" in c.logs().decode()


# -- the plan command ------------------------------------------------------------------------

def test_plan_command_explains_the_failing_defaults_and_the_fix(capsys):
    """`plan --engine vllm --model gpt-oss-120b --gpu H100-80GB`: the pinned release fits and says
    why vLLM 0.10.1's defaults failed; with --engine-version 0.10 it is the failing plan, exit 1."""
    import json

    from console.cli import main

    assert main(["plan", "--engine", "vllm", "--model", "gpt-oss-120b", "--gpu", "H100-80GB"]) == 0
    out = capsys.readouterr().out
    assert "with vllm 0.34.0 (TP=1): fits" in out
    assert "on vLLM 0.10.1" in out and "Available KV cache memory: -2.14 GiB" in out
    assert "--gpu-memory-utilization 0.99" in out
    assert main(["plan", "--engine", "vllm", "--engine-version", "0.10", "--model", "gpt-oss-120b",
                 "--gpu", "H100-80GB", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    p = doc["plans"][0]
    assert doc["engine"] == "vllm" and p["verdict"] == "does-not-fit" and p["kv_gib"] == -2.14
    assert p["fix_settings"] == {"mem_fraction_static": 0.99} and len(p["fixes"]) == 3
    assert main(["plan", "--engine", "vllm", "--engine-version", "0.10", "--model", "gpt-oss-120b",
                 "--gpu", "H100-80GB", "--mem-fraction-static", "0.99"]) == 0
    capsys.readouterr()


def test_plan_command_bad_engine_input(capsys):
    from console.cli import main

    assert main(["plan", "--engine", "tgi", "--gpu", "H100-80GB"]) == 2
    assert "unknown engine 'tgi'" in capsys.readouterr().err
    assert main(["plan", "--engine", "llamacpp", "--engine-version", "1", "--gpu", "H100-80GB"]) == 2
    assert "--engine-version selects vLLM's rules" in capsys.readouterr().err
    assert main(["plan", "--engine", "vllm", "--engine-version", "0.2", "--gpu", "H100-80GB"]) == 2
    assert "no vLLM planning rules" in capsys.readouterr().err


def test_one_batch_or_line_by_line_gives_the_same_events():
    lines = START + OLD_FORMAT
    whole = [e for e in VLLM.scanner().feed(lines) if not isinstance(e, Serving)]
    one = VLLM.scanner()
    assert [e for line in lines for e in one.feed([line]) if not isinstance(e, Serving)] == whole
