"""Docker's failures as operators meet them, produced for real and turned into plain words with the fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from tests.fixtures.docker_engine import free_port
from tests.runtime_helpers import container_name, isolate_state

REPO = Path(__file__).resolve().parents[1]


def cli(*argv, env=None, user=None):
    cmd = [sys.executable, "-m", "console", *argv]
    if user:
        # dac_read_search lets the user read the checkout and venv wherever the clone lies (a
        # mktemp -d folder is 0700); it grants no write, so connecting to the 0660 socket still fails.
        cmd = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups",
               "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *cmd]
    return subprocess.run(cmd, cwd=REPO, env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                          timeout=60)


def test_no_daemon_socket(tmp_path):
    proc = cli("status", env={"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"})
    assert proc.returncode == 3
    assert "Docker is not running here" in proc.stderr and "systemctl start docker" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_daemon_died_connection_refused(tmp_path):
    path = tmp_path / "dead.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))  # bound, never listening: exactly what a crashed daemon leaves behind
    try:
        proc = cli("status", "--json", env={"DOCKER_HOST": f"unix://{path}"})
    finally:
        dead.close()
    assert proc.returncode == 3
    err = json.loads(proc.stdout)
    assert "not answering" in err["error"] and "reconnects" in err["hint"]


@pytest.mark.docker
def test_permission_denied_on_the_socket_says_docker_group(docker_client):
    sock = Path("/var/run/docker.sock")
    from tests.conftest import need

    need(sock.exists() and os.geteuid() == 0 and (sock.stat().st_mode & 0o007) == 0,
         "root, to run the CLI as an unprivileged user against a 0660 docker socket")
    proc = cli("status", user="nobody", env={"DOCKER_HOST": "unix:///var/run/docker.sock", "HOME": "/tmp"})
    assert proc.returncode == 3, proc.stderr
    assert "permission denied on the Docker socket" in proc.stderr and "usermod -aG docker" in proc.stderr


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    isolate_state(tmp_path, monkeypatch)


@pytest.fixture
def name(docker_client):
    yield from container_name(docker_client, "err")


@pytest.mark.docker
def test_gpu_request_without_nvidia_runtime(standin_sglang_image, xdg, name, capsys, docker_client):
    """This engine has no NVIDIA runtime: asking for GPUs fails at start, and the Created container is cleaned up."""
    code = main(["launch", "--image", standin_sglang_image, "--gpus", "all", "--hf-cache", "none",
                 "--host-port", str(free_port()), "--container-name", name])
    err = capsys.readouterr().err
    assert code == 3
    assert "no NVIDIA container runtime" in err and "nvidia-container-toolkit" in err
    assert not docker_client.containers.list(all=True, filters={"name": name})


@pytest.mark.docker
def test_missing_image_without_registry(xdg, name, capsys, docker_client):
    code = main(["launch", "--image", "gpt-oss-console-test/absent:nope", "--gpus", "none", "--hf-cache", "none",
                 "--host-port", str(free_port()), "--container-name", name, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 4
    assert out["error"].startswith("image not found and no registry reachable: build or load it")
    assert "docker load" in out["hint"]
    assert not docker_client.containers.list(all=True, filters={"name": name})


@pytest.mark.docker
def test_a_missing_stock_image_is_pulled_elsewhere_not_built(xdg, name, capsys, docker_client):
    """vLLM's stock image absent, no registry: the hint says pull, save and load it (the project's
    Dockerfile builds the SGLang image; tagged with vLLM's name it would be the wrong server)."""
    import docker.errors

    from console import engines
    from tests.conftest import need

    image = engines.get("vllm").stock_image().image
    try:
        docker_client.images.get(image)
        need(False, f"a Docker Engine without {image}")
    except docker.errors.ImageNotFound:
        pass
    code = main(["launch", "--engine", "vllm", "--gpus", "none", "--hf-cache", "none",
                 "--host-port", str(free_port()), "--container-name", name, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 4
    assert out["error"] == f"image not found and no registry reachable: pull it where one is ({image})"
    assert f"docker pull {image} && docker save -o FILE {image}" in out["hint"] and "docker load -i FILE" in out["hint"]
    assert "docker build" not in out["hint"]
    assert not docker_client.containers.list(all=True, filters={"name": name})


@pytest.mark.docker
def test_the_printed_build_command_builds_the_image(standin_sglang_image, tmp_path):
    """Every command the console prints for the user is run: the image hint's build, from another folder.

    The only change to it: BASE_IMAGE points at the stand-in (no registry here to pull SGLang from).
    """
    import shlex
    import subprocess

    from console.runtime.errors import build_command

    tag = f"gpt-oss-console-test/hint-build:{os.getpid()}"
    argv = shlex.split(build_command(tag))
    assert argv[:2] == ["docker", "build"]
    proc = subprocess.run([*argv, "--build-arg", f"BASE_IMAGE={standin_sglang_image}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    try:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)


@pytest.mark.docker
def test_name_taken_by_a_foreign_container(standin_sglang_image, xdg, name, capsys, docker_client):
    docker_client.containers.create(standin_sglang_image, ["true"], name=name)
    code = main(["launch", "--image", standin_sglang_image, "--gpus", "none", "--hf-cache", "none",
                 "--host-port", str(free_port()), "--container-name", name])
    err = capsys.readouterr().err
    assert code == 2 and "was not started by the console" in err
    assert docker_client.containers.get(name)  # not ours: left alone
