"""The bucket table: take one token atomically, or say how long until one is back."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pg8000.native import Connection

# One statement, one round trip: the caller's own limit (or the fallback) is the capacity and
# refills over a minute; refill, cap and spend happen under the row lock, so it is atomic across
# workers. When nothing was taken, the last column says how many tokens there are (the old row:
# the statement's own change is invisible to it, and there was none). clock_timestamp(), not
# now(): now() is frozen at the start of a transaction. Its commit does not wait for the WAL
# flush (synchronous_commit off for this transaction alone): a crash may forget the last
# fraction of a second of spent tokens, which a rate limit can afford; waiting cost ~3 ms a call.
# Run it in autocommit, its own transaction, so the setting reaches nothing else.
_TAKE = """
WITH lim AS (
    SELECT CAST(COALESCE(
        (SELECT rate_limit_per_minute FROM users WHERE id = CAST(:user_id AS UUID)), :fallback
    ) AS DOUBLE PRECISION) AS cap
),
taken AS (
    INSERT INTO rate_limit_buckets AS b (bucket_key, tokens, updated_at)
    SELECT :key, cap - 1, clock_timestamp() FROM lim
    ON CONFLICT (bucket_key) DO UPDATE SET
        tokens = LEAST((SELECT cap FROM lim), b.tokens + EXTRACT(
            EPOCH FROM clock_timestamp() - b.updated_at) * (SELECT cap FROM lim) / 60.0) - 1,
        updated_at = clock_timestamp()
    WHERE LEAST((SELECT cap FROM lim), b.tokens + EXTRACT(
        EPOCH FROM clock_timestamp() - b.updated_at) * (SELECT cap FROM lim) / 60.0) >= 1
    RETURNING tokens
)
SELECT (SELECT cap FROM lim), (SELECT tokens FROM taken),
       (SELECT LEAST(lim.cap, r.tokens + EXTRACT(EPOCH FROM clock_timestamp() - r.updated_at)
                     * lim.cap / 60.0)
        FROM rate_limit_buckets r, lim WHERE r.bucket_key = :key),
       set_config('synchronous_commit', 'off', true)
"""


def take(
    conn: Connection, key: str, *, user_id: str | None, fallback: int
) -> tuple[int, float | None, float]:
    """(the limit a minute, tokens left after taking one or None if empty, tokens available)."""
    cap, left, have, _ = conn.run(_TAKE, key=key, user_id=user_id, fallback=fallback)[0]
    return int(cap), None if left is None else float(left), float(cap if have is None else have)
