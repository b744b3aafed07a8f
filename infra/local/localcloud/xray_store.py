"""moto's side of the X-Ray daemon's pipe: segment documents kept as they come, stored when read.

A thread in moto's process (started by `localcloud.aws_endpoint`) reads the daemon's lines, one
document each, and keeps them. moto parses and files a document in ~14 µs, and doing that as
they came, ~0.7 ms of moto's CPU per 50 documents, still lengthened the slowest 1 % of traced
requests by ~1 ms on two cores (docs/benchmarks.md, issue 2, session 10). So the documents are
handed to moto's X-Ray backend (`process_segment`, what `PutTraceSegments` does with each) just
before anything reads traces (`GetTraceSummaries`, `BatchGetTraces`): a client sees every
document delivered before its call, as if stored at once. X-Ray itself is eventually
consistent; this is not even that. Past `STORE_AT` waiting documents they are stored at once,
so one read never has more than ~1.4 s of them to file.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from localcloud.runtime.log_delivery import report_once

STORE_AT = 100_000  # documents waiting; ~1.4 s of moto's filing

Method = TypeVar("Method", bound=Callable[..., Any])

_waiting: dict[str, list[bytes]] = {}  # region -> documents not yet stored
_lock = threading.Lock()  # held while storing, so a read sees every document delivered before it


def deliver(fd: int, region: str) -> None:
    """Read lines from `fd` until EOF and keep them for `region`'s X-Ray service."""
    _store_before_reads()
    pending = b""  # a line not yet complete
    while chunk := os.read(fd, 1 << 16):
        *complete, pending = (pending + chunk).split(b"\n")
        with _lock:
            waiting = _waiting.setdefault(region, [])
            waiting.extend(complete)
            if len(waiting) >= STORE_AT:
                _store(region)


def _store(region: str) -> None:
    """File `region`'s waiting documents in moto's X-Ray backend; call with `_lock` held."""
    from moto.core import DEFAULT_ACCOUNT_ID  # the account of the local cloud's test keys
    from moto.xray.exceptions import BadSegmentException
    from moto.xray.models import xray_backends

    lines = _waiting.pop(region, [])
    if not lines:
        return
    # Looked up each time: a moto reset must not leave us writing nowhere.
    xray = xray_backends[DEFAULT_ACCOUNT_ID][region]
    for line in lines:
        try:
            xray.process_segment(line.decode())
        except BadSegmentException as e:  # the API would list it as unprocessed
            problem = f"X-Ray segment {e.id} not stored: {e.code}: {e.message}"
            report_once("xray bad segment", f"xray delivery: {problem}")
        except Exception as e:  # traces must never take moto down
            report_once(
                f"xray {type(e).__name__}", f"xray delivery: X-Ray segment not stored: {e!r}"
            )


def _stored_first(method: Method) -> Method:
    @functools.wraps(method)
    def reading(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            _store(backend.region_name)
        return method(backend, *args, **kwargs)

    return reading  # type: ignore[return-value]


def _store_before_reads() -> None:
    """Wrap the X-Ray backend's two reads, once per process."""
    from moto.xray.models import XRayBackend

    with _lock:
        if not getattr(XRayBackend, "_stores_waiting_documents", False):
            XRayBackend.get_trace_summary = _stored_first(XRayBackend.get_trace_summary)
            XRayBackend.get_trace_ids = _stored_first(XRayBackend.get_trace_ids)
            XRayBackend._stores_waiting_documents = True  # type: ignore[attr-defined]
