"""The wrapper every route handler goes through: parse, call, shape the answer or the problem."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any

from eventstream.api.problems import Problem
from eventstream.api.request import Request
from eventstream.db.connection import DatabaseUnavailableError
from eventstream.http import problem_response
from eventstream.observability.metrics import ErrorType, MetricName, count, count_error
from eventstream.observability.powertools import logger, observed

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def problem_from(problem: Problem, request_id: str) -> dict[str, Any]:
    return problem_response(
        problem.status,
        problem.title,
        problem.detail,
        request_id or None,
        headers=problem.headers,
        extensions=problem.extensions,
    )


# A refusal counts under the one error type its status means; 404/409 are answers, not errors.
_ERROR_BY_STATUS = {
    400: ErrorType.VALIDATION,
    413: ErrorType.VALIDATION,
    422: ErrorType.VALIDATION,
    401: ErrorType.UNAUTHORIZED,
    403: ErrorType.FORBIDDEN,
    429: ErrorType.RATE_LIMITED,
    503: ErrorType.DEPENDENCY,
}


def record_problem(status: int) -> None:
    error_type = _ERROR_BY_STATUS.get(status)
    if error_type is not None:
        count_error(error_type)
    if status == 401:
        count(MetricName.AUTH_FAILURES)
    elif status == 429:
        count(MetricName.RATE_LIMITED)


def route(fn: Callable[[Request], dict[str, Any]]) -> Handler:
    """Turn `fn(request) -> proxy response` into a Lambda handler that never leaks a traceback,
    with Powertools' Logger, Tracer and Metrics around it (`observed`)."""

    @functools.wraps(fn)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = ""
        try:
            request = Request.from_event(event, context)
            request_id = request.request_id
            request.refuse_nul()
            return fn(request)
        except Problem as problem:
            record_problem(problem.status)
            return problem_from(problem, request_id)
        except DatabaseUnavailableError as e:
            count_error(ErrorType.DEPENDENCY)
            logger().error("database unavailable", extra={"reason": e.reason})
            return problem_from(
                Problem(503, "the database is unavailable", headers={"Retry-After": "1"}),
                request_id,
            )
        except Exception as e:
            # The message may hold user input; the type and the frames are enough to debug
            # (logger.exception would print the message as the traceback's last line).
            frames = "".join(traceback.format_tb(e.__traceback__))
            count_error(ErrorType.INTERNAL)
            logger().error(
                "unhandled error",
                extra={"error": type(e).__name__, "route": fn.__name__, "frames": frames},
            )
            return problem_from(Problem(500, "internal error"), request_id)

    return observed(handler)
