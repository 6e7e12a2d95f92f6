"""DockerLogReader against the real Docker Engine: demultiplexing, long lines, partial lines,
TTY, tail/since, follow and stopping from another thread, and the errors people see."""

from __future__ import annotations

import threading
import time

import pytest

from console.logs.docker_reader import (
    STDERR,
    STDOUT,
    TTY,
    ContainerGone,
    DockerLogReader,
    EngineUnavailable,
    read_file_batches,
)

pytestmark = pytest.mark.docker

LONG = "x" * 100_000 + "END"
PRINTER = r"""
import sys
def out(s): sys.stdout.write(s); sys.stdout.flush()
def err(s): sys.stderr.write(s); sys.stderr.flush()
out("first\n")
err("err one\n")
out("x" * 100000 + "END\n")
out("ünïcødé ✓ 日本語\n")
for i in range(2000):
    out(f"line {i}\n")
err("err two\n")
out("partial-last-line")
"""
EXPECTED_OUT = ["first", LONG, "ünïcødé ✓ 日本語"] + [f"line {i}" for i in range(2000)] + ["partial-last-line"]
EXPECTED_ERR = ["err one", "err two"]


def collect(reader: DockerLogReader) -> dict[int, list[str]]:
    got: dict[int, list[str]] = {STDOUT: [], STDERR: [], TTY: []}
    for batch in reader:
        got[batch.stream].extend(batch.lines)
    return got


@pytest.fixture(scope="module")
def printed(docker_client, base_image):
    """One exited container that printed PRINTER's output (shared: reading does not change it)."""
    from tests.fixtures.docker_engine import test_name

    c = docker_client.containers.run(base_image, ["python3", "-c", PRINTER], name=test_name("logs-reader"), detach=True)
    try:
        assert c.wait(timeout=120)["StatusCode"] == 0
        yield c
    finally:
        c.remove(force=True)


@pytest.mark.parametrize("chunk_size", [1 << 20, 4096, 7])
def test_reads_both_streams_long_and_partial_lines(docker_client, printed, chunk_size: int) -> None:
    reader = DockerLogReader(printed.id, client=docker_client, chunk_size=chunk_size)
    got = collect(reader)
    assert got[STDOUT] == EXPECTED_OUT
    assert got[STDERR] == EXPECTED_ERR
    assert reader.tty is False
    # same bytes as the SDK returns (the reference implementation)
    assert reader.bytes_read > sum(len(x) for x in EXPECTED_OUT)


def test_sdk_session_fallback_gives_the_same_lines(docker_client, printed, monkeypatch) -> None:
    """TLS/SSH endpoints use the SDK's HTTP session instead of the raw socket."""
    monkeypatch.setattr(DockerLogReader, "_open_raw", lambda self, api, params: None)
    got = collect(DockerLogReader(printed.id, client=docker_client, chunk_size=5000))
    assert got[STDOUT] == EXPECTED_OUT and got[STDERR] == EXPECTED_ERR


def test_tail_and_since(docker_client, printed) -> None:
    got = collect(DockerLogReader(printed.id, client=docker_client, tail=3))
    assert got[STDOUT][-1] == "partial-last-line"
    assert len(got[STDOUT]) + len(got[STDERR]) == 3
    future = time.time() + 3600
    assert collect(DockerLogReader(printed.id, client=docker_client, since=future)) == {STDOUT: [], STDERR: [], TTY: []}
    assert collect(DockerLogReader(printed.id, client=docker_client, since=0))[STDOUT] == EXPECTED_OUT


def test_timestamps_prefix_each_line_once(docker_client, printed) -> None:
    """A 100 KB line arrives in 16 KiB frames that each carry a timestamp: keep only the first."""
    got = collect(DockerLogReader(printed.id, client=docker_client, timestamps=True, chunk_size=5000))
    stamps, lines = zip(*(line.split(" ", 1) for line in got[STDOUT]))
    assert list(lines) == EXPECTED_OUT
    assert all(s.endswith("Z") and s[:4].isdigit() for s in stamps)


def test_tty_container_has_no_frame_headers(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo one; echo two >&2; printf 'three'"], tty=True)
    c.wait(timeout=60)
    reader = DockerLogReader(c.id, client=docker_client)
    got = collect(reader)
    assert reader.tty is True
    assert got[TTY] == ["one", "two", "three"]


def test_follow_streams_live_and_stops_from_another_thread(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["python3", "-u", "-c", "import time\nfor i in range(10**6):\n print('tick', i); time.sleep(0.05)"])
    reader = DockerLogReader(c.id, client=docker_client, follow=True)
    got: list[str] = []
    done = threading.Event()

    def run() -> None:
        for batch in reader:
            got.extend(batch.lines)
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while len(got) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got[:5] == [f"tick {i}" for i in range(5)]
    reader.close()
    assert done.wait(5), "close() did not stop a blocked follow"
    t.join(1)


def test_follow_ends_when_the_container_stops(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo a; sleep 1; echo b; sleep 0.5; printf c"])
    got = collect(DockerLogReader(c.id, client=docker_client, follow=True))
    assert got[STDOUT] == ["a", "b", "c"]


def test_container_removed_while_followed_is_reported(docker_client, base_image, containers) -> None:
    c = containers.run(base_image, ["sh", "-c", "echo up; sleep 120"])
    reader = DockerLogReader(c.id, client=docker_client, follow=True)
    got: list[str] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            for batch in reader:
                got.extend(batch.lines)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    c.remove(force=True)
    t.join(20)
    assert not t.is_alive()
    assert got == ["up"]
    assert len(errors) == 1 and isinstance(errors[0], ContainerGone)


def test_missing_container_is_a_clear_error(docker_client) -> None:
    with pytest.raises(ContainerGone) as info:
        collect(DockerLogReader("gpt-oss-console-test-no-such-container", client=docker_client))
    assert "no longer exists" in info.value.message


def test_engine_down_is_a_clear_error(tmp_path) -> None:
    import docker

    client = docker.DockerClient(base_url=f"unix://{tmp_path}/no-docker.sock", version="1.41")
    with pytest.raises(EngineUnavailable) as info:
        collect(DockerLogReader("whatever", client=client))
    assert info.value.message == "Docker Engine not found: there is no daemon socket."
    assert info.value.hint and "daemon" in info.value.hint


def test_dead_daemon_socket_is_a_clear_error(tmp_path) -> None:
    """The socket file exists but nothing listens (the daemon died)."""
    import socket

    import docker

    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))  # bound, never listening: connect() is refused
    try:
        client = docker.DockerClient(base_url=f"unix://{path}", version="1.41")
        with pytest.raises(EngineUnavailable) as info:
            collect(DockerLogReader("whatever", client=client))
        assert "not answering" in info.value.message
    finally:
        s.close()


def test_file_batches_handle_long_and_partial_lines(tmp_path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(("a\r\n" + "y" * 300_000 + "\nünï\nlast").encode())
    lines = [line for b in read_file_batches(str(path), chunk_size=1000) for line in b.lines]
    assert lines == ["a", "y" * 300_000, "ünï", "last"]
