"""The waterfall of `eventstream local traces`."""

from __future__ import annotations

from localcloud.traces import render

TRACE = "1-00000001-000000000000000000000001"


def test_segments_and_subsegments_line_up_on_one_time_axis() -> None:
    documents = [
        {"id": "a", "name": "api", "trace_id": TRACE, "start_time": 100.0, "end_time": 100.1,
         "origin": "AWS::ApiGateway::Stage",
         "subsegments": [{"id": "b", "name": "auth", "start_time": 100.0, "end_time": 100.02}]},
        # Sent separately by the SDK, as Lambda functions do:
        {"id": "c", "name": "## handler", "trace_id": TRACE, "parent_id": "a", "type": "subsegment",
         "start_time": 100.05, "end_time": 100.1, "fault": True},
        {"id": "d", "name": "orphan", "trace_id": TRACE, "parent_id": "zz", "start_time": 100.04,
         "end_time": 100.06},
    ]  # fmt: skip
    lines = render(TRACE, documents, width=10).splitlines()
    assert lines[0] == f"trace {TRACE}  100.0 ms  4 spans"
    rows = lines[2:]
    assert len(rows) == 4
    assert rows[0].split("|")[0].split() == [
        "0.0",
        "ms",
        "100.0",
        "ms",
        "api",
        "(AWS::ApiGateway::Stage)",
    ]
    assert rows[0].endswith("|██████████|")
    assert "  auth" in rows[1]
    assert rows[1].endswith("|██        |")
    assert "## handler !fault" in rows[2]
    assert rows[2].split()[:4] == ["50.0", "ms", "50.0", "ms"]
    assert rows[2].endswith("|     █████|")
    assert rows[3].split()[4] == "orphan"  # its parent is not in the trace: a root of its own
