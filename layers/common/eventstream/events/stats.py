"""GET /v1/stats/realtime: every core node's live stats, summed, with each node's own."""

from __future__ import annotations

from collections import Counter
from typing import Any

from eventstream.events.core_client import get_client


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def summarize(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Rates, totals, depths and counts add up across nodes; latency percentiles do not, so the
    summary shows the slowest node's (an upper bound on the fleet's), weighted by nothing."""
    live = {name: s for name, s in nodes.items() if "error" not in s}
    errors: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    for s in live.values():
        errors.update({k: int(_num(v)) for k, v in (s.get("errors") or {}).items()})
        topics.update({k: int(_num(v)) for k, v in (s.get("topics") or {}).items()})

    def total(*path: str) -> float:
        out = 0.0
        for s in live.values():
            value: Any = s
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            out += _num(value)
        return out

    def worst(quantile: str) -> float | None:
        values = [
            s["latency_ms"][quantile]
            for s in live.values()
            if isinstance(s.get("latency_ms"), dict) and s["latency_ms"].get(quantile) is not None
        ]
        return max(values) if values else None

    utilization = [_num((s.get("worker_utilization") or {}).get("1m")) for s in live.values()]
    return {
        "nodes_up": len(live),
        "nodes_total": len(nodes),
        "events_total": int(total("events_total")),
        "events_per_second": {
            "1s": total("events_per_second", "1s"),
            "1m": round(total("events_per_second", "1m"), 3),
        },
        "latency_ms": {"p50": worst("p50"), "p95": worst("p95"), "p99": worst("p99")},
        "queue_depth": int(total("queue", "depth")),
        "worker_utilization": round(sum(utilization) / len(utilization), 4) if utilization else 0,
        "errors": dict(errors),
        "topics": dict(topics),
    }


def realtime() -> dict[str, Any]:
    nodes = get_client().stats()
    return {"summary": summarize(nodes), "nodes": nodes}
