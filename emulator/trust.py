"""Role trust-policy evaluation, as IAM does it for sts:AssumeRole.

moto lets anyone assume any role (a wrong or missing ExternalId succeeds): the
emulator evaluates the role's trust policy itself, so that what fails on AWS
fails here. Supported: Allow/Deny, Action (with wildcards), Principal AWS
(ARN, account ID, account root, "*") and Service, and the condition operators
StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike,
ArnNotEquals, ArnNotLike (with ...IfExists). An operator it does not know
denies: fail closed rather than pretend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

_ACCOUNT_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")


@dataclass(frozen=True)
class Principal:
    """Who asks: an IAM role or user (``arn``) of ``account``, or an AWS service."""

    account: str = ""
    arn: str = ""
    service: str = ""

    def __str__(self) -> str:
        return self.service or self.arn


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches_principal(statement: Mapping[str, Any], principal: Principal) -> bool:
    declared = statement.get("Principal")
    if declared == "*":
        return not principal.service
    if not isinstance(declared, Mapping):
        return False
    if principal.service:
        return principal.service in _as_list(declared.get("Service", []))
    for value in _as_list(declared.get("AWS", [])):
        if value == "*" or value == principal.arn or value == principal.account:
            return True
        root = _ACCOUNT_ROOT.match(str(value))
        if root and root.group(1) == principal.account:
            return True
    return False


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    return any(fnmatchcase(action.lower(), str(pattern).lower()) for pattern in _as_list(statement.get("Action", [])))


_OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringLike": lambda actual, expected: fnmatchcase(actual, expected),
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": lambda actual, expected: fnmatchcase(actual, expected),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> tuple[bool, str]:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    actual = next((value for name, value in context.items() if name.lower() == key.lower()), None)
    if actual is None:
        if if_exists or base in _NEGATED:
            return True, ""
        return False, f"{key} is absent ({operator})"
    positive = _NEGATED.get(base, base)
    if positive not in _OPERATORS:
        return False, f"condition operator {operator} is not evaluated by the emulator"
    hit = any(_OPERATORS[positive](actual, str(value)) for value in _as_list(expected))
    if base in _NEGATED:
        hit = not hit
    return hit, "" if hit else f"{key} = {actual!r} does not satisfy {operator} {expected!r}"


def _conditions_hold(statement: Mapping[str, Any], context: Mapping[str, str]) -> tuple[bool, str]:
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            holds, why = _condition_holds(operator, key, expected, context)
            if not holds:
                return False, why
    return True, ""


def evaluate_trust(
    trust_policy: Mapping[str, Any], *, principal: Principal, context: Mapping[str, str], action: str = "sts:AssumeRole"
) -> Decision:
    """May ``principal`` perform ``action`` on the role, given the request ``context`` keys?"""
    allowed_by = None
    reasons = []
    for statement in _as_list(trust_policy.get("Statement", [])):
        if not _matches_action(statement, action) or not _matches_principal(statement, principal):
            continue
        holds, why = _conditions_hold(statement, context)
        if statement.get("Effect") == "Deny" and holds:
            return Decision(False, f"explicitly denied for {principal}")
        if statement.get("Effect") == "Allow":
            if holds:
                allowed_by = statement
            else:
                reasons.append(why)
    if allowed_by is not None:
        return Decision(True, "allowed")
    return Decision(False, "; ".join(reasons) or f"no statement trusts {principal}")
