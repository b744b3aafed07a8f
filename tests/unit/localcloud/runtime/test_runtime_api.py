"""The Runtime API server over raw HTTP/1.1, as a runtime client's bytes reach it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from localcloud.runtime.runtime_api import API_PREFIX, InitError, Invocation, RuntimeApi

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
Scenario = Callable[[RuntimeApi, Reader, Writer], Awaitable[None]]


def run(scenario: Scenario, init_errors: list[InitError] | None = None) -> None:
    async def main() -> None:
        api = RuntimeApi(lambda: None, (init_errors if init_errors is not None else []).append)
        await api.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        try:
            await asyncio.wait_for(scenario(api, reader, writer), 10)
        finally:
            writer.close()
            await api.stop()

    asyncio.run(main())


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split()[1]), headers, body


def invocation(request_id: str = "req-1") -> Invocation:
    return Invocation(
        request_id=request_id,
        payload=b'{"k": 1}',
        deadline_ms=1,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        trace_header="Root=1-2-3;Sampled=1",
    )


async def handed_over(
    api: RuntimeApi, reader: Reader, writer: Writer, request_id: str
) -> Invocation:
    """An invocation submitted, then taken by the runtime's /next."""
    inv = invocation(request_id)
    api.submit(inv)
    writer.write(f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\n\r\n".encode())
    await read_response(reader)
    return inv


def test_next_waits_for_an_invocation_and_response_settles_it() -> None:
    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        writer.write(f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await asyncio.sleep(0.05)
        inv = invocation()
        api.submit(inv)
        status, headers, body = await read_response(reader)
        assert (status, body) == (200, b'{"k": 1}')
        assert headers["lambda-runtime-aws-request-id"] == "req-1"
        assert headers["lambda-runtime-trace-id"] == "Root=1-2-3;Sampled=1"
        assert headers["content-type"] == "application/json"
        # The same keep-alive connection, a chunked body, as curl sends one of unknown size.
        writer.write(
            f"POST {API_PREFIX}/invocation/req-1/response HTTP/1.1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            '3\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\n\r\n'.encode()
        )
        assert await asyncio.wait_for(inv.outcome, 5) == (True, b'{"a": 1}')
        # The 202 waits until the emulator has passed the result on.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.1)
        api.acknowledge()
        status, _, _ = await read_response(reader)
        assert status == 202

    run(scenario)


def test_an_error_with_expect_continue_gets_100_then_is_recorded() -> None:
    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        inv = await handed_over(api, reader, writer, "req-2")
        body = json.dumps({"errorMessage": "boom", "errorType": "ValueError"}).encode()
        writer.write(
            f"POST {API_PREFIX}/invocation/req-2/error HTTP/1.1\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        assert await asyncio.wait_for(inv.outcome, 5) == (False, body)
        api.acknowledge()
        status, _, _ = await read_response(reader)
        assert status == 202

    run(scenario)


def test_a_response_to_an_invocation_already_settled_is_accepted_at_once() -> None:
    # A memory kill settles the outcome first; the runtime's late /response needs its 202 still.
    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        inv = await handed_over(api, reader, writer, "req-3")
        inv.outcome.set_result((False, b"killed"))
        writer.write(
            f"POST {API_PREFIX}/invocation/req-3/response HTTP/1.1\r\n"
            "Content-Length: 2\r\n\r\n{}".encode()
        )
        status, _, _ = await read_response(reader)
        assert status == 202
        assert inv.outcome.result() == (False, b"killed")

    run(scenario)


def test_a_stale_request_id_and_an_unknown_path_are_refused() -> None:
    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        writer.write(
            f"POST {API_PREFIX}/invocation/nobody/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n"
            "{}".encode()
        )
        status, _, body = await read_response(reader)
        assert (status, json.loads(body)["errorType"]) == (400, "InvalidRequestID")
        writer.write(b"GET /elsewhere HTTP/1.1\r\n\r\n")
        assert (await read_response(reader))[0] == 404

    run(scenario)


def test_init_error_reaches_the_emulator() -> None:
    errors: list[InitError] = []

    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        writer.write(
            f"POST {API_PREFIX}/init/error HTTP/1.1\r\n"
            "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n"
            "Content-Length: 4\r\n\r\nboom".encode()
        )
        assert (await read_response(reader))[0] == 202

    run(scenario, errors)
    assert errors == [InitError(body=b"boom", error_type="Runtime.ImportModuleError")]


def test_a_malformed_chunk_is_a_400_and_the_connection_closes() -> None:
    async def scenario(api: RuntimeApi, reader: Reader, writer: Writer) -> None:
        writer.write(
            f"POST {API_PREFIX}/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "zz\r\n".encode()
        )
        assert (await read_response(reader))[0] == 400
        assert await reader.read() == b""

    run(scenario)
