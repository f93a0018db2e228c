"""Identity policies are enforced on every call made under a role (IAM User Guide, "Policy
evaluation logic"); moto as shipped lets a role without any permission read a secret."""

from __future__ import annotations

import json
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION, client_as_role

NO_PERMISSIONS = None
VALUE = secrets.token_urlsafe(16)  # generated: a secret value is never written down


def _session_client(account, role_arn: str, service: str):
    return client_as_role(account, role_arn, service)


def _user_trust(account_id: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_moto_lets_a_role_without_permissions_read_a_secret(vanilla):
    from emulator.patches import identity_policies

    assert identity_policies.REASON
    vanilla.client("secretsmanager").create_secret(Name="s", SecretString=VALUE)
    role = vanilla.role("nothing", _user_trust(vanilla.id), permissions=NO_PERMISSIONS)
    client = _session_client(vanilla, role, "secretsmanager")
    assert client.get_secret_value(SecretId="s")["SecretString"] == VALUE  # the gap


def test_a_role_may_only_do_what_its_policy_allows(patched, unique):
    secret = patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)["ARN"]
    other = patched.client("secretsmanager").create_secret(Name=f"{unique}-other", SecretString=VALUE)["ARN"]
    allow_one = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "SecretsManager:getSecretValue", "Resource": secret}]}
    role = patched.role(unique, _user_trust(ACCOUNT), permissions=allow_one)
    client = _session_client(patched, role, "secretsmanager")
    assert client.get_secret_value(SecretId=unique)["SecretString"] == VALUE  # actions match case-insensitively
    with pytest.raises(ClientError) as denied:
        client.get_secret_value(SecretId=other)
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith(
        f"User: arn:aws:iam::{ACCOUNT}:role/{unique} is not authorized to perform: secretsmanager:GetSecretValue on resource: {other}"
    )


def test_an_operation_without_a_derivable_action_is_refused_by_name(patched, unique):
    role = patched.role(unique, _user_trust(ACCOUNT))  # may do anything, by its policy
    assert _session_client(patched, role, "secretsmanager").list_secrets()["SecretList"] is not None  # derived: never refused
    with pytest.raises(ClientError) as denied:
        _session_client(patched, role, "dynamodb").execute_statement(Statement='SELECT * FROM "t"')
    message = denied.value.response["Error"]["Message"]
    assert "dynamodb:ExecuteStatement (the emulator cannot derive the IAM action of this operation" in message


def test_another_accounts_resource_needs_its_resource_policy(patched, other, unique):
    parameter = f"/{unique}"
    other.client("ssm").put_parameter(Name=parameter, Value="v", Type="String")
    arn = f"arn:aws:ssm:{REGION}:{OTHER_ACCOUNT}:parameter{parameter}"
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": arn}]}
    role = patched.role(unique, _user_trust(ACCOUNT), permissions=allow)
    with pytest.raises(ClientError) as denied:
        _session_client(patched, role, "ssm").get_parameter(Name=arn)
    assert f"no resource-based policy of account {OTHER_ACCOUNT} allows it" in denied.value.response["Error"]["Message"]


def test_a_customer_managed_key_needs_kms_decrypt_via_the_service(patched, unique):
    kms = patched.client("kms")
    key = kms.create_key(Description=unique)["KeyMetadata"]["Arn"]  # default key policy: the account root, kms:*
    secret = patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE, KmsKeyId=key)["ARN"]
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
    decrypt = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
    }
    without = patched.role(unique, _user_trust(ACCOUNT), permissions={"Version": "2012-10-17", "Statement": [read]})
    with pytest.raises(ClientError) as denied:
        _session_client(patched, without, "secretsmanager").get_secret_value(SecretId=secret)
    message = denied.value.response["Error"]["Message"]
    assert message.startswith("Access to KMS is not allowed: ") and f"kms:Decrypt on resource: {key}" in message
    with_decrypt = patched.role(f"{unique}-2", _user_trust(ACCOUNT), permissions={"Version": "2012-10-17", "Statement": [read, decrypt]})
    assert _session_client(patched, with_decrypt, "secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == VALUE


def test_the_account_administrator_may_do_anything(patched):
    assert patched.client("secretsmanager").list_secrets()["SecretList"] is not None


def test_a_role_session_assuming_a_role_needs_its_identity_policy_and_the_trust(patched, unique):
    """sts:AssumeRole by a role session, through the API: the trust policy and the caller's
    identity policy both decide (IAM User Guide, "Policy evaluation logic")."""
    target = patched.role(f"{unique}-target", _user_trust(ACCOUNT), permissions=NO_PERMISSIONS)
    may = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}]}
    allowed = _session_client(patched, patched.role(f"{unique}-may", _user_trust(ACCOUNT), permissions=may), "sts")
    assert allowed.assume_role(RoleArn=target, RoleSessionName="session")["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/"
    )
    refused = _session_client(patched, patched.role(f"{unique}-may-not", _user_trust(ACCOUNT), permissions=NO_PERMISSIONS), "sts")
    with pytest.raises(ClientError) as denied:
        refused.assume_role(RoleArn=target, RoleSessionName="session")
    assert "is not authorized to perform: sts:AssumeRole" in denied.value.response["Error"]["Message"]
