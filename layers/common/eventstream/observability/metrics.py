"""The Lambdas' CloudWatch metrics: fixed names, and dimensions drawn from closed sets only.

A dimension value that came from a request (a topic, a user) would make a new metric per value,
each billed and none alarmable; so only enums are accepted here.
"""

from __future__ import annotations

from enum import StrEnum

from eventstream.observability.powertools import metrics


class MetricName(StrEnum):
    EVENTS_PUBLISHED = "EventsPublished"
    PUBLISH_LATENCY = "PublishLatency"
    AUTH_FAILURES = "AuthFailures"
    RATE_LIMITED = "RateLimitedRequests"
    ERRORS = "Errors"
    DEPENDENCY_UNAVAILABLE = "DependencyUnavailable"


class ErrorType(StrEnum):
    VALIDATION = "validation"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    DEPENDENCY = "dependency"
    INTERNAL = "internal"


class Dependency(StrEnum):
    DATABASE = "database"
    CORE = "core"


def count(name: MetricName, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name.value, unit=MetricUnit.Count, value=value)


def milliseconds(name: MetricName, value: float) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name.value, unit=MetricUnit.Milliseconds, value=value)


def count_error(error_type: ErrorType) -> None:
    """Errors{ErrorType}: its own EMF document, since its dimension differs from the others'."""
    _count_with_dimension(MetricName.ERRORS, "ErrorType", ErrorType(error_type).value)


def count_unavailable(dependency: Dependency) -> None:
    _count_with_dimension(
        MetricName.DEPENDENCY_UNAVAILABLE, "Dependency", Dependency(dependency).value
    )


def _count_with_dimension(name: MetricName, dimension: str, value: str) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    m = metrics()
    with single_metric(
        name=name.value,
        unit=MetricUnit.Count,
        value=1,
        namespace=m.namespace,
        default_dimensions={"service": m.service or "", dimension: value},
    ):
        pass
