"""Compact JSON text (no spaces, UTF-8 kept), from one encoder made once: `json.dumps` with any
argument builds a new encoder per call, ~2 µs, which the core's per-event paths cannot afford."""

from __future__ import annotations

import json

compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
