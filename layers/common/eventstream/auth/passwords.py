"""Password hashing (argon2id), verification with rehash detection, and the new-password policy.

argon2 is imported on first use, not at import: handlers that never touch a password (the
authorizer, token validation) should not pay for it at cold start.

No function here logs a password or puts one in an exception (nor chains an exception that
holds one, such as UnicodeEncodeError).
"""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

# One of OWASP's equivalent minimums for argon2id (Password Storage Cheat Sheet: 46 MiB x 1,
# 19 x 2, 12 x 3, 9 x 4 and 7 x 5 "provide an equal level of defense"). 9 MiB x 4 verifies in
# 21 ms here against 27 ms for 19 MiB x 2: the smaller block stays in cache and needs fewer page
# faults. Raise them, never lower them: weaker hashes are rehashed at the next successful login.
MEMORY_COST_KIB = 9216  # 9 MiB
TIME_COST = 4
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_BYTES = 1024

# NIST 800-63B asks for a blocklist of known-compromised values; this is the short list of ones
# long enough to pass the length rule that lead every breach corpus. Compared case-insensitively.
_COMMON_PASSWORDS = frozenset(
    (
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiop12",
        "qwertyuiopas",
        "password1234",
        "password12345",
        "passwordpassword",
        "administrator",
        "iloveyou1234",
        "changeme1234",
        "letmein12345",
        "welcome12345",
        "eventstream1",
        "eventstream123",
    )
)


class PasswordPolicyError(ValueError):
    """A new password the policy refuses; the message says why and never contains it."""


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    needs_rehash: bool


def _normalise(plain: str) -> bytes:
    """The bytes hashed for ``plain``: NFKC (NIST 800-63B), so the same password typed on two
    keyboards (composed or decomposed accents) is the same password. Raises ValueError without
    the password for strings UTF-8 cannot encode (lone surrogates from JSON)."""
    if not isinstance(plain, str):
        raise PasswordPolicyError("password must be a string")
    try:
        return unicodedata.normalize("NFKC", plain).encode("utf-8")
    except UnicodeEncodeError:
        # not chained: UnicodeEncodeError.object is the whole password
        raise PasswordPolicyError("password is not valid Unicode text") from None


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=TIME_COST,
        memory_cost=MEMORY_COST_KIB,
        parallelism=PARALLELISM,
        hash_len=HASH_LEN,
        salt_len=SALT_LEN,
        type=Type.ID,
    )


@functools.cache
def _dummy_hash() -> str:
    # Made at first use with the current parameters, so verifying against it costs what a real
    # verification costs even after the constants are raised. Call warm_up() at init to move
    # this one-off cost out of the first request.
    return _hasher().hash(b"eventstream-dummy-password-for-timing")


def warm_up() -> None:
    """Import argon2 and make the dummy hash now (e.g. in a login handler's init phase)."""
    _dummy_hash()


def hash_password(plain: str) -> str:
    """The argon2id hash of ``plain`` (PHC string, ``$argon2id$v=19$m=…,t=…,p=…$salt$hash``).

    Refuses only what cannot be stored (not a string, over MAX_PASSWORD_BYTES); the policy for
    new passwords is validate_new_password, called by the routes that set one.
    """
    data = _normalise(plain)
    if len(data) > MAX_PASSWORD_BYTES:
        raise PasswordPolicyError(f"password must be at most {MAX_PASSWORD_BYTES} bytes")
    return _hasher().hash(data)


def _needs_rehash(stored_hash: str) -> bool:
    from argon2 import Type, extract_parameters

    params = extract_parameters(stored_hash)
    # Only weaker is flagged: less memory, or less total work (memory x passes), so a hash made
    # with higher values (a later deploy since rolled back, or the earlier 19 MiB x 2) is kept.
    return (
        params.type is not Type.ID
        or params.memory_cost < MEMORY_COST_KIB
        or params.memory_cost * params.time_cost < MEMORY_COST_KIB * TIME_COST
        or params.parallelism < PARALLELISM
        or params.hash_len < HASH_LEN
        or params.salt_len < SALT_LEN
    )


def verify_password(stored_hash: str, plain: str) -> PasswordCheck:
    """Check ``plain`` against ``stored_hash``. Never raises for a wrong password, a malformed
    hash or a malformed password: all are ``ok=False``, after the same work as a real check."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        data = _normalise(plain)
    except PasswordPolicyError:
        data = None
    # Nothing longer than MAX_PASSWORD_BYTES can have been stored, so it cannot match.
    if data is None or len(data) > MAX_PASSWORD_BYTES or not isinstance(stored_hash, str):
        verify_unknown_user("")
        return PasswordCheck(ok=False, needs_rehash=False)
    try:
        _hasher().verify(stored_hash, data)
    except InvalidHashError:
        # No usable hash (an OAuth-only user, a corrupt row): answer as for an unknown user.
        verify_unknown_user("")
        return PasswordCheck(ok=False, needs_rehash=False)
    except VerificationError:  # VerifyMismatchError and other failed checks
        return PasswordCheck(ok=False, needs_rehash=False)
    return PasswordCheck(ok=True, needs_rehash=_needs_rehash(stored_hash))


def verify_unknown_user(plain: str) -> None:
    """Spend what a real verification costs, against a dummy hash: login for an unknown user
    then takes about as long as a wrong password, so timing does not reveal which users exist."""
    from argon2.exceptions import VerificationError

    try:
        data = _normalise(plain)
    except PasswordPolicyError:
        data = b""
    with contextlib.suppress(VerificationError):
        _hasher().verify(_dummy_hash(), data[:MAX_PASSWORD_BYTES])


def validate_new_password(plain: str, *, context: Iterable[str] = ()) -> str:
    """Return ``plain`` if the policy accepts it as a new password, else raise
    PasswordPolicyError.

    NIST 800-63B: length is what counts (at least MIN_PASSWORD_CHARS characters, at most
    MAX_PASSWORD_BYTES bytes), every printable character and space is allowed, and there are no
    composition rules. Refused too: all whitespace, one repeated character, a known common
    password, and any ``context`` word (username, email, service name) used as the password.
    """
    data = _normalise(plain)
    text = data.decode("utf-8")
    if len(text) < MIN_PASSWORD_CHARS:
        raise PasswordPolicyError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(data) > MAX_PASSWORD_BYTES:
        raise PasswordPolicyError(f"password must be at most {MAX_PASSWORD_BYTES} bytes")
    if text.isspace():
        raise PasswordPolicyError("password must not be only whitespace")
    if len(set(text)) == 1:
        raise PasswordPolicyError("password must not be one character repeated")
    folded = text.casefold()
    if folded in _COMMON_PASSWORDS:
        raise PasswordPolicyError("password is too common")
    for word in context:
        if isinstance(word, str) and word and folded == word.casefold():
            raise PasswordPolicyError("password must not be your username or email")
    return plain
