"""The real router from PyPI (sglang-router / smg) as a local process, against SGLang-shaped workers.

No Docker: the workers are the project's SGLang-shaped server on threads; the router is the
Rust gateway started the way `fleet up` starts it (key from a file, never in argv).
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from console.fleet.hosts import FleetConfig
from console.secret import Secret
from tests.fixtures.docker_engine import free_port

KEY = "sk-fleet-test-0123456789abcdef"


@pytest.fixture
def router_install():
    from console.fleet.router_process import RouterNotInstalled, detect
    from tests.conftest import need

    try:
        install = detect()
    except RouterNotInstalled:
        install = None
    need(install is not None, "SGLang's router from PyPI (sglang-router, in the test extra)")
    return install


@pytest.fixture
def local_router(router_install, tmp_path, monkeypatch):
    from console.fleet import router_process as RP

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    os.chmod(key_file, 0o600)
    cfg = FleetConfig(name="rtest", router_port=free_port(), prometheus_port=free_port(), health_interval=1)
    state = RP.start_local(cfg, router_install, str(key_file))
    yield cfg, state
    RP.stop_local(state, timeout=10)


def test_detects_the_installed_package_and_its_interpreter(router_install):
    assert router_install.package in ("sglang-router", "smg") and router_install.version[0].isdigit()
    assert router_install.module in ("sglang_router", "smg") and os.path.exists(router_install.python)


def test_a_router_script_named_by_env_is_followed_to_its_interpreter(router_install, tmp_path):
    import shutil
    import sys

    from console.fleet.router_process import ROUTER_ENV, RouterNotInstalled, detect

    script = shutil.which("smg") or os.path.join(os.path.dirname(sys.executable), "smg")
    found = detect({ROUTER_ENV: script})
    assert found.module == router_install.module and os.path.samefile(found.python, router_install.python)
    bogus = tmp_path / "smg"
    bogus.write_text("#!/bin/false\n")
    with pytest.raises(RouterNotInstalled) as exc:
        detect({ROUTER_ENV: str(bogus)})
    assert "pip install sglang-router" in exc.value.hint


@pytest.fixture
def worker_process():
    """An SGLang-shaped worker in a process of its own (one that can really die)."""
    import subprocess
    import sys

    from tests.fixtures.peers import REPO, Peer

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.peers.sglang_shaped", "--port", str(port), "--api-key", KEY],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert "Uvicorn running" in proc.stdout.readline()
    yield Peer(f"http://127.0.0.1:{port}", "openai/gpt-oss-20b", proc)
    proc.kill()
    proc.wait()


def test_register_route_deregister_and_unhealthy(local_router, sglang_shaped_factory, worker_process):
    from console.fleet import router_process as RP
    from console.fleet.router import RouterClient, RouterRefused, fetch_metrics

    cfg, state = local_router
    assert RP.is_ours(state) and state.url == f"http://127.0.0.1:{cfg.router_port}"
    w1 = sglang_shaped_factory(api_key=KEY)
    w2 = worker_process
    with RouterClient(state.url, Secret(KEY)) as rc:
        assert rc.healthy() and rc.workers() == []
        for w in (w1, w2):
            rc.add(w.base_url, Secret(KEY))
        for w in (w1, w2):
            listed = rc.wait_listed(w.base_url, present=True, timeout=30)
            # the worker's key in the registration: the router read its model, so it routes to it
            assert listed.model_id == "openai/gpt-oss-20b" and listed.healthy
        import httpx

        r = httpx.post(state.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                       json={"model": "openai/gpt-oss-20b", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
        assert r.status_code == 200
        anonymous = httpx.post(state.url + "/v1/chat/completions", timeout=30,
                               json={"model": "openai/gpt-oss-20b", "messages": [{"role": "user", "content": "hi"}]})
        assert anonymous.status_code == 401  # the fleet's key guards the router too
        assert rc.remove(w1.base_url) and rc.wait_listed(w1.base_url, present=False, timeout=30) is None
        assert not rc.remove(w1.base_url)  # not listed any more
        assert [w.url for w in rc.workers()] == [w2.base_url]
        assert rc.loads() == {w2.base_url: rc.loads()[w2.base_url]}
        # A worker that dies is marked unhealthy by the router's own health checks.
        w2.server.kill()
        w2.server.wait()
        rc.wait_listed(w2.base_url, present=True, healthy=False, timeout=30)
        m = fetch_metrics(state.prometheus_url)
        assert m.health.get(w2.base_url) == 0 and m.requests_total >= 1
    assert KEY not in open(state.log, encoding="utf-8", errors="replace").read()
    with RouterClient(state.url, Secret("wrong-key-0000000000")) as bad:
        with pytest.raises(RouterRefused) as exc:
            bad.workers()
        assert "refused the fleet's API key" in exc.value.message


def test_the_key_reaches_the_router_through_a_file_only(local_router):
    cfg, state = local_router
    for part in ("cmdline", "environ"):
        assert KEY.encode() not in open(f"/proc/{state.pid}/{part}", "rb").read()
    import httpx

    assert httpx.get(state.url + "/workers", headers={"Authorization": f"Bearer {KEY}"}, timeout=5).status_code == 200


def test_a_taken_port_is_said_in_words(router_install, tmp_path, monkeypatch):
    from console.errors import ConsoleError
    from console.fleet import router_process as RP

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    os.chmod(key_file, 0o600)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        cfg = FleetConfig(name="rbusy", router_port=busy.getsockname()[1], prometheus_port=free_port())
        started = time.monotonic()
        with pytest.raises(ConsoleError) as exc:
            RP.start_local(cfg, router_install, str(key_file), timeout=60)
    assert "port" in exc.value.message and "--router-port" in exc.value.hint, exc.value
    assert time.monotonic() - started < 60


def test_stop_refuses_a_pid_that_is_no_longer_the_router(local_router):
    from dataclasses import replace

    from console.fleet import router_process as RP

    cfg, state = local_router
    assert not RP.stop_local(replace(state, pid=os.getpid()))  # a reused pid: never signalled
    assert not RP.stop_local(replace(state, proc_start=(state.proc_start or 0) + 1))
    assert RP.stop_local(state) and not RP.is_ours(state)
