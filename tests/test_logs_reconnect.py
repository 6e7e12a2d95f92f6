"""Logs pane: a followed log that loses the Docker Engine retries, then resumes where it left off.

The shared dockerd must never be stopped: the console reaches it through a unix-socket proxy
(DOCKER_HOST, as an operator would point it), and cutting that proxy drops the listener and
every live connection, as a daemon stop does. The log read afterwards is compared line for line
with what Docker stored: nothing missing, nothing twice.
"""

from __future__ import annotations

import time

import pytest

from console.ui.logs.pane import LogsPane
from tests.docker.proxy import SocketProxy
from tests.test_logs_pane import LogsApp
from tests.ui_helpers import screen_text, until

pytestmark = pytest.mark.docker

# One numbered line every 20 ms on stdout, every 7th on stderr: both streams interleave.
COUNTER = ["sh", "-c", 'i=0; while :; do if [ $((i % 7)) -eq 0 ]; then echo "err $i" >&2; else echo "out $i"; fi; i=$((i+1)); sleep 0.02; done']


@pytest.fixture
def proxy(tmp_path, monkeypatch):
    p = SocketProxy(str(tmp_path / "docker.sock"))
    p.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{p.path}")  # the console's engine, behind the proxy
    yield p
    p.stop()


def stored_log(docker_client, container) -> list[str]:
    return docker_client.api.logs(container.id).decode().splitlines()


def assert_numbered_without_gaps(lines: list[str]) -> None:
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(len(numbers))), [n for i, n in enumerate(numbers) if n != i][:5]


async def cut_engine(pilot, pane: LogsPane, proxy) -> None:
    """Take the Docker Engine away (its socket proxy stops) and wait until the pane says so."""
    proxy.stop()
    await until(pilot, lambda: pane.source_state.startswith("engine unreachable"), "the pane to notice the engine gone")

async def test_follow_resumes_after_the_engine_comes_back(docker_client, base_image, containers, proxy) -> None:
    c = containers.run(base_image, COUNTER)
    app = LogsApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: len(pane.buffer.lines) >= 30)

        proxy.stop()  # "the daemon went away"
        await until(pilot, lambda: pane.source_state.startswith("engine unreachable — retrying in"))
        await pilot.pause(0.1)
        assert "engine unreachable — retrying in" in screen_text(app)
        cut_at = len(pane.buffer.lines)
        await pilot.pause(2.5)  # the container writes on while the engine is away
        assert len(pane.buffer.lines) == cut_at

        proxy.start()  # "the daemon is back"
        await until(pilot, lambda: pane.source_state == "following", timeout=40)
        await until(pilot, lambda: len(pane.buffer.lines) >= cut_at + 200)  # the missed lines and new ones
        assert "following" in screen_text(app)

        c.kill()
        await until(pilot, lambda: pane.source_state in ("ended", "error"))
        assert pane.source_state == "ended", pane.source_error
        assert pane.buffer.lines == stored_log(docker_client, c)
        assert_numbered_without_gaps(pane.buffer.lines)


async def test_a_quick_cut_is_followed_again_at_once(docker_client, base_image, containers, proxy) -> None:
    """The stream ends but the engine answers straight away (a daemon restart with live-restore)."""
    c = containers.run(base_image, COUNTER)
    app = LogsApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        for _ in range(3):
            seen = len(pane.buffer.lines)
            await until(pilot, lambda: len(pane.buffer.lines) >= seen + 30)
            proxy.stop()
            proxy.start()
        await until(pilot, lambda: len(pane.buffer.lines) >= seen + 100)
        assert pane.source_state in ("following",) or pane.source_state.startswith(("engine unreachable", "log stream"))
        c.kill()
        await until(pilot, lambda: pane.source_state in ("ended", "error"), timeout=40)
        assert pane.source_state == "ended", pane.source_error
        assert pane.buffer.lines == stored_log(docker_client, c)
        assert_numbered_without_gaps(pane.buffer.lines)


async def test_container_exiting_while_the_engine_is_away_is_read_to_its_end(docker_client, base_image, containers, proxy) -> None:
    c = containers.run(base_image, ["sh", "-c", "for i in $(seq 0 49); do echo \"out $i\"; sleep 0.02; done; sleep 2; for i in $(seq 50 99); do echo \"out $i\"; done"])
    app = LogsApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: len(pane.buffer.lines) >= 10)
        proxy.stop()
        c.wait(timeout=30)  # the last 50 lines are written, and the container exits, meanwhile
        await until(pilot, lambda: pane.source_state.startswith("engine unreachable"))
        proxy.start()
        await until(pilot, lambda: pane.source_state in ("ended", "error"), timeout=40)
        assert pane.source_state == "ended", pane.source_error
        assert pane.buffer.lines == [f"out {i}" for i in range(100)]


async def test_container_removed_while_the_engine_is_away_ends_in_words(base_image, containers, proxy) -> None:
    c = containers.run(base_image, COUNTER)
    app = LogsApp()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: len(pane.buffer.lines) >= 10)
        await cut_engine(pilot, pane, proxy)
        c.remove(force=True)
        proxy.start()
        await until(pilot, lambda: pane.source_state == "error", timeout=40)
        await pilot.pause(0.2)
        assert "no longer exists" in pane.source_error
        assert "no longer exists" in screen_text(app)


async def test_stop_while_retrying_stops_quietly(base_image, containers, proxy) -> None:
    c = containers.run(base_image, COUNTER)
    app = LogsApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: len(pane.buffer.lines) >= 10)
        await cut_engine(pilot, pane, proxy)
        pane.stop()
        await pilot.pause(0.2)
        assert pane.source_state == "stopped"
        proxy.start()
        await pilot.pause(1.5)
        assert pane.source_state == "stopped"  # no late retry message brings it back


async def test_cut_in_the_middle_of_a_flood_resumes_exactly(docker_client, base_image, containers, proxy) -> None:
    """A long log being read from the start (a re-attach) when the engine goes: the resumed read
    must find its place far from the log's end, across many batches."""
    flood = (
        "import sys, time\n"
        "for k in range(0, 300000, 1000): sys.stdout.write(''.join(f'out {i} ' + 'x' * 60 + '\\n' for i in range(k, k + 1000)))\n"
        "sys.stdout.flush()\n"
        "i = 300000\n"
        "while True:\n"
        "    print(f'out {i}', flush=True); i += 1; time.sleep(0.02)\n"
    )
    c = containers.run(base_image, ["python3", "-c", flood])
    deadline = time.monotonic() + 60
    while b"out 300000" not in docker_client.api.logs(c.id, tail=200):  # the flood is stored
        assert time.monotonic() < deadline
        time.sleep(0.2)
    app = LogsApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(LogsPane)
        pane.follow_container(c.id)
        await until(pilot, lambda: pane.buffer.total >= 20_000, timeout=60)
        await cut_engine(pilot, pane, proxy)
        proxy.start()
        await until(pilot, lambda: pane.source_state == "following", timeout=40)
        await until(pilot, lambda: pane.buffer.total >= 300_100, timeout=120)
        c.kill()
        await until(pilot, lambda: pane.source_state in ("ended", "error"), timeout=60)
        assert pane.source_state == "ended", pane.source_error
        stored = stored_log(docker_client, c)
        assert pane.buffer.total == len(stored)
        assert pane.buffer.lines == stored[len(stored) - len(pane.buffer.lines) :]
