"""The bench's HTTP/1.1 client for streamed answers: every piece of the body keeps the moment
the event loop received it from the socket.

Why not httpx here (the rest of the console uses it): an httpx timestamp can only be
taken once a piece has come up through anyio, httpcore, h11 and httpx's iterators. On
the 2-core test box that put the stamp 0.54 ms after the server wrote the token, against
0.27 ms for a bare ``asyncio.Protocol`` — a quarter of a millisecond added to every TTFT
(ITLs cancel it out), and CPU per chunk that delays the other streams' reads at high
concurrency. Here ``Protocol.data_received`` — called straight from the selector, before
any parsing — stamps each piece; h11 (the parser httpx itself uses) decodes it
afterwards. Measured by tests/perf/bench_accuracy.py.

Scope is what a benchmark needs: one POST at a time per connection, keep-alive,
``Content-Length`` or chunked answers, TLS for ``https://``, read/connect timeouts.
No proxies: a proxy's latency is not the server's.
"""

from __future__ import annotations

import asyncio
import collections
import time
from urllib.parse import urlsplit

import h11

__all__ = ["HTTPError", "StreamClient"]


class HTTPError(Exception):
    """A transport failure; ``kind`` reads like httpx's class names (ConnectError, ReadTimeout…)
    so error summaries and the warm-up's checks keep their wording."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.kind}: {self.args[0]}"


class _Wire(asyncio.Protocol):
    """One TCP connection: buffers ``(arrival perf_counter, bytes)`` and wakes the reader."""

    def __init__(self) -> None:
        self.pieces: collections.deque[tuple[float, bytes]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.ended = False  # EOF or connection lost
        self.lost: Exception | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.pieces.append((time.perf_counter(), data))
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.lost = exc
        self._wake()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def piece(self, timeout: float) -> tuple[float, bytes]:
        """The next piece as it arrived; ``b""`` once the peer has closed."""
        if not self.pieces and not self.ended:
            loop = asyncio.get_running_loop()
            self.waiter = loop.create_future()
            timer = loop.call_later(timeout, self._wake)  # wakes with nothing: a timeout
            try:
                await self.waiter
            finally:
                timer.cancel()
                self.waiter = None
            if not self.pieces and not self.ended:
                raise HTTPError("ReadTimeout", f"no data for {timeout:g} s")
        if self.pieces:
            return self.pieces.popleft()
        return time.perf_counter(), b""


class _Connection:
    def __init__(self, wire: _Wire) -> None:
        self.wire = wire
        self.h11 = h11.Connection(h11.CLIENT)

    @property
    def reusable(self) -> bool:
        return not self.wire.ended and self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE

    def close(self) -> None:
        if self.wire.transport is not None:
            self.wire.transport.close()


class Response:
    """A streamed answer: ``status``, ``headers`` (lower-case names), ``sent`` (perf_counter
    right before the request's bytes were handed to the socket), then the body through
    :meth:`timed` or :meth:`read`."""

    def __init__(self, conn: _Connection, sent: float, timeout: float) -> None:
        self._conn = conn
        self._timeout = timeout
        self.sent = sent
        self.status = 0
        self.headers: dict[str, str] = {}
        self._held: list = []  # body events decoded along with the head
        self._at = sent  # arrival time of the piece now being decoded
        self.complete = False

    async def _event(self):
        conn = self._conn.h11
        while True:
            try:
                ev = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise HTTPError("RemoteProtocolError", str(exc)) from None
            if ev is not h11.NEED_DATA:
                return ev
            self._at, data = await self._conn.wire.piece(self._timeout)
            if not data and self._conn.wire.lost is not None:
                raise HTTPError("ReadError", str(self._conn.wire.lost) or "connection lost")
            conn.receive_data(data)

    async def _head(self) -> None:
        while True:
            ev = await self._event()
            if isinstance(ev, h11.Response):
                self.status = ev.status_code
                self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in ev.headers}
                return
            if isinstance(ev, h11.ConnectionClosed):
                raise HTTPError("RemoteProtocolError", "server disconnected without sending a response")

    async def timed(self):
        """Yield ``(arrival, bytes)`` for each body piece: arrival is when the socket read that
        completed it happened, not when this loop got round to it."""
        while True:
            ev = await self._event()
            if isinstance(ev, h11.Data):
                yield self._at, bytes(ev.data)
            elif isinstance(ev, h11.EndOfMessage):
                self.complete = True
                return
            elif isinstance(ev, h11.ConnectionClosed):
                raise HTTPError("RemoteProtocolError", "peer closed connection without sending complete message body")

    async def read(self) -> bytes:
        return b"".join([piece async for _, piece in self.timed()])


class StreamClient:
    """Keep-alive connections to one server, at most one request in flight on each."""

    def __init__(self, base_url: str, timeout: float = 600.0, connect_timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default = (self.tls and self.port == 443) or (not self.tls and self.port == 80)
        self.authority = parts.netloc.rsplit("@", 1)[-1] if not default else self.host
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        ssl = None
        if self.tls:
            import ssl as _ssl

            ssl = _ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, wire = await loop.create_connection(_Wire, self.host, self.port, ssl=ssl)
        except TimeoutError:
            raise HTTPError("ConnectTimeout", f"{self.host}:{self.port} after {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise HTTPError("ConnectError", str(exc)) from None
        return _Connection(wire)

    def stream(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> "_Exchange":
        """``async with client.stream(path, body) as resp:`` — a POST of a JSON body."""
        return _Exchange(self, path, body, headers or {})

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def __aenter__(self) -> "StreamClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


class _Exchange:
    def __init__(self, client: StreamClient, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.client, self.path, self.body, self.headers = client, path, body, headers
        self.conn: _Connection | None = None
        self.resp: Response | None = None

    async def __aenter__(self) -> Response:
        c = self.client
        reused = False
        while c._idle:
            conn = c._idle.pop()
            if conn.reusable:
                reused = True
                break
            conn.close()
        else:
            conn = await c._connect()
        try:
            return await self._send(conn)
        except HTTPError:
            if not reused:
                raise
            # A kept-alive connection the server closed as the request went out (llama-server closes
            # idle ones after 5 s): no answer began, so the request goes again on a new connection.
            conn.close()
            return await self._send(await c._connect())

    async def _send(self, conn: _Connection) -> Response:
        c = self.client
        self.conn = conn
        head = [("host", c.authority), ("content-type", "application/json"), ("accept", "text/event-stream"),
                ("content-length", str(len(self.body))), *self.headers.items()]
        data = conn.h11.send(h11.Request(method="POST", target=self.path, headers=head))
        data += conn.h11.send(h11.Data(data=self.body)) + conn.h11.send(h11.EndOfMessage())
        if conn.wire.ended:
            raise HTTPError("WriteError", "connection closed before the request was sent")
        sent = time.perf_counter()
        conn.wire.transport.write(data)  # a free socket takes it in this call: no await between
        self.resp = Response(conn, sent, c.timeout)
        await self.resp._head()
        return self.resp

    async def __aexit__(self, exc_type, *_) -> None:
        conn = self.conn
        if conn is None:
            return
        if exc_type is None and self.resp is not None and self.resp.complete:
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:  # e.g. the server asked to close
                conn.close()
                return
            if conn.reusable:
                self.client._idle.append(conn)
                return
        conn.close()
