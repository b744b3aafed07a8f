"""What every route handler shares: the parsed request, problem errors, input checks, a wrapper."""

from eventstream.api.problems import Problem
from eventstream.api.request import Caller, Request
from eventstream.api.route import route

__all__ = ["Caller", "Problem", "Request", "route"]
