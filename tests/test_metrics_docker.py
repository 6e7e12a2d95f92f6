"""Container lifecycle marks on the timeline, from a real Docker Engine's event stream."""

from __future__ import annotations

import threading
import time

import pytest

from console.runtime.spec import LABEL_OWNED
from console.timeline import Timeline
from console.timeline.docker_events import follow

pytestmark = pytest.mark.docker


def _wait(cond, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_owned_container_start_and_exit_become_events(docker_client, base_image, containers):
    tl = Timeline()
    stop = threading.Event()
    # `since` = now: the daemon replays from there, so the stream may open after the start
    t = threading.Thread(target=follow, args=(tl, stop, docker_client, time.time() - 1), daemon=True)
    t.start()
    try:
        stranger = containers.run(base_image, ["sh", "-c", "exit 0"])  # not ours: no label, no mark
        c = containers.run(base_image, ["sh", "-c", "sleep 0.5; exit 3"], labels={LABEL_OWNED: "1"})
        assert _wait(lambda: any(e.kind == "exit" for e in tl.events())), tl.events()
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive(), "the follower did not stop"
    kinds = [(e.kind, e.source) for e in tl.events()]
    assert ("start", c.name) in kinds and ("exit", c.name) in kinds
    assert all(src != stranger.name for _, src in kinds)
    exit_ev = next(e for e in tl.events() if e.kind == "exit")
    assert exit_ev.text == f"{c.name} exited (exit code 3)"
    start_ev = next(e for e in tl.events() if e.kind == "start")
    assert abs(start_ev.t - time.time()) < 60 and start_ev.t <= exit_ev.t
