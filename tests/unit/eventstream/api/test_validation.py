"""Fields: every bad field collected into one 422 that names the field, never echoes a value."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eventstream.api import Problem
from eventstream.api.validation import Fields, query_int


def errors(fields: Fields) -> list[dict[str, str]]:
    with pytest.raises(Problem) as caught:
        fields.done()
    assert caught.value.status == 422
    return list(caught.value.extensions["errors"])


def test_good_fields_pass() -> None:
    f = Fields(
        {"name": "abc", "ok": True, "roles": ["user", "admin", "user"]},
        allowed={"name", "ok", "roles"},
    )
    assert f.string("name") == "abc"
    assert f.boolean("ok") is True
    assert f.string_list("roles", choices=frozenset({"user", "admin"})) == ["admin", "user"]
    assert f.string("missing", required=False) is None
    f.done()


def test_every_bad_field_is_reported_at_once() -> None:
    f = Fields(
        {
            "name": 5,
            "email": "x" * 300,
            "flag": "true",
            "roles": ["root"],
            "extra": 1,
            "nul": "a\x00",
        },
        allowed={"name", "email", "flag", "roles", "nul"},
    )
    assert f.string("name") is None
    assert f.string("email") is None
    assert f.boolean("flag") is None
    assert f.string_list("roles", choices=frozenset({"user"})) is None
    assert f.string("nul") is None
    assert f.string("required") is None
    names = [e["field"] for e in errors(f)]
    assert sorted(names) == sorted(["extra", "name", "email", "flag", "roles", "nul", "required"])


def test_messages_do_not_echo_the_value() -> None:
    secret = "hunter2-but-longer-than-it-may-be" * 10
    f = Fields({"password": secret, "code": "SECRET-VALUE"})
    f.string("password", max_len=20)
    f.string("code", pattern=re.compile(r"[0-9]+"), hint="must be digits")
    for e in errors(f):
        assert secret not in e["message"]
        assert "SECRET-VALUE" not in e["message"]


@pytest.mark.parametrize("value", [[1], "user", {"a": 1}, [None]])
def test_string_lists_must_be_lists_of_strings(value: Any) -> None:
    f = Fields({"roles": value})
    assert f.string_list("roles", choices=frozenset({"user"})) is None
    assert errors(f)[0]["field"] == "roles"


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 50), ("", 50), ("1", 1), ("200", 200), ("007", 7)]
)
def test_query_int(raw: str | None, expected: int) -> None:
    query = {} if raw is None else {"limit": raw}
    assert query_int(query, "limit", default=50, low=1, high=200) == expected


@pytest.mark.parametrize(
    "raw", ["0", "201", "-1", "1.5", "1e3", " 5", "٣", "1 OR 1=1", "99999999999999999999"]
)
def test_query_int_refusals(raw: str) -> None:
    with pytest.raises(Problem) as caught:
        query_int({"limit": raw}, "limit", default=50, low=1, high=200)
    assert caught.value.status == 422


@pytest.mark.parametrize("value", ["\ud800", "abc\udfff", "\ud83d tail"])
def test_lone_surrogates_are_not_text(value: str) -> None:
    # Legal in JSON, not encodable as UTF-8: it would fail inside the database driver.
    f = Fields({"name": value})
    assert f.string("name") is None
    assert errors(f) == [{"field": "name", "message": "must be valid Unicode text"}]


def test_non_ascii_text_is_fine() -> None:
    f = Fields({"name": "Zoë 🔑 ключ"})
    assert f.string("name") == "Zoë 🔑 ключ"
    f.done()
