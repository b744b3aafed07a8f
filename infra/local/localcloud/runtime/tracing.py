"""The segments Lambda itself records for a function with `Tracing: Active`.

On AWS the Lambda service, not the function, sends two segments per sampled invocation: one
for the service (origin `AWS::Lambda`, a child of the caller's segment) and one for the
function (origin `AWS::Lambda::Function`), and it hands the function `Parent=<function segment
id>` in `_X_AMZN_TRACE_ID`, so the SDK's subsegments (`## handler`, AWS calls, ...) hang under
it. Without a caller's trace header Lambda starts a new trace. The local runtime does the same
and sends the segments to the X-Ray daemon over UDP, as the SDKs do.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass

from eventstream.observability.trace_header import parse_trace_header
from localcloud.sampling import Sampler, is_sampled
from localcloud.xray_daemon import HEADER


def new_trace_id(now: float) -> str:
    return f"1-{int(now):08x}-{os.urandom(12).hex()}"


def new_segment_id() -> str:
    return os.urandom(8).hex()


def unsampled_header(trace_header: str | None, now: float) -> str:
    """What a function is handed when its invocation is not sampled: the trace, `Sampled=0`."""
    fields = parse_trace_header(trace_header)
    parent = f";Parent={fields['Parent']}" if "Parent" in fields else ""
    return f"Root={fields.get('Root') or new_trace_id(now)}{parent};Sampled=0"


@dataclass(frozen=True)
class LambdaTrace:
    trace_id: str
    caller_id: str | None  # the caller's segment (the gateway's), if it sent one
    service_segment_id: str
    function_segment_id: str

    @classmethod
    def begin(
        cls, trace_header: str | None, now: float, sampler: Sampler | None = None
    ) -> LambdaTrace | None:
        """The invocation's trace, or None when it is not sampled: by the caller's decision, or
        by `sampler` when the caller made none (no sampler: every such invocation is)."""
        fields = parse_trace_header(trace_header)
        if not is_sampled(fields, sampler):
            return None
        return cls(
            trace_id=fields.get("Root") or new_trace_id(now),
            caller_id=fields.get("Parent"),
            service_segment_id=new_segment_id(),
            function_segment_id=new_segment_id(),
        )

    def function_header(self) -> str:
        """What the function sees in _X_AMZN_TRACE_ID."""
        return f"Root={self.trace_id};Parent={self.function_segment_id};Sampled=1"

    def segments(
        self,
        *,
        function_name: str,
        function_arn: str,
        request_id: str,
        started: float,
        ended: float,
        ok: bool,
        init: tuple[float, float] | None = None,
    ) -> list[dict[str, object]]:
        """The service and function segment documents; `init` spans a cold start's init."""
        aws = {"request_id": request_id, "function_arn": function_arn}
        service: dict[str, object] = {
            "name": function_name,
            "id": self.service_segment_id,
            "trace_id": self.trace_id,
            "origin": "AWS::Lambda",
            "start_time": init[0] if init else started,
            "end_time": ended,
            "aws": aws,
            "http": {"response": {"status": 200}},
        }
        if self.caller_id:
            service["parent_id"] = self.caller_id
        function: dict[str, object] = {
            "name": function_name,
            "id": self.function_segment_id,
            "trace_id": self.trace_id,
            "parent_id": self.service_segment_id,
            "origin": "AWS::Lambda::Function",
            "start_time": started,
            "end_time": ended,
            "aws": aws,
        }
        if init:
            function["start_time"] = init[0]
            function["subsegments"] = [
                {
                    "name": "Initialization",
                    "id": new_segment_id(),
                    "start_time": init[0],
                    "end_time": init[1],
                },
                {"name": "Invocation", "id": new_segment_id(), "start_time": started,
                 "end_time": ended},
            ]  # fmt: skip
        if not ok:
            function["fault"] = True  # a function error: the service itself answered 200
        return [service, function]


class SegmentSender:
    """UDP to the X-Ray daemon; never blocks and never fails an invocation."""

    def __init__(self, daemon_address: str) -> None:
        host, port = daemon_address.rsplit(":", 1)
        self._address = (host, int(port))
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def send(self, documents: list[dict[str, object]]) -> None:
        for doc in documents:
            # A full buffer or no daemon: the trace loses a segment, nothing else.
            with contextlib.suppress(OSError):
                self._sock.sendto(HEADER + b"\n" + json.dumps(doc).encode(), self._address)
