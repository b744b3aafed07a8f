"""The EventStream core's native layer: the C priority queue and the payload JSON check (see
native_layer/README.md)."""

from eventstream_native._json import json_problem
from eventstream_native._queue import Closed, Full, PriorityQueue

__all__ = ["Closed", "Full", "PriorityQueue", "json_problem"]
