"""The segments the local Lambda service records for a traced function, as AWS's does."""

from __future__ import annotations

from eventstream.observability.trace_header import parse_trace_header
from localcloud.runtime.tracing import LambdaTrace, unsampled_header
from localcloud.sampling import Sampler


def test_a_caller_trace_is_joined_and_the_function_is_given_its_parent() -> None:
    trace = LambdaTrace.begin(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", 0
    )
    assert trace is not None
    header = parse_trace_header(trace.function_header())
    assert header == {
        "Root": "1-5759e988-bd862e3fe1be46a994272793",
        "Parent": trace.function_segment_id,
        "Sampled": "1",
    }
    service, function = trace.segments(
        function_name="fn", function_arn="arn", request_id="r", started=10.0, ended=10.5, ok=False
    )
    assert service["parent_id"] == "53995c3f42cd8ad8"
    assert service["origin"] == "AWS::Lambda"
    assert function["parent_id"] == service["id"]
    assert function["id"] == trace.function_segment_id
    assert function["fault"] is True
    assert "subsegments" not in function


def test_no_header_starts_a_new_trace_and_a_cold_start_shows_its_init() -> None:
    trace = LambdaTrace.begin(None, 1_700_000_000.0)
    assert trace is not None
    assert trace.trace_id.startswith("1-6553f100-")
    _, function = trace.segments(
        function_name="fn", function_arn="arn", request_id="r", started=2.0, ended=3.0, ok=True,
        init=(1.0, 2.0),
    )  # fmt: skip
    assert function["start_time"] == 1.0
    assert [s["name"] for s in function["subsegments"]] == ["Initialization", "Invocation"]
    assert "fault" not in function


def test_an_unsampled_request_is_not_traced() -> None:
    assert LambdaTrace.begin("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0", 0) is None


def test_without_a_callers_decision_lambdas_sampler_decides() -> None:
    never = Sampler(per_second=0, draw=lambda: 1.0)
    root = "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert LambdaTrace.begin(root, 0, never) is None
    assert LambdaTrace.begin(None, 0, never) is None
    assert LambdaTrace.begin(f"{root};Sampled=1", 0, never) is not None  # the caller's call
    assert LambdaTrace.begin(None, 0, Sampler("all")) is not None


def test_an_unsampled_function_is_handed_its_trace_with_sampled_0() -> None:
    root = "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert unsampled_header(f"{root};Parent=53995c3f42cd8ad8", 0) == (
        f"{root};Parent=53995c3f42cd8ad8;Sampled=0"
    )
    fresh = parse_trace_header(unsampled_header(None, 1_700_000_000.0))
    assert fresh["Root"].startswith("1-6553f100-")
    assert fresh["Sampled"] == "0"
