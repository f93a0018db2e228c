"""Session policies: what an sts:AssumeRole passes in ``Policy`` and ``PolicyArns`` limits every
call of the session it makes (IAM User Guide, "Policies and permissions in IAM", "Session
policies"; STS API Reference, AssumeRole, ``Policy`` and ``PolicyArns``). moto keeps the
``Policy`` on the session and enforces nothing of it; the emulator intersects it with the
role's permissions (emulator.policy_evaluation.authorize)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import ACCOUNT, client_as_role

VALUE = secrets.token_urlsafe(16)  # generated: a secret value is never written down


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _deny(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def _user_trust() -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    return json.dumps(_policy(statement))


def _session(account: Any, role_arn: str, service: str, name: str = "session", **session_policies: Any) -> Any:
    """A client of ``service`` with a session of ``role_arn``, assumed by the account's
    administrator with ``session_policies`` (``Policy=...``, ``PolicyArns=[...]``) if any."""
    return client_as_role(account, role_arn, service, name, **session_policies)


def _secret(account: Any, name: str) -> str:
    return str(account.client("secretsmanager").create_secret(Name=name, SecretString=VALUE)["ARN"])


def _denied(call: Any, **kwargs: Any) -> str:
    """The message of the service's AccessDenied that ``call`` answers."""
    with pytest.raises(ClientError) as denied:
        call(**kwargs)
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    return str(error["Message"])


def test_a_session_policy_limits_the_session_to_what_it_allows(patched, unique):
    """STS API Reference, AssumeRole, Policy: "The resulting session's permissions are the
    intersection of the role's identity-based policy and the session policies." IAM User
    Guide, "Session policies": "Session policies limit the permissions that the role or
    user's identity-based policy grants to the session." A role allowed secretsmanager:*,
    assumed with a session policy allowing DescribeSecret on one secret, may only do that."""
    one, other = _secret(patched, unique), _secret(patched, f"{unique}-other")
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    client = _session(patched, role, "secretsmanager", Policy=json.dumps(_policy(_allow("secretsmanager:DescribeSecret", one))))
    assert client.describe_secret(SecretId=one)["ARN"] == one
    message = _denied(client.get_secret_value, SecretId=one)
    assert message.startswith(f"User: {role} is not authorized to perform: secretsmanager:GetSecretValue on resource: {one}")
    assert "no session policy allows it" in message
    assert "no session policy allows it" in _denied(client.describe_secret, SecretId=other)


def test_the_same_role_without_a_session_policy_keeps_all_its_permissions(patched, unique):
    """The reverse of the test above (IAM User Guide, "Session policies": session policies
    "limit permissions for a created session"; without one, nothing limits the role's
    identity-based policy): the same role, assumed with no session policy, reads both
    secrets. So it is the session policy that restricts the session above."""
    one, other = _secret(patched, unique), _secret(patched, f"{unique}-other")
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    client = _session(patched, role, "secretsmanager")
    assert client.get_secret_value(SecretId=one)["SecretString"] == VALUE
    assert client.describe_secret(SecretId=other)["ARN"] == other


def test_an_explicit_deny_in_a_session_policy_wins(patched, unique):
    """IAM User Guide, "Policy evaluation logic": "An explicit deny in any of these policies
    overrides the allow", session policies among them. The session policy allows
    secretsmanager:* and denies GetSecretValue on one secret: the role allows both."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    session_policy = _policy(_allow("secretsmanager:*"), _deny("secretsmanager:GetSecretValue", one))
    client = _session(patched, role, "secretsmanager", Policy=json.dumps(session_policy))
    assert client.describe_secret(SecretId=one)["ARN"] == one
    assert "explicitly denied" in _denied(client.get_secret_value, SecretId=one)


def test_a_session_policy_grants_nothing_the_role_does_not_have(patched, unique):
    """STS API Reference, AssumeRole, Policy: "You cannot use session policies to grant more
    permissions than those allowed by the identity-based policy of the role that is being
    assumed." The role may only describe the secret; a session policy allowing
    secretsmanager:* does not let the session read it."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:DescribeSecret", one)))
    client = _session(patched, role, "secretsmanager", Policy=json.dumps(_policy(_allow("secretsmanager:*"))))
    assert client.describe_secret(SecretId=one)["ARN"] == one
    assert "no identity-based policy allows it" in _denied(client.get_secret_value, SecretId=one)


def test_managed_session_policies_limit_the_session_the_same_way(patched, unique):
    """STS API Reference, AssumeRole, PolicyArns: "The Amazon Resource Names (ARNs) of the IAM
    managed policies that you want to use as managed session policies. The policies must
    exist in the same account as the role." The same limits as the inline policy above."""
    one, other = _secret(patched, unique), _secret(patched, f"{unique}-other")
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    document = json.dumps(_policy(_allow("secretsmanager:DescribeSecret", one)))
    managed = patched.client("iam").create_policy(PolicyName=unique, PolicyDocument=document)["Policy"]["Arn"]
    client = _session(patched, role, "secretsmanager", PolicyArns=[{"arn": managed}])
    assert client.describe_secret(SecretId=one)["ARN"] == one
    assert "no session policy allows it" in _denied(client.get_secret_value, SecretId=one)
    assert "no session policy allows it" in _denied(client.describe_secret, SecretId=other)


def test_inline_and_managed_session_policies_are_the_sessions_policies_together(patched, unique):
    """STS API Reference, AssumeRole, PolicyArns: "the plaintext that you use for both inline
    and managed session policies" — both are the session's policies, each allowing its own
    part: the inline one DescribeSecret, the managed one GetSecretValue. Neither replaces the
    other; what neither allows stays denied."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    document = json.dumps(_policy(_allow("secretsmanager:GetSecretValue", one)))
    managed = patched.client("iam").create_policy(PolicyName=unique, PolicyDocument=document)["Policy"]["Arn"]
    inline = json.dumps(_policy(_allow("secretsmanager:DescribeSecret", one)))
    client = _session(patched, role, "secretsmanager", Policy=inline, PolicyArns=[{"arn": managed}])
    assert client.describe_secret(SecretId=one)["ARN"] == one
    assert client.get_secret_value(SecretId=one)["SecretString"] == VALUE
    assert "no session policy allows it" in _denied(client.list_secret_version_ids, SecretId=one)


def test_a_managed_session_policy_that_does_not_exist_allows_nothing(patched, unique):
    """PolicyArns names policies that "must exist in the same account as the role": one that
    is not there is no permission, and the session is still limited by it (fails closed)."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    missing = f"arn:aws:iam::{ACCOUNT}:policy/{unique}-missing"
    client = _session(patched, role, "secretsmanager", PolicyArns=[{"arn": missing}])
    assert "no session policy allows it" in _denied(client.describe_secret, SecretId=one)


@pytest.mark.parametrize("policy", ["{not json", "[]", '"a string"'])
def test_a_policy_that_is_not_a_json_policy_is_refused_as_malformed(patched, unique, policy):
    """STS API Reference, AssumeRole, Errors: "MalformedPolicyDocument: The request was
    rejected because the policy document was malformed." HTTP 400. moto takes any string."""
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:*")))
    with pytest.raises(ClientError) as refused:
        patched.client("sts").assume_role(RoleArn=role, RoleSessionName="session", Policy=policy)
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_resource_policy_naming_the_role_does_not_escape_the_session_policy(patched, unique):
    """IAM User Guide, "Session policies": when a resource-based policy names the role, its
    permissions "are added to the role or user's identity-based policy before the session is
    created", and "the session policy limits the total permissions granted by the
    resource-based policy and the identity-based policy". The secret's own policy lets the
    role read it (the role's identity policy does not): a session without a session policy
    reads it, one whose session policy allows only DescribeSecret does not."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:DescribeSecret")))
    grant = {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    patched.client("secretsmanager").put_resource_policy(SecretId=one, ResourcePolicy=json.dumps(_policy(grant)))
    assert _session(patched, role, "secretsmanager").get_secret_value(SecretId=one)["SecretString"] == VALUE
    limited = _session(patched, role, "secretsmanager", Policy=json.dumps(_policy(_allow("secretsmanager:DescribeSecret"))))
    assert limited.describe_secret(SecretId=one)["ARN"] == one
    assert "no session policy allows it" in _denied(limited.get_secret_value, SecretId=one)


def test_a_resource_policy_naming_the_session_itself_is_not_limited_by_the_session_policy(patched, unique):
    """IAM User Guide, "Session policies": a resource-based policy "can specify the ARN of the
    session as a principal. In that case, the permissions from the resource-based policy are
    added after the session policy is applied." The secret's policy names the session
    (arn:aws:sts::<account>:assumed-role/<role>/<session>): the session reads the secret its
    session policy does not allow; an explicit Deny in the session policy still wins ("Policy
    evaluation logic")."""
    one = _secret(patched, unique)
    role = patched.role(unique, _user_trust(), permissions=_policy(_allow("secretsmanager:DescribeSecret")))
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{unique}/named"
    grant = {"Effect": "Allow", "Principal": {"AWS": session_arn}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    patched.client("secretsmanager").put_resource_policy(SecretId=one, ResourcePolicy=json.dumps(_policy(grant)))
    describe_only = json.dumps(_policy(_allow("secretsmanager:DescribeSecret")))
    named = _session(patched, role, "secretsmanager", name="named", Policy=describe_only)
    assert named.get_secret_value(SecretId=one)["SecretString"] == VALUE
    another = _session(patched, role, "secretsmanager", name="another", Policy=describe_only)
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in _denied(another.get_secret_value, SecretId=one)
    denying = json.dumps(_policy(_allow("secretsmanager:DescribeSecret"), _deny("secretsmanager:GetSecretValue", "*")))
    named_but_denied = _session(patched, role, "secretsmanager", name="named", Policy=denying)
    assert "explicitly denied" in _denied(named_but_denied.get_secret_value, SecretId=one)


def test_a_session_policy_limits_assuming_another_role(patched, unique):
    """Session policies limit every call of the session (IAM User Guide, "Session policies"),
    sts:AssumeRole of another role too (role chaining): the role may assume the target, its
    session whose session policy allows only secretsmanager:DescribeSecret may not."""
    target = patched.role(f"{unique}-target", _user_trust(), permissions=None)
    may = _policy(_allow("sts:AssumeRole", target), _allow("secretsmanager:DescribeSecret"))
    role = patched.role(unique, _user_trust(), permissions=may)
    unlimited = _session(patched, role, "sts")
    assert unlimited.assume_role(RoleArn=target, RoleSessionName="chained")["AssumedRoleUser"]["Arn"].endswith("/chained")
    limited = _session(patched, role, "sts", Policy=json.dumps(_policy(_allow("secretsmanager:DescribeSecret"))))
    with pytest.raises(ClientError) as denied:
        limited.assume_role(RoleArn=target, RoleSessionName="chained")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "no session policy allows it" in denied.value.response["Error"]["Message"]
