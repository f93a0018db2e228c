"""IAM policy evaluation, as AWS documents it, for every call the emulator authorizes.

moto checks no trust policy (a wrong ExternalId succeeds) and its own identity-policy
enforcement matches actions case-sensitively and ignores resources, so the emulator
evaluates policies itself, following the IAM User Guide:

- "Policy evaluation logic" (docs.aws.amazon.com/IAM/latest/UserGuide/
  reference_policies_evaluation-logic.html): an explicit Deny in any policy wins; within
  one account, an Allow in the identity policy *or* in a resource policy that names the
  principal suffices.
- "Cross-account policy evaluation logic" (.../reference_policies_evaluation-logic-cross-account.html):
  across accounts, both the caller's identity policy and the resource owner's resource
  policy must allow; with no resource policy, the call is denied.
- "Key policies in AWS KMS" (docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)
  and "Modifying a role trust policy" (IAM): for a KMS key and a role's trust, the resource
  policy must allow; when it names the account (``arn:aws:iam::<account>:root``) rather
  than the principal, the identity policy must allow too.
- "IAM JSON policy elements: Condition operators" (.../reference_policies_elements_condition_operators.html):
  String*, Arn*, Numeric*, Bool, Null, ...IfExists, ForAnyValue:/ForAllValues:.

Actions match case-insensitively, resources and ARNs per colon-separated segment with
``*`` and ``?``. An operator the emulator does not evaluate (Date*, IpAddress, Binary)
makes its statement fail closed, with a reason that says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

_ACCOUNT_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]


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


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- matching -----------------------------------------------------------------------


def action_matches(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), str(pattern).lower())


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN match: ``*`` alone matches anything; otherwise each of the six
    colon-separated segments is matched on its own, the last one holding the rest."""
    pattern = str(pattern)
    if pattern == "*":
        return True
    if not pattern.startswith("arn:") or not arn.startswith("arn:"):
        return fnmatchcase(arn, pattern)
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(fnmatchcase(a, w) for w, a in zip(wanted, actual, strict=True))


def _principal_matches(declared: Any, principal: Principal) -> bool:
    if declared == "*":
        return not principal.service
    if not isinstance(declared, Mapping):
        return False
    if principal.service:
        return principal.service in as_list(declared.get("Service", []))
    for value in as_list(declared.get("AWS", [])):
        if value == "*" or value == principal.arn or value == principal.account:
            return True
        root = _ACCOUNT_ROOT.match(str(value))
        if root and root.group(1) == principal.account:
            return True
    return False


def names_principal_itself(declared: Any, principal: Principal) -> bool:
    """The statement names this role or user by ARN (not its account, not ``*``)."""
    return isinstance(declared, Mapping) and principal.arn in [str(value) for value in as_list(declared.get("AWS", []))]


# --- conditions -----------------------------------------------------------------------


def _numeric(operation: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, expected: str) -> bool:
        try:
            return operation(float(actual), float(expected))
        except ValueError:
            return False

    return compare


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": lambda actual, expected: fnmatchcase(actual, expected),
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": lambda actual, expected: arn_matches(expected, actual),
    "NumericEquals": _numeric(lambda a, e: a == e),
    "NumericLessThan": _numeric(lambda a, e: a < e),
    "NumericLessThanEquals": _numeric(lambda a, e: a <= e),
    "NumericGreaterThan": _numeric(lambda a, e: a > e),
    "NumericGreaterThanEquals": _numeric(lambda a, e: a >= e),
    "Bool": lambda actual, expected: actual.lower() == expected.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _context_value(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else [str(item) for item in value]
    return None


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> tuple[bool, str]:
    set_operator, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    actual = _context_value(context, key)
    wanted = [str(value) for value in as_list(expected)]
    if base == "Null":
        holds = (actual is None) == (wanted[0].lower() == "true")
        return holds, "" if holds else f"{key} is {'absent' if actual is None else 'present'} (Null {expected!r})"
    if actual is None:
        # A missing key: ...IfExists and negated operators hold, ForAllValues holds (empty set).
        if if_exists or base in _NEGATED or set_operator == "ForAllValues":
            return True, ""
        return False, f"{key} is absent ({operator})"
    positive = _NEGATED.get(base, base)
    if positive not in _OPERATORS:
        return False, f"condition operator {operator} is not evaluated by the emulator"
    compare = _OPERATORS[positive]

    def one(value: str) -> bool:
        hit = any(compare(value, expectation) for expectation in wanted)
        return not hit if base in _NEGATED else hit

    holds = all(one(value) for value in actual) if set_operator == "ForAllValues" else any(one(value) for value in actual)
    return holds, "" if holds else f"{key} = {actual[0] if len(actual) == 1 else actual!r} does not satisfy {operator} {expected!r}"


def conditions_hold(statement: Mapping[str, Any], context: Context) -> tuple[bool, str]:
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            holds, why = _condition_holds(operator, key, expected, context)
            if not holds:
                return False, why
    return True, ""


# --- one policy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What is asked: ``action`` on ``resource`` (an ARN, or ``*`` for actions that name
    none), with the request's condition keys."""

    principal: Principal
    action: str
    resource: str
    context: Context = field(default_factory=dict)


Effect = Literal["Allow", "Deny"]


@dataclass(frozen=True)
class PolicyResult:
    denied: bool = False
    allowed: bool = False
    allowed_principal_itself: bool = False  # a resource policy that names the caller by ARN
    reasons: tuple[str, ...] = ()


def _statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    if "NotAction" in statement:
        if any(action_matches(pattern, request.action) for pattern in as_list(statement["NotAction"])):
            return False
    elif not any(action_matches(pattern, request.action) for pattern in as_list(statement.get("Action", []))):
        return False
    if "NotResource" in statement:
        if any(arn_matches(pattern, request.resource) for pattern in as_list(statement["NotResource"])):
            return False
    elif "Resource" in statement:
        if not any(arn_matches(pattern, request.resource) for pattern in as_list(statement["Resource"])):
            return False
    elif not resource_policy:
        return False  # an identity statement without Resource is invalid: it grants nothing
    if resource_policy:
        if "NotPrincipal" in statement:
            return not _principal_matches(statement["NotPrincipal"], request.principal)
        return _principal_matches(statement.get("Principal"), request.principal)
    return True


def evaluate_policy(policy: Mapping[str, Any] | None, request: Request, *, resource_policy: bool = False) -> PolicyResult:
    """What one policy says about ``request``: denied, allowed, or nothing."""
    if not policy:
        return PolicyResult()
    allowed = itself = False
    reasons: list[str] = []
    for statement in as_list(policy.get("Statement", [])):
        if not isinstance(statement, Mapping) or not _statement_applies(statement, request, resource_policy=resource_policy):
            continue
        holds, why = conditions_hold(statement, request.context)
        if not holds:
            reasons.append(why)
            continue
        if statement.get("Effect") == "Deny":
            return PolicyResult(denied=True, reasons=(f"explicitly denied by statement {statement.get('Sid') or '(no Sid)'}",))
        if statement.get("Effect") == "Allow":
            allowed = True
            itself = itself or (resource_policy and names_principal_itself(statement.get("Principal"), request.principal))
    return PolicyResult(allowed=allowed, allowed_principal_itself=itself, reasons=tuple(reasons))


# --- the decision -----------------------------------------------------------------------

ResourcePolicyRule = Literal["optional", "required"]


def authorize(
    request: Request,
    *,
    identity_policies: Sequence[Mapping[str, Any]],
    resource_account: str,
    resource_policy: Mapping[str, Any] | None = None,
    resource_policy_rule: ResourcePolicyRule = "optional",
) -> Decision:
    """IAM's decision for a role or user. ``resource_policy_rule`` is "required" for KMS key
    policies and role trust policies: they must allow, whatever the identity policy says."""
    identity = [evaluate_policy(policy, request) for policy in identity_policies]
    resource = evaluate_policy(resource_policy, request, resource_policy=True)
    for result in [*identity, resource]:
        if result.denied:
            return Decision(False, result.reasons[0])
    identity_allows = any(result.allowed for result in identity)
    same_account = request.principal.account == resource_account
    if resource_policy_rule == "required" or not same_account:
        if not resource.allowed:
            if resource.reasons:
                return Decision(False, "; ".join(resource.reasons))
            if resource_policy is None:
                return Decision(False, f"no resource-based policy of account {resource_account} allows it")
            return Decision(False, f"no statement of the resource-based policy allows {request.principal}")
        if resource.allowed_principal_itself and same_account:
            return Decision(True, "allowed by the resource policy")
        if identity_allows:
            return Decision(True, "allowed")
        return Decision(False, "; ".join(r for result in identity for r in result.reasons) or "no identity-based policy allows it")
    if identity_allows or resource.allowed_principal_itself:
        return Decision(True, "allowed")
    reasons = [r for result in [*identity, resource] for r in result.reasons]
    return Decision(False, "; ".join(reasons) or "no identity-based policy allows it")


def evaluate_trust(trust_policy: Mapping[str, Any], *, principal: Principal, context: Context, action: str = "sts:AssumeRole") -> Decision:
    """Does the role's trust policy let ``principal`` perform ``action`` (the trust alone;
    ``authorize`` adds the caller's identity policy)?"""
    result = evaluate_policy(trust_policy, Request(principal, action, "*", context), resource_policy=True)
    if result.denied:
        return Decision(False, f"explicitly denied for {principal}")
    if result.allowed:
        return Decision(True, "allowed")
    return Decision(False, "; ".join(result.reasons) or f"no statement trusts {principal}")
