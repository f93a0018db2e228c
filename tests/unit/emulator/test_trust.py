"""Trust-policy evaluation: principals, conditions, denies, and failing closed."""

from __future__ import annotations

import pytest

from emulator.trust import Principal, evaluate_trust

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
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "10"}, False),  # unknown: fail closed
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
