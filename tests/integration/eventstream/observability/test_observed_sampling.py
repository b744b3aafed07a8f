"""`@observed` under X-Ray's sampling decisions: what the SDK sends to the daemon's UDP port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import PROJECT_DIR

# A handler with a hop, invoked as Lambda would: a trace header per invocation in the environment.
SCRIPT = """
import json, os, sys
from eventstream.observability.powertools import observed, subsegment
from tests.support import LambdaContext

@observed
def handler(event, context):
    with subsegment("hop"):
        return {"n": event["n"]}

for n, sampled in enumerate(sys.argv[1].split(",")):
    os.environ["_X_AMZN_TRACE_ID"] = (
        f"Root=1-5759e988-bd862e3fe1be46a99427{n:04x};Parent=53995c3f42cd8ad8;Sampled={sampled}"
    )
    assert handler({"n": n}, LambdaContext()) == {"n": n}
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    yield sock
    sock.close()


def segments(daemon: socket.socket, decisions: str) -> list[dict[str, object]]:
    port = daemon.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": f"{PROJECT_DIR / 'layers' / 'common'}{os.pathsep}{PROJECT_DIR}",
        "AWS_LAMBDA_FUNCTION_NAME": "observed-test",
        "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_REGION": "us-east-1",
    }
    subprocess.run([sys.executable, "-c", SCRIPT, decisions], env=env, check=True, timeout=60)
    docs = []
    try:
        while True:
            _, _, body = daemon.recv(65536).partition(b"\n")
            docs.append(json.loads(body))
    except TimeoutError:
        return docs


def test_sampled_invocations_send_their_subsegments(daemon: socket.socket) -> None:
    docs = segments(daemon, "1,1")
    names = [d["name"] for d in docs]
    assert names.count("## handler") == 2
    assert names.count("hop") == 2
    handlers = [d for d in docs if d["name"] == "## handler"]
    assert [h["annotations"]["ColdStart"] for h in handlers] == [True, False]


def test_unsampled_warm_invocations_record_nothing(daemon: socket.socket) -> None:
    docs = segments(daemon, "0,0,1,0")
    handlers = [d for d in docs if d["name"] == "## handler"]
    # Only the sampled one is sent; the cold one went through the Tracer, so the sampled one
    # after it is not mistaken for a cold start.
    assert len(handlers) == 1
    assert handlers[0]["trace_id"].endswith("0002")
    assert handlers[0]["annotations"]["ColdStart"] is False
    assert [d["name"] for d in docs].count("hop") == 1
