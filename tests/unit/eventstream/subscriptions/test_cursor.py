"""Pull cursors: opaque, round-trip exactly, and nothing but our own encoding decodes."""

from __future__ import annotations

import pytest

from eventstream.subscriptions import cursor
from eventstream.subscriptions.cursor import CursorError, Position


@pytest.mark.parametrize("pos", [Position(0, 0), Position(745, 12), Position(2**64 - 1, 2**63 - 1)])
def test_round_trip(pos: Position) -> None:
    text = cursor.encode(pos)
    assert "=" not in text
    assert "." not in text  # opaque: not the raw numbers
    assert cursor.decode(text) == pos


def test_positions_order_by_txid_then_seq() -> None:
    assert Position(5, 100) < Position(6, 1) < Position(6, 2)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "!!!",
        "MTIz",  # "123": no dot
        cursor.encode(Position(1, 2)) + "=",
        cursor.encode(Position(1, 2)) + "A",
        "MDEuMg",  # "01.2": leading zero, another spelling of 1.2
        "LTEuMg",  # "-1.2"
        "MTg0NDY3NDQwNzM3MDk1NTE2MTYuMQ",  # txid 2**64: too large
        "x" * 65,
    ],
)
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(CursorError):
        cursor.decode(raw)
