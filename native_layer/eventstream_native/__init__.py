"""The EventStream core's native layer: the C priority queue (see native_layer/README.md)."""

from eventstream_native._queue import Closed, Full, PriorityQueue

__all__ = ["Closed", "Full", "PriorityQueue"]
