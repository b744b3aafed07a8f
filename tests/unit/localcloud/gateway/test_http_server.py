"""The gateway's HTTP/1.1 server on the wire: raw bytes in, raw bytes out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from multidict import CIMultiDict

from localcloud.gateway import http_server
from localcloud.gateway.http_server import HttpRequest, HttpResponse, HttpServer

LIMIT = 1000


async def echo(request: HttpRequest) -> HttpResponse:
    """Answers with what it read, or 413 for a body over the limit."""
    if request.too_large:
        return HttpResponse(413, CIMultiDict({"Content-Type": "text/plain"}), b"too large")
    headers = CIMultiDict({"X-Method": request.method, "X-Path": request.raw_path})
    headers.add("X-Query", request.raw_query)
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    return HttpResponse(200, headers, request.body)


@asynccontextmanager
async def serving(handler: http_server.Handler = echo) -> AsyncIterator[HttpServer]:
    server = HttpServer(handler, max_body_bytes=LIMIT)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop(grace_s=0.2)


async def send(
    server: HttpServer, data: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection to the server, `data` written on it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    return reader, writer


async def read_response(reader: asyncio.StreamReader) -> tuple[str, CIMultiDict[str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status, *lines = head.rstrip("\r\n").split("\r\n")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        name, _, value = line.partition(":")
        headers.add(name, value.strip())
    body = await reader.readexactly(int(headers.get("Content-Length", "0")))
    return status, headers, body


async def test_keep_alive_and_pipelined_requests_answered_in_order() -> None:
    async with serving() as server:
        reader, writer = await send(
            server,
            b"POST /a?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none"
            b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
            b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nch\r\n3\r\nunk\r\n0\r\n\r\n",
        )
        first, second, third = [await read_response(reader) for _ in range(3)]
        writer.close()
    assert first[0] == "HTTP/1.1 200 OK"
    assert (first[1]["X-Path"], first[1]["X-Query"], first[2]) == ("/a", "x=1&y=%20", b"one")
    assert first[1].getall("Set-Cookie") == ["a=1", "b=2"]
    assert "Date" in first[1]
    assert "Connection" not in first[1]
    assert (second[1]["X-Method"], second[1]["X-Path"], second[2]) == ("GET", "/b", b"")
    assert (third[1]["X-Path"], third[2]) == ("/c", b"chunk")


async def test_http_1_0_closes_unless_keep_alive_is_asked() -> None:
    async with serving() as server:
        reader, writer = await send(server, b"GET /once HTTP/1.0\r\n\r\n")
        status, headers, _ = await read_response(reader)
        assert (status, headers["Connection"]) == ("HTTP/1.1 200 OK", "close")
        assert await reader.read() == b""  # closed by the server
        reader, writer = await send(
            server, b"GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2
        )
        for _ in range(2):
            _, headers, _ = await read_response(reader)
            assert headers["Connection"] == "keep-alive"
        writer.close()


async def test_an_upgrade_is_ignored_and_answered_over_http_1_1() -> None:
    async with serving() as server:
        reader, _writer = await send(
            server,
            b"GET /h2 HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        )
        status, headers, _ = await read_response(reader)
        assert (status, headers["X-Path"], headers["Connection"]) == (
            "HTTP/1.1 200 OK",
            "/h2",
            "close",
        )
        assert await reader.read() == b""


async def test_head_gets_headers_without_a_body() -> None:
    async def sized(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, CIMultiDict(), b"12345")

    async with serving(sized) as server:
        reader, writer = await send(
            server, b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"Content-Length: 5\r\n" in head
        status, _, body = await read_response(reader)  # the next response follows at once
        assert (status, body) == ("HTTP/1.1 200 OK", b"12345")
        writer.close()


async def test_expect_100_continue() -> None:
    async with serving() as server:
        reader, writer = await send(
            server,
            b"PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"body")
        status, _, body = await read_response(reader)
        assert (status, body) == ("HTTP/1.1 200 OK", b"body")
        writer.close()


async def test_a_body_over_the_limit_is_dropped_and_refused() -> None:
    seen: list[HttpRequest] = []

    async def recording(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return await echo(request)

    async with serving(recording) as server:
        # With Content-Length: read to its end (so the client sees the answer), then closed.
        reader, writer = await send(
            server, b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n" + b"x" * 1001
        )
        status, headers, _ = await read_response(reader)
        assert (status, headers["Connection"]) == ("HTTP/1.1 413 Request Entity Too Large", "close")
        assert await reader.read() == b""
        # Chunked: the limit is found while reading.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        chunk = b"%x\r\n%s\r\n" % (600, b"y" * 600)
        writer.write(b"POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(chunk * 2 + b"0\r\n\r\n")
        assert (await read_response(reader))[0].startswith("HTTP/1.1 413")
        # Expecting 100-continue: refused at once, the body never sent.
        reader, writer = await send(
            server,
            b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n"
            b"Expect: 100-continue\r\n\r\n",
        )
        assert (await read_response(reader))[0].startswith("HTTP/1.1 413")
        assert await reader.read() == b""
    assert [r.too_large for r in seen] == [True, True, True]
    assert all(r.body == b"" for r in seen)  # nothing of a refused body is kept


async def test_a_failing_handler_is_500_and_the_connection_closed() -> None:
    async def broken(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("bug")

    async with serving(broken) as server:
        reader, _writer = await send(server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        status, headers, _ = await read_response(reader)
        assert (status, headers["Connection"]) == ("HTTP/1.1 500 Internal Server Error", "close")
        assert await reader.read() == b""


@pytest.mark.parametrize(
    "garbage",
    [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"],
)
async def test_malformed_request_is_400_and_closed(garbage: bytes) -> None:
    async with serving() as server:
        reader, _writer = await send(server, garbage)
        status, _, _ = await read_response(reader)
        assert status == "HTTP/1.1 400 Bad Request"
        assert await reader.read() == b""


async def test_oversized_head_is_400() -> None:
    async with serving() as server:
        reader, _writer = await send(
            server,
            b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (http_server.MAX_HEAD_BYTES + 1) + b"\r\n\r\n",
        )
        status, _, body = await read_response(reader)
        assert status == "HTTP/1.1 400 Bad Request"
        assert body == b"Request head too large"


async def test_idle_keep_alive_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "KEEPALIVE_TIMEOUT_S", 0.1)
    async with serving() as server:
        reader, _writer = await send(server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await read_response(reader)
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_stop_lets_a_request_finish_within_the_grace_then_cancels() -> None:
    cancelled = asyncio.Event()

    async def hanging(request: HttpRequest) -> HttpResponse:
        if request.raw_path == "/quick":
            await asyncio.sleep(0.05)
            return HttpResponse(200, CIMultiDict(), b"done")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    server = HttpServer(hanging)
    await server.start("127.0.0.1", 0)
    quick_r, quick_w = await asyncio.open_connection("127.0.0.1", server.port)
    slow_r, slow_w = await asyncio.open_connection("127.0.0.1", server.port)
    quick_w.write(b"GET /quick HTTP/1.1\r\nHost: h\r\n\r\n")
    slow_w.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
    await asyncio.sleep(0.01)
    await server.stop(grace_s=0.3)
    assert (await read_response(quick_r))[2] == b"done"
    assert cancelled.is_set()
    assert await slow_r.read() == b""
