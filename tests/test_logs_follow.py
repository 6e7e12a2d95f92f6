"""The core log follower on a real Docker Engine: runs and their markers, a restart followed
across, the current run only, exact event times, exits explained, a stream cut, the shared
feed's replay for late subscribers. (Engine-cut cases through the Logs view are in
test_logs_reconnect.py.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from console.engines.follow import scanner_for
from console.logs import docker_time
from console.logs.events import Phase, Ready, WeightLoadBegin
from console.logs.feed import LogFeed, LogHub
from console.logs.follow import (
    ContainerExit,
    Ended,
    LogChunk,
    LogFile,
    LogFollower,
    Resumed,
    RetryPolicy,
    Retrying,
    RunStarted,
)
from console.logs.stats import LogStats
from tests.docker.proxy import SocketProxy

pytestmark = pytest.mark.docker
DATA = Path(__file__).parent / "data" / "logs"


class Collect:
    """A sink that keeps what it got; ``lines`` with ``|run|`` where a run begins (a marker's
    ``carried`` lines are the new run's: it stands before them)."""

    def __init__(self) -> None:
        self.items: list = []
        self.done = threading.Event()

    def __call__(self, item) -> None:
        self.items.append(item)
        if isinstance(item, Ended):
            self.done.set()

    @property
    def lines(self) -> list[str]:
        out: list[str] = []
        for item in self.items:
            if isinstance(item, LogChunk):
                out += item.lines
            elif isinstance(item, RunStarted):
                out.insert(len(out) - item.carried, "|run|")
        return out

    def of(self, kind) -> list:
        return [i for i in self.items if isinstance(i, kind)]


def run_follower(follower: LogFollower, timeout: float = 30) -> Collect:
    got = Collect()
    thread = threading.Thread(target=follower.run, args=(got,), daemon=True)
    thread.start()
    assert got.done.wait(timeout), got.items[-5:]
    return got


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_log_of_two_runs_reads_with_a_marker_between(docker_client, base_image, containers) -> None:
    # An exited container keeps only its last run's times: the split is a second before the
    # last start, so this run's lines come a little earlier than that.
    c = containers.run(base_image, ["sh", "-c", "echo run; date +%s%N; sleep 1.2"])
    c.wait(timeout=30)
    c.start()
    c.wait(timeout=30)
    got = run_follower(LogFollower(c.id, scanners=scanner_for, client=docker_client, follow=False))
    lines = got.lines
    assert lines[0] == "run" and lines[2] == "|run|" and lines[3] == "run" and len(lines) == 5, lines
    (marker,) = got.of(RunStarted)
    assert marker.restart and marker.started_at == docker_client.api.inspect_container(c.id)["State"]["StartedAt"]
    assert got.items[-1] == Ended(None, None)


def test_the_current_run_only(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo first-$(cat /proc/sys/kernel/random/uuid); sleep 1.2"])
    c.wait(timeout=30)
    c.start()
    c.wait(timeout=30)
    got = run_follower(LogFollower(c.id, scanners=scanner_for, client=docker_client, follow=False, current_run=True))
    stored = docker_client.api.logs(c.id).decode().splitlines()
    assert got.lines == ["|run|", stored[-1]] and not got.of(RunStarted)[0].restart


def test_a_restart_while_followed_is_read_across_with_a_marker(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "i=0; while [ $i -lt 400 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.01; done; sleep 100"])
    follower = LogFollower(c.id, scanners=scanner_for, client=docker_client)
    got = Collect()
    thread = threading.Thread(target=follower.run, args=(got,), daemon=True)
    thread.start()
    wait_until(lambda: len(got.lines) >= 20, 30, "the first lines")
    c.restart(timeout=0)  # SIGKILL: the old run ends mid-way, a new run begins
    wait_until(lambda: got.lines.count("|run|") >= 2 and got.lines[-1] == "line 399", 60, "the new run to the end")
    follower.stop()
    thread.join(5)
    stored = docker_client.api.logs(c.id).decode().splitlines()
    second = got.lines.index("|run|", 1)
    assert got.lines[0] == "|run|"  # a fresh container: no earlier run, its marker first
    body = [x for x in got.lines if x != "|run|"]
    assert body == stored  # every line once, in order, across the restart
    assert got.lines[second + 1] == "line 0"  # the marker stands where the new run begins


def test_events_carry_the_time_of_their_own_line(docker_client, base_image, containers) -> None:
    """status's bug: every event of a batch was dated by the batch's last line."""
    script = (
        "import sys, time\n"
        "print('[2026-01-05 14:30:58] Load weight begin. avail mem=76.16 GB', flush=True)\n"
        "time.sleep(1.5)\n"
        "print('[2026-01-05 14:31:30] The server is fired up and ready to roll!', flush=True)\n"
        "time.sleep(1.5)\n"
        "print('[2026-01-05 14:31:31] request line', flush=True)\n"
    )
    c = containers.run(base_image, ["python3", "-c", script])
    c.wait(timeout=30)
    got = run_follower(LogFollower(c.id, scanners=scanner_for, client=docker_client, follow=False, timestamps=True,
                                   current_run=True))
    stored = [line.split(" ", 1) for line in docker_client.api.logs(c.id, timestamps=True).decode().splitlines()]
    times = {}
    for chunk in got.of(LogChunk):
        assert chunk.stamps is not None and len(chunk.stamps) == len(chunk.lines)
        for i, ev in chunk.events:
            times[type(ev)] = chunk.time_of(i)
    assert times[WeightLoadBegin] == pytest.approx(docker_time.parse(stored[0][0]), abs=1e-6)
    assert times[Ready] == pytest.approx(docker_time.parse(stored[1][0]), abs=1e-6)


@pytest.mark.parametrize("how, code, diagnosis", [("kill", 137, "sigkill"), ("exit", 3, None)])
def test_an_exit_ends_the_follow_with_how_it_ended(docker_client, base_image, containers, how, code, diagnosis) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo up; " + ("sleep 100" if how == "kill" else "sleep 1; exit 3")])
    follower = LogFollower(c.id, scanners=scanner_for, client=docker_client)
    got = Collect()
    threading.Thread(target=follower.run, args=(got,), daemon=True).start()
    wait_until(lambda: "up" in got.lines, 30, "the first line")
    if how == "kill":
        c.kill()
    assert got.done.wait(30)
    end = got.items[-1]
    assert isinstance(end.exit, ContainerExit) and end.error is None
    assert end.exit.exit_code == code and not end.exit.oom_killed
    assert (end.exit.diagnosis.code if end.exit.diagnosis else None) == diagnosis
    if how == "kill":
        assert "SIGKILL" in end.exit.describe()


def test_a_cut_engine_is_retried_and_resumed_exactly(docker_client, base_image, containers, tmp_path) -> None:
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    proxy.start()
    import docker

    client = docker.DockerClient(base_url=f"unix://{proxy.path}")
    try:
        c = containers.run(base_image, ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo \"out $i\"; i=$((i+1)); sleep 0.01; done"])
        follower = LogFollower(c.id, scanners=scanner_for, client=client, retry=RetryPolicy((1,)))
        got = Collect()
        threading.Thread(target=follower.run, args=(got,), daemon=True).start()
        wait_until(lambda: len(got.lines) >= 30, 30, "the first lines")
        proxy.stop()
        wait_until(lambda: got.of(Retrying), 30, "a retry")
        proxy.start()
        assert got.done.wait(60)
        assert got.of(Resumed) and got.items[-1].exit is not None
        assert [x for x in got.lines if x != "|run|"] == [f"out {i}" for i in range(300)]
    finally:
        proxy.stop()
        client.close()


def test_a_late_subscriber_gets_the_history_then_live_lines(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "cat /logs/healthy_20b.log; sleep 2; echo late; sleep 100"],
                       volumes={str(DATA): {"bind": "/logs", "mode": "ro"}})
    hub = LogHub(scanners=scanner_for, client=docker_client)
    try:
        early = Collect()
        feed = hub.feed(c.id)
        stop_early = feed.subscribe(early)
        wait_until(lambda: len(early.lines) >= 30, 30, "the start-up log")
        late = Collect()
        stats = LogStats()
        feed.subscribe(lambda item: (late(item), isinstance(item, LogChunk) and stats.apply([e for _, e in item.events])))
        wait_until(lambda: "late" in late.lines, 30, "the live line")
        assert late.lines == early.lines  # the history, then the same live lines: nothing twice
        assert stats.phase is Phase.READY  # events came with the history: nothing scanned twice
        assert hub.feed(c.id) is feed  # one feed per container
        stop_early()
        assert feed.running  # another subscriber remains
    finally:
        hub.close()


def test_a_saved_file_is_published_like_a_log(tmp_path) -> None:
    got = Collect()
    LogFile(str(DATA / "fail_cuda_oom.log"), scanners=scanner_for).run(got)
    assert got.lines == (DATA / "fail_cuda_oom.log").read_text().splitlines()
    assert any(ev.__class__.__name__ == "Failure" for c in got.of(LogChunk) for _, ev in c.events)
    missing = Collect()
    LogFile(str(tmp_path / "nope.log"), scanners=scanner_for).run(missing)
    assert isinstance(missing.items[-1].error, FileNotFoundError)


def test_a_feed_replays_its_end_to_a_subscriber_after_it(tmp_path) -> None:
    feed = LogFeed(LogFile(str(DATA / "healthy_20b.log"), scanners=scanner_for))
    feed.start().join(10)
    got = Collect()
    feed.subscribe(got)
    assert got.items[-1] == Ended(None) and len(got.lines) == 34


def test_the_last_subscriber_leaving_stops_the_feed_for_good_and_a_closed_feed_takes_nobody() -> None:
    feed = LogFeed(LogFile(str(DATA / "healthy_20b.log"), scanners=scanner_for))
    a, b = Collect(), Collect()
    stop_a = feed.subscribe(a)
    stop_b = feed.subscribe(b)
    stop_a()
    assert not feed.closed  # b still reads it
    stop_b()
    assert feed.closed
    late = Collect()
    feed.subscribe(late)  # too late: nothing is delivered to it
    feed.start()
    feed.join(5)
    assert late.items == [] and not feed.running
