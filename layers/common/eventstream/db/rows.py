"""Rows as dicts keyed by column name: the stores read fields by name, not by position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pg8000.native import Connection


def fetch_all(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    rows = conn.run(sql, **params) or []
    names = [c["name"] for c in (conn.columns or [])]
    return [dict(zip(names, row, strict=True)) for row in rows]


def fetch_one(conn: Connection, sql: str, **params: Any) -> dict[str, Any] | None:
    rows = fetch_all(conn, sql, **params)
    return rows[0] if rows else None
