"""Container lifecycle marks on the timeline, from a real Docker Engine's event stream."""

from __future__ import annotations

import threading
import time

import pytest

from console.runtime.spec import LABEL_OWNED, LABEL_USER, console_user
from console.timeline import Timeline
from console.timeline.docker_events import follow

MINE = {LABEL_OWNED: "1", LABEL_USER: console_user()}  # what the console's launch labels

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
        c = containers.run(base_image, ["sh", "-c", "sleep 0.5; exit 3"], labels=MINE)
        # other sessions' owned containers may come and go meanwhile: wait for this one's exit
        assert _wait(lambda: any(e.kind == "exit" and e.source == c.name for e in tl.events())), tl.events()
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive(), "the follower did not stop"
    kinds = [(e.kind, e.source) for e in tl.events()]
    assert ("start", c.name) in kinds and ("exit", c.name) in kinds
    assert all(src != stranger.name for _, src in kinds)
    exit_ev = next(e for e in tl.events() if e.kind == "exit" and e.source == c.name)
    assert exit_ev.text == f"{c.name} exited (exit code 3)"
    start_ev = next(e for e in tl.events() if e.kind == "start" and e.source == c.name)
    assert abs(start_ev.t - time.time()) < 60 and start_ev.t <= exit_ev.t


@pytest.fixture
def launched(standin_sglang_image, docker_client, tmp_path, monkeypatch):
    """A server started the way operators start one (`launch`) on the stand-in SGLang image."""
    from console.cli import main
    from console.settings import SETTINGS
    from tests.fixtures.docker_engine import free_port
    from tests.fixtures.docker_engine import test_name as unique_name

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for s in SETTINGS:  # the settings' env names are generic (PORT, HOST…): the host's must not leak in
        for var in (s.env, *s.aliases, s.file_env):
            if var:
                monkeypatch.delenv(var, raising=False)
    name, port = unique_name("metrics"), free_port()
    tl, stop = Timeline(), threading.Event()
    follower = threading.Thread(target=follow, args=(tl, stop, docker_client, time.time() - 1), daemon=True)
    follower.start()
    try:
        code = main(["launch", "--image", standin_sglang_image, "--gpus", "none", "--hf-cache", "none",
                     "--host-port", str(port), "--container-name", name, "--json"])
        assert code == 0
        yield name, f"http://127.0.0.1:{port}", tl
    finally:
        stop.set()
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass


def test_bench_and_metrics_against_a_launched_container(launched, capsys):
    import json

    from console.bench.schema import validate
    from console.cli import main

    name, url, tl = launched
    capsys.readouterr()
    assert main(["bench", "--base-url", url, "--concurrency", "1,2", "--requests", "4", "--input-len", "16",
                 "--output-len", "8", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    validate(result)
    assert [lv["completed"] for lv in result["levels"]] == [4, 4]
    assert result["levels"][1]["server"]["requests"] == 4  # the container's own /metrics saw the level

    assert main(["metrics", "--base-url", url, "--interval", "0.2", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["counters"]["requests"] >= 9 and view["latency"]["e2e"]["total"]["count"] >= 9

    assert main(["stop", name, "--timeout", "10"]) == 0
    # a graceful stop is one mark (Docker's die before its stop folded in), not "stopped" and "exited"
    assert _wait(lambda: any(e.kind == "stop" and e.source == name for e in tl.events()))
    kinds = [e.kind for e in tl.events() if e.source == name]
    assert kinds[0] == "start" and kinds[-1] == "stop" and "exit" not in kinds


def test_other_users_containers_and_graceful_stops_are_marked_as_the_operator_sees_them(docker_client, base_image,
                                                                                        containers):
    """Issue 19: the timeline listed other users' console containers on the same engine, and a
    graceful stop showed as both "■ stopped" and "✗ exited (exit code 0)"."""
    tl = Timeline()
    stop = threading.Event()
    t = threading.Thread(target=follow, args=(tl, stop, docker_client, time.time() - 1), daemon=True)
    t.start()
    try:
        theirs = containers.run(base_image, ["sh", "-c", "exit 0"], labels={LABEL_OWNED: "1", LABEL_USER: "somebody-else"})
        stopped = containers.run(base_image, ["sh", "-c", "trap 'exit 0' TERM; sleep 100 & wait"], labels=MINE)
        killed = containers.run(base_image, ["sleep", "100"], labels=MINE)
        assert _wait(lambda: {e.source for e in tl.events() if e.kind == "start"} >= {stopped.name, killed.name})
        stopped.stop(timeout=10)
        killed.kill()
        assert _wait(lambda: any(e.kind == "stop" and e.source == stopped.name for e in tl.events()))
        assert _wait(lambda: any(e.kind == "exit" and e.source == killed.name for e in tl.events()))
        theirs.wait(timeout=30)
        time.sleep(1.0)
    finally:
        stop.set()
        t.join(10)
    marks = [(e.kind, e.source, e.text) for e in tl.events()]
    assert all(src != theirs.name for _, src, _ in marks)
    mine = [(k, text) for k, src, text in marks if src == stopped.name]
    assert [k for k, _ in mine] == ["start", "stop"], mine
    assert mine[-1][1] == f"{stopped.name} stopped (exit code 0)"
    assert [k for k, src, _ in marks if src == killed.name] == ["start", "exit"]


async def test_the_watched_containers_diagnosed_failures_are_marked(quiet_metrics, base_image, containers) -> None:
    """The timeline reads the same log feed as the Launch and Logs areas: each failure the log's
    scanner diagnosed is a mark, once per kind."""
    from pathlib import Path

    from console.ui.messages import ContainerWatched
    from tests.metrics_helpers import metrics_app
    from tests.ui_helpers import until

    logs = Path(__file__).parent / "data" / "logs"
    c = containers.run(base_image, ["sh", "-c", "sleep 2; cat /logs/fail_cuda_oom.log; sleep 100"],
                       volumes={str(logs): {"bind": "/logs", "mode": "ro"}})
    app = metrics_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await until(pilot, lambda: app.pane("metrics"), "the Metrics area")
        app.post_message(ContainerWatched(c.id, c.name))  # as the Launch area's reaches the app
        await until(pilot, lambda: [e for e in pane.timeline.events() if e.kind == "failure"], "a failure mark")
        await pilot.pause(0.5)
        failures = [e for e in pane.timeline.events() if e.kind == "failure"]
        assert [e.text for e in failures] == [f"{c.name}: The GPU ran out of memory"]
