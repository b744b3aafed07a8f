"""The gateway's X-Ray segment: sampling, its parent, the header it hands on, error flags."""

from __future__ import annotations

from localcloud.gateway.tracing import GatewayTrace

ROOT = "1-6b05e50d-2b1b786253ab7d6a98acd726"


def begin(header: str) -> GatewayTrace | None:
    return GatewayTrace.begin(
        header, api_id="abc123", stage="dev", region="eu-west-1", request_id="req-1"
    )


def test_unsampled_or_rootless_requests_are_not_traced() -> None:
    assert begin(f"Root={ROOT};Sampled=0") is None
    assert begin("Sampled=1") is None


def test_each_call_is_a_subsegment_and_the_parent_of_what_it_invokes() -> None:
    trace = begin(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    assert trace is not None
    auth = trace.call("AuthorizerFunction")
    trace.finish(auth, "ok")
    fn = trace.call("eventstream-dev-events-create")
    trace.finish(fn, "error")
    assert trace.header_for(fn) == f"Root={ROOT};Parent={fn.id};Sampled=1"
    doc = trace.document(
        method="POST", url="http://h/v1/events", client_ip="127.0.0.1", user_agent=None, status=502
    )
    assert (doc["name"], doc["origin"]) == ("abc123/dev", "AWS::ApiGateway::Stage")
    assert doc["trace_id"] == ROOT
    assert doc["parent_id"] == "53995c3f42cd8ad8"  # the caller's segment
    assert doc["resource_arn"] == "arn:aws:apigateway:eu-west-1::/restapis/abc123/stages/dev"
    assert doc["http"] == {
        "request": {"method": "POST", "url": "http://h/v1/events", "client_ip": "127.0.0.1"},
        "response": {"status": 502},
    }
    assert doc["fault"] is True
    subs = doc["subsegments"]
    assert [s["id"] for s in subs] == [auth.id, fn.id]
    assert "fault" not in subs[0]
    assert subs[1]["fault"] is True
    assert doc["start_time"] <= subs[0]["start_time"] <= subs[1]["end_time"] <= doc["end_time"]


def test_a_4xx_is_an_error_and_a_429_a_throttle() -> None:
    trace = begin(f"Root={ROOT};Sampled=1")
    assert trace is not None
    doc = trace.document(method="GET", url="u", client_ip="", user_agent="ua", status=429)
    assert (doc["error"], doc["throttle"]) == (True, True)
    assert "parent_id" not in doc  # the gateway started this trace
    assert doc["http"]["request"]["user_agent"] == "ua"
