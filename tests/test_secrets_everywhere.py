"""Issue 11's must-show: launch with an API key and an HF token on a stock-style image that prints
its arguments (the stand-in SGLang logs server_args, key included, as SGLang does), then search
everything the console produced and find neither value: the screen of every area, `logs` (plain,
--json, --diagnose), `status` (--json too), `launch --dry-run`, the compose export, a crash bundle,
a saved log, transcripts, chat/smoke/bench output, every file under the config and state dirs,
and `docker inspect` of the container (env, args, mounts).

Also issue 19 bugs 4 and 5 and issue 10's --dry-run: the exports run as printed (the key from a
file, never `****`), and `status` reads the endpoint from Docker's port bindings.

The CLI runs as separate processes (as an operator runs it): each must find the secrets the way
a fresh process does (the container's secret files, a secret's name in a line), not from what
this test process happens to hold.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.fixtures.docker_engine import free_port
from tests.runtime_helpers import container_name, isolate_state
from tests.ui_helpers import screen_text, until

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]
FAST = {"FAKE_SGLANG_DELAY": "0.05", "FAKE_SGLANG_STATS_INTERVAL": "3600"}


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    isolate_state(tmp_path, monkeypatch)
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(REPO / "tests/data/nvml/2xh100.json"))
    for var in ("GPT_OSS_CONSOLE_API_KEY", "GPT_OSS_CONSOLE_API_KEY_FILE", "GPT_OSS_CONSOLE_BASE_URL",
                "GPT_OSS_CONSOLE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def name(docker_client):
    yield from container_name(docker_client, "secrets")


@pytest.fixture
def secrets(tmp_path):
    """An API key and an HF token, each in an operator's file (0600)."""
    key = f"sk-mustshow-{uuid.uuid4().hex}"
    token = f"hf_MustShow{uuid.uuid4().hex}"
    (tmp_path / "api_key").write_text(key + "\n")
    (tmp_path / "hf_token").write_text(token + "\n")
    for f in ("api_key", "hf_token"):
        os.chmod(tmp_path / f, 0o600)
    return key, token


def cli(*argv: str, check: int | None = 0, env: dict | None = None) -> subprocess.CompletedProcess:
    """The console's CLI in its own process, as an operator runs it."""
    proc = subprocess.run([sys.executable, "-m", "console", *argv], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=240)
    if check is not None:
        assert proc.returncode == check, f"{argv}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def http(url: str, key: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # not listening yet, or reset while it starts
        return 0


def launch_args(image: str, name: str, port: int, tmp: Path) -> list[str]:
    return ["launch", "--image", image, "--image-mode", "stock", "--gpus", "none", "--hf-cache", "none",
            "--host-port", str(port), "--container-name", name, "--api-key-file", str(tmp / "api_key"),
            "--hf-token-file", str(tmp / "hf_token"), *(a for k, v in FAST.items() for a in ("-e", f"{k}={v}"))]


async def tui_screens(tmp: Path, name: str) -> tuple[str, str]:
    """The full console re-attached to the running container: every area's screen, and a log saved
    from the Logs area. Returns (all screens, the saved file's text)."""
    from console.runtime.phases import RunPhase
    from console.ui.app import ConsoleApp

    saved = tmp / "saved-from-logs.log"
    app = ConsoleApp()
    screens = []
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.pane("launch") is not None, "the Launch area")
        launch = app.pane("launch")
        await until(pilot, lambda: launch.container_name == name,
                    lambda: f"re-attach to {name} (attached: {launch.container_name}, form names "
                            f"{launch.spec.name if launch.spec else launch.spec_error})", timeout=60)
        await until(pilot, lambda: launch.snap is not None and launch.snap.phase is RunPhase.READY, "ready", 60)
        logs = app.pane("logs")
        await until(pilot, lambda: any("server_args=" in (logs.buffer.line(i) or "")
                                       for i in range(logs.buffer.dropped, logs.buffer.total)),
                    "the server_args line in Logs", timeout=30)
        chat = app.pane("chat")
        await until(pilot, lambda: chat.settings.api_key is not None, "the endpoint's key in Chat", timeout=30)
        for key in "123456":  # alt+N: an area from anywhere (a digit in Chat's input is a digit)
            await pilot.press(f"alt+{key}")
            await pilot.pause(0.3)
            if key == "3":  # Logs: the top of the log, where SGLang prints its server_args
                await pilot.press("home")
                for _ in range(60):  # scroll right to where the line names the key
                    if re.search(r"api_key='sk-…\w{4}'", screen_text(app)):
                        break
                    await pilot.press("right")
                    await pilot.pause(0.05)
                text = screen_text(app)
                assert "api_key='sk-…" in text, text  # the line is on screen, masked
            screens.append(screen_text(app))
        await pilot.press("alt+3")
        await until(pilot, lambda: app.current_area == "logs", "the Logs area")
        logs.view.focus()
        await pilot.press("s")
        logs.query_one("#logs-input").value = str(saved)
        await pilot.press("enter")
        await until(pilot, lambda: saved.exists() and not logs._saving, "the log to be saved")
        screens.append(screen_text(app))
    return "\n".join(screens), saved.read_text()


def files_under(*roots: Path) -> dict[str, bytes]:
    out = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                out[str(path)] = path.read_bytes()
    return out


async def test_the_key_and_the_token_appear_nowhere_the_console_writes(standin_sglang_image, xdg, name, secrets,
                                                                       docker_client, monkeypatch):
    key, token = secrets
    tmp = xdg
    port = free_port()
    found: dict[str, str] = {}  # what the console produced, by where

    def keep(where: str, proc_or_text) -> None:
        found[where] = proc_or_text if isinstance(proc_or_text, str) else proc_or_text.stdout + proc_or_text.stderr

    args = launch_args(standin_sglang_image, name, port, tmp)
    keep("launch --dry-run", cli(*args, "--dry-run"))
    keep("launch --dry-run --json", cli(*args, "--dry-run", "--json"))
    keep("launch --compose", cli(*args, "--compose", str(tmp / "compose.yaml")))
    launched = cli(*args, "--json", "--save-profile", "keyed")
    keep("launch --json", launched)
    assert json.loads(launched.stdout)["phase"] == "ready"
    base = f"http://127.0.0.1:{port}"
    assert http(f"{base}/v1/models") == 401 and http(f"{base}/v1/models", key) == 200  # SGLang got the key

    keep("status", cli("status", name))
    keep("status --json", cli("status", name, "--json"))
    plain = cli("logs", name)
    keep("logs", plain)
    assert "api_key='sk-…" in plain.stdout  # the stock image printed it; the console masked it (bug 4)
    keep("logs --json", cli("logs", name, "--json"))
    keep("logs --diagnose", cli("logs", name, "--diagnose"))
    keep("profiles show", cli("profiles", "show", "keyed"))

    keyfile = str(tmp / "api_key")
    chat = cli("chat", "hello there", "--base-url", base, "--api-key-file", keyfile, "--json",
               "--save", str(tmp / "t.jsonl"), "--markdown", str(tmp / "t.md"))
    keep("chat --json", chat)
    assert "\"finish_reason\": \"stop\"" in chat.stdout and "TurnError" not in chat.stdout  # it got through
    keep("chat --profile", cli("chat", "again", "--profile", "keyed"))  # the profile's server and key file
    keep("smoke --json", cli("smoke", "--only", "plain-chat", "--base-url", base, "--api-key-file", keyfile,
                             "--json", check=None))
    keep("smoke --junit", cli("smoke", "--only", "plain-chat", "--base-url", base, "--api-key-file", keyfile,
                              "--junit", str(tmp / "smoke.xml"), check=None))
    keep("bench --json", cli("bench", "--base-url", base, "--api-key-file", keyfile, "--concurrency", "1",
                             "--requests", "2", "--input-len", "16", "--output-len", "8", "--quiet",
                             "--json", str(tmp / "bench.json"), check=None))
    keep("metrics", cli("metrics", "--base-url", base, "--api-key-file", keyfile, "--interval", "0.2",
                        check=None))
    warned = cli("smoke", "--only", "plain-chat", "--base-url", base, "--api-key", key, "--json", check=None)
    assert "ps" in warned.stderr and "--api-key-file" in warned.stderr  # still works, but warns
    keep("smoke --api-key (its output)", warned)

    # The console re-attaches to the server its form names (others run on this shared engine).
    monkeypatch.setenv("GPT_OSS_CONTAINER_NAME", name)
    screens, saved_log = await tui_screens(tmp, name)
    keep("the console's screens (every area)", screens)
    keep("a log saved from the Logs area", saved_log)
    assert "api_key='sk-…" in saved_log

    inspect = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
    keep("docker inspect", inspect)
    attrs = json.loads(inspect)[0]
    assert not any("API_KEY=" in e or "HF_TOKEN=" in e for e in attrs["Config"]["Env"])

    subprocess.run(["docker", "kill", name], capture_output=True, check=True)  # a crash: exit 137
    deadline = time.monotonic() + 30
    while True:
        rows = json.loads(cli("status", name, "--json", check=None).stdout)["containers"]
        if rows and rows[0]["crash_bundle"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows[0]["crash_bundle"], rows
    keep("status after the crash", json.dumps(rows))

    # Every file the console wrote: config and state dirs, exports, transcripts, results.
    ours = files_under(tmp / "cfg", tmp / "state")
    # The one place the key is meant to be: the console's copy of SGLang's --config file, which the
    # container mounts read-only (0400 in a 0700 folder, this user only).
    config = tmp / "state" / "gpt-oss-console" / "secrets" / name / "sglang.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o400 and stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert config.read_text().splitlines()[-1] == f'api-key: "{key}"'
    del ours[str(config)]
    assert any("crashes" in p for p in ours) and any("profiles" in p for p in ours)
    for path in ("compose.yaml", "t.jsonl", "t.md", "smoke.xml", "bench.json"):
        ours[str(tmp / path)] = (tmp / path).read_bytes()
    for where, data in ours.items():
        found[where] = data.decode("utf-8", "replace")

    leaks = [f"{where}: {'key' if key in text else 'token'}" for where, text in found.items()
             if key in text or token in text]
    assert not leaks, "a secret in clear:\n" + "\n".join(leaks)
    assert len(found) >= 25, sorted(found)


async def test_exports_run_as_printed_and_status_reads_the_real_port(standin_sglang_image, xdg, name, docker_client,
                                                                     tmp_path):
    """Issue 19 bug 5 and issue 10: `--dry-run` printed `-e HF_TOKEN=****` / `--api-key '****'`, which
    cannot run; status took the endpoint from the console's labels, not the published port."""
    key, token = f"sk-typed-{uuid.uuid4().hex}", f"hf_Env{uuid.uuid4().hex}"
    port, other = free_port(), free_port()
    env = {"API_KEY": key, "HF_TOKEN": token}  # values, not files: the console writes its copies
    args = ["launch", "--image", standin_sglang_image, "--image-mode", "stock", "--gpus", "none", "--hf-cache",
            "none", "--host-port", str(port), "--container-name", name,
            *(a for k, v in FAST.items() for a in ("-e", f"{k}={v}"))]
    dry = cli(*args, "--dry-run", env=env)
    printed = dry.stdout
    assert key not in printed + dry.stderr and token not in printed + dry.stderr and "****" not in printed
    assert "written to" in dry.stderr and "0400" in dry.stderr
    # Run the printed command, publishing on another port than the console chose.
    command = printed.replace(f"127.0.0.1:{port}:8000", f"127.0.0.1:{other}:8000")
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    base = f"http://127.0.0.1:{other}"
    deadline = time.monotonic() + 60
    while http(f"{base}/health") != 200:
        assert time.monotonic() < deadline, docker_client.containers.get(name).logs()[-2000:]
        time.sleep(0.3)
    assert http(f"{base}/v1/models") == 401 and http(f"{base}/v1/models", key) == 200
    recorded = json.loads(docker_client.containers.get(name).exec_run(["cat", "/tmp/sglang-argv.json"])[1])
    assert recorded["env"] == {"HF_TOKEN_PATH": "<readable>"}  # the token reached SGLang from a file
    row = json.loads(cli("status", name, "--json", check=None).stdout)["containers"][0]
    assert row["base_url"] == base and row["host_port"] == other  # the binding, not the label
    assert row["phase"] == "ready"  # status probed the real port with the key it read back

    # The compose export mounts the same files, and parses as compose's YAML.
    import yaml

    compose_file = tmp_path / "compose.yaml"
    cli(*args, "--compose", str(compose_file), env=env)
    doc = yaml.safe_load(compose_file.read_text())
    (service,) = doc["services"].values()
    mounts = dict(v.rsplit(":", 2)[:2][::-1] for v in service["volumes"])
    assert service["command"][-2:] == ["--config", "/run/secrets/gpt-oss-console/sglang.yaml"]
    assert Path(mounts["/run/secrets/gpt-oss-console/sglang.yaml"]).read_text().endswith(f'api-key: "{key}"\n')
    assert Path(mounts["/run/secrets/gpt-oss-console/hf_token"]).read_text() == token + "\n"
    assert all(v.endswith(":ro") for v in service["volumes"])
    assert key not in compose_file.read_text() and token not in compose_file.read_text()
    # The console's copies live as long as the container: removing it removes them.
    copies = xdg / "state" / "gpt-oss-console" / "secrets" / name
    assert copies.is_dir()
    cli("stop", name, "--remove", "--timeout", "5")
    assert not copies.exists()


async def test_project_image_gets_the_keys_as_files(console_image, xdg, name, secrets, docker_client):
    """The project's image: *_FILE paths in its env, the files mounted read-only; docker inspect shows paths."""
    key, token = secrets
    port = free_port()
    tmp = xdg
    launched = cli("launch", "--image", console_image, "--image-mode", "project", "--gpus", "none", "--hf-cache",
                   "none", "--host-port", str(port), "--container-name", name, "--api-key-file",
                   str(tmp / "api_key"), "--hf-token-file", str(tmp / "hf_token"), "-e", "FAKE_GPUS=H100-80GB:1",
                   *(a for k, v in FAST.items() for a in ("-e", f"{k}={v}")), "--json")
    assert json.loads(launched.stdout)["phase"] == "ready"
    inspect = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
    assert key not in inspect and token not in inspect
    env = json.loads(inspect)[0]["Config"]["Env"]
    assert "API_KEY_FILE=/run/secrets/gpt-oss-console/api_key" in env
    assert "HF_TOKEN_FILE=/run/secrets/gpt-oss-console/hf_token" in env
    mounts = {m["Destination"]: m for m in json.loads(inspect)[0]["Mounts"]}
    assert mounts["/run/secrets/gpt-oss-console/api_key"]["Source"] == str(tmp / "api_key")
    assert mounts["/run/secrets/gpt-oss-console/api_key"]["RW"] is False
    assert http(f"http://127.0.0.1:{port}/v1/models", key) == 200
    logs = cli("logs", name).stdout
    assert key not in logs and token not in logs and re.search(r"API_KEY\s+sk-…", logs)
    # SGLang's own command line (what ps shows on the host) carries no key either
    ps = docker_client.containers.get(name).top(ps_args="-eo pid,args")
    assert not any(key in " ".join(p) for p in ps["Processes"]), ps
