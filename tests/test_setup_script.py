"""tests/setup.sh, the set-up half of the README's test command, on machines that lie about what they have.

CI's image ships a docker *client* with no engine; a command can be a stub; a Python can lack venv.
The plan must be decided by what works, not by what is on PATH, and a machine that cannot be set
up must say which step failed before any test runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import need

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "tests" / "setup.sh"
ENGINE_PIECES = {"dockerd", "containerd", "runc", "docker-init", "docker-proxy", "containerd-shim-runc-v2"}


def shadow_path(tmp_path: Path, *, hide: set[str], replace: dict[str, str] | None = None) -> str:
    """A PATH holding everything the real one does, minus ``hide``, with ``replace`` scripts first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = bin_dir / name
            src = os.path.join(folder, name)
            if name in hide or target.exists() or not os.access(src, os.X_OK) or os.path.isdir(src):
                continue
            target.symlink_to(src)
    for name, body in (replace or {}).items():
        target = bin_dir / name
        if target.exists() or target.is_symlink():
            target.unlink()
        target.write_text(body)
        target.chmod(0o755)
    return str(bin_dir)


def run_setup(step: str, path: str, tmp_path: Path, *, user: str | None = None) -> subprocess.CompletedProcess:
    # An engine socket that does not exist: `docker info` fails as it does on a machine with no engine.
    env = {"PATH": path, "HOME": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
           "CACHE": str(tmp_path / "cache"), "LANG": "C.UTF-8"}
    cmd = ["bash", str(SETUP), step]
    if user:
        cmd = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups",
               "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def plan(proc: subprocess.CompletedProcess) -> dict[str, str]:
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t", 1) for line in proc.stdout.splitlines() if line.strip()]
    return {pkg: why for pkg, why in rows}


def test_a_docker_client_without_an_engine_plans_the_engine(tmp_path):
    need(shutil.which("docker") is not None, "a docker client on PATH")
    path = shadow_path(tmp_path, hide=ENGINE_PIECES)
    planned = plan(run_setup("plan", path, tmp_path))
    assert "docker.io" in planned, planned
    # The engine is what is missing, not the client: the reason names the absent pieces.
    assert "Docker Engine" in planned["docker.io"] and "dockerd" in planned["docker.io"]


def test_a_stub_docker_client_is_not_taken_for_a_client(tmp_path):
    path = shadow_path(tmp_path, hide=ENGINE_PIECES, replace={"docker": "#!/bin/sh\nexit 0\n"})
    planned = plan(run_setup("plan", path, tmp_path))
    assert "docker client" in planned["docker.io"], planned


def test_a_stub_tool_is_planned_like_a_missing_one(tmp_path):
    path = shadow_path(tmp_path, hide=set(), replace={"tmux": "#!/bin/sh\nexit 127\n"})
    assert "tmux" in plan(run_setup("plan", path, tmp_path))


def test_a_python_without_venv_plans_its_venv_package(tmp_path):
    real = shutil.which("python3")
    need(real is not None, "python3 on PATH")
    # Debian's python3 without python3-venv: `import ensurepip` fails. Emulated by shadowing the
    # stdlib module for every interpreter name the script may pick.
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "ensurepip.py").write_text("raise ImportError('ensurepip is not available')\n")
    wrapper = f"#!/bin/sh\nPYTHONPATH={blocked} exec {real} \"$@\"\n"
    names = ("python3", "python3.11", "python3.12", "python3.13")
    path = shadow_path(tmp_path, hide=set(names), replace={"python3": wrapper})
    planned = plan(run_setup("plan", path, tmp_path))
    venv_pkgs = [pkg for pkg in planned if pkg.endswith("-venv")]
    assert venv_pkgs == ["python3-venv"], planned
    assert "cannot create a virtual environment" in planned["python3-venv"]


def test_not_root_says_which_step_and_what_to_do():
    need(os.geteuid() == 0, "root, to run the set-up as an unprivileged user")
    # Outside pytest's 0700 tmp root: gcc's access() checks ignore the capability that lets
    # `nobody` read through it, so the compiler would look missing.
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        tmp_path.chmod(0o755)
        _not_root(tmp_path)


def _not_root(tmp_path: Path) -> None:
    path = shadow_path(tmp_path, hide=ENGINE_PIECES)
    proc = run_setup("system", path, tmp_path, user="nobody")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "setup failed: installing docker.io needs root" in proc.stderr
    assert "sudo bash tests/run-all.sh" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_setup("engine", path, tmp_path, user="nobody")
    assert proc.returncode == 3 and "only root can start it" in proc.stderr, proc.stderr


def test_engine_step_without_dockerd_fails_before_anything_runs(tmp_path):
    need(os.geteuid() == 0, "root (the engine step refuses non-root before looking for dockerd)")
    path = shadow_path(tmp_path, hide=ENGINE_PIECES)
    proc = run_setup("engine", path, tmp_path)
    assert proc.returncode == 3
    assert "cannot start the Docker Engine: dockerd" in proc.stderr and "docker.io" in proc.stderr


@pytest.mark.docker
def test_fresh_machine_with_only_a_client_gets_an_engine_installed(docker_client, base_image):
    """CI's case: a Debian machine with a static docker client and no engine.

    A container from the test base image gets this machine's docker client and nothing else of
    Docker; the set-up plans the engine and installs it with apt. (Starting it needs a privileged
    container, which this engine refuses; run-all.sh on the host starts it, see the closing note.)
    """
    client_bin = shutil.which("docker")
    need(client_bin is not None, "a docker client binary to copy into the fresh machine")
    script = (
        "set -e\n"
        "if command -v dockerd; then exit 10; fi\n"  # the premise: no engine
        "docker version --format 'client={{.Client.Version}}' 2>/dev/null || true\n"
        "bash /repo/tests/setup.sh plan\n"
        "bash /repo/tests/setup.sh system docker.io\n"
        "for piece in dockerd containerd runc iptables; do $piece --version >/dev/null && echo \"have $piece\"; done\n"
        "bash /repo/tests/setup.sh plan | grep -c 'Docker Engine' || true\n"
    )
    container = docker_client.containers.run(
        base_image, ["bash", "-c", script], detach=True,
        environment={"CACHE": "/tmp/cache", "DEBIAN_FRONTEND": "noninteractive"},
        volumes={str(REPO / "tests"): {"bind": "/repo/tests", "mode": "ro"},
                 os.path.realpath(client_bin): {"bind": "/usr/local/bin/docker", "mode": "ro"}},
        name=f"gpt-oss-console-test-setup-{os.getpid()}",
    )
    try:
        result = container.wait(timeout=600)
        log = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert result["StatusCode"] == 0, log
    lines = log.splitlines()
    assert lines[0].startswith("client=") and lines[0] != "client=", log  # a real client, no engine
    assert "docker.io\tthe Docker Engine (no usable dockerd containerd runc iptables)" in log, log
    assert "installing docker.io" in log
    assert all(f"have {piece}" in lines for piece in ("dockerd", "containerd", "runc", "iptables")), log
    assert lines[-1] == "0", log  # nothing of the engine is planned any more


@pytest.mark.docker
def test_the_client_on_path_negotiates_with_the_engine(docker_client):
    """A client newer than the engine (a static 28.x beside Debian's 20.10) must still talk to it."""
    proc = subprocess.run(["docker", "version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    client_api, server_api = proc.stdout.split()
    assert client_api == server_api, proc.stdout  # negotiated down to the engine's API version
