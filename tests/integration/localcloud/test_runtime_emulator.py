"""The Lambda runtime emulator with real `awslambdaric` workers, driven in-process."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from localcloud.runtime.emulator import AwsContext, LambdaEmulator, function_environment
from localcloud.runtime.logs import LogRouter
from localcloud.runtime.packages import LambdaPackages
from localcloud.runtime.worker import OUTPUT_LINE_LIMIT
from localcloud.spec import FunctionSpec, TemplateSpec
from tests.support import FIXTURES


def fn(name: str, code: str | None = None, **overrides: object) -> FunctionSpec:
    spec = FunctionSpec(
        logical_id=name,
        function_name=f"test-{name}",
        handler="app.handler",
        code_dir=FIXTURES / "functions" / (code or name),
        layer_dirs=(),
        runtime="python3.11",
        timeout_s=3.0,
        memory_mb=256,
        environment={"GREETING": "hi"},
    )
    return replace(spec, **overrides)  # type: ignore[arg-type]


FUNCTIONS = {
    f.logical_id: f
    for f in (
        fn("echo"),
        fn("crash"),
        fn("slow", timeout_s=1.0),
        fn("limited", code="slow", reserved_concurrency=2),
        fn("memory_hog", memory_mb=128),
        fn("import_error"),
        fn("lambda_packages"),
        fn("dev_only_import"),
        fn("chatty"),
    )
}
SPEC = TemplateSpec("stack", "us-east-1", "123456789012", {}, FUNCTIONS, {}, {})


def run(
    test: Callable[[LambdaEmulator, io.StringIO], Awaitable[None]],
    packages: LambdaPackages | None = None,
) -> None:
    async def main() -> None:
        console = io.StringIO()
        emulator = LambdaEmulator(
            SPEC, AwsContext("us-east-1", None), LogRouter(console), packages=packages
        )
        try:
            await test(emulator, console)
        finally:
            await emulator.close()

    asyncio.run(main())


def body_of(payload: bytes) -> dict:
    return json.loads(json.loads(payload)["body"])


def test_environment_is_lambdas() -> None:
    env = function_environment(
        FUNCTIONS["echo"], AwsContext("eu-west-1", "http://127.0.0.1:4566", "127.0.0.1:2000")
    )
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "test-echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert env["LAMBDA_TASK_ROOT"] == str(FIXTURES / "functions" / "echo")
    assert env["GREETING"] == "hi"
    # A function's own variable cannot override a reserved one, as on AWS.
    sneaky = replace(FUNCTIONS["echo"], environment={"AWS_REGION": "mars-1"})
    assert function_environment(sneaky, AwsContext("eu-west-1", None))["AWS_REGION"] == "eu-west-1"


def test_cold_then_warm_with_context_and_report() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        trace = "Root=1-5f84c7a1-1;Sampled=1"
        first = await (await emulator.invoke_detailed("echo", b'{"path": "/a"}', trace)).finished()
        second = await (await emulator.invoke_detailed("echo", b'{"path": "/b"}')).finished()
        assert first.result.ok
        assert second.result.ok
        one, two = body_of(first.result.payload), body_of(second.result.payload)
        assert one["pid"] == two["pid"]
        assert one["request_id"] == first.result.request_id
        assert 0 < one["remaining_ms"] <= 3000
        assert one["trace_id"] == "Root=1-5f84c7a1-1;Sampled=1"
        assert first.report is not None
        assert first.report.result().init_duration_ms is not None
        assert second.report is not None
        assert second.report.result().init_duration_ms is None
        assert first.log_lines[0].startswith("START RequestId: ")
        assert "echo /a" in first.log_lines
        assert first.log_lines[-1].startswith("REPORT RequestId: ")
        assert "[test-echo] echo /a" in console.getvalue()
        assert emulator.stats()["echo"]["cold_starts"] == 1

    run(test)


def test_error_timeout_oom_and_init_error() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        crash = await emulator.invoke("crash", b'{"queryStringParameters": {"raise": "1"}}')
        assert crash.status == "error"
        assert json.loads(crash.payload)["errorType"] == "BoomError"
        assert (await emulator.invoke("crash", b"{}")).ok  # the same worker goes on

        slow = await emulator.invoke("slow", b'{"queryStringParameters": {"seconds": "10"}}')
        assert slow.status == "timeout"
        assert "Task timed out after 1.00 seconds" in json.loads(slow.payload)["errorMessage"]
        assert emulator.stats()["slow"]["workers"] == 0  # killed, not reused

        hog = await emulator.invoke("memory_hog", b'{"queryStringParameters": {"mb": "400"}}')
        assert hog.status == "error"
        assert json.loads(hog.payload)["errorType"] == "Runtime.OutOfMemory"

        broken = await emulator.invoke("import_error", b"{}")
        assert broken.status == "error"
        assert json.loads(broken.payload)["errorType"] == "Runtime.ImportModuleError"
        assert "INIT_REPORT" in console.getvalue()

    run(test)


def test_concurrency_limit_queues_the_rest() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        calls = [
            emulator.invoke("limited", b'{"queryStringParameters": {"seconds": "0.3"}}')
            for _ in range(5)
        ]
        results = await asyncio.gather(*calls)
        assert all(r.ok for r in results)
        stats = emulator.stats()["limited"]
        assert stats["peak_workers"] == 2
        assert stats["invocations"] == 5

    run(test)


def test_unknown_function_is_a_key_error() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        with pytest.raises(KeyError):
            await emulator.invoke("ghost", b"{}")
        assert emulator.find("test-echo") is emulator.pools["echo"]
        arn = "arn:aws:lambda:us-east-1:123456789012:function:test-echo"
        assert emulator.find(arn) is emulator.pools["echo"]

    run(test)


# What a function deployed with only pg8000 (and Lambda's runtime) may import.
PG8000_ONLY = LambdaPackages(["pg8000"])


def test_a_function_sees_lambdas_packages_not_the_virtualenvs() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        modules = ["boto3", "pg8000", "awslambdaric", "moto", "yaml", "awscrt", "json"]
        result = await emulator.invoke("lambda_packages", json.dumps({"modules": modules}).encode())
        assert result.ok, result.payload
        seen = json.loads(result.payload)
        assert seen["found"] == {
            "boto3": True,
            "pg8000": True,
            "awslambdaric": True,
            "moto": False,
            "yaml": False,
            "awscrt": False,
            "json": True,
        }
        assert seen["botocore_has_crt"] is False  # as on AWS, where awscrt is not installed
        assert seen["hidden_variable"] is False

    run(test, PG8000_ONLY)


def test_without_a_package_list_the_whole_virtualenv_is_visible() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        result = await emulator.invoke("lambda_packages", b'{"modules": ["moto", "yaml"]}')
        assert json.loads(result.payload)["found"] == {"moto": True, "yaml": True}

    run(test)


def test_a_dev_only_import_fails_to_start_and_says_what_to_add() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        result = await emulator.invoke("dev_only_import", b"{}")
        assert result.status == "error"
        assert json.loads(result.payload)["errorType"] == "Runtime.ImportModuleError"
        assert "No module named 'yaml'" in console.getvalue()
        assert "add it to pyproject.toml's dependencies or a requirements.txt" in (
            console.getvalue()
        )

    run(test, PG8000_ONLY)


def test_output_arrives_line_by_line_and_an_overlong_line_in_pieces() -> None:
    long = OUTPUT_LINE_LIMIT * 2 + 10

    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        done = await (
            await emulator.invoke_detailed("chatty", json.dumps({"long": long}).encode())
        ).finished()
        assert done.result.ok
        lines = done.log_lines
        first = lines.index("line 0")
        assert lines[first : first + 200] == [f"line {i}" for i in range(200)]
        pieces = lines[first + 200 : first + 203]
        assert [len(p) for p in pieces] == [OUTPUT_LINE_LIMIT, OUTPUT_LINE_LIMIT, 10]
        assert set("".join(pieces)) == {"x"}
        assert lines[first + 203] == "after the long one"
        assert lines[-1].startswith("REPORT RequestId: ")

    run(test)


def test_a_long_line_whose_start_was_read_before_its_end_is_cut_at_the_limit_too() -> None:
    async def test(emulator: LambdaEmulator, console: io.StringIO) -> None:
        event = {"long": OUTPUT_LINE_LIMIT + 10, "pause_after": OUTPUT_LINE_LIMIT - 5}
        done = await (
            await emulator.invoke_detailed("chatty", json.dumps(event).encode())
        ).finished()
        assert done.result.ok
        lines = done.log_lines
        first = lines.index("line 199") + 1
        assert [len(p) for p in lines[first : first + 2]] == [OUTPUT_LINE_LIMIT, 10]
        assert lines[first + 2] == "after the long one"

    run(test)
