"""Event ids: the ULID layout, sortable by time, monotonic within a millisecond; client ULIDs."""

from __future__ import annotations

import pytest

from eventstream.events.ids import (
    PREFIX,
    EventIdGenerator,
    encode_ulid,
    event_id_time_ms,
    is_event_id,
    is_ulid,
    new_ulids,
)


def test_encoding_matches_the_ulid_spec() -> None:
    # The spec's example id; its first 10 characters, read as base32 digit by digit, in ms.
    assert encode_ulid(0) == "0" * 26
    assert encode_ulid(2**128 - 1) == "7" + "Z" * 25
    assert event_id_time_ms("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV") == 1469922850259


def test_ids_sort_in_the_order_they_were_made() -> None:
    gen = EventIdGenerator()
    same_ms = [gen.new(1_700_000_000_000) for _ in range(1000)]
    later = [gen.new(1_700_000_000_001 + i) for i in range(10)]
    ids = same_ms + later
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)
    assert all(is_event_id(i) for i in ids)
    assert event_id_time_ms(later[-1]) == 1_700_000_000_010


def test_a_clock_step_back_does_not_break_the_order() -> None:
    gen = EventIdGenerator()
    first = gen.new(2_000_000_000_000)
    assert gen.new(1_000_000_000_000) > first


@pytest.mark.parametrize(
    "value",
    [
        "evt_01arz3ndektsv4rrffq69g5fav",
        "evt_01ARZ3NDEKTSV4RRFFQ69G5FA",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "evt_81ARZ3NDEKTSV4RRFFQ69G5FAV",
        "evt_01ARZ3NDEKTSV4RRFFQ69G5FAU",
        42,
    ],
)
def test_what_is_not_an_event_id(value: object) -> None:
    assert not is_event_id(value)


def test_client_ulids_are_event_ids_of_their_millisecond_and_all_different() -> None:
    made = new_ulids(5000, 1_700_000_000_123) + new_ulids(5000, 1_700_000_000_123)
    assert len(set(made)) == 10_000
    assert all(is_ulid(u.encode()) and is_event_id(PREFIX + u) for u in made)
    assert {event_id_time_ms(PREFIX + u) for u in made} == {1_700_000_000_123}
    # Every one of the 32 letters turns up in the random part: all 80 bits vary.
    assert set("".join(u[10:] for u in made)) == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert max(new_ulids(10, 1_700_000_000_123)) < min(new_ulids(10, 1_700_000_000_124))
    assert new_ulids(0) == []


@pytest.mark.parametrize(
    "value",
    [b"01ARZ3NDEKTSV4RRFFQ69G5FA", b"81ARZ3NDEKTSV4RRFFQ69G5FAV", b"01ARZ3NDEKTSV4RRFFQ69G5FAU",
     b"01arz3ndektsv4rrffq69g5fav", b"01ARZ3NDEKTSV4RRFFQ69G5FAV\x00", b"\xff" * 26],
)  # fmt: skip
def test_what_is_not_a_ulid(value: bytes) -> None:
    assert not is_ulid(value)
