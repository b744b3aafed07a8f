"""One published event is one X-Ray trace (gateway, authorizer, function, core), read from X-Ray."""

from __future__ import annotations

import json
from typing import Any

import httpx

from localcloud.aws_endpoint import aws_client
from tests.support import ADMIN_PASSWORD, RunningCloud, eventually

AUTHORIZER = "eventstream-dev-auth-authorizer"
EVENTS_CREATE = "eventstream-dev-events-create"


def test_a_publish_is_one_trace_through_every_hop(cloud: RunningCloud, api: httpx.Client) -> None:
    login = api.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    # A token of its own: the gateway's authorizer cache cannot skip the authorizer's hop.
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    published = api.post("/v1/events", headers=headers, json={"topic": "traced/e2e", "payload": 1})
    assert published.status_code == 201, published.text
    trace_id = published.headers["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")
    xray = aws_client("xray", cloud.aws_endpoint_url, "us-east-1")

    def documents() -> list[dict[str, Any]] | None:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        docs = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        names = {d["name"] for d in docs}
        wanted = {"eventstream-core", "core.publish", AUTHORIZER, EVENTS_CREATE}
        has_gateway = any(d.get("origin") == "AWS::ApiGateway::Stage" for d in docs)
        return docs if wanted <= names and has_gateway else None

    docs = eventually(documents)
    assert {d["trace_id"] for d in docs} == {trace_id}  # one trace, every hop in it
    by_id = {d["id"]: d for d in docs}

    gateway = next(d for d in docs if d.get("origin") == "AWS::ApiGateway::Stage")
    assert gateway["name"].endswith("/dev")
    assert gateway["http"]["request"]["method"] == "POST"
    assert gateway["http"]["response"]["status"] == 201
    calls = {c["name"]: c for c in gateway["subsegments"]}
    assert set(calls) == {AUTHORIZER, EVENTS_CREATE}
    assert calls[AUTHORIZER]["end_time"] <= calls[EVENTS_CREATE]["start_time"]

    def lambda_segments(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        service = next(d for d in docs if d["name"] == name and d["origin"] == "AWS::Lambda")
        function = next(
            d for d in docs if d["name"] == name and d["origin"] == "AWS::Lambda::Function"
        )
        assert function["parent_id"] == service["id"]
        return service, function

    # Each Lambda call hangs under the gateway subsegment that made it.
    auth_service, auth_function = lambda_segments(AUTHORIZER)
    assert auth_service["parent_id"] == calls[AUTHORIZER]["id"]
    create_service, create_function = lambda_segments(EVENTS_CREATE)
    assert create_service["parent_id"] == calls[EVENTS_CREATE]["id"]

    # The function's own (Powertools) subsegments, under its function segment; the
    # authorizer, wrapped the same way, has a `## handler` of its own.
    handlers = [d for d in docs if d["name"] == "## handler"]
    assert {h["parent_id"] for h in handlers} == {create_function["id"], auth_function["id"]}
    handler = next(h for h in handlers if h["parent_id"] == create_function["id"])
    publish = next(d for d in docs if d["name"] == "core.publish")
    assert publish["parent_id"] == handler["id"]

    # The core's segment: a child of the function, with its queue wait and its commit.
    core = next(d for d in docs if d["name"] == "eventstream-core")
    assert by_id[core["parent_id"]] is create_function
    assert core["metadata"]["eventstream"]["event_id"] == published.json()["event_id"]
    assert [s["name"] for s in core["subsegments"]] == ["queue-wait", "commit"]
    assert publish["start_time"] <= core["start_time"] <= core["end_time"] <= publish["end_time"]
