"""Fast container log reader: the raw multiplexed HTTP stream, demultiplexed here.

The docker SDK's ``container.logs(stream=True)`` yields one frame per iteration through
several generator layers (≈80–100k lines/s); ``docker logs`` (Go) does ≈230k. This reader
asks the Engine for the same stream through the SDK's own HTTP session, reads it in large
chunks, strips the 8-byte frame headers in one tight loop per chunk and splits lines with
``bytes.split`` — so the per-line cost is a few C calls.

Wire format (non-TTY containers): frames of ``[stream:1][0:3][size:4 big-endian][payload]``,
stream 1 = stdout, 2 = stderr. TTY containers send the bytes as they are, no headers.
The json-file driver splits lines longer than 16 KiB into several frames, so a line may
span frames and chunks; each stream keeps its own unfinished tail.

Usage::

    reader = DockerLogReader(container_id, client=client, follow=True, tail=1000)
    for batch in reader:          # LogBatch(stream, lines)
        ...
    reader.close()                # from any thread: the loop above ends promptly

Following a log across engine restarts, container restarts and cuts is
:mod:`console.logs.follow`'s job; this module reads one stream.
"""

from __future__ import annotations

import queue
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.errors import ConsoleError
from console.logs.docker_time import since_param

STDOUT = 1
STDERR = 2
TTY = 0  # a TTY container: one combined stream

CHUNK = 1 << 20
MAX_LINE = 1 << 20  # a line longer than this is emitted in pieces (never held unbounded)
# Raw socket: how long frames trickling in may pile up before one recv takes them. Shorter
# sleeps let the daemon write on: measured on the 2-core test box, 0.5 ms read 10-25% fewer
# lines/s than 0.2 ms (bench_logs, reader alone and through the Logs pane, same CPU per line);
# dockerd writes only ~130 KiB (~800 lines) ahead of a reader that does not recv.
POLL_S = 0.0002
MAX_PILE_S = 0.01  # ... and how long one read may go on gathering them (a live line's worst delay)
SMALL_READ = 1 << 16  # a recv this small means frames are trickling in (see _open_raw)
PREFETCH_CHUNKS = 16  # chunks read ahead of the demultiplexer (≤ 16 MiB)

_HEADER = struct.Struct(">BxxxL")


class LogReaderError(ConsoleError):
    """Reading logs failed; ``message``/``hint`` are for people."""


class ContainerGone(LogReaderError):
    """The container does not exist (removed, or a wrong id)."""


class EngineUnavailable(LogReaderError):
    """The Docker daemon cannot be reached, or the connection dropped mid-stream."""


@dataclass(slots=True)
class LogBatch:
    stream: int  # STDOUT, STDERR or TTY
    lines: list[str]


def engine_error(exc: BaseException, container_id: str = "") -> LogReaderError:
    """Translate SDK/requests/socket failures into the two errors the UI shows."""
    if isinstance(exc, LogReaderError):
        return exc
    if isinstance(exc, ConsoleError):  # the engine could not be reached at all (connect)
        return EngineUnavailable(exc.message, exc.hint)
    name = type(exc).__name__
    text = str(exc)
    if name == "NotFound" or "No such container" in text or "marked for removal" in text:
        return ContainerGone(
            f"Container {container_id[:12] or '?'} no longer exists.",
            "It was removed; launch again or open a saved log file.",
        )
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return EngineUnavailable(
            "Permission denied on the Docker socket.",
            "Add your user to the 'docker' group (then log in again), or run with sudo.",
        )
    if isinstance(exc, FileNotFoundError) or "No such file or directory" in text:
        return EngineUnavailable(
            "Docker Engine not found: there is no daemon socket.",
            "Start the daemon (`sudo systemctl start docker`) or point DOCKER_HOST at it.",
        )
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text:
        return EngineUnavailable(
            "The Docker daemon is not answering (connection refused).",
            "Is the daemon running? (`systemctl status docker`). Follow the log again once it is back.",
        )
    return EngineUnavailable(
        f"Lost the Docker Engine while reading logs: {text[:200] or name}",
        "Is the daemon running? (`systemctl status docker`). Follow the log again once it is back.",
    )


class DockerLogReader:
    """Iterate a container's logs as :class:`LogBatch` objects (stdout/stderr runs, in order).

    ``follow`` keeps reading until the container stops or :meth:`close` is called.
    ``since`` / ``until`` (datetime, unix seconds, a Docker time or the API's "secs.nanos")
    and ``tail`` (int or "all") select the lines. ``client``: a Docker SDK client (the
    runtime's pinned one, :func:`console.runtime.engine.connect`; this package does not
    connect by itself, so it never depends on the runtime that depends on it).
    """

    def __init__(
        self,
        container_id: str,
        *,
        client: Any = None,
        follow: bool = False,
        since: datetime | float | int | str | None = None,
        until: datetime | float | int | str | None = None,
        tail: int | str = "all",
        timestamps: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        chunk_size: int = CHUNK,
        prefetch: bool = True,
    ) -> None:
        self.container_id = container_id
        self._client = client
        self.follow = follow
        self.since = since
        self.until = until
        self.tail = tail
        self.timestamps = timestamps
        self.stdout = stdout
        self.stderr = stderr
        self.chunk_size = chunk_size
        self.tty: bool | None = None
        self.bytes_read = 0
        self.prefetch = prefetch
        self._closed = threading.Event()
        self._abandoned = threading.Event()  # iteration over: the pump thread may go
        self._response: Any = None
        self._sock: Any = None

    # ── public ──────────────────────────────────────────────────────────────
    def close(self) -> None:
        """Stop reading; safe from any thread, idempotent."""
        self._closed.set()
        sock, resp = self._sock, self._response
        if sock is not None:
            try:  # wakes a recv() blocked in another thread at once
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
        if resp is not None:
            try:
                resp.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __iter__(self) -> Iterator[LogBatch]:
        for group in self.reads():
            yield from group

    def reads(self) -> Iterator[list[LogBatch]]:
        """The same batches, grouped by the read they came in (a chunk of up to ~1 MiB holds
        many stdout/stderr runs): a consumer with per-call costs (a scanner) takes them at once."""
        try:
            read = self._open()
        except LogReaderError:
            raise
        except Exception as exc:  # noqa: BLE001 - SDK/requests/socket errors vary
            if self.closed:
                return
            raise engine_error(exc, self.container_id) from exc
        if self.prefetch:
            read = self._prefetch(read)
        seen: deque[tuple[int, str]] = deque(maxlen=32)
        try:
            if not self.follow:
                yield from self._groups(read)
                return
            for group in self._groups(read):
                for batch in group[-32:]:
                    seen.extend((batch.stream, line) for line in batch.lines[-32:])
                yield group
        finally:
            self._release()
        if not self.closed:
            extra = list(self._catch_up(list(seen)))
            if extra:
                yield extra

    def _catch_up(self, seen: list[tuple[int, str]]) -> Iterator[LogBatch]:
        """A followed log can end (container stopped) before the Engine has stored the last
        output — often a crash's final lines. Re-read the tail and yield what follows the
        lines already seen."""
        time.sleep(0.25)  # let the log copier finish
        # Errors propagate: a stream that ended because the daemon died or the container
        # was removed must say so, not look like a clean stop.
        tail = DockerLogReader(
            self.container_id, client=self._client, tail=64, since=self.since, until=self.until,
            timestamps=self.timestamps, stdout=self.stdout, stderr=self.stderr,
        )
        got = [(b.stream, line) for b in tail for line in b.lines]
        if not seen:
            limit = int(self.tail) if str(self.tail).isdigit() else None
            extra = got if limit is None else got[len(got) - min(limit, len(got)) :]
        else:
            extra = []
            m = len(seen)
            for i in range(len(got), 0, -1):  # where in the tail our last seen line sits
                k = min(m, i)
                if got[i - k : i] == seen[m - k :]:
                    extra = got[i:]
                    break
        for stream, line in extra:
            yield LogBatch(stream, [line])

    def _prefetch(self, read):
        """Read the socket in its own thread so dockerd never waits on our processing.

        The Engine writes into a socket buffer of a few hundred KiB; while this thread
        demultiplexes a chunk (or the UI holds the GIL) the buffer would fill and the
        daemon stall. The pump spends its time in recv() with the GIL released and queues
        at most PREFETCH_CHUNKS chunks (bounded memory). get() merges what is queued.
        """
        q: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
        abandoned = self._abandoned

        def pump() -> None:
            while True:
                try:
                    item: Any = read()
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                    item = exc
                while True:
                    try:
                        q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        if abandoned.is_set():
                            return
                if not isinstance(item, bytes) or not item:
                    return

        threading.Thread(target=pump, name=f"docker-logs-{self.container_id[:12]}", daemon=True).start()
        held: list[Any] = []

        def get() -> bytes:
            item = held.pop() if held else q.get()
            if not isinstance(item, bytes):
                raise item
            if not item:
                return item
            parts = [item]
            size = len(item)
            while size < self.chunk_size:
                try:
                    more = q.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(more, bytes) or not more:
                    held.append(more)  # EOF or an error: after this data
                    break
                parts.append(more)
                size += len(more)
            return parts[0] if len(parts) == 1 else b"".join(parts)

        return get

    def _release(self) -> None:
        self._abandoned.set()
        sock, self._sock = self._sock, None
        resp, self._response = self._response, None
        if sock is not None:
            try:  # shutdown also wakes a pump thread blocked in recv()
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
            if resp is None:
                sock.close()
        if resp is not None:
            try:
                resp.close()
            except Exception:  # noqa: BLE001 - best effort
                pass

    # ── internals ───────────────────────────────────────────────────────────
    def _api(self) -> Any:
        if self._client is None:
            raise EngineUnavailable("No Docker client to read the log with.", "Pass the runtime's client.")
        return getattr(self._client, "api", self._client)

    def _open(self):
        api = self._api()
        info = api.inspect_container(self.container_id)
        self.tty = bool(info.get("Config", {}).get("Tty"))
        params: dict[str, Any] = {
            "stdout": int(self.stdout),
            "stderr": int(self.stderr),
            "timestamps": int(self.timestamps),
            "follow": int(self.follow),
            "tail": str(self.tail) if self.tail not in (None, "all") else "all",
        }
        for name in ("since", "until"):
            value = since_param(getattr(self, name))
            if value is not None:
                params[name] = value
        read = self._open_raw(api, params)
        if read is None:
            read = self._open_sdk(api, params)
        if self.closed:
            self.close()
        return read

    def _open_raw(self, api: Any, params: dict[str, Any]):
        """HTTP/1.0 straight on the Engine's socket: the body arrives unchunked.

        Over HTTP/1.1 (what requests speaks) dockerd sends one HTTP chunk per frame and
        http.client decodes chunks one by one in Python — slower than the demux itself.
        An HTTP/1.0 request makes the server stream the plain body and close at the end.
        Unix and plain TCP endpoints only; TLS/SSH/npipe use the SDK session instead.
        """
        from urllib.parse import urlencode, urlsplit

        base = getattr(api, "base_url", "")
        adapter = getattr(api, "_custom_adapter", None)
        sock_path = getattr(adapter, "socket_path", None)
        try:
            if base.startswith("http+docker://localhost") and sock_path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(sock_path)
            elif base.startswith("http://"):
                u = urlsplit(base)
                sock = socket.create_connection((u.hostname, u.port or 2375))
            else:
                return None
        except OSError as exc:
            raise engine_error(exc, self.container_id) from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        self._sock = sock
        version = getattr(api, "_version", None) or "1.41"
        path = f"/v{version}/containers/{self.container_id}/logs?{urlencode(params)}"
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: gpt-oss-console\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            more = sock.recv(65536)
            if not more:
                raise EngineUnavailable("The Docker Engine closed the connection without answering.")
            head += more
        head, _, body = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].split()
        code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
        if code != 200:
            while True:  # error bodies are tiny JSON documents; the server closes after them
                more = sock.recv(65536)
                if not more:
                    break
                body += more
            sock.close()
            msg = body.decode("utf-8", "replace").strip()
            try:
                import json

                msg = json.loads(msg).get("message", msg)
            except ValueError:
                pass
            # 409 "dead or marked for removal": a removal caught mid-way, for us the same as gone
            if code == 404 or (code == 409 and "removal" in msg):
                raise ContainerGone(f"Container {self.container_id[:12]} no longer exists.", msg or None)
            raise EngineUnavailable(f"Docker Engine answered {code}: {msg[:200]}")
        size = self.chunk_size
        recv = sock.recv
        first = [body] if body else []
        dontwait = socket.MSG_DONTWAIT

        # dockerd writes (and flushes) one frame per line, and every write wakes a reader
        # blocked in recv() — even one waiting with MSG_WAITALL: ~150k wake-ups and a second
        # of system time per 500k lines, CPU the daemon needs on a small box. So block only
        # for the first bytes; while they trickle in, let them pile up for POLL_S at a time
        # and take them in one call. A quiet followed log still costs nothing (the blocking
        # recv) and a live line is late by at most MAX_PILE_S.
        def read() -> bytes:
            if first:
                return first.pop()
            data = recv(size)
            if not data or len(data) >= SMALL_READ:
                return data
            parts, n = [data], len(data)
            deadline = time.monotonic() + MAX_PILE_S  # a steady trickle must not wait for a full chunk
            while n < size and time.monotonic() < deadline:
                time.sleep(POLL_S)
                try:
                    more = recv(size - n, dontwait)
                except BlockingIOError:
                    break  # nothing new: hand over what came
                except OSError:
                    break  # closed or reset: the next read reports it
                if not more:
                    break  # EOF: the next read returns b""
                parts.append(more)
                n += len(more)
            return parts[0] if len(parts) == 1 else b"".join(parts)

        return read

    def _open_sdk(self, api: Any, params: dict[str, Any]):
        url = api._url("/containers/{0}/logs", self.container_id)
        # timeout=None: a followed log may be quiet for hours.
        resp = api._get(url, params=params, stream=True, timeout=None)
        api._raise_for_status(resp)
        self._response = resp
        raw = resp.raw
        fp = getattr(raw, "_fp", None)  # http.client.HTTPResponse under urllib3
        try:
            sock = api._get_raw_response_socket(resp) if fp is not None else None
            self._sock = getattr(sock, "_sock", sock)  # SocketIO wraps the socket
        except Exception:  # noqa: BLE001 - only used to interrupt a blocked read
            self._sock = None
        src = fp if fp is not None and hasattr(fp, "read1") else raw
        size = self.chunk_size
        if self.follow:
            read1 = src.read1

            def read() -> bytes:
                return read1(size)
        else:
            read_full = src.read

            def read() -> bytes:
                return read_full(size)

        return read

    def _groups(self, read) -> Iterator[list[LogBatch]]:
        tty = bool(self.tty)
        tails: dict[int, bytes] = {STDOUT: b"", STDERR: b"", TTY: b""}
        pending = b""  # an incomplete frame header/payload from the previous chunk
        unpack = _HEADER.unpack_from
        closed = self._closed.is_set
        # With timestamps, every frame starts with one, including the 16 KiB pieces of a
        # long line: keep only the first piece's (state per stream: did the last frame end a line?)
        stamped = self.timestamps and not tty
        line_ended = {STDOUT: True, STDERR: True}
        while True:
            try:
                data = read()
            except Exception as exc:  # noqa: BLE001
                if closed():
                    break
                raise engine_error(exc, self.container_id) from exc
            if not data:
                break
            self.bytes_read += len(data)
            if tty:
                runs = [(TTY, data)]
            else:
                buf = pending + data if pending else data
                n = len(buf)
                pos = 0
                runs = []
                cur = -1
                parts: list[bytes] = []
                while pos + 8 <= n:
                    st, size = unpack(buf, pos)
                    end = pos + 8 + size
                    if end > n:
                        break
                    if st != cur:
                        if parts:
                            runs.append((cur, b"".join(parts)))
                            parts = []
                        cur = st
                    payload = buf[pos + 8 : end]
                    if stamped:
                        if not line_ended.get(st, True):
                            sp = payload.find(b" ", 0, 48)
                            if sp > 0 and payload[sp - 1 : sp] == b"Z":
                                payload = payload[sp + 1 :]
                        line_ended[st] = payload.endswith(b"\n")
                    parts.append(payload)
                    pos = end
                if parts:
                    runs.append((cur, b"".join(parts)))
                pending = buf[pos:] if pos < n else b""
            group = []
            for st, payload in runs:
                lines = self._split(st, payload, tails, tty)
                if lines:
                    group.append(LogBatch(st, lines))
            if group:
                yield group
            if closed():
                break
        # EOF: whatever is left is a last line without a newline.
        if not self.closed:
            last = [LogBatch(st, [self._decode(rest, tty)]) for st, rest in tails.items() if rest]
            if last:
                yield last

    def _split(self, st: int, payload: bytes, tails: dict[int, bytes], tty: bool) -> list[str]:
        tail = tails.get(st, b"")
        if tail:
            payload = tail + payload
        cut = payload.rfind(b"\n")
        if cut == -1:
            if len(payload) >= MAX_LINE:  # never hold one line unbounded
                tails[st] = b""
                return [self._decode(payload, tty)]
            tails[st] = payload
            return []
        tails[st] = payload[cut + 1 :]
        if len(tails[st]) >= MAX_LINE:
            extra = [self._decode(tails[st], tty)]
            tails[st] = b""
        else:
            extra = None
        # Decode through the newline so a TTY's "\r\n" is seen whole. Usually the payload
        # ends there: decode it in place, and drop the "" after the last newline by pop()
        # rather than copying a megabyte twice (slice, then text[:-1]).
        text = self._decode(payload if cut + 1 == len(payload) else memoryview(payload)[: cut + 1], tty)
        lines = text.split("\n")
        lines.pop()
        if extra:
            lines.extend(extra)
        return lines

    @staticmethod
    def _decode(data: bytes | memoryview, tty: bool) -> str:
        text = str(data, "utf-8", "replace")
        if tty and "\r" in text:
            text = text.replace("\r\n", "\n")
        return text


def read_file_batches(path: str, *, chunk_size: int = CHUNK, stop: threading.Event | None = None) -> Iterator[LogBatch]:
    """A saved log file as :class:`LogBatch` objects (for post-mortem reading)."""
    tail = b""
    with open(path, "rb") as fh:
        while not (stop and stop.is_set()):
            data = fh.read(chunk_size)
            if not data:
                break
            data = tail + data if tail else data
            cut = data.rfind(b"\n")
            if cut == -1:
                tail = data
                if len(tail) >= MAX_LINE:
                    yield LogBatch(STDOUT, [tail.decode("utf-8", "replace")])
                    tail = b""
                continue
            tail = data[cut + 1 :]
            text = data[: cut + 1].decode("utf-8", "replace")
            if "\r\n" in text:
                text = text.replace("\r\n", "\n")
            yield LogBatch(STDOUT, text[:-1].split("\n"))
    if tail and not (stop and stop.is_set()):
        yield LogBatch(STDOUT, [tail.decode("utf-8", "replace")])
