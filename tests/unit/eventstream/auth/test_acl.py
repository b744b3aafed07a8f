"""ACL decisions: deny by default, separate publish and subscribe, admin passes, grammar first."""

from __future__ import annotations

import pytest

from eventstream.auth.acl import (
    AclEntry,
    AclError,
    is_allowed,
    is_permission,
    validate_permission,
)

USER = "6f1c1f6e-0000-4000-8000-000000000001"


def entry(pattern: str, permission: str = "subscribe", n: int = 1) -> AclEntry:
    return AclEntry(id=n, user_id=USER, topic_pattern=pattern, permission=permission)


def test_no_entries_deny_everything() -> None:
    assert not is_allowed([], ["user"], "sensor/a", "subscribe")
    assert not is_allowed([], ["user"], "sensor/a", "publish")
    assert not is_allowed([], [], "sensor/a", "subscribe")


def test_an_entry_grants_its_permission_only() -> None:
    entries = [entry("sensor/*", "subscribe")]
    assert is_allowed(entries, ["user"], "sensor/a", "subscribe")
    assert not is_allowed(entries, ["user"], "sensor/a", "publish")


@pytest.mark.parametrize(
    ("pattern", "topic", "allowed"),
    [
        ("sensor/*", "sensor/a", True),
        ("sensor/*", "sensor/a/b", False),
        ("sensor/#", "sensor/a/b", True),
        ("sensor/#", "sensor", False),
        ("sensor/*", "sensor/../admin", False),
        ("sensor/*", "sensor/\u0410", False),  # Cyrillic capital A
        ("sensor/*", "sensor/\uff41", False),  # fullwidth a
        ("sensor/*", "SENSOR/a", False),
        ("sensor/*", "sensor//a", False),
        ("sensor/*", "sensor/a\n", False),
        ("#", "", False),
    ],
)
def test_patterns_decide_through_the_topic_grammar(pattern: str, topic: str, allowed: bool) -> None:
    assert is_allowed([entry(pattern)], ["user"], topic, "subscribe") is allowed


def test_any_matching_entry_is_enough() -> None:
    entries = [entry("orders/*", n=1), entry("sensor/#", n=2)]
    assert is_allowed(entries, ["user"], "sensor/x/y", "subscribe")
    assert is_allowed(entries, ["user"], "orders/eu", "subscribe")
    assert not is_allowed(entries, ["user"], "billing/eu", "subscribe")


def test_an_invalid_stored_pattern_grants_nothing() -> None:
    # A row written before validation (or by hand) must not widen anything.
    for bad in ("sensor/#/x", "Sensor/*", "sensor/te*", "", "../#"):
        assert not is_allowed([entry(bad)], ["user"], "sensor/a", "subscribe")


def test_admin_passes_but_not_outside_the_grammar() -> None:
    assert is_allowed([], ["admin"], "anything/at/all", "publish")
    assert is_allowed([], ("user", "admin"), "x", "subscribe")
    assert not is_allowed([], ["admin"], "Bad/Topic", "publish")
    assert not is_allowed([], ["admin"], "x", "delete")


@pytest.mark.parametrize("roles", ["admin", "nonadmin", "administrator", ["Admin"], ["admin "]])
def test_only_the_exact_admin_role_passes(roles: object) -> None:
    # A bare "admin" string is one role; near-misses are not the role at all.
    expected = roles == "admin"
    assert is_allowed([], roles, "x", "publish") is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("permission", ["publish", "subscribe"])
def test_known_permissions(permission: str) -> None:
    assert is_permission(permission)
    assert validate_permission(permission) == permission


@pytest.mark.parametrize("permission", ["Publish", "pub", "publish ", "*", "", None, 1, "admin"])
def test_unknown_permissions_are_refused(permission: object) -> None:
    assert not is_permission(permission)
    with pytest.raises(AclError):
        validate_permission(permission)
    assert not is_allowed([entry("#", "publish")], ["admin"], "x", permission)  # type: ignore[arg-type]
