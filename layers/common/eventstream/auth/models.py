"""The auth service's records and the rules on their fields."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

ROLES = frozenset({"user", "admin"})
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
USERNAME_HINT = "3-64 characters: a-z, 0-9, '_', '.', '-', starting with a letter or digit"
# Deliberately loose (RFC 5322 is not a regex); it only has to be plausible and single-line.
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str | None
    roles: tuple[str, ...]
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    password_hash: str | None = None  # never in to_json()
    rate_limit_per_minute: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=str(row["id"]),
            username=row["username"],
            email=row.get("email"),
            roles=tuple(row.get("roles") or ()),
            disabled=bool(row.get("disabled")),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            password_hash=row.get("password_hash"),
            rate_limit_per_minute=row.get("rate_limit_per_minute"),
        )

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "roles": list(self.roles),
            "disabled": self.disabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "rate_limit_per_minute": self.rate_limit_per_minute,
        }


def is_uuid(value: object) -> bool:
    """Ids in paths are checked before they reach SQL: a malformed one is a 404, not a 500."""
    return isinstance(value, str) and bool(UUID_RE.fullmatch(value))
