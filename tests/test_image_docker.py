"""The real docker/Dockerfile, built on the stand-in SGLang image, run on a real Docker Engine.

Covers issue 3's "must show": README examples → SGLang argv, bad env → one line and a
non-zero exit with nothing started, SSH key/password behaviour, secrets kept out of
``docker logs`` and ``docker inspect``, and a graceful ``docker stop``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.docker.readme_examples import API_KEY_IN_FILE, EXPECTED, EXPECTED_KEYS, examples
from tests.fixtures.docker_engine import free_port, wait_for_log

pytestmark = pytest.mark.docker

FAST = {"FAKE_SGLANG_DELAY": "0.05"}
READY = "The server is fired up and ready to roll!"


def _logs(container, **kw) -> str:
    return container.logs(**kw).decode(errors="replace")


def _argv(container) -> list[str]:
    code, out = container.exec_run(["cat", "/tmp/sglang-argv.json"])
    assert code == 0, out
    return json.loads(out)["argv"]


def _config(container, argv: list[str]) -> str:
    """The --config file the entrypoint gave SGLang (the API key's way in), read in the container."""
    code, out = container.exec_run(["cat", argv[argv.index("--config") + 1]])
    assert code == 0, out
    return out.decode()


def _http(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


# -- the image itself -----------------------------------------------------------------


def test_image_metadata_healthcheck_and_no_host_keys(docker_client, console_image):
    image = docker_client.images.get(console_image)
    config = image.attrs["Config"]
    assert config["Labels"]["org.opencontainers.image.title"] == "gpt-oss-sglang"
    assert "org.opencontainers.image.version" in config["Labels"]
    assert "/opt/gpt-oss-console/console/image/healthcheck.py" in " ".join(config["Healthcheck"]["Test"])
    assert {"8000/tcp", "22/tcp"} <= set(config["ExposedPorts"])
    assert not any(k in e for e in config.get("Env") or [] for k in ("TOKEN", "API_KEY", "PASSWORD"))
    out = docker_client.containers.run(console_image, ["sh", "-c", "ls /etc/ssh; ls -a /root"], remove=True).decode()
    assert "ssh_host_" not in out, "SSH host keys baked into the image"
    assert ".ssh" not in out


# -- README deployment examples -------------------------------------------------------


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_readme_example_produces_expected_argv(example, console_image, containers, tmp_path):
    env = {**example.env, **FAST, "FAKE_GPUS": example.fake_gpus}
    volumes = {}
    if "API_KEY_FILE" in env:
        (tmp_path / "api_key").write_text(API_KEY_IN_FILE + "\n")
        volumes[str(tmp_path / "api_key")] = {"bind": env["API_KEY_FILE"], "mode": "ro"}
    c = containers.run(console_image, environment=env, volumes=volumes)
    logs = wait_for_log(c, "SGLANG_ARGV", timeout=30)
    argv = _argv(c)
    if example.id in EXPECTED_KEYS:  # the key in SGLang's --config file, never on its command line
        assert argv[-2] == "--config" and argv[-1].endswith("/secrets.yaml")
        assert _config(c, argv).splitlines()[-1] == f'api-key: "{EXPECTED_KEYS[example.id]}"'
        assert EXPECTED_KEYS[example.id] not in " ".join(argv)
        argv = argv[:-2]
    assert argv == EXPECTED[example.id]
    keyed = "API_KEY" in env or "API_KEY_FILE" in env
    how = "run (masking the API key in SGLang's log)" if keyed else "exec"
    assert f"gpt-oss-image: {how} python3 -m sglang.launch_server --model-path" in logs
    for secret in (API_KEY_IN_FILE, env.get("API_KEY")):
        if secret:
            assert secret not in logs
    if example.id == "20b-l40s":
        assert "DYN_TOOL_CALL_PARSER=harmony normalised to gpt-oss" in logs
    if "API_KEY" not in env and "API_KEY_FILE" not in env:
        assert "WARNING: no API key and SGLang listens on 0.0.0.0" in logs


def test_long_context_is_passed_on_with_a_warning(console_image, containers):
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1", "MODEL": "gpt-oss-120b",
                                                   "MAX_MODEL_LEN": "131072"})
    logs = wait_for_log(c, READY, timeout=30)
    argv = _argv(c)
    assert argv[argv.index("--context-length") + 1] == "131072"
    assert "WARNING: MAX_MODEL_LEN=131,072 is longer than the KV pool holds for one request: about 11,997 tokens" in logs


# -- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("env,code,fragment", [
    ({"MODEL": "gpt-oss-70b", "FAKE_GPUS": "H100-80GB:1"}, 2, "unknown model 'gpt-oss-70b'"),
    ({"MEM_FRACTION_STATIC": "1.5", "FAKE_GPUS": "H100-80GB:1"}, 2, "MEM_FRACTION_STATIC=1.5 is out of range"),
    ({"TENSOR_PARALLEL_SIZE": "3", "FAKE_GPUS": "H100-80GB:4"}, 2, "TENSOR_PARALLEL_SIZE=3 is not valid"),
    ({"MODEL": "openai/gpt-oss-120b", "FAKE_GPUS": "L40S:1"}, 2, "does not fit on one L40S-48GB"),
    # nvidia-smi says 20 GiB are used by something else: planned from what is free, and told to free it
    ({"MODEL": "openai/gpt-oss-120b", "FAKE_GPUS": "H100-80GB:1", "FAKE_GPU_USED_MIB": "20480"}, 2,
     "Free the GPUs: 20.0 GiB of them is held by other processes"),
    ({"ATTENTION_BACKEND": "warp9", "FAKE_GPUS": "H100-80GB:1"}, 2, "unknown ATTENTION_BACKEND='warp9'"),
    ({"ATTENTION_BACKEND": "flashinfer", "FAKE_GPUS": "H100-80GB:1"}, 2, "refuses flashinfer"),
    ({"API_KEY_FILE": "/run/secrets/missing", "FAKE_GPUS": "H100-80GB:1"}, 2, "API_KEY_FILE=/run/secrets/missing"),
    ({}, 3, "nvidia-smi sees no usable GPU"),
])
def test_bad_env_is_one_line_and_nothing_starts(env, code, fragment, console_image, containers):
    c = containers.run(console_image, environment=env)
    assert c.wait(timeout=30)["StatusCode"] == code
    err = _logs(c, stdout=False, stderr=True).strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpt-oss-image: error: ") and fragment in err[0], err
    assert _logs(c, stdout=True, stderr=False) == ""  # no summary, no SGLang
    assert "SGLANG_ARGV" not in _logs(c)


# -- secrets --------------------------------------------------------------------------


def test_secrets_in_env_stay_out_of_logs(console_image, containers):
    key, token = "sk-env-secret-value-7c1e", "hf_EnvTokenValueForTest0001"
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1", "API_KEY": key,
                                                   "HF_TOKEN": token})
    logs = wait_for_log(c, READY, timeout=30)
    assert key not in logs and token not in logs
    assert "sk-…7c1e" in logs and "hf_…0001" in logs
    argv = _argv(c)  # SGLang's own argv (what ps shows): the key is in its --config file instead
    assert "--api-key" not in argv and key not in " ".join(argv) and "--config" in argv
    assert _config(c, argv).splitlines()[-1] == f'api-key: "{key}"'
    code, out = c.exec_run(["cat", "/tmp/sglang-argv.json"])
    assert json.loads(out)["env"] == {"HF_TOKEN": "<set>", "HUGGING_FACE_HUB_TOKEN": "<set>"}  # a value: as given


def test_secret_files_appear_nowhere_in_inspect_or_logs(console_image, containers, tmp_path):
    key, token = "sk-file-secret-value-9d2f", "hf_FileTokenValueForTest0002"
    (tmp_path / "api_key").write_text(key + "\n")
    (tmp_path / "hf_token").write_text(token + "\n")
    port = free_port()
    c = containers.run(
        console_image,
        environment={**FAST, "FAKE_GPUS": "H100-80GB:1", "API_KEY_FILE": "/run/secrets/api_key",
                     "HF_TOKEN_FILE": "/run/secrets/hf_token"},
        volumes={str(tmp_path / "api_key"): {"bind": "/run/secrets/api_key", "mode": "ro"},
                 str(tmp_path / "hf_token"): {"bind": "/run/secrets/hf_token", "mode": "ro"}},
        ports={"8000/tcp": ("127.0.0.1", port)},
    )
    logs = wait_for_log(c, READY, timeout=30)
    inspect = subprocess.run(["docker", "inspect", c.id], capture_output=True, text=True, check=True).stdout
    for secret in (key, token):
        assert secret not in inspect and secret not in logs
    assert "[file API_KEY_FILE]" in logs and "[file HF_TOKEN_FILE]" in logs
    # SGLang did get them: the key through its --config file (enforced by the server), the token
    # as a file huggingface_hub reads (HF_TOKEN_PATH), neither on a command line nor in an env.
    argv = _argv(c)
    assert key not in " ".join(argv) and _config(c, argv).splitlines()[-1] == f'api-key: "{key}"'
    code, out = c.exec_run(["cat", "/tmp/sglang-argv.json"])
    assert json.loads(out)["env"] == {"HF_TOKEN_PATH": "<readable>"}
    assert _http(f"http://127.0.0.1:{port}/v1/models") == 401
    assert _http(f"http://127.0.0.1:{port}/v1/models", key) == 200


# -- lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "sk-stop-test-key-00000001"], ids=["exec", "supervised"])
def test_docker_stop_is_graceful_through_sglang(api_key, console_image, containers):
    env = {**FAST, "FAKE_GPUS": "H100-80GB:1", **({"API_KEY": api_key} if api_key else {})}
    c = containers.run(console_image, environment=env)
    wait_for_log(c, READY, timeout=30)
    code, cmdline = c.exec_run(["cat", "/proc/1/cmdline"])
    if api_key:  # the entrypoint stays PID 1 to mask the key and forwards SIGTERM
        assert b"console.image.entrypoint" in cmdline
        code, out = c.exec_run(["pgrep", "-P", "1", "-f", "sglang.launch_server"])
        assert code == 0, "SGLang is not a child of PID 1"
    else:
        assert b"sglang.launch_server" in cmdline, "SGLang is not PID 1: the entrypoint did not exec"
    code, out = c.exec_run(["python3", "/opt/gpt-oss-console/console/image/healthcheck.py"])
    assert code == 0
    t0 = time.monotonic()
    c.stop(timeout=10)
    elapsed = time.monotonic() - t0
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 0 and not c.attrs["State"]["OOMKilled"]
    assert elapsed < 10, f"stop took {elapsed:.1f}s: SIGTERM did not reach SGLang"
    logs = _logs(c)
    assert "INFO:     Application shutdown complete." in logs and "Finished server process" in logs
    if api_key:
        assert api_key not in logs and "api_key='sk-…0001'" in logs


def test_supervised_exit_status_is_sglangs(console_image, containers):
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1", "API_KEY": "sk-crash-0000000002",
                                                   "FAKE_SGLANG_SCENARIO": "cuda_oom"})
    assert c.wait(timeout=30)["StatusCode"] == 1
    logs = _logs(c)
    assert "torch.OutOfMemoryError: CUDA out of memory." in logs  # the last lines survive
    assert "sk-crash-0000000002" not in logs


def test_healthcheck_fails_while_starting(console_image, containers):
    c = containers.run(console_image, environment={"FAKE_GPUS": "H100-80GB:1", "FAKE_SGLANG_SCENARIO": "slow_start",
                                                   "FAKE_SGLANG_PHASE_DELAY": "5"})
    wait_for_log(c, "Load weight begin", timeout=30)
    code, _ = c.exec_run(["python3", "/opt/gpt-oss-console/console/image/healthcheck.py"])
    assert code == 1


def test_container_args_pass_through_and_commands_run(console_image, containers, docker_client):
    c = containers.run(console_image, ["--decode-log-interval", "10"], environment={**FAST, "FAKE_GPUS": "H100-80GB:1"})
    wait_for_log(c, "SGLANG_ARGV", timeout=30)
    assert _argv(c)[-2:] == ["--decode-log-interval", "10"]
    out = docker_client.containers.run(console_image, ["python3", "-c", "print('shell ok')"], remove=True)
    assert out.decode().strip() == "shell ok"


# -- SSH ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@gpt-oss-console", "-f", str(d / "id")],
                   check=True)
    return d / "id"


def _ssh(port: int, *, key=None, password=None, tmp_path=None, command="echo logged-in-as-$(whoami)"):
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
            "-o", "LogLevel=ERROR", "-p", str(port)]
    env = dict(os.environ)
    if key:
        opts += ["-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
    else:  # password through SSH_ASKPASS: no tty and no sshpass needed
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{password}'\n")
        askpass.chmod(0o700)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        opts += ["-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
                 "-o", "NumberOfPasswordPrompts=1"]
    return subprocess.run(["ssh", *opts, "root@127.0.0.1", command], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=30)


def _ssh_retry(port, **kw):
    for _ in range(20):  # sshd is up when the summary is printed, but give the port a moment
        proc = _ssh(port, **kw)
        if proc.returncode == 0 or "Permission denied" in proc.stderr:
            return proc
        time.sleep(0.3)
    return proc


def test_ssh_key_login_works_and_password_is_refused(console_image, containers, ssh_key, tmp_path):
    port = free_port()
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1",
                                                   "SSH_PUBLIC_KEY": (ssh_key.parent / "id.pub").read_text().strip()},
                       ports={"22/tcp": ("127.0.0.1", port)})
    logs = wait_for_log(c, "sshd listening on port 22 (key only)", timeout=30)
    assert "host keys generated at start" in logs
    ok = _ssh_retry(port, key=ssh_key)
    assert ok.returncode == 0 and ok.stdout.strip() == "logged-in-as-root", ok.stderr
    refused = _ssh_retry(port, password="anything", tmp_path=tmp_path)
    assert refused.returncode == 255 and "Permission denied (publickey)" in refused.stderr
    code, out = c.exec_run(["sh", "-c", "ls /etc/ssh/ssh_host_*_key | wc -l"])
    assert int(out) >= 1


def test_public_key_alias_for_runpod(console_image, containers, ssh_key):
    port = free_port()
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1",
                                                   "PUBLIC_KEY": (ssh_key.parent / "id.pub").read_text().strip()},
                       ports={"22/tcp": ("127.0.0.1", port)})
    wait_for_log(c, "sshd listening", timeout=30)
    assert _ssh_retry(port, key=ssh_key).returncode == 0


def test_ssh_password_only_when_set_and_loudly(console_image, containers, tmp_path):
    port = free_port()
    password = "Correct-Horse-Battery-42"
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1", "SSH_PASSWORD": password},
                       ports={"22/tcp": ("127.0.0.1", port)})
    logs = wait_for_log(c, "sshd listening on port 22 (password)", timeout=30)
    assert "WARNING: SSH_PASSWORD is set: root can log in over SSH with a password" in logs
    assert password not in logs
    wrong = _ssh_retry(port, password="wrong-password", tmp_path=tmp_path)
    assert wrong.returncode == 255 and "Permission denied" in wrong.stderr
    right = _ssh_retry(port, password=password, tmp_path=tmp_path)
    assert right.returncode == 0 and right.stdout.strip() == "logged-in-as-root", right.stderr


def test_no_key_no_password_no_sshd(console_image, containers):
    c = containers.run(console_image, environment={**FAST, "FAKE_GPUS": "H100-80GB:1"})
    wait_for_log(c, READY, timeout=30)
    code, _ = c.exec_run(["pgrep", "-x", "sshd"])
    assert code == 1, "sshd runs although no SSH key or password was given"


# -- the stand-in's scenarios (other tests and benchmarks rely on them) ----------------


@pytest.mark.parametrize("scenario,line,exit_code", [
    ("not_enough_memory", "Not enough memory. Please try to increase --mem-fraction-static.", 1),
    ("cuda_oom", "torch.OutOfMemoryError: CUDA out of memory.", 1),
    ("bad_backend", "requires one of ['triton', 'trtllm_mha', 'fa3', 'fa4'] attention backend", 1),
    ("gated_repo", "GatedRepoError: 401 Client Error.", 1),
    ("capture_fail", "Capture cuda graph failed", 1),
    ("crash_after_ready", "an illegal memory access was encountered", 1),
])
def test_standin_failure_scenarios(scenario, line, exit_code, standin_sglang_image, containers):
    c = containers.run(standin_sglang_image, ["python3", "-m", "sglang.launch_server", "--model-path",
                                              "openai/gpt-oss-20b", "--port", "8000"],
                       environment={**FAST, "FAKE_SGLANG_SCENARIO": scenario, "FAKE_SGLANG_CRASH_AFTER": "1",
                                    "FAKE_GPUS": "H100-80GB:1"})
    assert c.wait(timeout=30)["StatusCode"] == exit_code
    logs = _logs(c)
    assert line in logs
    assert (READY in logs) == (scenario == "crash_after_ready")


def test_standin_ok_scenario_logs_like_sglang(standin_sglang_image, containers):
    port = free_port()
    c = containers.run(standin_sglang_image, ["python3", "-m", "sglang.launch_server", "--model-path",
                                              "openai/gpt-oss-120b", "--tp-size", "2", "--host", "0.0.0.0", "--port", "8000",
                                              "--served-model-name", "oss"],
                       environment={**FAST, "FAKE_GPUS": "H100-80GB:2", "FAKE_SGLANG_STATS_INTERVAL": "0.2"},
                       ports={"8000/tcp": ("127.0.0.1", port)})
    logs = wait_for_log(c, "Decode batch.", timeout=30)
    order = ["Load weight begin", "Load weight end", "KV Cache is allocated. #tokens:", "max_total_num_tokens=",
             "Capture cuda graph begin", "Capture cuda graph end", "Uvicorn running on http://0.0.0.0:8000", READY]
    positions = [logs.index(s) for s in order]
    assert positions == sorted(positions)
    assert "TP1] Load weight begin" in logs
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as resp:
        assert json.load(resp)["data"][0]["id"] == "oss"
    code, out = c.exec_run(["nvidia-smi", "--query-gpu=index,name,memory.total,compute_cap",
                            "--format=csv,noheader,nounits"])
    assert out.decode().splitlines() == ["0, NVIDIA H100 80GB HBM3, 81559, 9.0", "1, NVIDIA H100 80GB HBM3, 81559, 9.0"]
