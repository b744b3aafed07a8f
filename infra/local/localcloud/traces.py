"""`eventstream local traces`: recent X-Ray traces as a waterfall, like Jaeger's timeline.

Every segment and subsegment of a trace is one row: its offset from the trace's start, its
duration and a bar on a common time axis, indented under its parent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

BAR_WIDTH = 40
BATCH_GET_MAX = 5  # BatchGetTraces takes at most 5 trace ids


@dataclass
class Span:
    id: str
    name: str
    start: float
    end: float | None
    parent_id: str | None
    origin: str | None = None
    fault: bool = False
    error: bool = False
    children: list[Span] = field(default_factory=list)


def spans_of(documents: Iterable[dict[str, Any]]) -> list[Span]:
    """Segments and their (nested or separately sent) subsegments, flattened."""
    spans: dict[str, Span] = {}

    def add(doc: dict[str, Any], parent_id: str | None) -> None:
        span = Span(
            id=str(doc["id"]),
            name=str(doc.get("name", "?")),
            start=float(doc["start_time"]),
            end=float(doc["end_time"]) if "end_time" in doc else None,
            parent_id=doc.get("parent_id") or parent_id,
            origin=doc.get("origin") or doc.get("namespace"),
            fault=bool(doc.get("fault")),
            error=bool(doc.get("error")),
        )
        spans[span.id] = span
        for sub in doc.get("subsegments") or ():
            add(sub, span.id)

    for doc in documents:
        add(doc, None)
    return list(spans.values())


def tree(spans: list[Span]) -> list[Span]:
    """Roots of the span forest (a span whose parent is not in the trace is a root too)."""
    by_id = {s.id: s for s in spans}
    roots = []
    for span in sorted(spans, key=lambda s: s.start):
        parent = by_id.get(span.parent_id or "")
        if parent is None or parent is span:
            roots.append(span)
        else:
            parent.children.append(span)
    return roots


def render(trace_id: str, documents: list[dict[str, Any]], width: int = BAR_WIDTH) -> str:
    spans = spans_of(documents)
    if not spans:
        return f"trace {trace_id}: no segments"
    t0 = min(s.start for s in spans)
    t1 = max((s.end or s.start) for s in spans)
    total = max(t1 - t0, 1e-9)
    rows: list[tuple[str, str, str, str]] = []

    def walk(span: Span, depth: int) -> None:
        offset_ms = (span.start - t0) * 1000
        duration = "…" if span.end is None else f"{(span.end - span.start) * 1000:.1f} ms"
        left = round((span.start - t0) / total * width)
        right = round(((span.end or t1) - t0) / total * width)
        bar = " " * left + "█" * max(1, right - left)
        label = "  " * depth + span.name
        if span.origin:
            label += f" ({span.origin})"
        if span.fault or span.error:
            label += " !fault" if span.fault else " !error"
        rows.append((f"{offset_ms:.1f} ms", duration, label, bar.ljust(width)))
        for child in sorted(span.children, key=lambda s: s.start):
            walk(child, depth + 1)

    for root in tree(spans):
        walk(root, 0)
    label_width = max(len(r[2]) for r in rows)
    lines = [f"trace {trace_id}  {total * 1000:.1f} ms  {len(spans)} spans"]
    lines.append(f"  {'start':>10}  {'duration':>10}  {'':<{label_width}}  |{'':<{width}}|")
    for offset, duration, label, bar in rows:
        lines.append(f"  {offset:>10}  {duration:>10}  {label:<{label_width}}  |{bar}|")
    return "\n".join(lines)


def recent_trace_ids(client: Any, start: float, end: float) -> list[str]:
    """Ids of the traces that ended in [start, end], oldest first."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {"StartTime": int(start), "EndTime": int(end) + 1}
    while True:
        page = client.get_trace_summaries(**kwargs)
        ids += [s["Id"] for s in page.get("TraceSummaries", ())]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    # Trace ids begin with the epoch second the trace started: sorting orders them by time.
    return sorted(set(ids), key=lambda t: (t.split("-")[1], t))


def documents_by_trace(client: Any, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(trace_ids), BATCH_GET_MAX):
        page = client.batch_get_traces(TraceIds=trace_ids[i : i + BATCH_GET_MAX])
        for trace in page.get("Traces", ()):
            out[trace["Id"]] = [json.loads(s["Document"]) for s in trace.get("Segments", ())]
    return out
