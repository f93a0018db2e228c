"""A resource handler the service refuses fails the resource and rolls the stack back, as
CloudFormation reports it ("Resource handler returned message: ..."; CloudFormation user
guide, "Troubleshooting CloudFormation": a resource that already exists fails its
creation, and "Stack status codes": a failed creation ends ROLLBACK_COMPLETE), instead of
failing the ExecuteChangeSet call as moto does."""

from __future__ import annotations

import json
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import service_trust

PARAMETER = {"Resources": {"Taken": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "taken", "Type": "String", "Value": "x"}}}}


def _execute(account, stack: str) -> None:
    cloudformation = account.client("cloudformation")
    role = account.role(f"{stack}-exec", service_trust("cloudformation.amazonaws.com", account.id))
    cloudformation.create_change_set(
        StackName=stack, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(PARAMETER), RoleARN=role
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName="first")


def test_moto_still_fails_the_call_when_a_handler_is_refused(vanilla):
    vanilla.client("ssm").put_parameter(Name="taken", Value="first", Type="String")
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_change_set(StackName="s", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(PARAMETER))
    with pytest.raises(ClientError):
        cloudformation.execute_change_set(StackName="s", ChangeSetName="first")


def test_a_resource_the_service_refuses_fails_and_the_stack_rolls_back_to_rollback_complete(patched):
    patched.client("ssm").put_parameter(Name="taken", Value="first", Type="String")
    _execute(patched, "taken-stack")
    cloudformation = patched.client("cloudformation")
    (stack,) = cloudformation.describe_stacks(StackName="taken-stack")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cloudformation.describe_stack_events(StackName="taken-stack")["StackEvents"]
        if e["LogicalResourceId"] == "Taken" and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons == [
        'Resource handler returned message: "The parameter already exists. To overwrite this value, set the overwrite option '
        'in the request to true." (ParameterAlreadyExists)'
    ]
    assert patched.client("ssm").get_parameter(Name="taken")["Parameter"]["Value"] == "first", "the rollback left it"


ESCALATION = {
    "Resources": {
        "Escalated": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "Policies": [
                    {
                        "PolicyName": "everything",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                    }
                ],
            },
        }
    }
}


def test_without_an_execution_role_a_stack_acts_as_its_caller(patched, unique):
    """Without RoleARN, CloudFormation "uses a temporary session that is generated from your
    user credentials" (API Reference, CreateStack): a caller allowed only CloudFormation made
    an IAM role allowed everything, since nothing was checked. Each way in (CreateStack, a
    change set) now fails the resource on the caller's missing iam:CreateRole, and rolls back."""
    from tests.unit.emulator.helpers import client_as_role

    only_cloudformation = patched.role(
        f"cfn-only-{unique}",
        trust=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"}, "Action": "sts:AssumeRole"}],
            }
        ),
        permissions={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}]},
    )
    cloudformation = client_as_role(patched, only_cloudformation, "cloudformation")
    cloudformation.create_stack(StackName=f"direct-{unique}", TemplateBody=json.dumps(ESCALATION))
    cloudformation.create_change_set(
        StackName=f"changeset-{unique}", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(ESCALATION)
    )
    cloudformation.execute_change_set(StackName=f"changeset-{unique}", ChangeSetName="c")
    for stack in (f"direct-{unique}", f"changeset-{unique}"):
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "ROLLBACK_COMPLETE", stack
        reasons = [
            e.get("ResourceStatusReason", "")
            for e in cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
            if e["LogicalResourceId"] == "Escalated" and e["ResourceStatus"] == "CREATE_FAILED"
        ]
        assert len(reasons) == 1 and "iam:CreateRole" in reasons[0] and only_cloudformation.rsplit("/", 1)[1] in reasons[0], reasons
    roles = patched.client("iam").list_roles()["Roles"]
    assert not [r for r in roles if "Escalated" in r["RoleName"]]
    # The account's administrator, without a role, deploys it (AdministratorAccess).
    patched.client("cloudformation").create_stack(StackName=f"admin-{unique}", TemplateBody=json.dumps(ESCALATION))
    (described,) = patched.client("cloudformation").describe_stacks(StackName=f"admin-{unique}")["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"


def _self_granting(kind: str, role_name: str, statement: dict) -> dict:
    """A stack of one resource that gives ``role_name`` ``statement``."""
    document = {"Version": "2012-10-17", "Statement": [statement]}
    properties: dict = {"PolicyDocument": document}
    if kind == "AWS::IAM::Policy":
        properties |= {"PolicyName": "granted", "Roles": [role_name]}
    elif kind == "AWS::IAM::RolePolicy":
        properties |= {"PolicyName": "granted", "RoleName": role_name}
    else:
        properties |= {"Roles": [role_name]}
    return {"Resources": {"Granted": {"Type": kind, "Properties": properties}}}


@pytest.mark.parametrize("kind", ["AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"])
def test_a_policy_a_stack_grants_its_own_caller_does_not_authorize_its_own_creation(patched, unique, kind):
    """A handler's calls are authorized as they are made (CloudFormation API Reference,
    CreateStack ``RoleARN``: without a role, "a temporary session that is generated from your
    user credentials"), so iam:PutRolePolicy or iam:CreatePolicy is checked against the
    caller's policies before the policy exists. The emulator checked a resource once moto had
    made it, against the policies as they were then: a role allowed only
    cloudformation:CreateStack attached itself "*" and became the account's administrator.
    And moto never deletes an AWS::IAM::ManagedPolicy, so a denied one stayed attached after
    the rollback, granting what it said."""
    from tests.unit.emulator.helpers import client_as_role

    secret = patched.client("secretsmanager").create_secret(Name=f"kept-{unique}", SecretString=secrets.token_hex(16))["ARN"]
    name = f"cfn-create-only-{unique}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    role = patched.role(
        name,
        trust=json.dumps(trust),
        permissions={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}]},
    )
    cloudformation = client_as_role(patched, role, "cloudformation")
    for stack, statement in (
        (f"everything-{unique}", {"Effect": "Allow", "Action": "*", "Resource": "*"}),
        (f"one-secret-{unique}", {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}),
    ):
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(_self_granting(kind, name, statement)))
        (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "ROLLBACK_COMPLETE", stack
        with pytest.raises(ClientError) as denied:
            client_as_role(patched, role, "secretsmanager").get_secret_value(SecretId=secret)
        assert "not authorized to perform: secretsmanager:GetSecretValue" in denied.value.response["Error"]["Message"]
    iam = patched.client("iam")
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["permissions"]


def test_a_stack_s_managed_policy_is_detached_and_deleted_with_the_stack(patched, unique):
    """AWS::IAM::ManagedPolicy's delete handler detaches and deletes it (its schema lists
    iam:DetachRolePolicy and iam:DeletePolicy); moto's left it attached and listed."""
    role = patched.role(f"holder-{unique}")
    template = _self_granting(
        "AWS::IAM::ManagedPolicy", role.rsplit("/", 1)[1], {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}
    )
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=f"managed-{unique}", TemplateBody=json.dumps(template))
    iam = patched.client("iam")
    (attached,) = iam.list_attached_role_policies(RoleName=f"holder-{unique}")["AttachedPolicies"]
    cloudformation.delete_stack(StackName=f"managed-{unique}")
    assert iam.list_attached_role_policies(RoleName=f"holder-{unique}")["AttachedPolicies"] == []
    with pytest.raises(ClientError):
        iam.get_policy(PolicyArn=attached["PolicyArn"])


def test_a_nested_stack_is_refused_and_leaves_nothing(patched, unique):
    """moto made a nested stack's inner stack outside the outer one's execution: its
    resources were not checked against the caller, its TemplateURL was read without the
    caller's s3:GetObject, and a rollback of the outer stack left the inner one and what it
    made. A role allowed only CloudFormation and iam:PassRole made itself a role allowed
    everything. The emulator refuses nested stacks: the resource fails, the stack rolls back."""
    from tests.unit.emulator.helpers import client_as_role

    bucket = f"templates-{unique}".lower()
    patched.client("s3").create_bucket(Bucket=bucket)
    inner = {
        "Resources": {
            "Escalated": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": f"escalated-{unique}",
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                    "Policies": [
                        {
                            "PolicyName": "all",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                        }
                    ],
                },
            }
        }
    }
    patched.client("s3").put_object(Bucket=bucket, Key="inner.json", Body=json.dumps(inner).encode())
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    allowed = [
        {"Effect": "Allow", "Action": ["cloudformation:*", "iam:PassRole"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
    ]
    role = patched.role(f"nester-{unique}", trust=json.dumps(trust), permissions={"Version": "2012-10-17", "Statement": allowed})
    cloudformation = client_as_role(patched, role, "cloudformation")
    outer = {
        "Resources": {
            "Inner": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": f"http://localhost/{bucket}/inner.json"}}
        }
    }
    cloudformation.create_stack(StackName=f"outer-{unique}", TemplateBody=json.dumps(outer))
    (described,) = cloudformation.describe_stacks(StackName=f"outer-{unique}")["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        event.get("ResourceStatusReason", "")
        for event in cloudformation.describe_stack_events(StackName=f"outer-{unique}")["StackEvents"]
        if event["LogicalResourceId"] == "Inner" and event["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons == ["the emulator does not create nested stacks: their resources would not be checked nor rolled back"]
    assert not [r for r in patched.client("iam").list_roles()["Roles"] if r["RoleName"] == f"escalated-{unique}"]
    assert [s["StackName"] for s in patched.client("cloudformation").describe_stacks()["Stacks"] if unique in s["StackName"]] == [
        f"outer-{unique}"
    ]


def _narrow_cloudformation_role(account, name: str, actions: list[str]) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    grant = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return account.role(name, trust=json.dumps(trust), permissions={"Version": "2012-10-17", "Statement": [grant]})


def _policy_for(role_name: str, action: str, **attributes: str) -> str:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    policy = {
        "Type": "AWS::IAM::Policy",
        **attributes,
        "Properties": {"PolicyName": "granted", "Roles": [role_name], "PolicyDocument": document},
    }
    return json.dumps({"Resources": {"Granted": policy}})


def test_a_denied_resource_is_undone_even_with_deletion_policy_retain(patched, unique):
    """A rollback keeps a Retain resource; but a resource whose handler was denied was never
    made on AWS (CloudFormation User Guide, "DeletionPolicy attribute": it applies to a
    resource that exists). The emulator makes it, checks it, and now undoes it at once: a
    role allowed only CloudFormation kept the policy it had just been denied."""
    from tests.unit.emulator.helpers import client_as_role

    name = f"retainer-{unique}"
    role = _narrow_cloudformation_role(patched, name, ["cloudformation:*"])
    cloudformation = client_as_role(patched, role, "cloudformation")
    cloudformation.create_stack(StackName=f"retain-{unique}", TemplateBody=_policy_for(name, "*", DeletionPolicy="Retain"))
    (described,) = cloudformation.describe_stacks(StackName=f"retain-{unique}")["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert patched.client("iam").list_role_policies(RoleName=name)["PolicyNames"] == ["permissions"]


def test_an_update_s_retries_are_checked_against_the_policies_from_before_its_first_attempt(patched, unique):
    """moto retries a failed update up to five times. Each retry was checked against the
    policies of that moment, which held what the first attempt had applied: a role allowed
    only to update the stack widened the policy the stack gives it to "*"."""
    from tests.unit.emulator.helpers import client_as_role

    name = f"updater-{unique}"
    role = _narrow_cloudformation_role(patched, name, ["cloudformation:UpdateStack", "cloudformation:DescribeStacks"])
    patched.client("cloudformation").create_stack(StackName=f"widen-{unique}", TemplateBody=_policy_for(name, "s3:ListAllMyBuckets"))
    cloudformation = client_as_role(patched, role, "cloudformation")
    cloudformation.update_stack(StackName=f"widen-{unique}", TemplateBody=_policy_for(name, "*"))
    (described,) = cloudformation.describe_stacks(StackName=f"widen-{unique}")["Stacks"]
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    document = patched.client("iam").get_role_policy(RoleName=name, PolicyName="granted")["PolicyDocument"]
    assert document["Statement"][0]["Action"] == "s3:ListAllMyBuckets"


def test_a_stack_acts_on_another_account_s_bucket_only_as_its_policy_allows(patched, other, unique):
    """An S3 ARN names no account: the handler check took another account's bucket for the
    stack's own, and one account's administrator replaced the other's bucket policy through a
    stack, then read its objects (S3 User Guide, "Bucket policies": only the owner sets it).
    And the check read the policy the handler had just written, which allowed its writing."""
    bucket = f"victim-{unique}".lower()
    other.client("s3").create_bucket(Bucket=bucket)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"},
        "Action": "s3:*",
        # The bucket itself too: once written, the policy would allow its own writing.
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }
    template = {
        "Resources": {
            "Opened": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": bucket, "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}},
            }
        }
    }
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=f"opener-{unique}", TemplateBody=json.dumps(template))
    (described,) = cloudformation.describe_stacks(StackName=f"opener-{unique}")["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    with pytest.raises(ClientError):
        other.client("s3").get_bucket_policy(Bucket=bucket)  # none was ever set


def test_each_resource_a_handler_acts_on_is_checked_and_no_policy_document_s_arn_stands_in(patched, unique):
    """A handler calls iam:PutUserPolicy on each user an AWS::IAM::Policy names, and
    lambda:AddPermission on the function an AWS::Lambda::Permission names; IAM authorizes
    each call on that resource. The emulator checked each action on the first ARN of the
    action's format anywhere in the properties: a decoy in the policy document's Resource
    (or a SourceArn) stood in for the user or function, and a name that was no ARN fell back
    to "*", which a Deny on the real one does not match."""
    from tests.unit.emulator.helpers import client_as_role, service_trust

    iam = patched.client("iam")
    iam.create_user(UserName=f"victim-{unique}")
    iam.create_user(UserName=f"me-{unique}")
    execution = patched.role(f"fn-{unique}", trust=service_trust("lambda.amazonaws.com", patched.id), permissions=None)
    victim_fn = patched.python_function(f"victimfn-{unique}", "def handle(event, context):\n    return 1\n", execution)
    mine_fn = patched.python_function(f"minefn-{unique}", "def handle(event, context):\n    return 1\n", execution)
    me = f"arn:aws:iam::{patched.id}:user/me-{unique}"
    victim = f"arn:aws:iam::{patched.id}:user/victim-{unique}"
    role = _narrow_cloudformation_role(patched, f"decoy-{unique}", ["cloudformation:*"])

    def permit(*statements: dict) -> None:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=f"decoy-{unique}", PolicyName="narrow", PolicyDocument=json.dumps(document))

    permit(
        {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:*", "Resource": me},
        {"Effect": "Allow", "Action": "lambda:*", "Resource": mine_fn},
    )
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": ["*", me]}]}
    templates = {
        "user-policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "pwn", "Users": [f"victim-{unique}"], "PolicyDocument": everything},
        },
        "permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"FunctionName": f"victimfn-{unique}", "Action": "lambda:InvokeFunction", "Principal": "*", "SourceArn": mine_fn},
        },
    }
    cloudformation = client_as_role(patched, role, "cloudformation")
    for name, resource in templates.items():
        cloudformation.create_stack(StackName=f"{name}-{unique}", TemplateBody=json.dumps({"Resources": {"R": resource}}))
        (described,) = cloudformation.describe_stacks(StackName=f"{name}-{unique}")["Stacks"]
        assert described["StackStatus"] == "ROLLBACK_COMPLETE", name
    assert iam.list_user_policies(UserName=f"victim-{unique}")["PolicyNames"] == []
    with pytest.raises(ClientError):
        patched.client("lambda").get_policy(FunctionName=victim_fn)
    # A Deny on the named user holds though the role may do anything else in IAM.
    permit(
        {"Effect": "Allow", "Action": ["cloudformation:*", "iam:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": victim},
    )
    cloudformation.create_stack(StackName=f"denied-{unique}", TemplateBody=json.dumps({"Resources": {"R": templates["user-policy"]}}))
    (described,) = cloudformation.describe_stacks(StackName=f"denied-{unique}")["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert iam.list_user_policies(UserName=f"victim-{unique}")["PolicyNames"] == []
