"""The monitor on real containers: OOM-killed exits, an unhealthy server and its recovery."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from console.runtime.build import build_spec
from console.runtime.lifecycle import Runtime
from console.runtime.monitor import Monitor
from console.runtime.phases import RunPhase
from console.runtime.service import resolve_values
from console.runtime.spec import LABEL_OWNED
from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name

pytestmark = pytest.mark.docker


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_oom_killed_exit_is_reported_with_a_bundle(containers, standin_sglang_image, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    hog = "print('Load weight begin. avail mem=1.00 GB', flush=True); x = []\nwhile True: x.append(bytearray(8 << 20))"
    c = containers.run(standin_sglang_image, ["python3", "-c", hog], mem_limit="64m", memswap_limit="64m",
                       labels={LABEL_OWNED: "1"})
    monitor = Monitor(Runtime(), c.id)
    snap = monitor.run(timeout=60)
    assert snap.phase is RunPhase.EXITED and snap.oom_killed and snap.exit_code == 137
    doc = json.loads(Path(snap.bundle).read_text())
    assert doc["oom_killed"] is True and doc["exit_code"] == 137
    assert any("Load weight begin" in line for line in doc["log_tail"])
    assert doc["phases"]["history"][-1]["detail"].endswith("OOM-killed")


def test_unhealthy_when_the_server_stops_answering_and_ready_again(standin_sglang_image, docker_client, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = unique_name("unhealthy")
    vals = resolve_values(env={}, cli={"image": standin_sglang_image, "gpus": "none", "hf_cache": "none",
                                       "host_port": free_port(), "container_name": name}).values
    spec = build_spec(vals, profile="health")
    runtime = Runtime()
    container = runtime.launch(spec)
    updates = []
    monitor = Monitor(runtime, container.id, base_url=spec.base_url, on_update=updates.append)
    worker = threading.Thread(target=monitor.run, daemon=True)
    try:
        worker.start()
        wait_until(lambda: monitor.tracker.phase is RunPhase.READY, 30, "ready")
        container.pause()  # the process is frozen: /health stops answering, the container still "runs"
        wait_until(lambda: monitor.tracker.phase is RunPhase.UNHEALTHY, 40, "unhealthy")
        assert any(u.phase is RunPhase.UNHEALTHY for u in updates)
        container.unpause()
        wait_until(lambda: monitor.tracker.phase is RunPhase.READY, 30, "ready again")
    finally:
        monitor.stop()
        worker.join(5)
        docker_client.containers.get(name).remove(force=True)


def test_a_container_removed_under_the_monitor_ends_it_in_words(containers, standin_sglang_image):
    c = containers.run(standin_sglang_image, ["sleep", "60"], labels={LABEL_OWNED: "1"})
    monitor = Monitor(Runtime(), c.id)
    result = {}
    worker = threading.Thread(target=lambda: result.update(snap=monitor.run(timeout=30)), daemon=True)
    worker.start()
    time.sleep(1.0)
    c.remove(force=True)
    worker.join(15)
    snap = result["snap"]
    # docker rm -f kills then removes: the monitor sees one or the other, never hangs or raises
    assert snap.phase is RunPhase.EXITED
    assert snap.detail == "the container was removed" or snap.exit_code == 137
