"""Policy evaluation: trust policies (principals, conditions, denies, failing closed), identity
and resource policies, same-account and cross-account."""

from __future__ import annotations

import pytest

from emulator.policy_evaluation import Principal, evaluate_trust

ROLE = Principal(account="111111111111", arn="arn:aws:iam::111111111111:role/TrustedAccountRl-dev")
STATES = Principal(service="states.amazonaws.com")


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: dict | str, condition: dict | None = None, action: str | list[str] = "sts:AssumeRole") -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    return statement | ({"Condition": condition} if condition else {})


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": ROLE.arn},
        {"AWS": [ROLE.arn, "arn:aws:iam::999999999999:root"]},
        {"AWS": "arn:aws:iam::111111111111:root"},
        {"AWS": "111111111111"},
        "*",
    ],
)
def test_matching_aws_principals(principal):
    assert evaluate_trust(policy(allow(principal)), principal=ROLE, context={}).allowed


@pytest.mark.parametrize(
    "principal", [{"AWS": "arn:aws:iam::111111111111:role/other"}, {"AWS": "222222222222"}, {"Service": "states.amazonaws.com"}]
)
def test_other_principals_do_not_match(principal):
    assert not evaluate_trust(policy(allow(principal)), principal=ROLE, context={}).allowed


def test_service_principals_match_by_name():
    trust = policy(allow({"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}))
    assert evaluate_trust(trust, principal=STATES, context={}).allowed
    assert not evaluate_trust(policy(allow("*")), principal=STATES, context={}).allowed


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"sts:ExternalId": "x"}}, {"sts:ExternalId": "x"}, True),
        ({"StringEquals": {"sts:ExternalId": "x"}}, {"sts:ExternalId": "y"}, False),
        ({"StringEquals": {"sts:ExternalId": "x"}}, {}, False),
        ({"StringEquals": {"STS:externalid": "x"}}, {"sts:ExternalId": "x"}, True),  # keys ignore case
        ({"StringEquals": {"sts:ExternalId": ["a", "x"]}}, {"sts:ExternalId": "x"}, True),
        (
            {"StringLike": {"sts:ExternalId": "arn:aws:states:*:111111111111:*"}},
            {"sts:ExternalId": "arn:aws:states:us-east-1:111111111111:x"},
            True,
        ),
        (
            {"StringLike": {"sts:ExternalId": "arn:aws:states:*:222222222222:*"}},
            {"sts:ExternalId": "arn:aws:states:us-east-1:111111111111:x"},
            False,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:states:us-east-1:1:stateMachine:a"}},
            {"aws:SourceArn": "arn:aws:states:us-east-1:1:stateMachine:a"},
            True,
        ),
        ({"StringNotEquals": {"sts:ExternalId": "x"}}, {"sts:ExternalId": "x"}, False),
        ({"StringEqualsIfExists": {"sts:ExternalId": "x"}}, {}, True),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "10"}, True),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "7200"}, False),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-11-28T00:00:00Z"},
            True,
        ),  # Date* is evaluated (it failed closed before)
    ],
)
def test_conditions(condition, context, allowed):
    assert evaluate_trust(policy(allow({"AWS": ROLE.arn}, condition)), principal=ROLE, context=context).allowed is allowed


def test_a_matching_deny_wins():
    trust = policy(allow({"AWS": ROLE.arn}), {"Effect": "Deny", "Principal": {"AWS": ROLE.arn}, "Action": "sts:*"})
    decision = evaluate_trust(trust, principal=ROLE, context={})
    assert not decision.allowed and "explicitly denied" in decision.reason


def test_the_action_must_be_assume_role():
    assert not evaluate_trust(policy(allow({"AWS": ROLE.arn}, action="sts:TagSession")), principal=ROLE, context={}).allowed
    assert evaluate_trust(policy(allow({"AWS": ROLE.arn}, action=["sts:TagSession", "STS:AssumeRole"])), principal=ROLE, context={}).allowed


# --- identity and resource policies (IAM User Guide, "Policy evaluation logic" and
# "Cross-account policy evaluation logic") -------------------------------------------

from emulator.policy_evaluation import Request, arn_matches, authorize  # noqa: E402

SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:app-AbCdEf"
OTHER_ROLE = Principal(account="222222222222", arn="arn:aws:iam::222222222222:role/Reader")


def identity(*statements: dict) -> dict:
    return policy(*statements)


def grant(action: str | list[str], resource: str | list[str], condition: dict | None = None, effect: str = "Allow") -> dict:
    statement = {"Effect": effect, "Action": action, "Resource": resource}
    return statement | ({"Condition": condition} if condition else {})


def test_same_account_identity_policy_alone_allows():
    request = Request(ROLE, "secretsmanager:GetSecretValue", SECRET)
    assert authorize(
        request, identity_policies=[identity(grant("secretsmanager:getsecretvalue", SECRET))], resource_account="111111111111"
    ).allowed
    assert not authorize(
        request, identity_policies=[identity(grant("secretsmanager:DescribeSecret", SECRET))], resource_account="111111111111"
    ).allowed


def test_a_service_principal_is_allowed_by_the_resource_policy_that_names_it():
    """IAM User Guide, "AWS service principals": "you grant permissions to a service principal
    in a resource-based policy". It has no identity-based policy to ask; another service, or
    a statement for someone else, does not let it in; a Deny for it wins."""
    key = "arn:aws:kms:us-east-1:111111111111:key/k"
    logs = Principal(service="delivery.logs.amazonaws.com")
    names_it = policy(
        {"Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "kms:Decrypt*", "Resource": "*"}
    )
    decide = lambda who, key_policy: authorize(  # noqa: E731
        Request(who, "kms:Decrypt", key),
        identity_policies=[],
        resource_account="111111111111",
        resource_policy=key_policy,
        resource_policy_rule="required",
    )
    assert decide(logs, names_it).allowed
    assert not decide(STATES, names_it).allowed
    root_only = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"})
    assert not decide(logs, root_only).allowed
    denied = policy(
        *names_it["Statement"],
        {"Effect": "Deny", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "kms:*", "Resource": "*"},
    )
    assert not decide(logs, denied).allowed


def test_an_explicit_deny_wins_over_any_allow():
    request = Request(ROLE, "secretsmanager:GetSecretValue", SECRET)
    policies = [identity(grant("secretsmanager:*", "*")), identity(grant("secretsmanager:GetSecretValue", SECRET, effect="Deny"))]
    decision = authorize(request, identity_policies=policies, resource_account="111111111111")
    assert not decision.allowed and "explicitly denied" in decision.reason


def test_not_action_and_not_resource():
    request = Request(ROLE, "secretsmanager:GetSecretValue", SECRET)
    everything_but = {"Effect": "Allow", "NotAction": "secretsmanager:GetSecretValue", "Resource": "*"}
    assert not authorize(request, identity_policies=[identity(everything_but)], resource_account="111111111111").allowed
    elsewhere = {"Effect": "Allow", "Action": "*", "NotResource": SECRET}
    assert not authorize(request, identity_policies=[identity(elsewhere)], resource_account="111111111111").allowed


def test_cross_account_needs_the_resource_policy_too():
    request = Request(OTHER_ROLE, "secretsmanager:GetSecretValue", SECRET)
    mine = [identity(grant("secretsmanager:GetSecretValue", SECRET))]
    refused = authorize(request, identity_policies=mine, resource_account="111111111111")
    assert not refused.allowed and "no resource-based policy of account 111111111111" in refused.reason
    theirs = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    assert authorize(request, identity_policies=mine, resource_account="111111111111", resource_policy=theirs).allowed
    assert not authorize(request, identity_policies=[], resource_account="111111111111", resource_policy=theirs).allowed


def test_a_key_policy_must_allow_and_the_account_root_delegates_to_iam():
    key = "arn:aws:kms:us-east-1:111111111111:key/1234"
    request = Request(ROLE, "kms:Decrypt", key, {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"})
    iam_allows = [identity(grant("kms:Decrypt", key, {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}))]
    delegating = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"})
    naming_the_role = policy({"Effect": "Allow", "Principal": {"AWS": ROLE.arn}, "Action": "kms:Decrypt", "Resource": "*"})
    required = {"resource_account": "111111111111", "resource_policy_rule": "required"}
    assert authorize(request, identity_policies=iam_allows, resource_policy=delegating, **required).allowed
    assert not authorize(request, identity_policies=[], resource_policy=delegating, **required).allowed
    assert authorize(request, identity_policies=[], resource_policy=naming_the_role, **required).allowed
    assert not authorize(request, identity_policies=iam_allows, resource_policy=policy(), **required).allowed
    via_dynamodb = Request(ROLE, "kms:Decrypt", key, {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"})
    assert not authorize(via_dynamodb, identity_policies=iam_allows, resource_policy=delegating, **required).allowed


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["b", "c"]}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["b", "c"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": []}, True),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:states:*:111111111111:stateMachine:*"}},
            {"aws:SourceArn": "arn:aws:states:us-east-1:111111111111:stateMachine:x"},
            True,
        ),
    ],
)
def test_condition_operators_on_identity_policies(condition, context, holds):
    request = Request(ROLE, "ssm:GetParameter", "arn:aws:ssm:us-east-1:111111111111:parameter/p", context)
    decision = authorize(request, identity_policies=[identity(grant("ssm:GetParameter", "*", condition))], resource_account="111111111111")
    assert decision.allowed is holds


def test_arn_wildcards_match_within_segments():
    assert arn_matches("arn:aws:states:*:*:execution:Consumer:*", "arn:aws:states:us-east-1:111111111111:execution:Consumer:run-1")
    assert arn_matches("arn:aws:logs:*:*:log-group:*", "arn:aws:logs:us-east-1:111111111111:log-group::log-stream:")
    assert not arn_matches("arn:aws:logs:*:*:log-group:/aws/lambda/*", "arn:aws:logs:us-east-1:111111111111:log-group::log-stream:")
    assert not arn_matches("arn:aws:iam::*:role/*", "arn:aws:iam::111111111111:user/admin")


# --- IAM's whole condition language -------------------------------------------------------
# Each case quotes the sentence of the IAM User Guide it follows. Unless named otherwise, the
# page is "IAM JSON policy elements: Condition operators"
# (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).

from emulator.policy_evaluation import arn_like, evaluate_policy, parse_instant  # noqa: E402

OPERATORS_PAGE = "IAM JSON policy elements: Condition operators"
PARAMETER = "arn:aws:ssm:us-east-1:111111111111:parameter/p"


def decide(effect: str, condition: dict, context: dict, *, carried: tuple[str, ...] = ()) -> bool:
    """Is ssm:GetParameter allowed, with ``condition`` on an Allow (alone) or on a Deny (next to
    an unconditional Allow)?"""
    statements = [grant("ssm:GetParameter", "*", condition)]
    if effect == "Deny":
        statements = [grant("ssm:GetParameter", "*"), grant("ssm:GetParameter", "*", condition, effect="Deny")]
    request = Request(ROLE, "ssm:GetParameter", PARAMETER, context, carried)
    return authorize(request, identity_policies=[identity(*statements)], resource_account="111111111111").allowed


B64 = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="  # the page's example value

# (operator, key, policy value, a request value that matches, one that does not, the page's sentence)
OPERATOR_CASES = [
    (
        "StringEquals",
        "aws:PrincipalTag/job-category",
        "iamuser-admin",
        "iamuser-admin",
        "IAMuser-admin",
        "StringEquals: Exact matching, case sensitive",
    ),
    ("StringNotEquals", "aws:PrincipalTag/job-category", "iamuser-admin", "other", "iamuser-admin", "StringNotEquals: Negated matching"),
    (
        "StringEqualsIgnoreCase",
        "aws:PrincipalTag/job-category",
        "iamuser-admin",
        "IAMUSER-Admin",
        "other",
        "StringEqualsIgnoreCase: Exact matching, ignoring case",
    ),
    (
        "StringNotEqualsIgnoreCase",
        "aws:PrincipalTag/job-category",
        "iamuser-admin",
        "other",
        "IAMUSER-ADMIN",
        "StringNotEqualsIgnoreCase: Negated matching, ignoring case",
    ),
    (
        "StringLike",
        "s3:prefix",
        "home/*/d?cs",
        "home/bob/docs",
        "Home/bob/docs",
        "StringLike: Case-sensitive matching. The values can include multi-character match wildcards (*) and "
        "single-character match wildcards (?) anywhere in the string.",
    ),
    ("StringNotLike", "s3:prefix", "home/*", "public/x", "home/x", "StringNotLike: Negated case-sensitive matching."),
    ("NumericEquals", "s3:max-keys", "10", "10.0", "11", "NumericEquals: Matching"),
    ("NumericNotEquals", "s3:max-keys", "10", "11", "10", "NumericNotEquals: Negated matching"),
    ("NumericLessThan", "s3:max-keys", "10", "9", "10", 'NumericLessThan: "Less than" matching'),
    ("NumericLessThanEquals", "s3:max-keys", "10", "10", "10.5", 'NumericLessThanEquals: "Less than or equals" matching'),
    ("NumericGreaterThan", "s3:max-keys", "10", "10.5", "10", 'NumericGreaterThan: "Greater than" matching'),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "10", "9", 'NumericGreaterThanEquals: "Greater than or equals" matching'),
    (
        "DateEquals",
        "aws:EpochTime",
        "2020-01-01T00:00:00Z",
        "1577836800",
        "1577836801",
        "You must specify date/time values with one of the W3C implementations of the ISO 8601 date formats "
        "or in epoch (UNIX) time. DateEquals: Matching a specific date",
    ),
    (
        "DateNotEquals",
        "aws:CurrentTime",
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:01Z",
        "2020-01-01T01:00:00+01:00",
        "DateNotEquals: Negated matching",
    ),
    (
        "DateLessThan",
        "aws:CurrentTime",
        "2020-06-30T23:59:59Z",
        "2020-06-30T23:59:58Z",
        "2020-06-30T23:59:59Z",
        "DateLessThan: Matching before a specific date and time",
    ),
    (
        "DateLessThanEquals",
        "aws:CurrentTime",
        "2020-06-30",
        "2020-06-30T00:00:00Z",
        "2020-06-30T00:00:01Z",
        "DateLessThanEquals: Matching at or before a specific date and time",
    ),
    (
        "DateGreaterThan",
        "aws:TokenIssueTime",
        "2020-01-01T00:00:01Z",
        "2020-01-01T00:00:02Z",
        "2020-01-01T00:00:01Z",
        "DateGreaterThan: Matching after a specific a date and time",
    ),
    (
        "DateGreaterThanEquals",
        "aws:CurrentTime",
        "1577836800",
        "2020-01-01T00:00:00Z",
        "2019-12-31T23:59:59Z",
        "DateGreaterThanEquals: Matching at or after a specific date and time",
    ),
    (
        "Bool",
        "aws:SecureTransport",
        "false",
        "false",
        "true",
        'Boolean conditions let you construct Condition elements that restrict access based on comparing a key to "true" or "false."',
    ),
    (
        "BinaryEquals",
        "key",
        B64,
        B64,
        "b3RoZXI=",
        "It compares the value of the specified key byte for byte against a base-64 encoded representation "
        "of the binary value in the policy.",
    ),
    (
        "IpAddress",
        "aws:SourceIp",
        "203.0.113.0/24",
        "203.0.113.7",
        "198.51.100.1",
        "The value must be in the standard CIDR format (for example, 203.0.113.0/24 or 2001:DB8:1234:5678::/64).",
    ),
    (
        "IpAddress",
        "aws:SourceIp",
        "2001:DB8:1234:5678::/64",
        "2001:db8:1234:5678::1",
        "2001:db8:1234:5679::1",
        "IP address condition operators ... comparing a key to an IPv4 or IPv6 address or range of IP addresses.",
    ),
    (
        "IpAddress",
        "aws:SourceIp",
        "203.0.113.7",
        "203.0.113.7",
        "203.0.113.8",
        "If you specify an IP address without the associated routing prefix, IAM uses the default prefix value of /32.",
    ),
    (
        "NotIpAddress",
        "aws:SourceIp",
        "203.0.113.0/24",
        "198.51.100.1",
        "203.0.113.7",
        "NotIpAddress: All IP addresses except the specified IP address or range",
    ),
    (
        "ArnEquals",
        "aws:SourceArn",
        "arn:aws:sns:us-east-1:123456789012:*",
        "arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws:sns:us-east-1:999999999999:topic",
        "ArnEquals, ArnLike: ... each can include multi-character match wildcards (*) or single-character "
        "match wildcards (?). The ArnEquals and ArnLike condition operators behave identically.",
    ),
    (
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:someservice:*:111122223333:finance/*",
        "arn:aws:someservice:us-east-2:111122223333:finance/document.txt",
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
        "With an ArnLike condition, which matches elements between colons, the match fails. The first "
        "asterisk matches only us-east-2 and fails on 999999999999:store/abc:.",
    ),
    (
        "ArnNotEquals",
        "aws:SourceArn",
        "arn:aws:sns:us-east-1:123456789012:*",
        "arn:aws:sns:us-east-1:999999999999:topic",
        "arn:aws:sns:us-east-1:123456789012:topic",
        "ArnNotEquals, ArnNotLike: Negated matching for ARN. The ArnNotEquals and ArnNotLike condition operators behave identically.",
    ),
    (
        "ArnNotLike",
        "aws:SourceArn",
        "arn:aws:sns:*:123456789012:topic-?",
        "arn:aws:sns:us-east-1:123456789012:topic-10",
        "arn:aws:sns:eu-west-1:123456789012:topic-1",
        "ArnNotEquals, ArnNotLike: Negated matching for ARN.",
    ),
    (
        "StringLikeIfExists",
        "ec2:InstanceType",
        "t2.*",
        "t2.micro",
        "m5.large",
        'IfExists ... "If the policy key is present in the context of the request, process the key as specified in the policy."',
    ),
    (
        "NumericLessThanIfExists",
        "aws:MultiFactorAuthAge",
        "3600",
        "10",
        "7200",
        "You can add IfExists to the end of any condition operator name except the Null condition",
    ),
]


def _case_id(case: tuple) -> str:
    return f"{case[0]}-{case[2]}"


@pytest.mark.parametrize("case", OPERATOR_CASES, ids=_case_id)
def test_every_operator_in_an_allow(case):
    """IAM User Guide, "IAM JSON policy elements: Condition operators": each case's last field
    is the page's sentence for its operator. An Allow whose condition matches allows; one
    whose condition does not match does not."""
    operator, key, value, matching, other, _sentence = case
    assert decide("Allow", {operator: {key: value}}, {key: matching})
    assert not decide("Allow", {operator: {key: value}}, {key: other})


@pytest.mark.parametrize("case", OPERATOR_CASES, ids=_case_id)
def test_every_operator_in_a_deny(case):
    """IAM User Guide, "IAM JSON policy elements: Condition operators" (each case quotes its
    sentence), with "Policy evaluation logic": "An explicit deny in any of these policies
    overrides the allow." A Deny whose condition matches denies; otherwise the Allow stands."""
    operator, key, value, matching, other, _sentence = case
    assert not decide("Deny", {operator: {key: value}}, {key: matching})
    assert decide("Deny", {operator: {key: value}}, {key: other})


def test_null_in_an_allow_and_a_deny():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", Null: "use either true
    (the key doesn't exist — it is null) or false (the key exists and its value is not null)"."""
    present = {"aws:SourceArn": "arn:aws:states:us-east-1:111111111111:stateMachine:m"}
    assert decide("Allow", {"Null": {"aws:SourceArn": "true"}}, {})
    assert not decide("Allow", {"Null": {"aws:SourceArn": "true"}}, present)
    assert decide("Allow", {"Null": {"aws:SourceArn": "false"}}, present)
    assert not decide("Deny", {"Null": {"aws:SourceArn": "true"}}, {})
    assert decide("Deny", {"Null": {"aws:SourceArn": "true"}}, present)
    assert not decide("Deny", {"Null": {"aws:SourceArn": "false"}}, present)


def test_if_exists_on_an_absent_key():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", ...IfExists: "If the
    key is not present, evaluate the condition element as true." and "If you are using an
    "Effect": "Deny" element with a negated condition operator like StringNotEqualsIfExists,
    the request is still denied even if the tag is missing."""
    assert decide("Allow", {"StringEqualsIfExists": {"sts:ExternalId": "x"}}, {})
    assert not decide("Deny", {"StringNotEqualsIfExists": {"sts:ExternalId": "x"}}, {})
    assert not decide("Deny", {"StringEqualsIfExists": {"sts:ExternalId": "x"}}, {})


@pytest.mark.parametrize(
    ("operator", "applies"),
    [
        ("StringLike", False),
        ("StringNotLike", True),
        ("ArnLike", False),
        ("ArnNotLike", True),
        ("IpAddress", False),
        ("NotIpAddress", True),
    ],
)
def test_an_absent_key(operator, applies):
    """IAM User Guide, "IAM JSON policy elements: Condition operators": "If the key that you
    specify in a policy condition is not present in the request context, the values do not
    match and the condition is false. If the policy condition requires that the key is not
    matched, such as StringNotLike or ArnNotLike, and the right key is not present, the
    condition is true." (aws:SourceArn is absent from calls no service makes for a resource.)"""
    value = "203.0.113.0/24" if "Ip" in operator else "arn:aws:sns:*:*:*"
    assert decide("Allow", {operator: {"aws:SourceArn": value}}, {}) is applies
    assert decide("Deny", {operator: {"aws:SourceArn": value}}, {}) is not applies


@pytest.mark.parametrize("absent", [{}, {"aws:TagKeys": []}], ids=["absent", "empty set"])
def test_set_operators_come_before_negation_on_an_absent_or_empty_key(absent):
    """IAM User Guide, "Single-valued vs. multivalued context keys": ForAllValues "also returns
    true if there are no context keys in the request"; ForAnyValue: "If there are no context
    keys in the request, or if the context key value resolves to a null dataset, such as an
    empty string, the condition returns false" - negated operator or not ("Creating a
    condition with multiple keys or values": "If the key values in the request resolve to an
    empty data set ..., a condition operator modified by ForAllValues returns true, and a
    condition operator modified by ForAnyValue returns false")."""
    tags = ("aws:TagKeys",)  # a request that carries tags when it has some (authorization.request_tags)
    assert decide("Allow", {"ForAllValues:StringNotEquals": {"aws:TagKeys": "secret"}}, absent, carried=tags)
    assert not decide("Deny", {"ForAllValues:StringNotEquals": {"aws:TagKeys": "secret"}}, absent, carried=tags)
    assert not decide("Allow", {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "secret"}}, absent, carried=tags)
    assert decide("Deny", {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "secret"}}, absent, carried=tags)
    assert not decide("Allow", {"ForAnyValue:StringEquals": {"aws:TagKeys": "secret"}}, absent, carried=tags)


def test_set_operators_on_multivalued_keys():
    """IAM User Guide, "Creating a condition with multiple keys or values": "ForAllValues. If
    every key in the request ... matches at least one condition value in the policy ..., the
    condition operator returns true." and "ForAnyValue. If any combination of request value
    and policy value ... returns true, the condition operator returns true." (the page's
    DynamoDB example)."""
    allowed = ["PostDateTime", "Message", "Tags"]
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": allowed}}
    assert decide("Allow", condition, {"dynamodb:requestedAttributes": ["PostDateTime", "Message"]})
    assert not decide("Allow", condition, {"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]})
    forbidden = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}}
    assert not decide("Deny", forbidden, {"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]})
    assert decide("Deny", forbidden, {"dynamodb:requestedAttributes": ["UserName"]})
    assert decide("Allow", {"ForAnyValue:IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": ["192.0.2.1", "10.1.2.3"]})


def test_context_key_names_ignore_case():
    """IAM User Guide, "IAM JSON policy elements: Condition": "Context key names are not
    case-sensitive. For example, including the aws:SourceIP context key is equivalent to
    testing for AWS:SourceIp." Values keep theirs ("Case-sensitivity of context key values
    depends on the condition operator that you use")."""
    assert decide("Allow", {"IpAddress": {"AWS:SourceIP": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"})
    assert not decide("Deny", {"Bool": {"AWS:SECURETRANSPORT": "false"}}, {"aws:SecureTransport": "false"})
    assert not decide("Allow", {"StringEquals": {"aws:principaltag/Team": "A"}}, {"aws:PrincipalTag/team": "a"})


def test_policy_json_booleans_and_numbers():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", Boolean: "comparing a
    key to "true" or "false."" - a policy may write the JSON literal; Numeric: "comparing a
    key to an integer or decimal value"."""
    assert not decide("Deny", {"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "false"})
    assert decide("Allow", {"NumericLessThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "10"})


def test_dates_parse_every_w3c_form_and_epoch_time():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", Date: "You must specify
    date/time values with one of the W3C implementations of the ISO 8601 date formats or in
    epoch (UNIX) time." (W3C "Date and Time Formats": YYYY, YYYY-MM, YYYY-MM-DD,
    YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD, YYYY-MM-DDThh:mm:ss.sTZD)."""
    new_year = parse_instant("2020-01-01T00:00:00Z")
    assert new_year is not None
    for text in [
        "2020",
        "2020-01",
        "2020-01-01",
        "2020-01-01T00:00Z",
        "2020-01-01T01:00+01:00",
        "2019-12-31T19:00:00.000-05:00",
        "1577836800",
    ]:
        assert parse_instant(text) == new_year, text
    for text in ["yesterday", "2020-13-01", "01/01/2020", "2020-01-01T25:00:00Z"]:
        assert parse_instant(text) is None, text


# --- fail safe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context"),
    [
        ({"StringMatchesRegex": {"aws:PrincipalArn": ".*"}}, {"aws:PrincipalArn": ROLE.arn}),  # no such operator
        ({"ForEachValue:StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a"]}),  # no such set operator
        ({"NullIfExists": {"aws:SourceArn": "true"}}, {}),  # "except the Null condition"
        ({"NumericLessThan": {"s3:max-keys": "ten"}}, {"s3:max-keys": "5"}),  # a value it cannot parse
        ({"DateLessThan": {"aws:CurrentTime": "soon"}}, {"aws:CurrentTime": "2026-12-07T00:00:00Z"}),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/33"}}, {"aws:SourceIp": "203.0.113.1"}),
        ({"BinaryEquals": {"key": "not base64!"}}, {"key": B64}),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}),  # a key AWS may carry, the emulator does not model
        ({"StringEquals": {"aws:PrincipalTag/team": "a"}}, {}),
        ({"StringEquals": {"s3:prefix": "home/${aws:userid}"}}, {"s3:prefix": "home/x"}),  # a variable it cannot resolve
    ],
)
def test_what_the_evaluator_cannot_evaluate_fails_closed(condition, context):
    """Issue 21, point 6: "An operator or key the evaluator cannot evaluate makes a Deny deny
    and an Allow not allow." (IAM User Guide, "Policy evaluation logic": "By default, all
    requests are implicitly denied"; an explicit Deny "overrides the allow".)"""
    assert not decide("Allow", condition, context)
    assert not decide("Deny", condition, context)
    deny = identity(grant("ssm:GetParameter", "*", condition, effect="Deny"))
    result = evaluate_policy(deny, Request(ROLE, "ssm:GetParameter", PARAMETER, context))
    assert result.denied and result.denied_unknowingly and "fails closed" in result.reasons[0]


def test_a_certainly_false_condition_outweighs_an_unknown_one():
    """IAM User Guide, "IAM JSON policy elements: Condition": "If you specify multiple condition
    operators, or multiple keys attached to a single condition operator, the conditions are
    evaluated using a logical AND." One false condition makes the statement not apply,
    whatever the one the emulator cannot evaluate would say."""
    condition = {"StringEquals": {"aws:PrincipalAccount": "999999999999"}, "StringMatchesRegex": {"aws:PrincipalArn": ".*"}}
    assert decide("Deny", condition, {"aws:PrincipalAccount": "111111111111", "aws:PrincipalArn": ROLE.arn})


def test_a_key_whose_absence_the_call_vouches_for():
    """IAM User Guide, "IAM JSON policy elements: Condition operators": "If the key that you
    specify in a policy condition is not present in the request context, the values do not
    match". A role's tags reach sts:AssumeRole as iam:ResourceTag/<key> ("Controlling access to
    IAM resources"): a call that carries every tag of the role makes a missing one absent."""
    condition = {"ForAnyValue:StringEquals": {"iam:ResourceTag/aws-cdk:bootstrap-role": ["deploy"]}}
    assert not decide("Deny", condition, {})  # unknown: fails closed
    assert decide("Deny", condition, {}, carried=("iam:ResourceTag/*",))  # absent: ForAnyValue is false


# --- policy variables -------------------------------------------------------------------------


def test_policy_variables_in_conditions_and_resources():
    """IAM User Guide, "IAM JSON policy elements: Condition operators": "You can use a policy
    variable with the String condition operator." (its example: "home/${aws:username}/"), and
    "IAM policy elements: Variables and tags": a default value, "${aws:PrincipalTag/team,
    'company-wide'}", stands in for an absent key; ${*}, ${?} and ${$} are the literal
    characters."""
    user = Principal(account="111111111111", arn="arn:aws:iam::111111111111:user/bob")
    home = {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}
    assert decide("Allow", home, {"s3:prefix": "home/bob/notes", "aws:username": "bob"})
    assert not decide("Allow", home, {"s3:prefix": "home/alice/notes", "aws:username": "bob"})
    default = {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'company-wide'}"}}
    assert decide("Allow", default, {"s3:prefix": "company-wide"}, carried=("aws:PrincipalTag/*",))
    literal = {"StringEquals": {"s3:prefix": "a${*}b${?}c${$}"}}
    assert decide("Allow", literal, {"s3:prefix": "a*b?c$"})
    objects = identity(grant("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"))
    context = {"aws:username": "bob"}
    assert authorize(
        Request(user, "s3:GetObject", "arn:aws:s3:::bucket/home/bob/x", context),
        identity_policies=[objects],
        resource_account="111111111111",
    ).allowed
    assert not authorize(
        Request(user, "s3:GetObject", "arn:aws:s3:::bucket/home/eve/x", context),
        identity_policies=[objects],
        resource_account="111111111111",
    ).allowed


def test_policy_variables_are_literal_in_version_2008():
    """IAM User Guide, "IAM JSON policy elements: Version": "policy variables ... are not
    recognized" with version 2008-10-17 - "${aws:username}" is then a literal string."""
    old = {"Version": "2008-10-17", "Statement": [grant("ssm:GetParameter", "*", {"StringEquals": {"s3:prefix": "${aws:username}"}})]}
    request = Request(ROLE, "ssm:GetParameter", PARAMETER, {"s3:prefix": "${aws:username}", "aws:username": "bob"})
    assert authorize(request, identity_policies=[old], resource_account="111111111111").allowed


# --- ARNs ------------------------------------------------------------------------------------


def test_a_star_that_ends_a_segment_reaches_past_colons_in_resources():
    """IAM User Guide, "IAM JSON policy elements: Resource", "Using wildcards in resource ARNs":
    "If the * wildcard is the last character of a resource ARN segment, it can expand to match
    beyond the colon boundaries." - in an Allow and in a Deny."""
    machine = "arn:aws:states:us-east-1:111111111111:stateMachine:Consumer"
    assert arn_matches("arn:aws:states:us-east-1:*", machine)
    assert arn_matches("arn:aws:states:us-east-1:111111111111:state*", machine)
    assert not arn_matches("arn:aws:states:us-west-2:*", machine)
    assert not arn_matches("arn:aws:states:us-east-1:11111111111?:*", "arn:aws:states:us-east-1:1111111111112:x")  # ? stays in its segment
    request = Request(ROLE, "states:StartExecution", machine)
    region = identity(grant("states:StartExecution", "arn:aws:states:us-east-1:*"))
    assert authorize(request, identity_policies=[region], resource_account="111111111111").allowed
    denied = [identity(grant("states:*", "*")), identity(grant("states:StartExecution", "arn:aws:states:us-east-1:*", effect="Deny"))]
    assert not authorize(request, identity_policies=denied, resource_account="111111111111").allowed


def test_arn_conditions_compare_six_components():
    """IAM User Guide, "IAM JSON policy elements: Condition operators": "Each of the six
    colon-delimited components of the ARN is checked separately"; with StringLike, "the match
    succeeds. The first asterisk matches us-east-2:999999999999:store/abc:"."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert not arn_like(pattern, value)
    assert decide("Allow", {"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert arn_like("arn:aws:states:*:*:execution:Consumer:*", "arn:aws:states:us-east-1:1:execution:Consumer:run-1")
    assert not arn_like("arn:aws:states:us-east-1:*", "arn:aws:states:us-east-1:1:stateMachine:m")  # five components
    assert not arn_like("arn:aws:sns:*:*:*", "not-an-arn")


def test_brackets_are_not_wildcards():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", StringLike: the values
    "can include multi-character match wildcards (*) and single-character match wildcards
    (?)" - those two only; "[" is a character like any other."""
    assert decide("Allow", {"StringLike": {"s3:prefix": "[ab]*"}}, {"s3:prefix": "[ab]x"})
    assert not decide("Allow", {"StringLike": {"s3:prefix": "[ab]*"}}, {"s3:prefix": "ax"})


# --- resource policies -------------------------------------------------------------------------


def test_a_same_account_resource_policy_granting_everyone_allows_alone():
    """IAM User Guide, "Policy evaluation logic": "If either the identity-based policy or the
    resource-based policy within the same account allows the request and the other doesn't,
    the request is still allowed." - across accounts, the identity policy must allow too
    ("Cross-account policy evaluation logic")."""
    anyone = policy({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    anyone_aws = policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    mine = Request(ROLE, "secretsmanager:GetSecretValue", SECRET)
    for resource_policy in (anyone, anyone_aws):
        assert authorize(mine, identity_policies=[], resource_account="111111111111", resource_policy=resource_policy).allowed
    theirs = Request(OTHER_ROLE, "secretsmanager:GetSecretValue", SECRET)
    assert not authorize(theirs, identity_policies=[], resource_account="111111111111", resource_policy=anyone).allowed
    conditioned = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}},
        }
    )
    assert authorize(
        Request(ROLE, "secretsmanager:GetSecretValue", SECRET, {"aws:PrincipalAccount": "111111111111"}),
        identity_policies=[],
        resource_account="111111111111",
        resource_policy=conditioned,
    ).allowed
    assert not authorize(mine, identity_policies=[], resource_account="111111111111", resource_policy=conditioned).allowed
