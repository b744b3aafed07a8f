"""argon2id hashing at OWASP's parameters, rehash on rise, the policy, and equal work for misses.

"Equal work" is checked without a clock: argon2's own verify is wrapped to record the parameters
of every hash it checks, and each login path must run exactly one verification at the current
parameters — a wrong password, an unknown user, an unusable hash, an overlong password alike.
"""

from __future__ import annotations

import argon2
import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from eventstream.auth import passwords
from eventstream.auth.passwords import (
    MAX_PASSWORD_BYTES,
    PasswordPolicyError,
    hash_password,
    validate_new_password,
    verify_password,
    verify_unknown_user,
)

GOOD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(GOOD)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[argon2.Parameters]:
    """The parameters of every hash argon2 verifies during the test."""
    seen: list[argon2.Parameters] = []
    original = PasswordHasher.verify

    def recording(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        text = hash.decode() if isinstance(hash, bytes) else hash
        seen.append(extract_parameters(text))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", recording)
    return seen


def test_hashes_are_argon2id_at_least_at_owasp_parameters(stored: str) -> None:
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$v=19$")
    assert params.type is Type.ID
    # OWASP's equivalent argon2id minimums, (MiB, passes): a hash must meet one of them.
    owasp = [(46, 1), (19, 2), (12, 3), (9, 4), (7, 5)]
    assert any(params.memory_cost >= m * 1024 and params.time_cost >= t for m, t in owasp)
    assert params.parallelism >= 1
    assert params.salt_len >= 16
    assert params.hash_len >= 32


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)


def test_verify(stored: str) -> None:
    assert verify_password(stored, GOOD) == passwords.PasswordCheck(ok=True, needs_rehash=False)
    assert verify_password(stored, GOOD + " ").ok is False
    assert verify_password(stored, GOOD.upper()).ok is False


def test_the_same_password_typed_composed_or_decomposed_is_the_same() -> None:
    composed, decomposed = "caf\u00e9 au lait s'il vous", "cafe\u0301 au lait s'il vous"
    assert verify_password(hash_password(composed), decomposed).ok


def test_a_hash_below_the_parameters_is_flagged_for_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    check = verify_password(weak.hash(GOOD), GOOD)
    assert check == passwords.PasswordCheck(ok=True, needs_rehash=True)
    argon2i = PasswordHasher(type=Type.I).hash(GOOD)
    assert verify_password(argon2i, GOOD).needs_rehash


def test_raising_the_parameters_flags_existing_hashes(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "MEMORY_COST_KIB", passwords.MEMORY_COST_KIB * 2)
    assert verify_password(stored, GOOD).needs_rehash
    monkeypatch.undo()
    monkeypatch.setattr(passwords, "TIME_COST", passwords.TIME_COST + 1)
    assert verify_password(stored, GOOD).needs_rehash


def test_a_stronger_hash_is_not_downgraded() -> None:
    strong = PasswordHasher(time_cost=3, memory_cost=32768, parallelism=1, type=Type.ID)
    assert verify_password(strong.hash(GOOD), GOOD) == passwords.PasswordCheck(True, False)


def test_an_equal_defence_hash_with_more_memory_is_kept() -> None:
    # OWASP's 19 MiB x 2 (the parameters before 9 MiB x 4): more memory and more total work.
    earlier = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
    assert verify_password(earlier.hash(GOOD), GOOD) == passwords.PasswordCheck(True, False)


def test_many_passes_over_less_memory_are_flagged() -> None:
    # Same total work as the current parameters, but a memory-hard hash needs the memory.
    thin = PasswordHasher(
        time_cost=passwords.TIME_COST * 4,
        memory_cost=passwords.MEMORY_COST_KIB // 4,
        parallelism=1,
        type=Type.ID,
    )
    assert verify_password(thin.hash(GOOD), GOOD).needs_rehash


def test_a_wrong_password_does_one_verification_at_the_current_parameters(
    stored: str, verifications: list[argon2.Parameters]
) -> None:
    assert not verify_password(stored, "wrong password entirely").ok
    assert verifications == [extract_parameters(stored)]


@pytest.mark.parametrize(
    ("stored_hash", "plain"),
    [
        ("", GOOD),  # no usable hash: an OAuth-only user
        ("$argon2id$garbage", GOOD),
        (None, GOOD),
        ("valid-looking-later", "x" * (MAX_PASSWORD_BYTES + 1)),  # overlong: cannot match
        ("valid-looking-later", "\ud800 lone surrogate"),
    ],
)
def test_every_miss_does_the_same_work(
    stored: str,
    verifications: list[argon2.Parameters],
    stored_hash: str | None,
    plain: str,
) -> None:
    target = stored if stored_hash == "valid-looking-later" else stored_hash
    assert not verify_password(target, plain).ok  # type: ignore[arg-type]
    assert verifications == [extract_parameters(stored)]


@pytest.mark.parametrize("plain", [GOOD, "", "x" * (MAX_PASSWORD_BYTES * 2), "\udfff"])
def test_an_unknown_user_does_the_same_work(
    stored: str, verifications: list[argon2.Parameters], plain: str
) -> None:
    verify_unknown_user(plain)
    assert verifications == [extract_parameters(stored)]


@pytest.mark.parametrize(
    "plain",
    [
        "short pw 1",  # under 12 characters
        " " * 20,
        "z" * 20,
        "Password1234",  # common, any case
        "EventStream123",
        "alice.example.org",  # the username
        "x" * (MAX_PASSWORD_BYTES + 1),
        "\ud83d tail of a broken emoji",  # lone surrogate from JSON
    ],
)
def test_policy_refusals_never_contain_the_password(plain: str) -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        validate_new_password(plain, context=["alice.example.org", "alice@example.org"])
    message = str(caught.value)
    assert plain not in message
    # Nothing chained either: a UnicodeEncodeError would carry the whole string.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_hash_password_refuses_what_cannot_be_stored_without_echoing_it() -> None:
    secret = "\udcff secret-value-here"
    with pytest.raises(PasswordPolicyError) as caught:
        hash_password(secret)
    assert "secret-value-here" not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "plain", [GOOD, "twelve chars", "ünïcödé pässwörd", "🔑🔑🔑🔑 a key emoji passphrase"]
)
def test_policy_accepts_long_passphrases(plain: str) -> None:
    assert validate_new_password(plain, context=["alice"]) == plain
