"""sts:AssumeRole honours the role's trust policy and its sts:ExternalId condition.

AWS's documented behaviour followed: IAM User Guide, "Cross-account policy evaluation
logic" (the role's trust policy must allow the caller) and "Access to AWS accounts owned by
third parties" (the sts:ExternalId condition key, the confused-deputy defence). The wording
of the denial ("no statement of the resource-based policy allows ...") is the emulator's own:
AWS answers AccessDenied "is not authorized to perform: sts:AssumeRole", nothing more."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION


def _trust(principal: str, external_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


def test_moto_still_lets_a_wrong_external_id_through(vanilla):
    from emulator.patches import assume_role_trust

    assert assume_role_trust.REASON
    role = vanilla.role("door", _trust("arn:aws:iam::123456789012:root", "right"))
    vanilla.client("sts").assume_role(RoleArn=role, RoleSessionName="session", ExternalId="wrong")  # no error: the gap


def test_the_right_principal_with_the_right_external_id_gets_in(emulator, unique):
    role = emulator.client("iam", OTHER_ACCOUNT, REGION).create_role(RoleName=unique, AssumeRolePolicyDocument=_trust(ACCOUNT, "right"))
    credentials = emulator.client("sts", ACCOUNT, REGION).assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="session", ExternalId="right"
    )
    assert credentials["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/{unique}/")


@pytest.mark.parametrize(
    ("principal", "external_id", "why"),
    [
        (ACCOUNT, "wrong", "does not satisfy StringEquals"),
        (ACCOUNT, None, "sts:ExternalId is absent"),
        ("333333333333", "right", "no statement of the resource-based policy allows arn:aws:iam::111111111111:user/emulator-admin"),
    ],
)
def test_a_wrong_external_id_or_principal_is_denied(emulator, unique, principal, external_id, why):
    role = emulator.client("iam", OTHER_ACCOUNT, REGION).create_role(RoleName=unique, AssumeRolePolicyDocument=_trust(principal, "right"))
    arguments = {"RoleArn": role["Role"]["Arn"], "RoleSessionName": "session"} | ({"ExternalId": external_id} if external_id else {})
    with pytest.raises(ClientError) as raised:
        emulator.client("sts", ACCOUNT, REGION).assume_role(**arguments)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert why in raised.value.response["Error"]["Message"]


def test_a_role_that_does_not_exist_cannot_be_assumed(emulator):
    with pytest.raises(ClientError, match="does not exist"):
        emulator.client("sts", ACCOUNT, REGION).assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/nobody", RoleSessionName="session")


def test_session_tags_need_sts_tag_session_in_the_trust_policy(emulator, unique):
    """IAM User Guide, "Passing session tags in AWS STS": the role's trust policy must allow
    sts:TagSession, and its conditions see the tags as aws:RequestTag/<key> and aws:TagKeys.
    moto took any tags: a caller stamped a session with a tag the role's owner never let it set."""
    plain = json.loads(_trust(ACCOUNT, "right"))
    tagging = json.loads(_trust(ACCOUNT, "right"))
    tagging["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "sts:TagSession",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
        }
    )
    iam = emulator.client("iam", OTHER_ACCOUNT, REGION)
    sts = emulator.client("sts", ACCOUNT, REGION)
    untaggable = iam.create_role(RoleName=f"{unique}-plain", AssumeRolePolicyDocument=json.dumps(plain))["Role"]["Arn"]
    taggable = iam.create_role(RoleName=f"{unique}-tags", AssumeRolePolicyDocument=json.dumps(tagging))["Role"]["Arn"]
    for role, tags in ((untaggable, [{"Key": "team", "Value": "blue"}]), (taggable, [{"Key": "team", "Value": "red"}])):
        with pytest.raises(ClientError) as raised:
            sts.assume_role(RoleArn=role, RoleSessionName="tagged", ExternalId="right", Tags=tags)
        assert "is not authorized to perform: sts:TagSession" in raised.value.response["Error"]["Message"]
    sts.assume_role(RoleArn=taggable, RoleSessionName="tagged", ExternalId="right", Tags=[{"Key": "team", "Value": "blue"}])
    sts.assume_role(RoleArn=untaggable, RoleSessionName="tagged", ExternalId="right")  # no tags: no sts:TagSession asked
