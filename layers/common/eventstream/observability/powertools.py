"""Powertools Logger, Tracer and Metrics, set up the same way for every handler by `observed`.

    from eventstream.observability.powertools import observed

    @observed
    def handler(event, context): ...

Every log line is JSON with the request id, cold start, function name and X-Ray trace id; the
handler runs in a `## handler` subsegment; metrics go out as EMF (namespace `EventStream`) at the
end of each invocation, with a ColdStart metric. The three objects are built on first use, so a
module that only imports this one (the logic, its tests) pays nothing for them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from eventstream.observability.trace_header import parse_trace_header

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "eventstream"
NAMESPACE = "EventStream"
# Only what the handlers call: patch_all would import and patch requests, httplib, sqlite3...
PATCHED_MODULES = ("botocore",)
# Every warm call that records nothing would print a UserWarning saying so.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def service_name() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE


@functools.cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=service_name(), level=os.environ.get("LOG_LEVEL") or "INFO")


@functools.cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # The X-Ray SDK imports botocore itself (its sampling client), so patching it costs little.
    return Tracer(service=service_name(), patch_modules=PATCHED_MODULES)


@functools.cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
    return Metrics(namespace=namespace, service=service_name())


def unsampled() -> bool:
    """Whether X-Ray decided not to sample this invocation (Lambda's `_X_AMZN_TRACE_ID`)."""
    return parse_trace_header(os.environ.get("_X_AMZN_TRACE_ID")).get("Sampled") == "0"


def observed(handler: Handler) -> Handler:
    """Logger context, a traced handler and flushed metrics, in Powertools' documented order.

    A warm invocation X-Ray does not sample skips the Tracer: what it would record is dropped,
    and recording it cost ~0.25 ms of CPU a call. The first invocation always goes through it, so
    the Tracer's ColdStart annotation stays right."""
    traced = tracer().capture_lambda_handler(handler, capture_response=False)
    warm = False

    def maybe_traced(event: Any, context: Any) -> Any:
        nonlocal warm
        if warm and unsampled():
            return handler(event, context)
        warm = True
        return traced(event, context)

    wrapped = metrics().log_metrics(maybe_traced, capture_cold_start_metric=True)
    wrapped = logger().inject_lambda_context(wrapped, clear_state=True)
    return functools.wraps(handler)(wrapped)  # type: ignore[return-value]


@contextlib.contextmanager
def subsegment(name: str) -> Iterator[Any]:
    """An X-Ray subsegment around a hop (Postgres, the core, a token check) when the process is
    a traced handler and X-Ray samples the invocation; a no-op elsewhere (unit tests, the core),
    without importing the SDK."""
    if tracer.cache_info().currsize == 0 or tracer().disabled or unsampled():
        yield None
        return
    with tracer().provider.in_subsegment(name) as sub:
        yield sub
