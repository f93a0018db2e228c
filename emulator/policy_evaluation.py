"""IAM policy evaluation, as AWS documents it, for every call the emulator authorizes.

moto checks no trust policy (a wrong ExternalId succeeds) and its own identity-policy
enforcement matches actions case-sensitively and ignores resources, so the emulator
evaluates policies itself, following the IAM User Guide:

- "Policy evaluation logic" (docs.aws.amazon.com/IAM/latest/UserGuide/
  reference_policies_evaluation-logic.html): an explicit Deny in any policy wins; within
  one account, an Allow in the identity policy *or* in a resource policy that names the
  principal (or grants to ``*``) suffices.
- "Cross-account policy evaluation logic" (.../reference_policies_evaluation-logic-cross-account.html):
  across accounts, both the caller's identity policy and the resource owner's resource
  policy must allow; with no resource policy, the call is denied.
- "Policies and permissions in IAM", "Session policies" (.../access_policies.html#policies_session):
  a role session made with session policies may do only what both the role's identity-based
  policies (or a resource policy naming the role) and a session policy allow; an explicit
  Deny in a session policy denies; a resource policy naming the session's own ARN is not
  limited by them.
- "Key policies in AWS KMS" (docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)
  and "Modifying a role trust policy" (IAM): for a KMS key and a role's trust, the resource
  policy must allow; when it names the account (``arn:aws:iam::<account>:root``) rather
  than the principal, the identity policy must allow too.
- "IAM JSON policy elements: Resource" (.../reference_policies_elements_resource.html):
  ``*`` and ``?`` within each colon-separated segment; a ``*`` that ends a segment "can
  expand to match beyond the colon boundaries".
- "IAM JSON policy elements: Condition operators" (.../reference_policies_elements_condition_operators.html):
  String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Arn*, ...IfExists,
  Null, with the ForAllValues:/ForAnyValue: set operators ("Single-valued vs. multivalued
  context keys"), and policy variables ("IAM policy elements: Variables and tags").

What the emulator cannot evaluate (an operator it does not know, a value it cannot parse, a
key that AWS may carry but the emulator does not model: ``request_context.absence_is_known``)
is *unknown*, and fails closed: a Deny whose statement may apply denies, an Allow that may
not apply does not allow. Conditions combine in three-valued logic: one condition that is
certainly false makes the statement not apply, whatever the unknown ones would say.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import ipaddress
import json
import operator as ordering_operators
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.request_context import Context, absence_is_known

_ACCOUNT_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")

# True, False, or None: the emulator cannot tell what AWS would decide.
Tri = bool | None


def _all(values: Iterable[Tri]) -> Tri:
    """Kleene AND: false if any is false, else unknown if any is unknown."""
    result: Tri = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _not(value: Tri) -> Tri:
    return None if value is None else not value


def _any(values: Iterable[Tri]) -> Tri:
    """Kleene OR: true if any is true, else unknown if any is unknown (not all of the negations)."""
    return _not(_all(_not(value) for value in values))


@dataclass(frozen=True)
class Principal:
    """Who asks: an IAM role or user (``arn``) of ``account``, or an AWS service.

    A role session also has its own ARN (``arn:aws:sts::<account>:assumed-role/<role>/<session>``)
    and, if it was made with any, its session policies (IAM User Guide, "Policies and
    permissions in IAM", "Session policies"): the JSON documents of the ``Policy`` and
    ``PolicyArns`` of its sts:AssumeRole. ``None`` means none were passed, so nothing limits
    the role's permissions; an empty tuple means they were passed and allow nothing.
    """

    account: str = ""
    arn: str = ""
    service: str = ""
    session_arn: str = ""
    session_policies: tuple[str, ...] | None = None

    def __str__(self) -> str:
        return self.service or self.arn


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- matching -----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool = False, star: str = ".*", any_char: str = ".") -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one; nothing else is special
    (unlike ``fnmatch``, ``[`` and ``]`` are literal)."""
    parts = re.split(r"([*?])", pattern)
    regex = "".join(star if part == "*" else any_char if part == "?" else re.escape(part) for part in parts)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return wildcard_match(str(pattern), action, ignore_case=True)


@functools.lru_cache(maxsize=4096)
def _resource_pattern(pattern: str) -> re.Pattern[str]:
    # Within a segment, `*` and `?` stay between colons, but a `*` that ends a segment "can
    # expand to match beyond the colon boundaries" (IAM JSON policy elements: Resource).
    segments = []
    for segment in pattern.split(":"):
        body = _wildcard(segment[:-1] if segment.endswith("*") else segment, star="[^:]*", any_char="[^:]").pattern
        segments.append(body + (".*" if segment.endswith("*") else ""))
    return re.compile(":".join(segments), re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """A ``Resource``/``NotResource`` entry against a resource ARN: ``*`` alone matches
    anything; otherwise segment by segment, a ``*`` that ends a segment reaching past colons."""
    pattern = str(pattern)
    if pattern == "*":
        return True
    if not pattern.startswith("arn:") or not arn.startswith("arn:"):
        return wildcard_match(pattern, arn)
    return _resource_pattern(pattern).fullmatch(arn) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: "Each of the six colon-delimited components of the ARN is checked
    separately" (the sixth, the resource, is the rest, colons included); a value that is
    not an ARN of six components does not match."""
    wanted, actual = str(pattern).split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(wildcard_match(w, a) for w, a in zip(wanted, actual, strict=True))


def _principal_matches(declared: Any, principal: Principal) -> bool:
    if declared == "*":
        return not principal.service
    if not isinstance(declared, Mapping):
        return False
    if principal.service:
        return principal.service in as_list(declared.get("Service", []))
    for value in as_list(declared.get("AWS", [])):
        if value == "*" or value == principal.arn or value == principal.account or names_session(value, principal):
            return True
        root = _ACCOUNT_ROOT.match(str(value))
        if root and root.group(1) == principal.account:
            return True
    return False


def names_session(value: Any, principal: Principal) -> bool:
    """``value`` is the ARN of the caller's own role session (a "role session principal",
    IAM User Guide, "AWS JSON policy elements: Principal")."""
    return bool(principal.session_arn) and str(value) == principal.session_arn


def names_principal_itself(declared: Any, principal: Principal) -> bool:
    """The statement names this role or user, or this role session, by ARN (not its account, not ``*``)."""
    if not isinstance(declared, Mapping):
        return False
    named = [str(value) for value in as_list(declared.get("AWS", []))]
    return principal.arn in named or any(names_session(value, principal) for value in named)


def grants_everyone(declared: Any) -> bool:
    """``"Principal": "*"`` or ``{"AWS": "*"}``: anyone, the caller included."""
    return declared == "*" or (isinstance(declared, Mapping) and "*" in [str(value) for value in as_list(declared.get("AWS", []))])


# --- condition operators ----------------------------------------------------------------

Compare = Callable[[str, str], Tri]  # (the request's value, the policy's value) -> match?


def _numeric(operation: Callable[[float, float], bool]) -> Compare:
    def compare(actual: str, expected: str) -> Tri:
        try:
            return operation(float(actual), float(expected))
        except ValueError:
            return None

    return compare


# "W3C implementations of the ISO 8601 date formats" (YYYY, YYYY-MM, YYYY-MM-DD,
# YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD, YYYY-MM-DDThh:mm:ss.sTZD) "or in epoch
# (UNIX) time".
_W3C_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$", re.IGNORECASE
)
_EPOCH = re.compile(r"^-?\d+(?:\.\d+)?$")
_YEAR = re.compile(r"^\d{4}$")  # four digits: a W3C year, not an epoch time (a guess)


def parse_instant(text: str) -> datetime.datetime | None:
    """A date/time condition value or key value, as an aware instant; None if it is neither
    form. A time without a zone is taken as UTC (a guess: the page does not say)."""
    text = text.strip()
    if _EPOCH.match(text) and not _YEAR.match(text):
        try:
            return datetime.datetime.fromtimestamp(float(text), datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    found = _W3C_DATE.match(text)
    if not found:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = datetime.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=datetime.UTC,
        )
    except ValueError:
        return None
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment -= sign * offset
    return moment


def _date(operation: Callable[[datetime.datetime, datetime.datetime], bool]) -> Compare:
    def compare(actual: str, expected: str) -> Tri:
        when, bound = parse_instant(actual), parse_instant(expected)
        return None if when is None or bound is None else operation(when, bound)

    return compare


def _decode_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary_equals(actual: str, expected: str) -> Tri:
    # "It compares the value of the specified key byte for byte against a base-64 encoded
    # representation of the binary value in the policy." The context carries binary values
    # base-64 encoded too (request_context).
    wanted, got = _decode_base64(expected), _decode_base64(actual)
    return None if wanted is None or got is None else wanted == got


def _ip_address(actual: str, expected: str) -> Tri:
    # "The value must be in the standard CIDR format ... If you specify an IP address without
    # the associated routing prefix, IAM uses the default prefix value of /32."
    try:
        network = ipaddress.ip_network(expected.strip(), strict=False)
        address = ipaddress.ip_address(actual.strip())
    except ValueError:
        return None
    return address.version == network.version and address in network


def _bool(actual: str, expected: str) -> Tri:
    if expected.lower() not in ("true", "false"):
        return None
    return actual.lower() == expected.lower()


@dataclass(frozen=True)
class _Operator:
    compare: Compare
    negated: bool = False
    variables: bool = False  # the page: "You can use a policy variable with the ... operator"


def _operators() -> dict[str, _Operator]:
    equals: Compare = lambda actual, expected: actual == expected  # noqa: E731
    ignore_case: Compare = lambda actual, expected: actual.lower() == expected.lower()  # noqa: E731
    like: Compare = lambda actual, expected: wildcard_match(expected, actual)  # noqa: E731
    arn: Compare = lambda actual, expected: arn_like(expected, actual)  # noqa: E731
    # The orderings Numeric* and Date* share, by their operators' suffixes.
    orderings = {
        "Equals": ordering_operators.eq,
        "LessThan": ordering_operators.lt,
        "LessThanEquals": ordering_operators.le,
        "GreaterThan": ordering_operators.gt,
        "GreaterThanEquals": ordering_operators.ge,
    }
    numeric = {suffix: _numeric(ordering) for suffix, ordering in orderings.items()}
    dates = {suffix: _date(ordering) for suffix, ordering in orderings.items()}
    table = {
        "StringEquals": _Operator(equals, variables=True),
        "StringNotEquals": _Operator(equals, negated=True, variables=True),
        "StringEqualsIgnoreCase": _Operator(ignore_case, variables=True),
        "StringNotEqualsIgnoreCase": _Operator(ignore_case, negated=True, variables=True),
        "StringLike": _Operator(like, variables=True),
        "StringNotLike": _Operator(like, negated=True, variables=True),
        "NumericNotEquals": _Operator(numeric["Equals"], negated=True),
        "DateNotEquals": _Operator(dates["Equals"], negated=True),
        "Bool": _Operator(_bool, variables=True),
        "BinaryEquals": _Operator(_binary_equals),
        "IpAddress": _Operator(_ip_address),
        "NotIpAddress": _Operator(_ip_address, negated=True),
        # "The ArnEquals and ArnLike condition operators behave identically."
        "ArnEquals": _Operator(arn, variables=True),
        "ArnLike": _Operator(arn, variables=True),
        "ArnNotEquals": _Operator(arn, negated=True, variables=True),
        "ArnNotLike": _Operator(arn, negated=True, variables=True),
    }
    table |= {f"Numeric{name}": _Operator(compare) for name, compare in numeric.items()}
    table |= {f"Date{name}": _Operator(compare) for name, compare in dates.items()}
    return table


OPERATORS: dict[str, _Operator] = _operators()
SET_OPERATORS = ("ForAllValues", "ForAnyValue")


# --- policy variables ("IAM policy elements: Variables and tags") -----------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _context_value(context: Context, key: str) -> list[str] | None:
    """The key's values (keys ignore case): None when it is absent, [] for an empty set."""
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else [str(item) for item in value]
    return None


@dataclass(frozen=True)
class _Resolved:
    """A policy value with its variables replaced; ``text`` None when it can match nothing
    (a known-absent key without a default), ``unknown`` when the emulator cannot tell."""

    text: str | None
    unknown: str = ""


def _substitute(value: str, context: Context, carried: Sequence[str]) -> _Resolved:
    # "${key}" is replaced by the key's value; "${key, 'default'}" by the default when the key
    # is absent; ${*}, ${?} and ${$} stand for the literal characters.
    unknown = ""
    missing = False

    def replace(found: re.Match[str]) -> str:
        nonlocal unknown, missing
        inside = found.group(1)
        if inside in _SPECIAL:
            return _SPECIAL[inside]
        name, _, default = inside.partition(",")
        name, default = name.strip(), default.strip()
        values = _context_value(context, name)
        if values and len(values) == 1:
            return values[0]
        if values:
            unknown = f"policy variable ${{{name}}} names a multivalued key"
        elif values is None and not absence_is_known(name, carried):
            unknown = f"policy variable ${{{name}}}: the emulator does not know whether a call carries it"
        elif default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return default[1:-1]
        else:
            missing = True
        return ""

    text = _VARIABLE.sub(replace, value)
    if unknown:
        return _Resolved(None, unknown)
    return _Resolved(None if missing else text)


def _policy_values(expected: Any) -> list[str]:
    return [str(value).lower() if isinstance(value, bool) else str(value) for value in as_list(expected)]


def _condition_holds(
    operator: str, key: str, expected: Any, context: Context, *, variables: bool = True, carried: Sequence[str] = ()
) -> tuple[Tri, str]:
    set_operator, _, name = operator.rpartition(":")
    if set_operator and set_operator not in SET_OPERATORS:
        return None, f"condition operator {operator} is not evaluated by the emulator"
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    values = _context_value(context, key)
    # An empty set is treated as an absent key ("If the key values in the request resolve to
    # an empty data set ..., ForAllValues returns true, and ForAnyValue returns false").
    actual = values or None
    known = values is not None or absence_is_known(key, carried)
    wanted = _policy_values(expected)
    if not known:
        return None, f"{key} is not in the request context and the emulator does not know whether AWS would carry it ({operator})"
    if base == "Null":
        # "use either true (the key doesn't exist — it is null) or false (the key exists and
        # its value is not null)"; no IfExists, no set operator.
        if if_exists or set_operator or any(value.lower() not in ("true", "false") for value in wanted):
            return None, f"condition operator {operator} {expected!r} is not evaluated by the emulator"
        null = any((actual is None) == (value.lower() == "true") for value in wanted)
        return null, "" if null else f"{key} is {'absent' if actual is None else 'present'} (Null {expected!r})"
    spec = OPERATORS.get(base)
    if spec is None:
        return None, f"condition operator {operator} is not evaluated by the emulator"
    if actual is None:
        # "If the key ... is not present in the request context, the values do not match and
        # the condition is false. If the policy condition requires that the key is not
        # matched ... the condition is true. This logic applies to all condition operators
        # except ...IfExists and Null check." The set operators come first: on an empty or
        # absent set, ForAllValues is true and ForAnyValue false, negated or not.
        if if_exists or set_operator == "ForAllValues":
            return True, ""
        absent_holds = spec.negated and set_operator != "ForAnyValue"
        return absent_holds, "" if absent_holds else f"{key} is absent ({operator})"
    if spec.variables and variables and any("${" in value for value in wanted):
        resolved = [_substitute(value, context, carried) for value in wanted]
        unknown = next((item.unknown for item in resolved if item.unknown), "")
        if unknown:
            return None, unknown
        wanted = [item.text for item in resolved if item.text is not None]

    def one(value: str) -> Tri:
        hit = _any(spec.compare(value, expectation) for expectation in wanted)
        return hit if not spec.negated or hit is None else not hit

    results = [one(value) for value in actual]
    holds = _all(results) if set_operator == "ForAllValues" else _any(results)
    if holds is None:
        return (
            None,
            f"{key} = {actual[0] if len(actual) == 1 else actual!r} cannot be compared with {operator} {expected!r} by the emulator",
        )
    return holds, "" if holds else f"{key} = {actual[0] if len(actual) == 1 else actual!r} does not satisfy {operator} {expected!r}"


def evaluate_conditions(
    statement: Mapping[str, Any], context: Context, *, variables: bool = True, carried: Sequence[str] = ()
) -> tuple[Tri, str]:
    """The statement's Condition block: every operator, every key, must hold (AND); a key's
    several values are alternatives (OR). True, False, or None (cannot be evaluated)."""
    outcome: Tri = True
    reasons: list[str] = []
    condition = statement.get("Condition") or {}
    if not isinstance(condition, Mapping):
        return None, "the Condition element is not an object"
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            return None, f"condition operator {operator} has no key block"
        for key, expected in block.items():
            holds, why = _condition_holds(str(operator), str(key), expected, context, variables=variables, carried=carried)
            if holds is False:
                return False, why
            if holds is None:
                outcome = None
                reasons.append(why)
    return outcome, "; ".join(reasons)


def conditions_hold(statement: Mapping[str, Any], context: Context) -> tuple[bool, str]:
    """Do the statement's conditions certainly hold? (An unknown is not a yes.)"""
    holds, why = evaluate_conditions(statement, context)
    return holds is True, why


# --- one policy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What is asked: ``action`` on ``resource`` (an ARN, or ``*`` for actions that name
    none), with the request's condition keys. ``carried``: patterns of keys this request's
    context holds whenever AWS would (their absence is known, request_context)."""

    principal: Principal
    action: str
    resource: str
    context: Context = field(default_factory=dict)
    carried: tuple[str, ...] = ()


Effect = Literal["Allow", "Deny"]


@dataclass(frozen=True)
class PolicyResult:
    denied: bool = False
    allowed: bool = False
    allowed_principal_itself: bool = False  # a resource policy that names the caller by ARN, or grants to "*"
    allowed_session_itself: bool = False  # a resource policy that names the caller's role session by its session ARN
    reasons: tuple[str, ...] = ()
    denied_unknowingly: bool = False  # the Deny may not apply on AWS: it denies because the emulator cannot tell


def _resources_match(patterns: Any, request: Request, *, variables: bool) -> Tri:
    results: list[Tri] = []
    for pattern in as_list(patterns):
        pattern = str(pattern)
        if variables and "${" in pattern:
            resolved = _substitute(pattern, request.context, request.carried)
            if resolved.unknown:
                results.append(None)
                continue
            if resolved.text is None:
                results.append(False)
                continue
            pattern = resolved.text
        results.append(arn_matches(pattern, request.resource))
    return _any(results)


def _statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool, variables: bool = True) -> Tri:
    if "NotAction" in statement:
        if any(action_matches(pattern, request.action) for pattern in as_list(statement["NotAction"])):
            return False
    elif not any(action_matches(pattern, request.action) for pattern in as_list(statement.get("Action", []))):
        return False
    resources: Tri = True
    if "NotResource" in statement:
        matched = _resources_match(statement["NotResource"], request, variables=variables)
        resources = None if matched is None else not matched
    elif "Resource" in statement:
        resources = _resources_match(statement["Resource"], request, variables=variables)
    elif not resource_policy:
        return False  # an identity statement without Resource is invalid: it grants nothing
    if resources is False:
        return False
    if resource_policy:
        if "NotPrincipal" in statement:
            principal = not _principal_matches(statement["NotPrincipal"], request.principal)
        else:
            principal = _principal_matches(statement.get("Principal"), request.principal)
        if not principal:
            return False
    return resources


def evaluate_policy(policy: Mapping[str, Any] | None, request: Request, *, resource_policy: bool = False) -> PolicyResult:
    """What one policy says about ``request``: denied, allowed, or nothing. A Deny that the
    emulator cannot rule out denies; an Allow it cannot confirm does not allow."""
    if not policy:
        return PolicyResult()
    # Policy variables are replaced in policies of version 2012-10-17 only ("IAM JSON policy
    # elements: Version": with 2008-10-17, "${aws:username}" is a literal string).
    variables = policy.get("Version") == "2012-10-17"
    allowed = itself = session_itself = False
    reasons: list[str] = []
    for statement in as_list(policy.get("Statement", [])):
        if not isinstance(statement, Mapping):
            continue
        applies = _statement_applies(statement, request, resource_policy=resource_policy, variables=variables)
        if applies is False:
            continue
        holds, why = evaluate_conditions(statement, request.context, variables=variables, carried=request.carried)
        verdict = _all([applies, holds])
        effect = statement.get("Effect")
        sid = statement.get("Sid") or "(no Sid)"
        if effect == "Deny" and verdict is not False:
            if verdict is None:
                what = why or "its Resource uses a policy variable the emulator cannot resolve"
                return PolicyResult(
                    denied=True,
                    denied_unknowingly=True,
                    reasons=(f"denied by statement {sid}: the emulator cannot evaluate it, so it fails closed ({what})",),
                )
            return PolicyResult(denied=True, reasons=(f"explicitly denied by statement {sid}",))
        if verdict is not True:
            reasons.append(why or f"statement {sid}: its Resource uses a policy variable the emulator cannot resolve")
            continue
        if effect == "Allow":
            allowed = True
            declared = statement.get("Principal")
            itself = itself or (resource_policy and (names_principal_itself(declared, request.principal) or grants_everyone(declared)))
            session_itself = session_itself or (
                resource_policy
                and isinstance(declared, Mapping)
                and any(names_session(value, request.principal) for value in as_list(declared.get("AWS", [])))
            )
    return PolicyResult(allowed=allowed, allowed_principal_itself=itself, allowed_session_itself=session_itself, reasons=tuple(reasons))


# --- the decision -----------------------------------------------------------------------

ResourcePolicyRule = Literal["optional", "required"]


@functools.lru_cache(maxsize=1024)
def _session_policy(document: str) -> Mapping[str, Any] | None:
    """A session policy's JSON, parsed once. One that does not parse as an object allows
    nothing (sts:AssumeRole refuses such a ``Policy``: this only fails closed)."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def authorize(
    request: Request,
    *,
    identity_policies: Sequence[Mapping[str, Any]],
    resource_account: str,
    resource_policy: Mapping[str, Any] | None = None,
    resource_policy_rule: ResourcePolicyRule = "optional",
) -> Decision:
    """IAM's decision for a role or user. ``resource_policy_rule`` is "required" for KMS key
    policies and role trust policies: they must allow, whatever the identity policy says.
    A role session's session policies (``Principal.session_policies``) limit the result."""
    identity = [evaluate_policy(policy, request) for policy in identity_policies]
    session = [evaluate_policy(_session_policy(document), request) for document in request.principal.session_policies or ()]
    resource = evaluate_policy(resource_policy, request, resource_policy=True)
    for result in [*identity, *session, resource]:
        if result.denied:
            return Decision(False, result.reasons[0])
    if request.principal.service:
        # A service principal has no identity-based policy: the resource-based policy that
        # names it decides (IAM User Guide, "AWS service principals": "you grant permissions
        # to a service principal in a resource-based policy").
        if resource.allowed:
            return Decision(True, "allowed by the resource policy")
        return Decision(False, "; ".join(resource.reasons) or f"no statement of the resource-based policy allows {request.principal}")
    decision = _identity_and_resource(request, identity, resource, resource_account, resource_policy, resource_policy_rule)
    if not decision.allowed or request.principal.session_policies is None:
        return decision
    # STS API Reference, AssumeRole, Policy: "The resulting session's permissions are the
    # intersection of the role's identity-based policy and the session policies". IAM User
    # Guide, "Policies and permissions in IAM", "Session policies": a resource-based policy
    # that names the role (or its account) was added to the role's permissions "before the
    # session is created" and is limited too; only one that names the session's own ARN is
    # "added after the session policy is applied". Across accounts the caller's own side
    # (its identity-based policies, which the session policies limit) must allow whatever
    # the resource policy names ("Cross-account policy evaluation logic"), so the
    # session-named exception is same-account only.
    if any(result.allowed for result in session):
        return decision
    if resource.allowed_session_itself and request.principal.account == resource_account:
        return Decision(True, "allowed by the resource policy, which names the session")
    reasons = [r for result in session for r in result.reasons]
    return Decision(False, "; ".join(reasons) or "no session policy allows it")


def _identity_and_resource(
    request: Request,
    identity: Sequence[PolicyResult],
    resource: PolicyResult,
    resource_account: str,
    resource_policy: Mapping[str, Any] | None,
    resource_policy_rule: ResourcePolicyRule,
) -> Decision:
    """The decision of a role's or user's identity-based policies and the resource's policy
    (no explicit Deny among them): "Policy evaluation logic", "Cross-account policy evaluation logic"."""
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
    if identity_allows:
        return Decision(True, "allowed")
    if resource.allowed_principal_itself:
        return Decision(True, "allowed by the resource policy")
    reasons = [r for result in [*identity, resource] for r in result.reasons]
    return Decision(False, "; ".join(reasons) or "no identity-based policy allows it")


def evaluate_trust(
    trust_policy: Mapping[str, Any], *, principal: Principal, context: Context, action: str = "sts:AssumeRole", carried: Sequence[str] = ()
) -> Decision:
    """Does the role's trust policy let ``principal`` perform ``action`` (the trust alone;
    ``authorize`` adds the caller's identity policy)?"""
    result = evaluate_policy(trust_policy, Request(principal, action, "*", context, tuple(carried)), resource_policy=True)
    if result.denied:
        return Decision(False, result.reasons[0] if result.denied_unknowingly else f"explicitly denied for {principal}")
    if result.allowed:
        return Decision(True, "allowed")
    return Decision(False, "; ".join(result.reasons) or f"no statement trusts {principal}")
