"""The bench's own HTTP/1.1 streaming client (console/bench/http1.py) against scripted servers."""

from __future__ import annotations

import asyncio
import time

import pytest

from console.bench.http1 import HTTPError, StreamClient
from console.bench.runner import stream_chat


class Scripted:
    """A raw asyncio server: each request gets the next scripted handler ``(reader, writer)``."""

    def __init__(self, *handlers) -> None:
        self.handlers = list(handlers)
        self.connections = 0
        self.requests: list[bytes] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.handlers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(ln.split(b":")[1]) for ln in head.split(b"\r\n")
                               if ln.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                await self.handlers.pop(0)(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


async def sse_answer(reader, writer) -> None:
    writer.write(SSE_HEAD)
    for word in ("Hello", " there"):
        writer.write(chunk(b'data: {"id": "chatcmpl-7", "choices": [{"index": 0, "delta": {"content": "%s"}}]}\n\n'
                           % word.encode()))
        await writer.drain()
        await asyncio.sleep(0.01)
    writer.write(chunk(b'data: {"id": "chatcmpl-7", "choices": [], "usage": {"prompt_tokens": 3, '
                       b'"completion_tokens": 2}}\n\n') + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()


async def test_streams_chunked_pieces_in_order_and_reuses_the_connection():
    srv = Scripted(sse_answer, sse_answer)
    async with srv as url, StreamClient(url) as client:
        for _ in range(2):
            async with client.stream("/v1/chat/completions", b'{"x": 1}', {"authorization": "Bearer k"}) as resp:
                assert resp.status == 200 and resp.headers["content-type"] == "text/event-stream"
                pieces = [item async for item in resp.timed()]
            times = [t for t, _ in pieces]
            assert times == sorted(times) and times[0] >= resp.sent
            body = b"".join(p for _, p in pieces)
            assert body.count(b"data:") == 4 and body.endswith(b"data: [DONE]\n\n")
    assert srv.connections == 1  # keep-alive: the second request went over the first connection
    req = srv.requests[0]
    assert req.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") and req.endswith(b'{"x": 1}')
    assert b"authorization: Bearer k" in req and b"content-length: 8" in req


async def test_pieces_carry_their_socket_arrival_not_the_time_they_are_read():
    head_seen, marked_now = asyncio.Event(), asyncio.Event()

    async def two_pieces(reader, writer):
        writer.write(SSE_HEAD)
        await writer.drain()
        await head_seen.wait()
        writer.write(chunk(b"data: first\n\n"))
        await writer.drain()
        await marked_now.wait()
        writer.write(chunk(b"data: second\n\n") + b"0\r\n\r\n")
        await writer.drain()

    async with Scripted(two_pieces) as url, StreamClient(url) as client:
        async with client.stream("/v1/chat/completions", b"{}") as resp:
            head_seen.set()
            wire = resp._conn.wire
            while not wire.pieces:  # the first body piece has arrived, and is not decoded yet
                await asyncio.sleep(0.001)
            marked = time.perf_counter()
            marked_now.set()
            pieces = [item async for item in resp.timed()]
    first = next(t for t, p in pieces if p.startswith(b"data: first"))
    second = next(t for t, p in pieces if p.startswith(b"data: second"))
    assert first < marked < second  # stamped on arrival, before this task read it


async def test_error_answer_is_read_whole_with_its_status():
    async def unauthorized(reader, writer):
        body = b'{"error": {"message": "bad key"}}'
        writer.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()

    async with Scripted(unauthorized) as url, StreamClient(url) as client:
        rec = await stream_chat(client, "/v1/chat/completions", {"stream": True}, api_key="k")
    assert not rec.ok and rec.error.startswith("HTTP 401: ") and "bad key" in rec.error


async def test_connection_refused_reads_like_httpx():
    async with Scripted() as url:
        pass  # closed again: nothing listens on the port now
    async with StreamClient(url, connect_timeout=2) as client:
        rec = await stream_chat(client, "/v1/chat/completions", {"stream": True})
    assert rec.error.startswith("ConnectError: ")  # what run.warm_up looks for


async def test_read_timeout_when_the_server_stalls():
    async def stall(reader, writer):
        writer.write(SSE_HEAD)
        await writer.drain()
        await asyncio.sleep(5)

    async with Scripted(stall) as url, StreamClient(url, timeout=0.2) as client:
        with pytest.raises(HTTPError) as exc:
            async with client.stream("/v1/chat/completions", b"{}") as resp:
                async for _ in resp.timed():
                    pass
    assert exc.value.kind == "ReadTimeout"


async def test_answer_cut_off_mid_body_is_an_error_and_the_connection_is_not_reused():
    async def cut(reader, writer):
        writer.write(SSE_HEAD + chunk(b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'))
        await writer.drain()
        writer.transport.abort()

    srv = Scripted(cut, sse_answer)
    async with srv as url, StreamClient(url) as client:
        rec = await stream_chat(client, "/v1/chat/completions", {"stream": True})
        assert rec.error and rec.error.split(":")[0] in ("RemoteProtocolError", "ReadError")
        ok = await stream_chat(client, "/v1/chat/completions", {"stream": True})
    assert ok.ok and ok.content == "Hello there" and ok.output_tokens == 2 and ok.id == "chatcmpl-7"
    assert srv.connections == 2


def test_rejects_urls_it_cannot_speak_to():
    with pytest.raises(ValueError):
        StreamClient("unix:///tmp/sock")
    assert StreamClient("https://example.invalid").port == 443
    assert StreamClient("http://h:8000/v1").authority == "h:8000"


async def test_body_delimited_by_close_and_content_length_both_end_cleanly():
    async def close_delimited(reader, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                     b'data: {"id": "a", "choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n')
        await writer.drain()
        writer.close()

    async def sized(reader, writer):
        body = b'data: {"id": "b", "choices": [{"delta": {"content": "yo"}}]}\n\ndata: [DONE]\n\n'
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    srv = Scripted(close_delimited, sized)
    async with srv as url, StreamClient(url) as client:
        first = await stream_chat(client, "/v1/chat/completions", {"stream": True})
        second = await stream_chat(client, "/v1/chat/completions", {"stream": True})
    assert (first.ok, first.content, first.id) == (True, "hi", "a")
    assert (second.ok, second.content, second.id) == (True, "yo", "b")
    assert srv.connections == 2  # "connection: close" is honoured: a new connection for the next request


async def test_a_kept_alive_connection_closed_as_the_request_goes_out_is_retried_on_a_new_one():
    """llama-server closes a keep-alive connection idle for 5 s: the next request on it meets the
    close before any answer. Nothing was answered, so it goes again on a fresh connection; a fresh
    connection that closes the same way is still an error (no loop)."""
    async def close_unanswered(reader, writer):
        writer.transport.abort()

    srv = Scripted(sse_answer, close_unanswered, sse_answer)
    async with srv as url, StreamClient(url) as client:
        first = await stream_chat(client, "/v1/chat/completions", {"stream": True})
        second = await stream_chat(client, "/v1/chat/completions", {"stream": True})
    assert first.ok and second.ok and second.content == "Hello there", second.error
    assert srv.connections == 2 and len(srv.requests) == 3

    fresh = Scripted(close_unanswered, sse_answer)
    async with fresh as url, StreamClient(url) as client:
        rec = await stream_chat(client, "/v1/chat/completions", {"stream": True})
    assert rec.error and rec.error.split(":")[0] in ("RemoteProtocolError", "ReadError")
    assert len(fresh.requests) == 1
