"""The Lambdas' metrics: EMF with closed-set dimensions only."""

from __future__ import annotations

import json

import pytest

from eventstream.observability.metrics import ErrorType, count_error


def test_errors_are_counted_by_type_in_their_own_emf_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    count_error(ErrorType.RATE_LIMITED)
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "EventStream"
    assert directive["Metrics"] == [{"Name": "Errors", "Unit": "Count"}]
    assert sorted(directive["Dimensions"][0]) == ["ErrorType", "service"]
    assert doc["ErrorType"] == "rate_limited"
    assert doc["Errors"] == [1.0]


def test_a_dimension_value_outside_the_set_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid ErrorType"):
        count_error("topic-orders-eu")  # type: ignore[arg-type]
