"""Lambda's Invoke API (2015-03-31), so boto3, the AWS CLI and `local invoke` can call functions.

Like `sam local start-lambda`: point a lambda client's endpoint_url here.
"""

from __future__ import annotations

import asyncio
import base64
import json

from aiohttp import web

from localcloud.runtime.emulator import LambdaEmulator

LOG_TAIL_BYTES = 4096  # what AWS returns in X-Amz-Log-Result


def _not_found(name: str) -> web.Response:
    return web.json_response(
        {"Type": "User", "Message": f"Function not found: {name}"},
        status=404,
        headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
    )


def create_lambda_api_app(emulator: LambdaEmulator) -> web.Application:
    background: set[asyncio.Task[object]] = set()

    async def invoke(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        qualifier = request.query.get("Qualifier")
        if qualifier not in (None, "$LATEST"):
            return _not_found(f"{name}:{qualifier}")
        if emulator.find(name) is None:
            return _not_found(name)
        payload = await request.read() or b"{}"
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return web.Response(status=204)
        if invocation_type == "Event":
            task = asyncio.create_task(emulator.invoke_detailed(name, payload))
            background.add(task)
            task.add_done_callback(background.discard)
            return web.Response(status=202)
        trace_header = request.headers.get("X-Amzn-Trace-Id")
        done = await (await emulator.invoke_detailed(name, payload, trace_header)).finished()
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        if not done.result.ok:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            tail = "\n".join(done.log_lines).encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return web.Response(status=200, body=done.result.payload, headers=headers)

    async def list_functions(request: web.Request) -> web.Response:
        functions = [
            {
                "FunctionName": pool.fn.function_name,
                "FunctionArn": pool.arn,
                "Runtime": pool.fn.runtime,
                "Handler": pool.fn.handler,
                "Timeout": int(pool.fn.timeout_s),
                "MemorySize": pool.fn.memory_mb,
            }
            for pool in emulator.pools.values()
        ]
        return web.json_response({"Functions": functions})

    async def local_stats(request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps(emulator.stats(), indent=2), content_type="application/json"
        )

    app = web.Application(client_max_size=6 * 1024 * 1024 + 1024)  # Lambda's 6 MB payload
    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    app.router.add_get("/2015-03-31/functions/", list_functions)
    app.router.add_get("/_local/functions", local_stats)
    return app
