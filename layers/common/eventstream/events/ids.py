"""Event ids: `evt_` + a ULID (48-bit milliseconds, 80 random bits, Crockford base32, 26 chars).

Ids sort by creation time as strings, to the millisecond. The core's client names the events it
sends (`new_ulids`: fresh random bits for each, so any number of clients can make them at once).
A node names only events sent without ids, with an `EventIdGenerator`: within one millisecond it
counts up from its last id, so those also sort in the order the node made them.
"""

from __future__ import annotations

import os
import random
import time

PREFIX = "evt_"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two characters per lookup: 13 lookups for the 130 bits of a ULID (base64.b32encode is pure
# Python in 3.11 and took 5 µs an id).
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_SHIFTS = tuple(range(120, -1, -10))
_RANDOM_BITS = 80
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_ALPHABET = _CROCKFORD.encode()
# A random byte's low five bits pick a letter: 16 bytes give a ULID's 80 random bits.
_LETTER_OF_BYTE = bytes(_ALPHABET[b & 31] for b in range(256))


def encode_ulid(value: int) -> str:
    """The 26-character Crockford base32 of a 128-bit integer."""
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])


def _random_bits() -> int:
    # Ids are public, not secrets: they need to be unique, not unguessable, so no system call.
    # The top bit stays clear: room to count up within the millisecond without overflowing.
    return random.getrandbits(_RANDOM_BITS - 1)


class EventIdGenerator:
    """Monotonic ids for one thread (the core's event loop makes all of a node's ids)."""

    __slots__ = ("_last_ms", "_last_random")

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0

    def new(self, now_ms: int | None = None) -> str:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        if ms <= self._last_ms:
            # Same (or an earlier, the clock stepped back) millisecond: count up from the last id.
            ms = self._last_ms
            rnd = self._last_random + 1
            if rnd > _RANDOM_MASK:  # 2^80 ids in one millisecond: borrow the next one
                ms += 1
                rnd = _random_bits()
        else:
            rnd = _random_bits()
        self._last_ms = ms
        self._last_random = rnd
        return PREFIX + encode_ulid((ms << _RANDOM_BITS) | rnd)


def new_ulids(count: int, now_ms: int | None = None) -> list[str]:
    """`count` ULIDs (no prefix) for this millisecond, their 80 bits each from os.urandom.

    The core's client names the events it sends with these, so that a resend is recognised by
    its id. Unlike EventIdGenerator they share no state: any number of threads and processes can
    make them at once, and one system call serves a whole batch.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    head = encode_ulid(ms << _RANDOM_BITS)[:10]
    letters = os.urandom(16 * count).translate(_LETTER_OF_BYTE).decode("ascii")
    return [head + letters[i : i + 16] for i in range(0, 16 * count, 16)]


def is_ulid(value: bytes) -> bool:
    """26 Crockford letters whose value fits 128 bits: what follows `evt_` in an event id."""
    return len(value) == 26 and value[0] in b"01234567" and not value.translate(None, _ALPHABET)


def is_event_id(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return False
    return is_ulid(value[len(PREFIX) :].encode())


def event_id_time_ms(event_id: str) -> int:
    """The millisecond an id was made in; ValueError for anything that is not an event id."""
    if not is_event_id(event_id):
        raise ValueError(f"{event_id!r} is not an event id")
    return int(event_id[len(PREFIX) : len(PREFIX) + 10].translate(_FROM_CROCKFORD), 32)


# int(…, 32) reads 0-9A-V: map Crockford's letters onto that alphabet.
_FROM_CROCKFORD = str.maketrans(_CROCKFORD, "0123456789ABCDEFGHIJKLMNOPQRSTUV")
