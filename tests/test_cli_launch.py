"""The CLI twins on a real Docker Engine with the stand-in SGLang image.

launch → phases in order → ready → status/logs → stop; scripted failures diagnosed with a crash
bundle and the profile untouched; re-attach after the launching process is killed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.cli import main
from tests.fixtures.docker_engine import free_port
from tests.runtime_helpers import container_name, isolate_state

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    isolate_state(tmp_path, monkeypatch)
    return tmp_path


@pytest.fixture
def name(docker_client):
    yield from container_name(docker_client, "launch")


def launch_args(image, name, port, scenario="ok", *extra):
    return ["launch", "--image", image, "--gpus", "none", "--hf-cache", "none", "--host-port", str(port),
            "--container-name", name, "-e", f"FAKE_SGLANG_SCENARIO={scenario}", "-e", "FAKE_SGLANG_CRASH_AFTER=1",
            *extra]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


PHASES = ["created", "starting", "loading weights", "KV pool", "CUDA graphs", "ready"]


def test_launch_follows_phases_in_order_to_ready_then_status_logs_stop(standin_sglang_image, xdg, name, capsys,
                                                                         docker_client):
    port = free_port()
    code, out, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["phase"] == "ready" and result["base_url"] == f"http://127.0.0.1:{port}"
    # the stand-in logs SGLang's start-up in its real order; each phase is seen once, in that order
    seen = [h["phase"] for h in result["history"]]
    order = ["created", "starting", "loading weights", "KV pool", "CUDA graphs", "ready"]
    assert [p for p in seen if p in order] == order, seen
    assert all(a["at_s"] <= b["at_s"] for a, b in zip(result["history"], result["history"][1:]))
    assert result["launch"]["publish"] == f"127.0.0.1:{port}->8000/tcp"
    assert result["capacity"]["max_total_num_tokens"] > 0

    code, out, _ = run_cli(capsys, "status", "--json")
    assert code == 0
    (row,) = [r for r in json.loads(out)["containers"] if r["name"] == name]
    assert row["phase"] == "ready" and row["running"] and row["drift"] is None
    assert row["time_to_ready_s"] is not None and row["time_to_ready_s"] > 0

    code, out, _ = run_cli(capsys, "logs", name, "--grep", r"fired up|Uvicorn")
    assert code == 0
    assert "The server is fired up and ready to roll!" in out and "Uvicorn running on" in out
    assert all(("fired up" in line or "Uvicorn" in line) for line in out.strip().splitlines())

    code, out, _ = run_cli(capsys, "stop", name, "--timeout", "10", "--json")
    assert code == 0
    stopped = json.loads(out)
    assert stopped["running"] is False and stopped["exit_code"] == 0  # graceful: SIGTERM reached SGLang
    assert docker_client.containers.get(name).status == "exited"
    code, out, _ = run_cli(capsys, "status", name, "--json")
    assert code == 1 and json.loads(out)["containers"][0]["phase"] == "exited"
    assert not list((xdg / "state").rglob("*.json"))  # a requested, clean stop is not a crash


def test_phase_history_is_in_order(standin_sglang_image, xdg, name, capsys):
    port = free_port()
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port, "ok"))
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    # a phase's later words are printed under it, indented, without its label again
    labels = [line.split("] ", 1)[1].split(" — ")[0] for line in lines if not line.split("] ", 1)[1].startswith(" ")]
    order = [PHASES.index(x) for x in labels]
    assert order == sorted(order) and labels[-1] == "ready"
    assert {"starting", "loading weights", "KV pool", "CUDA graphs"} <= set(labels)


SCENARIOS = {
    "not_enough_memory": ("not_enough_memory", "MEM_FRACTION_STATIC"),
    "cuda_oom": ("cuda_oom", "MEM_FRACTION_STATIC"),
    "bad_backend": ("attention_backend", "ATTENTION_BACKEND"),
    "gated_repo": ("hf_auth", "HF_TOKEN"),
    "capture_fail": ("cuda_graph_failed", "MEM_FRACTION_STATIC"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scripted_failures_are_diagnosed_with_a_bundle_and_nothing_lost(scenario, standin_sglang_image, xdg, name,
                                                                         capsys, monkeypatch):
    from console.runtime import profiles

    # the bundle's GPU snapshot comes from NVML; here a recorded H100 answers for it
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(REPO / "tests/data/nvml/h100-real-process.json"))

    code, _, _ = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port(), scenario),
                         "--save-profile", "keep", "--dry-run")
    assert code == 0
    before = profiles.path_for("keep").read_bytes()
    code, out, err = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port(), scenario),
                             "--profile", "keep", "--json")
    assert code == 1, err
    result = json.loads(out)
    want_code, want_fix = SCENARIOS[scenario]
    assert result["phase"] == "exited" and result["exit_code"] not in (0, None)
    codes = [d["code"] for d in result["diagnoses"]]
    assert codes[0] == want_code, result["diagnoses"]
    assert want_fix in result["diagnoses"][0]["fix"]
    bundle = Path(result["crash_bundle"])
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    doc = json.loads(bundle.read_text())
    assert doc["exit_code"] == result["exit_code"] and doc["oom_killed"] is False
    assert doc["log_tail"] and doc["diagnoses"][0]["code"] == want_code
    assert doc["argv"][:3] == ["python3", "-m", "sglang.launch_server"]
    assert "H100" in doc["gpu"]["gpus"][0]["name"] and doc["gpu"]["gpus"][0]["sample"]["memory_total"]
    assert doc["phases"]["history"][-1]["phase"] == "exited"
    assert profiles.path_for("keep").read_bytes() == before  # the profile is untouched


def test_crash_after_ready_is_caught_by_status_with_a_bundle(standin_sglang_image, xdg, name, capsys):
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port(), "crash_after_ready"))
    assert code == 0, err  # it did become ready
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, out, _ = run_cli(capsys, "status", name, "--json")
        row = json.loads(out)["containers"][0]
        if row["phase"] == "exited":
            break
        time.sleep(0.5)
    assert row["phase"] == "exited" and row["exit_code"] == 1 and code == 1
    assert row["diagnoses"] and row["crash_bundle"]
    doc = json.loads(Path(row["crash_bundle"]).read_text())
    assert any("fired up and ready" in line for line in doc["log_tail"])


def test_secrets_never_reach_output_or_bundle(standin_sglang_image, xdg, name, capsys, tmp_path):
    key = "sk-secret-0123456789abcdef"
    keyfile = tmp_path / "key"
    keyfile.write_text(key)
    code, out, err = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port(), "not_enough_memory"),
                             "--api-key-file", str(keyfile), "--json")
    assert code == 1
    assert key not in out and key not in err
    doc = Path(json.loads(out)["crash_bundle"]).read_text()
    assert key not in doc and "--config" in doc  # the key went to SGLang in its --config file
    tail = json.loads(doc)["log_tail"]  # SGLang's server_args line is there, masked
    assert any("api_key='sk-…cdef'" in line for line in tail), tail


def test_port_in_use_is_refused_in_words_and_leaves_nothing_behind(standin_sglang_image, xdg, name, capsys,
                                                                   docker_client):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port))
    assert code == 3
    assert f"port {port} is already in use" in err and "choose another port" in err
    assert f"ss -ltnp 'sport = :{port}'" in err and "PORT" not in err
    assert not docker_client.containers.list(all=True, filters={"name": name})
    # The printed command finds the holder (run as printed, while the port is still held).
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        shown = subprocess.run(["bash", "-c", f"ss -ltnp 'sport = :{port}'"], capture_output=True, text=True)
    assert shown.returncode == 0 and f":{port}" in shown.stdout and f"pid={os.getpid()}" in shown.stdout


def test_port_held_by_a_console_container_names_it(standin_sglang_image, xdg, name, capsys, docker_client):
    port = free_port()
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port), "--detach")
    assert code == 0, err
    second = f"{name}-2"
    try:
        code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, second, port))
        assert code == 3
        assert f"port {port} is already in use" in err
        assert f"the console's container {name} holds it" in err and f"gpt-oss-console stop {name}" in err
        assert "PORT" not in err
        assert not docker_client.containers.list(all=True, filters={"name": second})
    finally:
        for c in docker_client.containers.list(all=True, filters={"name": name}):
            c.remove(force=True)


def test_public_bind_without_key_is_refused(standin_sglang_image, xdg, name, capsys, docker_client):
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port()), "--publish-address",
                           "0.0.0.0")
    assert code == 2 and "without an API key" in err and "--allow-public" in err
    assert not docker_client.containers.list(all=True, filters={"name": name})
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port()), "--publish-address",
                           "0.0.0.0", "--allow-public", "--detach")
    assert code == 0 and "warning: the API is published on 0.0.0.0 with no API key" in err


def test_invalid_settings_stop_before_docker(xdg, capsys, name, docker_client):
    code, _, err = run_cli(capsys, "launch", "--attention-backend", "flashinfer", "--gpus", "none",
                           "--container-name", name)
    assert code == 2 and "flashinfer" in err
    assert not docker_client.containers.list(all=True, filters={"name": name})


def test_reattach_after_the_console_is_killed(standin_sglang_image, xdg, name, capsys):
    """Launch in a separate process, kill it mid start-up: the server lives on, status/logs pick it up."""
    env = dict(os.environ, FAKE_UNUSED="1")
    port = free_port()
    argv = launch_args(standin_sglang_image, name, port, "slow_start") + ["-e", "FAKE_SGLANG_PHASE_DELAY=1"]
    proc = subprocess.Popen([sys.executable, "-m", "console", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    buf = ""
    while time.monotonic() < deadline and "loading weights" not in buf:
        buf += proc.stderr.readline()
    assert "loading weights" in buf, buf
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    code, out, _ = run_cli(capsys, "status", name, "--json")
    row = json.loads(out)["containers"][0]
    assert row["running"] and row["phase"] in ("loading weights", "KV pool", "CUDA graphs", "ready")
    first_id = row["id"]
    code, out1, _ = run_cli(capsys, "logs", name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, out, _ = run_cli(capsys, "status", name, "--json")
        row = json.loads(out)["containers"][0]
        if row["phase"] == "ready":
            break
        time.sleep(0.5)
    assert row["id"] == first_id and row["phase"] == "ready"
    code, out2, _ = run_cli(capsys, "logs", name)
    assert len(out2.splitlines()) > len(out1.splitlines())  # the log went on without the console
    assert out2.startswith(out1.splitlines()[0])
    code, out, _ = run_cli(capsys, "restart", name, "--json", "--wait", "30")
    assert code == 0 and json.loads(out)["phase"] == "ready"


def test_drift_is_flagged_when_the_profile_changes_under_a_running_server(standin_sglang_image, xdg, name, capsys):
    from console.runtime import profiles

    args = launch_args(standin_sglang_image, name, free_port())
    assert run_cli(capsys, *args, "--save-profile", "drift", "--dry-run")[0] == 0
    assert run_cli(capsys, "launch", "--profile", "drift", "-e", "FAKE_SGLANG_SCENARIO=ok", "--detach")[0] == 0
    code, out, _ = run_cli(capsys, "status", name, "--json")
    row = json.loads(out)["containers"][0]
    assert row["profile"] == "drift" and row["drift"] is False
    prof = profiles.load("drift")
    prof.values["mem_fraction_static"] = 0.8
    profiles.save(prof)
    code, out, _ = run_cli(capsys, "status", name)
    assert "drift: running settings differ from profile 'drift'" in out


def test_logs_follow_since_and_json(standin_sglang_image, xdg, name, capsys):
    assert run_cli(capsys, *launch_args(standin_sglang_image, name, free_port()))[0] == 0
    code, out, _ = run_cli(capsys, "logs", name, "--tail", "3", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 3 and all(set(r) == {"stream", "line"} for r in rows)
    assert run_cli(capsys, "logs", name, "--since", "1h")[1].count("\n") > 5
    code, out, _ = run_cli(capsys, "logs", name, "--since", str(time.time() + 3600))
    assert code == 0 and out == ""
    code, _, err = run_cli(capsys, "logs", name, "--grep", "([")
    assert code == 2 and "invalid regular expression" in err
    # -f keeps reading until the container stops
    proc = subprocess.Popen([sys.executable, "-m", "console", "logs", "-f", name, "--grep", "shutdown|Shutting|SIGTERM|exit",
                             "-i"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert proc.poll() is None  # still following
    assert run_cli(capsys, "stop", name, "-t", "10")[0] == 0
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.strip(), "the shutdown lines arrived while following"


def test_compose_export_and_dry_run(xdg, capsys, tmp_path):
    target = tmp_path / "compose.yaml"
    code, out, _ = run_cli(capsys, "launch", "--model", "gpt-oss-120b", "--gpus", "0,1", "--compose", str(target))
    assert code == 0
    text = target.read_text()
    assert "openai/gpt-oss-120b" in text and 'device_ids: ["0", "1"]' in text
    assert "docker run -d" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, _, err = run_cli(capsys, "launch", "--compose", str(tmp_path / "missing" / "compose.yaml"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err


def test_stall_is_reported_while_start_up_makes_no_progress(standin_sglang_image, xdg, name, capsys):
    args = launch_args(standin_sglang_image, name, free_port(), "slow_start")
    code, _, err = run_cli(capsys, *args, "-e", "FAKE_SGLANG_PHASE_DELAY=3", "--stall-after", "1.5")
    assert code == 0, err
    assert "no progress for" in err and "stalled?" in err
    assert err.strip().splitlines()[-1].startswith("[")  # still followed to the end


def test_project_image_is_driven_by_env(console_image, xdg, name, capsys, docker_client):
    """The project's image (docker/Dockerfile on the stand-in): settings travel as env, its entrypoint builds argv."""
    code, out, err = run_cli(capsys, "launch", "--image", console_image, "--image-mode", "project", "--gpus", "none",
                             "--hf-cache", "none", "--host-port", str(free_port()), "--container-name", name,
                             "--max-model-len", "8192", "--served-model-name", "gpt-oss", "-e", "FAKE_GPUS=H100-80GB:1",
                             "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["launch"]["mode"] == "project" and result["launch"]["command"] is None
    assert result["launch"]["environment"]["MAX_MODEL_LEN"] == "8192"
    logs = docker_client.containers.get(name).logs().decode()
    argv_line = next(line for line in logs.splitlines() if "SGLANG_ARGV" in line)
    assert "--context-length" in argv_line and "8192" in argv_line and "gpt-oss" in argv_line


def test_replace_applies_new_settings_to_a_running_server(standin_sglang_image, xdg, name, capsys, docker_client):
    port = free_port()
    assert run_cli(capsys, *launch_args(standin_sglang_image, name, port), "--detach")[0] == 0
    first = docker_client.containers.get(name).id
    code, _, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port), "--detach")
    assert code == 2 and "already running" in err and "--replace" in err
    code, out, err = run_cli(capsys, *launch_args(standin_sglang_image, name, port), "--max-model-len", "4096",
                             "--replace", "--json")
    assert code == 0, err
    c = docker_client.containers.get(name)
    assert c.id != first and "4096" in c.attrs["Config"]["Cmd"]


def test_detach_and_timeout_say_what_runs_and_how_to_follow(standin_sglang_image, xdg, name, capsys, docker_client):
    """Issue 19: --detach pointed at `status` (logs -f follows); --timeout left the container running unsaid."""
    try:
        code, out, _ = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port(), "slow_start"),
                               "-e", "FAKE_SGLANG_PHASE_DELAY=30", "--timeout", "2")
        assert code == 1
        assert f"stopped waiting, {name} is still running" in out and f"gpt-oss-console logs -f {name}" in out
        (container,) = docker_client.containers.list(filters={"name": name})
        assert container.status == "running"
        code, out, _ = run_cli(capsys, *launch_args(standin_sglang_image, name, free_port()), "--replace",
                               "--detach")
        assert code == 0 and f"follow it with: gpt-oss-console logs -f {name}" in out
    finally:
        for c in docker_client.containers.list(all=True, filters={"name": name}):
            c.remove(force=True)


def test_weights_download_and_shards_are_counted_with_an_eta(standin_sglang_image, xdg, name, capsys, tmp_path):
    """Issue 19: no ETA while weights download (measured in the HF cache mount: SGLang logs nothing
    meanwhile) or load (shard n/m from the loader's bar)."""
    cache = tmp_path / "hf-cache"
    args = launch_args(standin_sglang_image, name, free_port(), "slow_start")
    args[args.index("--hf-cache") + 1] = str(cache)
    code, _, err = run_cli(capsys, *args, "-e", "FAKE_SGLANG_PHASE_DELAY=6", "-e", "FAKE_SGLANG_DOWNLOAD_MB=400",
                           "-e", "FAKE_SGLANG_SHARDS=3")
    assert code == 0, err
    lines = err.splitlines()
    downloaded = [line for line in lines if "GiB downloaded" in line]
    assert downloaded and all(" of 12.8 GiB downloaded" in line for line in downloaded), err
    shards = [line.split("]   ", 1)[1] for line in lines if "shards" in line]
    assert shards and shards[-1].startswith("3/3 shards"), err
    assert any(s.startswith(("1/3 shards, ~", "2/3 shards, ~")) and s.endswith(" left") for s in shards), err


def test_logs_diagnose_explains_a_kill_and_the_images_gpu_refusal(base_image, console_image, containers, xdg, capsys):
    """Issue 19: exit 137 got no explanation (SIGKILL / OOM killer) and the image's own exit-3
    refusal ("nvidia-smi sees no usable GPU") no diagnosis in `logs --diagnose`."""
    from console.runtime.spec import LABEL_OWNED

    killed = containers.run(base_image, ["sh", "-c", "echo up; sleep 100"], labels={LABEL_OWNED: "1"})
    deadline = time.monotonic() + 30
    while b"up" not in killed.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    killed.kill()
    killed.wait(timeout=30)
    code, out, err = run_cli(capsys, "logs", killed.name, "--diagnose")
    assert code == 0 and out == "up\n"
    assert "SIGKILL" in err and "OOM killer" in err and "Traceback" not in err

    refused = containers.run(console_image, labels={LABEL_OWNED: "1"})  # no GPU here: the entrypoint refuses
    assert refused.wait(timeout=60)["StatusCode"] == 3
    code, out, err = run_cli(capsys, "logs", refused.name, "--diagnose")
    assert code == 0 and "nvidia-smi sees no usable GPU" in out
    assert "cause: The image found no usable GPU and refused to start (exit code 3)" in err
    assert "NVIDIA Container Toolkit" in err
