"""pg8000's native connection, with each parameterised statement prepared once per connection.

pg8000's `run` with parameters sends an unnamed statement: three round trips (parse, describe,
bind and execute), and Postgres parses and plans it again every time; before that pg8000 turns
`:name` into `$n` a character at a time in Python. For the rate-limit statement that was 0.7 ms
a call (0.5 ms of it the server's CPU); prepared, it is 0.15 ms. Parameter types are inferred
by the server either way (pg8000 sends no type oids), so results do not change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import pg8000.native

# Statements are fixed texts in the code; this bounds a connection's server-side statements
# should some caller build SQL dynamically.
MAX_PREPARED = 256
# cached plan must not change result type; prepared statement does not exist
_STALE_STATEMENT_STATES = frozenset({"0A000", "26000"})


class Connection(pg8000.native.Connection):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepared: dict[str, pg8000.native.PreparedStatement] = {}

    def run(
        self, sql: str, stream: Any = None, types: Mapping[str, int] | None = None, **params: Any
    ) -> Any:
        if not params or stream is not None or types is not None:
            return super().run(sql, stream=stream, types=types, **params)
        statement = self._prepared.get(sql)
        if statement is None:
            if len(self._prepared) >= MAX_PREPARED:
                return super().run(sql, **params)
            statement = self._prepared[sql] = self.prepare(sql)
        try:
            rows = statement.run(**params)
        except pg8000.native.DatabaseError as e:
            fields = e.args[0] if e.args and isinstance(e.args[0], dict) else {}
            if fields.get("C") in _STALE_STATEMENT_STATES:
                # A migration changed a table under the cached plan: prepare afresh next time.
                del self._prepared[sql]
                with contextlib.suppress(pg8000.native.Error, OSError):
                    statement.close()
            raise
        self._context = statement._context
        return rows
