"""Usernames derived from a provider identity: valid, readable, and made unique by suffixes."""

from __future__ import annotations

import itertools

import pytest

from eventstream.auth.models import USERNAME_RE
from eventstream.auth.oauth_identity import (
    ProviderIdentity,
    username_base,
    username_candidates,
)


def identity(
    login: str | None = None,
    email: str | None = None,
    name: str | None = None,
    provider: str = "github",
    verified: bool = True,
) -> ProviderIdentity:
    return ProviderIdentity(provider, "42", email, verified, login=login, name=name)


@pytest.mark.parametrize(
    ("ident", "expected"),
    [
        (identity(login="Octo-Cat"), "octo-cat"),
        (identity(login="octocat", email="other@example.com"), "octocat"),
        (identity(email="Jane.Doe+spam@example.com", provider="google"), "jane.doe-spam"),
        (identity(name="Zoë Ærø", provider="google"), "zoe-r"),
        (identity(login="ab"), "ab-github"),  # too short alone
        (identity(login="--__..x"), "x-github"),
        (identity(login="!!!", email=None, name="李小龍", provider="google"), "google-user"),
        (identity(login="a" * 200), "a" * 56),
        (identity(login="dots...and---dashes"), "dots-and-dashes"),
    ],
)
def test_username_base(ident: ProviderIdentity, expected: str) -> None:
    base = username_base(ident)
    assert base == expected
    assert USERNAME_RE.fullmatch(base)


def test_candidates_number_then_randomise_and_stay_valid() -> None:
    first = list(itertools.islice(username_candidates(identity(login="octocat")), 14))
    assert first[:3] == ["octocat", "octocat-2", "octocat-3"]
    assert first[8] == "octocat-9"
    assert all(len(name) == len("octocat-") + 6 for name in first[9:])  # random hex suffixes
    assert len(set(first)) == len(first)
    for name in first:
        assert USERNAME_RE.fullmatch(name)
    long_base = next(username_candidates(identity(login="a" * 80)))
    for name in itertools.islice(username_candidates(identity(login="a" * 80)), 12):
        assert name.startswith(long_base)
        assert USERNAME_RE.fullmatch(name)


def test_only_a_verified_plausible_email_counts() -> None:
    assert identity(email="a@example.com").verified_email == "a@example.com"
    assert identity(email="a@example.com", verified=False).verified_email is None
    assert identity(email="not-an-email").verified_email is None
    assert identity(email=None).verified_email is None
