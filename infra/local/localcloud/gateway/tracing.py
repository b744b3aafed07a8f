"""The X-Ray segment API Gateway records for a stage with TracingEnabled.

On AWS each sampled request gets one segment named `<api id>/<stage>` (origin
`AWS::ApiGateway::Stage`) with the request and response, and one subsegment per Lambda call it
makes (the authorizer, the integration). The Lambda service's segment is the child of that
subsegment: the gateway hands `Parent=<subsegment id>` on in the trace header. A caller's
`Sampled=0` turns tracing off for the request; a caller's `Parent=` becomes the segment's parent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eventstream.observability.trace_header import parse_trace_header
from localcloud.runtime.tracing import new_segment_id


@dataclass
class Call:
    """One Lambda invocation by the gateway, as a subsegment of its segment."""

    name: str
    id: str = field(default_factory=new_segment_id)
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    status: str = ""


@dataclass
class GatewayTrace:
    trace_id: str
    caller_id: str | None
    name: str
    resource_arn: str
    api_id: str
    stage: str
    request_id: str
    id: str = field(default_factory=new_segment_id)
    start_time: float = field(default_factory=time.time)
    calls: list[Call] = field(default_factory=list)

    @classmethod
    def begin(
        cls, trace_header: str, *, api_id: str, stage: str, region: str, request_id: str
    ) -> GatewayTrace | None:
        fields = parse_trace_header(trace_header)
        if fields.get("Sampled") == "0" or not fields.get("Root"):
            return None
        return cls(
            trace_id=fields["Root"],
            caller_id=fields.get("Parent"),
            name=f"{api_id}/{stage}",
            resource_arn=f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}",
            api_id=api_id,
            stage=stage,
            request_id=request_id,
        )

    def call(self, function_name: str) -> Call:
        call = Call(function_name)
        self.calls.append(call)
        return call

    def header_for(self, call: Call) -> str:
        """The trace header the invoked function's Lambda service receives."""
        return f"Root={self.trace_id};Parent={call.id};Sampled=1"

    def document(
        self, *, method: str, url: str, client_ip: str, user_agent: str | None, status: int
    ) -> dict[str, Any]:
        now = time.time()
        request: dict[str, Any] = {"method": method, "url": url, "client_ip": client_ip}
        if user_agent:
            request["user_agent"] = user_agent
        doc: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace_id,
            "start_time": self.start_time,
            "end_time": now,
            "origin": "AWS::ApiGateway::Stage",
            "resource_arn": self.resource_arn,
            "http": {"request": request, "response": {"status": status}},
            "aws": {"api_gateway": {"rest_api_id": self.api_id, "stage": self.stage,
                                    "request_id": self.request_id}},
        }  # fmt: skip
        if self.caller_id:
            doc["parent_id"] = self.caller_id
        if 400 <= status < 500:
            doc["error"] = True
            doc["throttle"] = status == 429
        elif status >= 500:
            doc["fault"] = True
        doc["subsegments"] = [
            {
                "id": c.id,
                "name": c.name,
                "start_time": c.start_time,
                "end_time": c.end_time or now,
                "namespace": "aws",
                "aws": {"operation": "Invoke", "function_name": c.name},
                **({"fault": True} if c.status not in ("", "ok") else {}),
            }
            for c in self.calls
        ]
        return doc

    def finish(self, call: Call, status: str) -> None:
        call.end_time, call.status = time.time(), status
