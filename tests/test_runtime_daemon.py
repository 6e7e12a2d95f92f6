"""The Docker daemon going away while the console watches a server, and coming back.

The real dockerd is shared and must never be stopped: the console talks to it through a small
unix-socket proxy started here, and the test cuts and restores that proxy instead.
"""

from __future__ import annotations

import threading
import time

import pytest

from console.runtime.build import build_spec
from console.runtime.lifecycle import Runtime
from console.runtime.monitor import Monitor
from console.runtime.phases import RunPhase
from console.runtime.service import resolve_values
from tests.docker.proxy import SocketProxy
from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name
from tests.ui_helpers import until

pytestmark = pytest.mark.docker


def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_daemon_lost_then_back_while_a_server_starts(standin_sglang_image, docker_client, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    proxy.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")
    name = unique_name("daemon")
    vals = resolve_values(env={}, cli={"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                       "host_port": free_port(), "container_name": name}).values
    spec = build_spec(vals, profile="daemon", extra_env={"FAKE_SGLANG_SCENARIO": "slow_start",
                                                          "FAKE_SGLANG_PHASE_DELAY": "1.5"})
    runtime = Runtime()
    container = runtime.launch(spec)
    updates = []
    monitor = Monitor(runtime, container.id, base_url=spec.base_url, on_update=updates.append)
    result = {}
    worker = threading.Thread(target=lambda: result.update(snap=monitor.run()), daemon=True)
    try:
        worker.start()
        wait_until(lambda: monitor.tracker.phase >= RunPhase.STARTING, 20, "start-up")

        proxy.stop()  # "the daemon stopped"
        lost = wait_until(lambda: monitor.snapshot().docker_error, 10, "the monitor to notice")
        assert "Docker" in lost or "daemon" in lost
        assert any(u.docker_error for u in updates)
        time.sleep(2.0)  # start-up goes on inside the container meanwhile

        proxy.start()  # "the daemon is back"
        wait_until(lambda: monitor.snapshot().docker_error is None, 10, "recovery")
        wait_until(lambda: monitor.tracker.phase is RunPhase.READY, 30, "ready after recovery")
        lines = list(monitor.lines)
        # the log resumed where it stopped: every start-up line once, none lost
        assert sum("Load weight begin" in line for line in lines) == 1
        assert sum("fired up and ready" in line for line in lines) == 1
        seen = monitor.tracker.seen()
        assert seen == sorted(seen) and seen[-1] is RunPhase.READY
    finally:
        monitor.stop()
        worker.join(5)
        proxy.stop()
        docker_client.containers.get(container.id).remove(force=True)


async def test_the_launch_pane_waits_for_docker_then_reattaches(standin_sglang_image, docker_client, tmp_path,
                                                                 monkeypatch):
    """The console starts while the daemon is away: it says so, and re-attaches once Docker answers."""
    from console.ui.launch.pane import LaunchPane
    from tests.test_launch_pane import LaunchApp

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = unique_name("daemon-tui")
    vals = resolve_values(env={}, cli={"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                       "host_port": free_port(), "container_name": name}).values
    spec = build_spec(vals, profile="daemon-tui")
    Runtime().launch(spec)  # straight to dockerd: the server is up before the console starts
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")  # nothing listens there yet
    app = LaunchApp(attach=True, env={"GPT_OSS_CONTAINER_NAME": name})
    notes = []
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.notify = lambda message, **kw: notes.append(message)  # noqa: E731
            pane = app.query_one(LaunchPane)
            info = lambda: str(pane.query_one("#launch-info").render())  # noqa: E731
            await until(pilot, lambda: "Docker is not running here" in info(), "the missing-Docker note")
            assert pane.container_id is None
            proxy.start()
            await until(pilot, lambda: pane.snap is not None and pane.snap.phase is RunPhase.READY,
                        "the re-attached server to be ready", timeout=30)
            assert pane.container_name == name
            await until(pilot, lambda: app.endpoints and app.endpoints[-1].base_url == spec.base_url,
                        "the endpoint to reach the app")
    finally:
        proxy.stop()
        docker_client.containers.get(name).remove(force=True)
