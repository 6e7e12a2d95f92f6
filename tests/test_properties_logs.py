"""Property tests: a container's log is whatever the program in it wrote. Any bytes on stdout
and stderr — SGLang's own lines with any numbers in them, cut anywhere, invalid UTF-8, long
lines split into frames, a TTY's bytes — go through the real Docker SDK client and the core's
follower (demultiplexing, timestamps, the SGLang scanner), then the phase tracker, the
diagnoses, the log buffer and its scrubber: every line comes back in order, as the program
wrote it, and nothing raises.

The engine end is a stdlib HTTP server on a unix socket that answers ``inspect`` and ``logs``
the way dockerd does (frames of ``[stream][0 0 0][size]``, a Docker stamp on every frame with
``timestamps=1``, HTTP/1.0 bodies streamed until close): a real dockerd cannot print 200
generated logs in a test's time, and it is the bytes that are under test here. The real
engine's own framing is pinned by tests/test_logs_reader.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import socketserver
import struct
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given, strategies as st

from console.engines.follow import scanner_for
from console.logs.buffer import FilterError, LogBuffer
from console.logs.diagnosis import diagnose_exit
from console.logs.events import Diagnosis
from console.logs.follow import Ended, LogChunk, LogFile, LogFollower, RunStarted
from console.logs.scanner import diagnoses_of
from console.runtime.phases import PhaseTracker

DATA = Path(__file__).parent / "data" / "logs"
SGLANG_LINES = sorted({line for f in DATA.glob("*.log") if not f.name.startswith("llamacpp")
                       for line in f.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()})
STARTED = "2026-12-04T21:00:00.123456789Z"

# -------------------------------------------------------------------------- strategies


def _renumber(line: str, numbers: list[str]) -> str:
    """The line with its numbers replaced, one by one, by generated ones."""
    it = iter(numbers)
    return re.sub(r"\d+(?:\.\d+)?", lambda m: next(it, m.group(0)), line)


odd_numbers = st.sampled_from(["0", "-1", "1e309", "nan", "99999999999999999999999", "0.0", "3", "", "1.2.3",
                               "inf", "٣"]) | st.integers(-2**64, 2**64).map(str) | st.floats().map(str)
sglang_line = st.builds(_renumber, st.sampled_from(SGLANG_LINES), st.lists(odd_numbers, max_size=12))
cut_line = st.builds(lambda line, a, b: line[min(a, b):max(a, b)], st.sampled_from(SGLANG_LINES),
                     st.integers(0, 200), st.integers(0, 200))
text_line = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=60)
line_text = st.one_of(sglang_line, sglang_line, cut_line, text_line)
line_bytes = st.one_of(line_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                       st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")))
records = st.lists(st.tuples(st.sampled_from([1, 2]), line_bytes, st.integers(1, 4)), max_size=25)


# -------------------------------------------------------------------------- an engine that says anything


class _Engine(BaseHTTPRequestHandler):
    """dockerd's two answers the follower needs: ``GET /containers/ID/json`` and ``.../logs``."""

    def log_message(self, *args):
        pass

    def address_string(self):  # a unix socket has no peer address
        return "unix"

    def do_GET(self):  # noqa: N802
        srv = self.server
        url = urlsplit(self.path)
        if url.path.endswith("/json"):
            body = json.dumps(srv.inspect).encode()  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        stamped = parse_qs(url.query).get("timestamps") == ["1"]
        body = srv.body(stamped)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.raw-stream")
        self.end_headers()
        for i in range(0, len(body), srv.write_size):  # type: ignore[attr-defined]
            self.wfile.write(body[i:i + srv.write_size])  # type: ignore[attr-defined]
            self.wfile.flush()


class _UnixHTTP(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def engine():
    folder = tempfile.mkdtemp(prefix="gocf-", dir="/tmp")  # a unix socket's path must be short
    path = os.path.join(folder, "docker.sock")
    srv = _UnixHTTP(path, _Engine)
    srv.inspect, srv.body, srv.write_size = {}, lambda stamped: b"", 65536
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    import docker

    client = docker.DockerClient(base_url=f"unix://{path}", version="1.41", timeout=10)
    yield srv, client
    client.close()
    srv.shutdown()
    srv.server_close()
    os.unlink(path)
    os.rmdir(folder)


def _frames(recs, *, tty: bool, stamped: bool) -> bytes:
    """What dockerd sends for these lines: each line's bytes split into ``pieces`` frames."""
    out = bytearray()
    for n, (stream, data, pieces) in enumerate(recs):
        payload = data + b"\n"
        if tty:
            out += payload
            continue
        step = max(1, -(-len(payload) // pieces))
        for i in range(0, len(payload), step):
            piece = payload[i:i + step]
            if stamped:  # every frame, a long line's later pieces too, carries the stamp
                piece = f"2026-12-04T21:00:{n % 60:02d}.{n:09d}Z ".encode() + piece
            out += struct.pack(">BxxxL", stream, len(piece)) + piece
    return bytes(out)


def _expected(recs, *, tty: bool) -> list[tuple[int, str]]:
    if tty:
        text = b"".join(d + b"\n" for _, d, _ in recs).decode("utf-8", "replace").replace("\r\n", "\n")
        return [(0, line) for line in text.split("\n")[:-1]]
    return [(s, d.decode("utf-8", "replace")) for s, d, _ in recs]


def _follow(client, *, timestamps: bool) -> list:
    items: list = []
    LogFollower("c0ffee", scanners=scanner_for, client=client, follow=False, timestamps=timestamps).run(items.append)
    return items


def _consume(items: list, *, timestamps: bool) -> tuple[list[tuple[int, str]], list[Diagnosis]]:
    """Everything downstream of the follower: tracker, diagnoses, buffer, filter, save."""
    tracker = PhaseTracker(started_at=1.7e9)
    buffer = LogBuffer(cap=50)
    events = []
    got: list[tuple[int, str]] = []
    for item in items:
        if isinstance(item, LogChunk):
            got += list(zip(item.streams(), item.lines))
            buffer.append(item.lines)
            for i, ev in item.events:
                assert 0 <= i < len(item.lines)
                tracker.log_event(ev, item.time_of(i))
                events.append(ev)
            if timestamps:
                assert item.stamps is not None and len(item.stamps) == len(item.lines)
                assert all(item.time_of(i) > 1.7e9 for i in range(len(item.lines)))
        elif isinstance(item, RunStarted):
            assert item.time is not None
    json.dumps(tracker.to_dict())
    assert isinstance(tracker.phase.label, str)
    diagnoses = diagnoses_of(events)
    for d in diagnoses:
        assert d.title.strip() and d.fix.strip()
    buffer.find_severity(-1)
    for pattern in ("error", "Error|Traceback", "(", "["):  # a bad regex is a sentence, not a crash
        try:
            buffer.set_filter(pattern, regex=True)
        except FilterError as exc:
            assert str(exc).startswith("bad regex: ")
        buffer.rows()
    with tempfile.TemporaryDirectory() as folder:
        assert buffer.save(os.path.join(folder, "saved.log"), view_only=False) == len(buffer.lines)
    return got, diagnoses


# -------------------------------------------------------------------------- properties


@given(recs=records, tty=st.booleans(), timestamps=st.booleans(), write_size=st.sampled_from([1, 7, 4096, 65536]),
       running=st.booleans())
@example(recs=[(1, b"x" * 40, 3), (2, "ü日本".encode(), 4)], tty=False, timestamps=True, write_size=1, running=False)
def test_any_log_comes_back_line_for_line(engine, recs, tty, timestamps, write_size, running):
    srv, client = engine
    srv.inspect = {"Id": "c0ffee" * 10, "Config": {"Tty": tty},
                   "State": {"Running": running, "StartedAt": STARTED, "FinishedAt": "0001-01-01T00:00:00Z",
                             "ExitCode": 0}}
    srv.body = lambda stamped: _frames(recs, tty=tty, stamped=stamped)
    srv.write_size = write_size
    items = _follow(client, timestamps=timestamps and not tty)
    assert isinstance(items[-1], Ended) and items[-1].error is None, items[-1]
    assert not any(isinstance(i, Ended) for i in items[:-1])
    got, _ = _consume(items, timestamps=timestamps and not tty)
    assert got == _expected(recs, tty=tty)


@given(body=st.binary(max_size=300), tty=st.booleans())
def test_any_bytes_from_the_engine_end_the_log_cleanly(engine, body, tty):
    srv, client = engine
    srv.inspect = {"Id": "c0ffee", "Config": {"Tty": tty}, "State": {"Running": False, "StartedAt": STARTED}}
    srv.body = lambda stamped: body
    srv.write_size = 64
    items = _follow(client, timestamps=False)
    assert isinstance(items[-1], Ended)
    _consume(items, timestamps=False)


@given(lines=st.lists(line_text, max_size=40), splits=st.lists(st.integers(1, 10), max_size=10))
@example(lines=["Uvicorn running on"], splits=[])  # found: a line cut before its URL raised in the scanner
def test_any_lines_scan_the_same_in_any_batches(lines, splits):
    """The scanner is stateful (a traceback spans batches): cutting the log into other reads
    finds the same failures, and every event points at a line it was given."""
    whole = diagnoses_of([ev for _, ev in scanner_for().scan(lines)])
    scanner, events, start = scanner_for(), [], 0
    for n in splits + [len(lines)]:
        batch = lines[start:start + n]
        for i, ev in scanner.scan(batch):
            assert 0 <= i < len(batch)
            events.append(ev)
        start += n
    assert {d.code for d in diagnoses_of(events)} == {d.code for d in whole}


@given(data=st.lists(line_bytes, max_size=30), crlf=st.booleans())
@example(data=[b"a\r", b"b"], crlf=False)
def test_any_saved_log_reads_back(data, crlf, tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "saved.log"
    nl = b"\r\n" if crlf else b"\n"
    path.write_bytes(nl.join(data) + (nl if data else b""))
    items: list = []
    LogFile(str(path), scanners=scanner_for).run(items.append)
    assert isinstance(items[-1], Ended) and items[-1].error is None
    got, _ = _consume(items, timestamps=False)
    # A saved log is read as text: a \r\n (a file saved on Windows, or a line's own \r) is one line end.
    want = (nl.join(data) + nl).decode("utf-8", "replace").replace("\r\n", "\n").split("\n")[:-1] if data else []
    assert [line for _, line in got] == want


def test_exit_codes_are_explained_in_words():
    for code, oom in ((137, False), (137, True), (1, False), (3, False), (143, False), (None, True)):
        d = diagnose_exit(code, oom)
        assert d is None or (d.title.strip() and d.fix.strip())


def test_the_engine_answers_through_the_sdk_socket_path(engine):
    """The fake engine is reached the way dockerd is: the follower's raw HTTP/1.0 path on the socket."""
    srv, client = engine
    adapter = getattr(client.api, "_custom_adapter", None)
    assert getattr(adapter, "socket_path", None) and os.path.exists(adapter.socket_path)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(adapter.socket_path)
