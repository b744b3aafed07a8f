"""The EventStream core's native layer: the C priority queue, the payload JSON check and the
batch frame decoder (see native_layer/README.md)."""

from eventstream_native._frames import batch_entries
from eventstream_native._json import json_problem
from eventstream_native._queue import Closed, Full, PriorityQueue

__all__ = ["Closed", "Full", "PriorityQueue", "batch_entries", "json_problem"]
