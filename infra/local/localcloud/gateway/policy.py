"""A Lambda authorizer's IAM policy, compiled once and evaluated against each methodArn."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

INVOKE_ACTION = "execute-api:Invoke"


class PolicyError(ValueError):
    """A policyDocument API Gateway cannot use (it answers 500 AuthorizerConfigurationException)."""


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"  # no statement allows this methodArn


@dataclass(frozen=True, slots=True)
class _Statement:
    allow: bool
    resources: re.Pattern[str]
    negated: bool  # NotResource: the statement applies to every ARN *not* matched

    def applies_to(self, method_arn: str) -> bool:
        return (self.resources.fullmatch(method_arn) is not None) != self.negated


class Policy:
    """Explicit Deny wins, then any Allow; nothing matching is a deny, as IAM evaluates."""

    __slots__ = ("_allows", "_denies")

    def __init__(self, statements: list[_Statement]) -> None:
        self._denies = tuple(s for s in statements if not s.allow)
        self._allows = tuple(s for s in statements if s.allow)

    @classmethod
    def parse(cls, document: Any) -> Policy:
        if not isinstance(document, dict):
            raise PolicyError("policyDocument is not an object")
        raw = document.get("Statement")
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise PolicyError("policyDocument.Statement is missing or empty")
        statements = []
        for item in raw:
            statement = _parse_statement(item)
            if statement is not None:
                statements.append(statement)
        return cls(statements)

    def evaluate(self, method_arn: str) -> Decision:
        if any(s.applies_to(method_arn) for s in self._denies):
            return Decision.EXPLICIT_DENY
        if any(s.applies_to(method_arn) for s in self._allows):
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY


def _parse_statement(item: Any) -> _Statement | None:
    """None for a well-formed statement about other actions: it can never apply to Invoke."""
    if not isinstance(item, dict):
        raise PolicyError("a Statement is not an object")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Statement Effect {effect!r} is neither Allow nor Deny")
    if "Action" in item:
        covers_invoke = _glob(_strings(item["Action"], "Action"), ignore_case=True).fullmatch(
            INVOKE_ACTION
        )
    elif "NotAction" in item:
        covers_invoke = not _glob(
            _strings(item["NotAction"], "NotAction"), ignore_case=True
        ).fullmatch(INVOKE_ACTION)
    else:
        raise PolicyError("a Statement has neither Action nor NotAction")
    if "Resource" in item:
        resources, negated = _glob(_strings(item["Resource"], "Resource")), False
    elif "NotResource" in item:
        resources, negated = _glob(_strings(item["NotResource"], "NotResource")), True
    else:
        raise PolicyError("a Statement has neither Resource nor NotResource")
    if not covers_invoke:
        return None
    return _Statement(allow=effect == "Allow", resources=resources, negated=negated)


def _strings(value: Any, key: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"Statement {key} must be a string or a list of strings")
    return values


def _glob(patterns: list[str], *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: * is any run of characters (slashes included), ? is one character."""
    parts = (re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns)
    return re.compile("(?:" + "|".join(parts) + ")", re.IGNORECASE if ignore_case else 0)
