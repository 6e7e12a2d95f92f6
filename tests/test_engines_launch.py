"""Must show (issue 12): the console's own commands, as an operator types them, on the other engines.

``gpt-oss-console launch --engine llamacpp …`` against the locally built image of the real
llama-server (SmolLM2's GGUF): phases to ready read from its real log, ``status --json`` naming
the engine, ``logs``, ``metrics`` (llama.cpp's names, behind the key), ``smoke``, ``bench``, ``stop``.
The same for vLLM on its stand-in: launch, phases, status, metrics, stop, and the negative KV
budget of 120b on one H100 diagnosed with its fix. Every command runs as a separate process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.docker_engine import free_port
from tests.runtime_helpers import container_name

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]
KEY = "sk-engines-wire-0123456789abcdef"


@pytest.fixture
def env(tmp_path):
    """The console's state and config under tmp_path; no setting from this host's environment."""
    from console.settings import SETTINGS

    out = {k: v for k, v in os.environ.items()
           if k not in {n for s in SETTINGS for n in (s.env, *s.aliases, s.file_env) if n}}
    out |= {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return out


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "api-key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def name(docker_client):
    yield from container_name(docker_client, "engine")


def cli(env, *argv, timeout: float = 300):
    proc = subprocess.run([sys.executable, "-m", "console", *argv], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def test_launch_engine_llamacpp_ready_status_logs_metrics_smoke_bench_stop(llamacpp_image, env, key_file, name):
    port = free_port()
    rc, out, err = cli(env, "launch", "--engine", "llamacpp", "--image", llamacpp_image,
                       "--model", "/models/smollm2.gguf", "--served-model-name", "smollm2", "--max-model-len", "2048",
                       "--max-running-requests", "2", "--gpus", "none", "--hf-cache", "none",
                       "--host-port", str(port), "--container-name", name, "--api-key-file", str(key_file),
                       "--extra-args", "--jinja --threads 2 -lv 4", "--timeout", "240", "--json")
    assert rc == 0, err
    result = json.loads(out)
    assert result["phase"] == "ready" and result["base_url"] == f"http://127.0.0.1:{port}"
    assert result["launch"]["engine"] == "llamacpp" and result["launch"]["command"][:2] == ["-m", "/models/smollm2.gguf"]
    # Phases from llama-server's own log, in order; its slots line is the capacity.
    reached = [h["phase"] for h in result["history"]]
    assert [p for p in reached if p in ("loading weights", "KV pool", "ready")] == ["loading weights", "KV pool",
                                                                                 "ready"], reached
    assert result["capacity"]["max_total_num_tokens"] == 2048 and result["capacity"]["max_running_requests"] == 2
    assert not result["diagnoses"] and KEY not in out + err

    rc, out, err = cli(env, "status", name, "--json")
    assert rc == 0, err
    (row,) = json.loads(out)["containers"]
    assert row["engine"] == "llamacpp" and row["phase"] == "ready" and row["mode"] == "stock"
    assert row["time_to_ready_s"] is not None and not row.get("diagnoses")
    rc, out, _ = cli(env, "status", name)
    assert "engine llamacpp" in out

    rc, out, err = cli(env, "logs", name, "--grep", "model loaded|listening")
    assert rc == 0, err
    assert "llama_server: model loaded" in out and "listening on http://0.0.0.0:8000" in out and KEY not in out

    base = ["--base-url", f"http://127.0.0.1:{port}", "--api-key-file", str(key_file)]
    rc, out, err = cli(env, "metrics", *base, "--interval", "0.5", "--json")
    assert rc == 0, err
    view = json.loads(out)
    # llama.cpp's names read (requests_processing, requests_deferred, predicted_tokens_seconds), not SGLang's.
    assert view["engine"] == "llamacpp" and {"running", "queued", "gen_throughput"} <= set(view["gauges"])
    rc, out, err = cli(env, "metrics", "--base-url", f"http://127.0.0.1:{port}", "--interval", "0.5")
    assert rc == 3 and "wants the API key" in err and "--api-key-file" in err

    rc, out, err = cli(env, "smoke", *base, "--only", "models,plain-chat,streaming,tool-auto", "--max-tokens", "32",
                       "--temperature", "0", "--soak", "0", "--timeout", "240", "--json", timeout=600)
    assert out, err
    report = json.loads(out)
    verdicts = {c["name"]: c["status"] for c in report["results"]}
    assert verdicts["models"] == "pass" and verdicts["plain-chat"] == "pass" and verdicts["streaming"] == "pass", out
    assert verdicts["tool-auto"] in ("pass", "fail") and rc in (0, 1)  # SmolLM2's tool call is its own business

    rc, out, err = cli(env, "bench", *base, "--concurrency", "1", "--requests", "2", "--input-len", "32",
                       "--output-len", "8", "--json", "--quiet", timeout=600)
    assert rc == 0, out[-3000:] + err
    result = json.loads(out)
    (level,) = result["levels"]
    assert level["concurrency"] == 1 and level["completed"] == 2 and level["output_throughput"] > 0
    # The server's own count over the level, read from llama.cpp's /metrics (its names, behind the key).
    assert level["server"] is not None and level["server"]["generation_tokens"] >= 2 * 8 - 2, level["server"]

    # The metrics moved with the smoke and bench requests.
    rc, out, err = cli(env, "metrics", *base, "--interval", "0.5", "--json")
    assert json.loads(out)["counters"]["generation_tokens"] >= 8, out

    rc, out, err = cli(env, "stop", name)
    assert rc == 0, err
    rc, out, _ = cli(env, "status", name, "--json")
    (row,) = json.loads(out)["containers"]
    assert row["engine"] == "llamacpp" and row["status"] == "exited"


def test_launch_engine_vllm_ready_status_metrics_stop(standin_vllm_image, env, key_file, name):
    port = free_port()
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--image", standin_vllm_image, "--model", "gpt-oss-20b",
                       "--max-model-len", "32768", "--gpus", "none", "--hf-cache", "none", "--host-port", str(port),
                       "--container-name", name, "--api-key-file", str(key_file), "--json", "--timeout", "120")
    assert rc == 0, err
    result = json.loads(out)
    assert result["phase"] == "ready" and result["launch"]["engine"] == "vllm"
    command = result["launch"]["command"]
    assert command[0] == "openai/gpt-oss-20b" and "--tool-call-parser" in command and KEY not in json.dumps(result)
    assert command[command.index("--config") + 1] == "/run/secrets/gpt-oss-console/vllm.yaml"
    reached = [h["phase"] for h in result["history"]]
    assert [p for p in reached if p in ("loading weights", "KV pool", "CUDA graphs", "ready")] == [
        "loading weights", "KV pool", "CUDA graphs", "ready"], reached
    # "GPU KV cache size: 2,285,617 tokens" (52.33 GiB at 24 KiB a token), 32,768 a request.
    assert result["capacity"]["max_total_num_tokens"] == int(52.33 * 1024**3 / 24576)
    assert result["capacity"]["context_len"] == 32768

    rc, out, err = cli(env, "status", name, "--json")
    (row,) = json.loads(out)["containers"]
    assert rc == 0 and row["engine"] == "vllm" and row["phase"] == "ready", out
    rc, out, err = cli(env, "logs", name, "--grep", "non-default args|startup complete")
    assert rc == 0 and "Application startup complete." in out and KEY not in out + err
    # The key reached vLLM through its --config file: /v1 wants it, and the console's probe had it.
    import httpx

    assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).status_code == 401
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {KEY}"},
                     timeout=5).status_code == 200

    # What the console's clients read through the engine's probes: its info route, its identify step.
    import asyncio

    from console import engines
    from console.secret import Secret
    from console.server.client import ServerClient
    from console.smoke.replay import probe

    vllm = engines.get("vllm")
    with ServerClient(f"http://127.0.0.1:{port}", Secret(KEY)) as client:
        assert [m["id"] for m in client.server_info(vllm.probes.info)["data"]] == ["openai/gpt-oss-20b"]
    found = asyncio.run(probe(f"http://127.0.0.1:{port}", Secret(KEY)))
    assert (found.kind, found.version) == ("vllm", vllm.version)

    rc, out, err = cli(env, "metrics", "--base-url", f"http://127.0.0.1:{port}", "--interval", "0.3", "--json")
    assert rc == 0, err
    view = json.loads(out)
    assert view["engine"] == "vllm" and view["models"] == ["openai/gpt-oss-20b"] and view["gauges"]["running"] == 0

    rc, out, err = cli(env, "stop", name)
    assert rc == 0, err


def test_launch_engine_vllm_negative_kv_budget_is_diagnosed(standin_vllm_image, env, name):
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--image", standin_vllm_image, "--model", "gpt-oss-120b",
                       "--gpus", "none", "--hf-cache", "none", "--host-port", str(free_port()),
                       "--container-name", name, "-e", "FAKE_VLLM_SCENARIO=kv_negative", "--json", "--timeout", "120")
    assert rc == 1, err
    result = json.loads(out)
    assert result["phase"] == "exited"
    codes = [d["code"] for d in result["diagnoses"]]
    assert codes and codes[0] == "kv_memory_negative", codes
    assert "MEM_FRACTION_STATIC" in result["diagnoses"][0]["fix"] and "plan --engine vllm" in result["diagnoses"][0]["fix"]
    rc, out, _ = cli(env, "status", name, "--json")
    (row,) = json.loads(out)["containers"]
    assert row["engine"] == "vllm" and row["diagnoses"][0]["code"] == "kv_memory_negative"
    rc, out, err = cli(env, "logs", name, "--diagnose")
    assert "Available KV cache memory: -2.14 GiB" in out
    assert "No room left for the KV cache" in out + err and "MEM_FRACTION_STATIC" in out + err


def absent_default_llamacpp_image(docker_client) -> str:
    """llama.cpp's stock image name, which these tests need absent from the Docker Engine."""
    import docker.errors

    from console import engines
    from tests.conftest import need

    image = engines.get("llamacpp").stock_image().image
    try:
        docker_client.images.get(image)
    except docker.errors.ImageNotFound:
        return image
    need(False, f"a Docker Engine without {image} (remove or untag it there to run this test)")
    return image


def test_launch_llamacpp_without_its_image_says_how_to_build_or_tag_it(env, name, docker_client):
    """The stock llama.cpp image is a local name (no registry host is written in the project): when
    the operator has not built or tagged it, launch says in one sentence how, exit 4 (not found),
    and creates nothing."""
    image = absent_default_llamacpp_image(docker_client)
    argv = ("launch", "--engine", "llamacpp", "--model", "/models/x.gguf", "--gpus", "none", "--hf-cache", "none",
            "--host-port", str(free_port()), "--container-name", name)
    rc, out, err = cli(env, *argv, "--json", timeout=120)
    assert rc == 4, err
    doc = json.loads(out)
    assert doc["error"] == f"image {image} is not on this Docker host (a local name: the console does not pull it)"
    hint = doc["hint"]
    assert hint.count(". ") == 0 and hint.startswith("build it from a llama.cpp checkout")  # one sentence
    assert f"docker build -f .devops/cuda.Dockerfile --target server -t {image} ." in hint
    assert ("tag the llama.cpp project's published server-cuda image with that name "
            f"(docker tag THAT_IMAGE {image})") in hint
    assert hint.endswith("or pass another llama-server image with --image")
    rc, out, err = cli(env, *argv, timeout=120)  # the words on a terminal: message, then the hint
    assert rc == 4 and f"error: {doc['error']}" in err and hint in err and "Traceback" not in out + err
    assert not docker_client.containers.list(all=True, filters={"name": name})
    with pytest.raises(Exception, match="No such image"):
        docker_client.images.get(image)  # nothing was pulled or made under that name


def test_launch_refuses_what_an_engine_cannot_take(env, tmp_path):
    """Bad input for an engine: one sentence with what to do, exit 2, nothing started."""
    rc, out, err = cli(env, "launch", "--engine", "llamacpp", "--tensor-parallel-size", "2", "--dry-run")
    assert rc == 2 and "no tensor parallelism" in err and "Traceback" not in err
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--attention-backend", "fa3", "--dry-run")
    assert rc == 2 and "vLLM does not take ATTENTION_BACKEND: an SGLang setting" in err
    rc, out, err = cli(env, "launch", "--engine", "llamacpp", "--mem-fraction-static", "0.9", "--dry-run")
    assert rc == 2 and "llama.cpp does not take MEM_FRACTION_STATIC: llama.cpp allocates" in err
    (tmp_path / "hf").write_text("hf_0123456789abcdef\n")
    (tmp_path / "hf").chmod(0o600)
    rc, out, err = cli(env, "launch", "--engine", "llamacpp", "--hf-token-file", str(tmp_path / "hf"), "--dry-run")
    assert rc == 2 and "reads the HF token only from its environment" in err and "hf_0123" not in out + err
    rc, out, err = cli(env, "launch", "--engine", "mlc", "--dry-run")
    assert rc == 2 and "unknown engine 'mlc'" in err and "sglang, vllm, llamacpp" in err
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--image-mode", "project", "--dry-run")
    assert rc == 2 and "the project's image runs SGLang" in err


def test_a_profile_keeps_the_engine(env):
    """The engine is a declared launch setting: saved with a profile, launched from it again."""
    rc, _, err = cli(env, "launch", "--engine", "llamacpp", "--model", "/models/x.gguf", "--gpus", "none",
                     "--save-profile", "homelab", "--dry-run")
    assert rc == 0, err
    rc, out, err = cli(env, "launch", "--profile", "homelab", "--dry-run", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["engine"] == "llamacpp" and doc["image"] == "llama.cpp:server-cuda"
    assert doc["command"][:2] == ["-m", "/models/x.gguf"] and "org.gpt-oss-console.engine=llamacpp" in doc["docker_run"]
    rc, out, err = cli(env, "launch", "--profile", "homelab", "--engine", "vllm", "--model", "gpt-oss-20b",
                       "--dry-run", "--json")
    assert rc == 0 and json.loads(out)["engine"] == "vllm", err


def test_an_engines_own_settings_from_the_cli_env_and_profile(env):
    """llama.cpp's and vLLM's own settings (declared in their packages) are launch flags, env vars
    and profile keys, checked like the common ones; another engine's on the command line is refused."""
    rc, out, err = cli(env, "launch", "--engine", "llamacpp", "--model", "/m.gguf", "--gpus", "none",
                       "--n-gpu-layers", "20", "--threads", "4", "--save-profile", "cpu", "--dry-run", "--json")
    assert rc == 0, err
    command = json.loads(out)["command"]
    assert command[command.index("-ngl") + 1] == "20" and command[command.index("--threads") + 1] == "4"
    rc, out, err = cli(env | {"LOG_VERBOSITY": "4"}, "launch", "--profile", "cpu", "--dry-run", "--json")
    command = json.loads(out)["command"]
    assert rc == 0 and command[command.index("-ngl") + 1] == "20" and command[command.index("-lv") + 1] == "4"
    # The profile's llama.cpp setting is left out, with a note, when the launch is vLLM's.
    rc, out, err = cli(env, "launch", "--profile", "cpu", "--engine", "vllm", "--model", "gpt-oss-20b",
                       "--kv-cache-dtype", "fp8", "--dry-run")
    assert rc == 0, err
    assert "-ngl" not in out and "--kv-cache-dtype fp8" in out
    assert "note: n_gpu_layers left out: a llama.cpp setting" in err
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--n-gpu-layers", "20", "--dry-run")
    assert rc == 2 and "--n-gpu-layers is a llama.cpp setting" in err and "--engine llamacpp" in err
    rc, out, err = cli(env, "launch", "--engine", "vllm", "--kv-cache-dtype", "fp9", "--dry-run")
    assert rc == 2 and "KV_CACHE_DTYPE='fp9' is not allowed: use auto, fp8" in err


def test_a_profile_with_an_engines_own_settings_is_not_drift(tmp_path, monkeypatch):
    """status compares a container's settings hash with its profile's: the engine's own settings
    count on both sides (a llama.cpp profile with N_GPU_LAYERS is not 'drift' once launched)."""
    from console.runtime import profiles
    from console.runtime.build import build_spec
    from console.runtime.service import profile_hash, resolve_values
    from tests.runtime_helpers import isolate_state

    isolate_state(tmp_path, monkeypatch)
    profiles.save(profiles.Profile("cpu", {"engine": "llamacpp", "model": "/m.gguf", "gpus": "none",
                                           "n_gpu_layers": "20"}))
    launched = build_spec(resolve_values(profile="cpu", env={}).values, profile="cpu")
    assert launched.command[launched.command.index("-ngl") + 1] == "20"
    assert profile_hash("cpu") == launched.settings_hash
    profiles.save(profiles.Profile("cpu", {"engine": "llamacpp", "model": "/m.gguf", "gpus": "none",
                                           "n_gpu_layers": "30"}))
    assert profile_hash("cpu") != launched.settings_hash  # a changed own setting is drift
