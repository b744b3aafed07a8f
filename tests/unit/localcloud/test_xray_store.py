"""moto's side of the X-Ray daemon's pipe: what is delivered is readable through the backend's
reads, filed only when read (or when too many wait)."""

from __future__ import annotations

import datetime
import json
import os
import threading
import time
from collections.abc import Iterator

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.xray.models import XRayBackend, xray_backends

from localcloud import xray_store

REGION = "eu-west-3"


def document(trace_id: str, name: str) -> bytes:
    now = time.time()
    return json.dumps({"name": name, "id": os.urandom(8).hex(), "trace_id": trace_id,
                       "start_time": now, "end_time": now}).encode()  # fmt: skip


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


@pytest.fixture
def backend() -> Iterator[XRayBackend]:
    xray_backends[DEFAULT_ACCOUNT_ID].reset()
    yield xray_backends[DEFAULT_ACCOUNT_ID][REGION]
    xray_backends[DEFAULT_ACCOUNT_ID].reset()


def delivered(*lines: bytes) -> None:
    """Run `deliver` over a pipe holding `lines` (split across writes) until its EOF."""
    read_fd, write_fd = os.pipe()
    thread = threading.Thread(target=xray_store.deliver, args=(read_fd, REGION))
    thread.start()
    data = b"".join(line + b"\n" for line in lines)
    os.write(write_fd, data[:7])  # a line cut in two by the pipe arrives whole
    os.write(write_fd, data[7:])
    os.close(write_fd)
    thread.join(timeout=10)
    os.close(read_fd)
    assert not thread.is_alive()


def names(backend: XRayBackend, trace_id: str) -> list[str]:
    traces = backend.get_trace_ids([trace_id])["Traces"]
    return sorted(json.loads(s["Document"])["name"] for t in traces for s in t["Segments"])


def test_delivered_documents_are_read_back_through_the_backend(backend: XRayBackend) -> None:
    trace_id = new_trace_id()
    delivered(document(trace_id, "a"), document(trace_id, "b"))
    assert names(backend, trace_id) == ["a", "b"]
    now = datetime.datetime.fromtimestamp(time.time())  # naive, as moto's API layer makes them
    window = datetime.timedelta(minutes=1)
    summaries = backend.get_trace_summary(now - window, now + window, None)
    assert trace_id in [s["Id"] for s in summaries["TraceSummaries"]]


def test_nothing_is_filed_until_a_read(backend: XRayBackend) -> None:
    trace_id = new_trace_id()
    delivered(document(trace_id, "waiting"))
    assert backend._segment_collection._traces == {}  # moto's own store: nothing yet
    assert names(backend, trace_id) == ["waiting"]


def test_too_many_waiting_are_filed_without_a_read(
    backend: XRayBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xray_store, "STORE_AT", 3)
    trace_id = new_trace_id()
    delivered(*(document(trace_id, f"s{i}") for i in range(4)))
    stored = backend._segment_collection._traces[trace_id]["segments"]
    assert len(stored) == 4  # before any read


def test_a_refused_document_takes_nothing_else_with_it(
    backend: XRayBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_id = new_trace_id()
    delivered(document(trace_id, "before"), b"{not json", document(trace_id, "after"))
    assert names(backend, trace_id) == ["after", "before"]
    assert (
        "xray delivery: X-Ray segment None not stored: JSONFormatError" in capsys.readouterr().err
    )
