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
            False,
        ),  # unknown: fail closed
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
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),
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
