"""The C payload check agrees with json.loads, less what JSONB cannot hold (a \\u0000 escape)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstream_native import json_problem
from tests.support import damaged


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def python_takes(data: bytes) -> bool:
    """The reference: json.loads of the UTF-8 text, no NaN or Infinity, no NUL in a string."""
    try:
        value = json.loads(data.decode(), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError):
        return False
    return not _has_nul(value)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
NOISE = b'"\\{}[],:0123456789-+.eEtrufalsn \t\n\r\x00\x1f\x7f\x80\xbf\xc3\xed\xf4\xff'


@settings(max_examples=500, deadline=None)
@given(values, st.booleans(), st.booleans())
def test_every_json_text_is_taken_unless_it_holds_a_nul(
    value: Any, ascii_only: bool, spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    data = json.dumps(value, ensure_ascii=ascii_only, separators=separators).encode()
    assert (json_problem(data) is None) is not _has_nul(value)


@settings(max_examples=1500, deadline=None)
@given(
    values, st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(NOISE), st.integers(0, 2)))
)
def test_damaged_json_is_judged_as_json_loads_judges_it(
    value: Any, edits: list[tuple[int, int, int]]
) -> None:
    data = damaged(json.dumps(value, ensure_ascii=False).encode(), edits)
    assert (json_problem(data) is None) is python_takes(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_judged_as_json_loads_judges_them(data: bytes) -> None:
    assert (json_problem(data) is None) is python_takes(data)


STRING_PIECES = [
    b"a", b"\\", b'\\"', b"\\u", b"0", b"00", b"d8", b"DC", b"fF", b"\x1f", b"\x00", b"\x7f", b"\t",
    b"\xc3\xa9", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"\xf4\x90", b"\x80", b"\\n",
    b"\\x", b"\\/", b'"',
]  # fmt: skip
NUMBER_PIECES = [b"-", b"+", b"0", b"1", b"9", b".", b"e", b"E", b" "]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(STRING_PIECES), max_size=12))
def test_string_literals_are_judged_as_json_loads_judges_them(pieces: list[bytes]) -> None:
    data = b'"' + b"".join(pieces) + b'"'
    assert (json_problem(data) is None) is python_takes(data)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(NUMBER_PIECES), min_size=1, max_size=8))
def test_numbers_are_judged_as_json_loads_judges_them(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert (json_problem(data) is None) is python_takes(data)
    assert (json_problem(b"[" + data + b"]") is None) is python_takes(b"[" + data + b"]")


@pytest.mark.parametrize(
    ("data", "taken"),
    [
        (b'"\\ud800"', True),  # a lone surrogate escape: json.loads takes it, Postgres does not
        (b'"\\uD83D\\uDE00"', True),
        (b'"\xed\xa0\x80"', False),  # a surrogate encoded in UTF-8
        (b'"\xc0\x80"', False),  # overlong
        (b'"\xe0\x80\x80"', False),  # overlong
        (b'"\xf4\x90\x80\x80"', False),  # above U+10FFFF
        (b'"\xf0\x9f\x98\x80"', True),
        (b'"\\u0000"', False),
        (b'"\\\\u0000"', True),  # a backslash, then the text u0000
        (b"-Infinity", False),
        (b"Infinity", False),
        (b"NaN", False),
        (b"-0.0e-0", True),
        (b"1E+2", True),
        (b"\xef\xbb\xbf{}", False),  # a byte-order mark
        (b" \t\r\n 1 \t\r\n ", True),
        (b"\x0c1", False),  # form feed is not JSON whitespace
        (b'"\x1f"', False),  # a control character must be escaped
        (b'"\x7f"', True),
    ],
)
def test_edges(data: bytes, taken: bool) -> None:
    assert (json_problem(data) is None) is taken
    assert python_takes(data) is taken


def test_nesting_is_refused_past_1000_levels() -> None:
    assert json_problem(b"[" * 1000 + b"]" * 1000) is None
    assert json_problem(b'{"a":' * 1000 + b"1" + b"}" * 1000) is None
    problem = json_problem(b"[" * 1001 + b"]" * 1001)
    assert problem == "nested deeper than 1000 levels at byte 1000"


def test_a_large_payload_is_read_the_same_way_and_any_buffer_will_do() -> None:
    big = json.dumps([{"i": i, "s": "é" * 20} for i in range(2000)]).encode()
    assert len(big) > 16384  # read without the GIL
    assert json_problem(big) is None
    assert json_problem(bytearray(big)) is None
    assert json_problem(memoryview(big)[:-1]) == f"expected ',' or ']' at byte {len(big) - 1}"
    with pytest.raises(TypeError):
        json_problem("{}")  # type: ignore[arg-type]


def test_the_reason_says_what_and_where() -> None:
    assert json_problem(b'{"a" 1}') == "expected ':' at byte 5"
    assert json_problem(b'{"a":1,}') == "expected a key in double quotes at byte 7"
    assert json_problem(b'"a\\u0000"') == "\\u0000, which JSONB cannot hold at byte 2"
    assert json_problem(b"[1] 2") == "extra data after the value at byte 4"
