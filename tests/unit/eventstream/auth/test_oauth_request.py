"""The authorization request: PKCE (RFC 7636), state and nonce, and the URLs built from them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from eventstream.auth.oauth_request import (
    AuthorizationRequest,
    hash_state,
    pkce_challenge,
    plausible_state,
    with_query,
)


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!", "é" * 43])
def test_pkce_challenge_refuses_verifiers_outside_the_rfc_grammar(verifier: str) -> None:
    with pytest.raises(ValueError, match="PKCE verifier"):
        pkce_challenge(verifier)


def test_each_request_has_fresh_256_bit_values() -> None:
    requests = [AuthorizationRequest.new() for _ in range(50)]
    values = [v for r in requests for v in (r.state, r.code_verifier, r.nonce)]
    assert len(set(values)) == len(values)
    for value in values:
        assert len(value) == 43  # 32 bytes, base64url without padding
    first = requests[0]
    assert first.code_challenge == pkce_challenge(first.code_verifier)
    assert first.code_challenge != first.code_verifier


def test_only_the_states_hash_is_kept_and_it_is_sha256_hex() -> None:
    req = AuthorizationRequest.new()
    assert req.state_hash == hash_state(req.state)
    assert len(req.state_hash) == 64
    assert req.state not in req.state_hash
    assert hash_state(req.state + "x") != req.state_hash
    assert req.state not in repr(req)
    assert req.code_verifier not in repr(req)


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, False), ("", False), ("é" * 10, False), ("a" * 129, False), ("a" * 43, True)],
)
def test_plausible_state(value: str | None, ok: bool) -> None:
    assert plausible_state(value) is ok


def test_with_query_encodes_and_keeps_an_existing_query() -> None:
    url = with_query(
        "https://idp.test/authorize?prompt=login", {"redirect_uri": "http://x/cb?a=1&b"}
    )
    parts = urlsplit(url)
    assert parts.netloc == "idp.test"
    assert parts.path == "/authorize"
    assert parse_qs(parts.query) == {"prompt": ["login"], "redirect_uri": ["http://x/cb?a=1&b"]}
