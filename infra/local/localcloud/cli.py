"""The `eventstream` command: `eventstream local up | invoke | logs | traces`."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from localcloud import operator
from localcloud.ports import free_ports
from localcloud.sampling import MODES

PROJECT_DIR = Path(__file__).resolve().parents[3]


def _default_template() -> Path:
    here = Path.cwd() / "template.yaml"
    return here if here.exists() else PROJECT_DIR / "template.yaml"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _sampling_mode(value: str) -> str:
    if value not in MODES:
        raise argparse.ArgumentTypeError(f"choose one of {', '.join(MODES)}, not {value!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventstream", description="EventStream tools")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="the local cloud: no Docker, no AWS account")
    sub = local.add_subparsers(dest="local_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-t",
            "--template",
            action="append",
            type=Path,
            help="SAM template; repeat to merge test-only templates after the product's "
            "(default: ./template.yaml)",
        )
        p.add_argument(
            "--state-dir",
            type=Path,
            default=Path(os.environ.get("EVENTSTREAM_STATE_DIR", PROJECT_DIR / ".eventstream")),
            help="where Postgres data and the running cloud's addresses live",
        )
        p.add_argument(
            "--parameter-overrides",
            nargs="*",
            default=[],
            metavar="KEY=VALUE",
            help="template parameters, as `sam deploy --parameter-overrides`",
        )
        p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
        p.add_argument("--db-port", type=int, default=_env_int("EVENTSTREAM_DB_PORT", 55432))

    up = sub.add_parser("up", help="start the local cloud and serve the API (Ctrl-C stops it)")
    common(up)
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("-p", "--port", type=int, default=_env_int("EVENTSTREAM_PORT", 3000))
    up.add_argument("--lambda-port", type=int, default=_env_int("EVENTSTREAM_LAMBDA_PORT", 3001))
    up.add_argument("--aws-port", type=int, default=_env_int("EVENTSTREAM_AWS_PORT", 4566))
    up.add_argument("--xray-port", type=int, default=_env_int("EVENTSTREAM_XRAY_PORT", 2000))
    up.add_argument(
        "--xray-sampling",
        type=_sampling_mode,  # also checks the environment's value, which choices= would not
        metavar="{default,all}",
        default=os.environ.get("EVENTSTREAM_XRAY_SAMPLING", "default"),
        help="requests to trace without a caller's decision: 'default' as AWS (the first each "
        "second, then 5%%), or 'all'",
    )
    up.add_argument(
        "--core-nodes",
        type=int,
        default=_env_int("EVENTSTREAM_CORE_NODES", 1),
        help="core nodes to start (default 1; 0: none); topics spread over them",
    )
    up.add_argument(
        "--core-port",
        type=int,
        default=_env_int("EVENTSTREAM_CORE_PORT", 7070),
        help="the first core node's port; the others follow (default 7070; 0: free ports)",
    )
    up.add_argument(
        "--prometheus-port",
        type=int,
        default=_env_int("EVENTSTREAM_PROMETHEUS_PORT", 9090),
        help="Prometheus, when installed (default 9090; 0: do not start it)",
    )
    up.add_argument(
        "--concurrency", type=int, default=10, help="workers per function at most (default 10)"
    )
    up.add_argument(
        "--warm", action="store_true", help="start one worker per function before serving"
    )
    up.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="an API key the gateway accepts for ApiKeyRequired routes (default: one generated)",
    )

    invoke = sub.add_parser("invoke", help="invoke one function once, like `sam local invoke`")
    common(invoke)
    invoke.add_argument("function", help="logical id or function name")
    invoke.add_argument(
        "-e", "--event", help="event file (JSON); `-` reads standard input (default: {})"
    )

    logs = sub.add_parser("logs", help="print a function's CloudWatch logs from the running cloud")
    common(logs)
    logs.add_argument("function", help="logical id or function name")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--since", type=float, default=3600, help="seconds back (default 3600)")

    traces = sub.add_parser(
        "traces", help="print recent X-Ray traces from the running cloud as a waterfall"
    )
    common(traces)
    traces.add_argument("--since", type=float, default=300, help="seconds back (default 300)")
    traces.add_argument("-n", "--limit", type=int, default=5, help="newest N traces (default 5)")
    traces.add_argument("--trace-id", action="append", default=[], help="these traces only")
    operator.add_commands(commands)
    return parser


def _overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --parameter-overrides takes KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def _api_keys(state_dir: Path, given: list[str]) -> list[str]:
    """Keys for ApiKeyRequired routes: those given, else one generated once and kept."""
    if given or os.environ.get("EVENTSTREAM_API_KEYS"):
        return given or os.environ["EVENTSTREAM_API_KEYS"].split(",")
    path = state_dir / "api_key"
    if not path.exists():
        import secrets

        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(30))
        path.chmod(0o600)
    return [path.read_text().strip()]


def _config(args: argparse.Namespace, **ports: int) -> Any:
    from localcloud.cloud import CloudConfig

    return CloudConfig(
        templates=args.template or [_default_template()],
        state_dir=args.state_dir.resolve(),
        db_port=args.db_port,
        database_url=os.environ.get("DATABASE_URL") or None,
        parameter_overrides=_overrides(args.parameter_overrides),
        region=args.region,
        **ports,
    )


async def _up(args: argparse.Namespace) -> int:
    from localcloud.cloud import LocalCloud

    config = _config(
        args,
        host=args.host,
        port=args.port,
        lambda_port=args.lambda_port,
        aws_port=args.aws_port,
        xray_port=args.xray_port,
    )
    config.concurrency = args.concurrency
    config.core_nodes = args.core_nodes
    config.core_port = args.core_port
    config.prometheus_port = args.prometheus_port
    config.xray_sampling = args.xray_sampling
    config.prewarm = args.warm
    config.api_keys = _api_keys(config.state_dir, args.api_key)
    cloud = LocalCloud(config, progress=lambda line: print(line, flush=True))
    print("EventStream local cloud: starting", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await cloud.start()
        print(f"  api key      {config.api_keys[0]} (x-api-key for ApiKeyRequired routes)")
        print(
            f"Ready in {cloud.ready_seconds():.1f} s: {cloud.api_url}/v1/health "
            "(Ctrl-C stops everything)",
            flush=True,
        )
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        await cloud.stop()
        print("Stopped.", flush=True)
    return 0


def _read_event(path: str | None) -> bytes:
    if path is None:
        return b"{}"
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    try:
        json.loads(data)
    except ValueError as e:
        raise SystemExit(f"error: the event {path} is not JSON: {e}") from e
    return data


def _invoke_running(lambda_url: str, function: str, event: bytes) -> int:
    req = urllib.request.Request(  # noqa: S310 - the running cloud's own http:// address
        f"{lambda_url}/2015-03-31/functions/{function}/invocations",
        data=event,
        headers={"X-Amz-Log-Type": "Tail", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=960) as resp:  # noqa: S310 - local address
            payload = resp.read()
            log_tail = base64.b64decode(resp.headers.get("X-Amz-Log-Result", "")).decode()
            failed = bool(resp.headers.get("X-Amz-Function-Error"))
    except urllib.error.HTTPError as e:
        raise SystemExit(f"error: {json.loads(e.read()).get('Message', e)}") from e
    sys.stderr.write(log_tail + ("\n" if log_tail else ""))
    print(payload.decode())
    return 1 if failed else 0


async def _invoke_standalone(args: argparse.Namespace, event: bytes) -> int:
    from localcloud.cloud import LocalCloud

    lambda_port, aws_port = free_ports(2)
    (xray_port,) = free_ports(1, kind=socket.SOCK_DGRAM)
    config = _config(
        args, lambda_port=lambda_port, aws_port=aws_port, xray_port=xray_port, core_port=0
    )
    cloud = LocalCloud(config, progress=lambda line: print(line, file=sys.stderr))
    await cloud.start(gateway=False)
    try:
        assert cloud.emulator is not None
        if cloud.emulator.find(args.function) is None:
            names = ", ".join(sorted(cloud.emulator.pools))
            raise SystemExit(f"error: no function {args.function!r} in the template ({names})")
        assert cloud.logs is not None
        cloud.logs.console = sys.stderr
        done = await (await cloud.emulator.invoke_detailed(args.function, event)).finished()
        print(done.result.payload.decode())
        return 0 if done.result.ok else 1
    finally:
        await cloud.stop()


def _invoke(args: argparse.Namespace) -> int:
    from localcloud.cloud import read_running_state

    event = _read_event(args.event)
    running = read_running_state(args.state_dir.resolve())
    if running:
        return _invoke_running(running["lambda_url"], args.function, event)
    return asyncio.run(_invoke_standalone(args, event))


def _logs(args: argparse.Namespace) -> int:
    from localcloud.aws_endpoint import aws_client
    from localcloud.cloud import read_running_state

    running = read_running_state(args.state_dir.resolve())
    if not running:
        raise SystemExit("error: the local cloud is not running; start it with `make run`")
    name = running["functions"].get(args.function, args.function)
    client = aws_client("logs", running["aws_endpoint_url"], running["region"])
    start = int((time.time() - args.since) * 1000)
    seen: set[str] = set()
    while True:
        try:
            pages = client.get_paginator("filter_log_events").paginate(
                logGroupName=f"/aws/lambda/{name}", startTime=start
            )
            for page in pages:
                for event in page["events"]:
                    if event["eventId"] not in seen:
                        seen.add(event["eventId"])
                        print(event["message"], flush=True)
                        start = max(start, event["timestamp"])
        except client.exceptions.ResourceNotFoundException:
            if not args.follow:
                print(f"(no logs yet for {name})", file=sys.stderr)
        if not args.follow:
            return 0
        time.sleep(1.0)


def _traces(args: argparse.Namespace) -> int:
    from localcloud.aws_endpoint import aws_client
    from localcloud.cloud import read_running_state
    from localcloud.traces import documents_by_trace, recent_trace_ids, render

    running = read_running_state(args.state_dir.resolve())
    if not running:
        raise SystemExit("error: the local cloud is not running; start it with `make run`")
    client = aws_client("xray", running["aws_endpoint_url"], running["region"])
    now = time.time()
    ids = args.trace_id or recent_trace_ids(client, now - args.since, now)
    traces = documents_by_trace(client, ids)
    if not traces:
        print(f"(no traces in the last {args.since:.0f} s)", file=sys.stderr)
        return 0
    # Oldest first, so the newest is at the bottom of the terminal.
    ordered = sorted(traces.items(), key=lambda kv: min(d["start_time"] for d in kv[1]))
    for trace_id, documents in ordered[-args.limit :]:
        print(render(trace_id, documents), end="\n\n", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    from localcloud.errors import USER_ERRORS

    args = build_parser().parse_args(argv)
    try:
        if args.command != "local":
            return int(args.run(args))
        if args.local_command == "up":
            return asyncio.run(_up(args))
        if args.local_command == "invoke":
            return _invoke(args)
        if args.local_command == "traces":
            return _traces(args)
        return _logs(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
