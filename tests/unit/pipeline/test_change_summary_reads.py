"""The ChangeSummary step's reads, against emulated accounts: the step's role in the tooling
account assumes the target account's CDK bootstrap lookup role with a session policy that
allows only cloudformation:DescribeChangeSet, DescribeStacks and GetTemplate on the one
stack (``pipeline.change_summary._session``, ``read_only_session_policy``).

IAM User Guide, "Session policies": "Session policies limit the permissions that the role
or user's identity-based policy grants to the session"; the session's permissions are the
intersection of the role's identity-based policies and the session policies. The lookup
role on AWS has ReadOnlyAccess; here a broad read policy stands in for it
(``cloudformation:Describe*``, ``Get*``, ``List*`` and ``secretsmanager:GetSecretValue`` on
``*``), so each attack below is something the role itself may do and only the session
policy refuses.

What is read: CloudFormation API reference, DescribeChangeSet ("Returns the inputs for
the change set and a list of changes that CloudFormation will make if you execute the
change set"; Changes[].ResourceChange.Action ``Add`` for a new resource) and GetTemplate
("Returns the template body for a specified stack"). The Service Authorization Reference
authorizes both on the ``stack`` resource, ``arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline import change_summary
from tests.unit.emulator.helpers import service_trust

if TYPE_CHECKING:
    from emulator import Emulator
    from emulator.identity import Credentials

TOOLING = "111111111111"  # the pipeline's account: the step's role is there
TARGET = "222222222222"  # the stack's account: the lookup role is there
REGION = "us-east-1"
CHANGE_SET = "PipelineChange"  # the name CDK Pipelines' Prepare action gives it
LOOKUP_ROLE = f"arn:aws:iam::{TARGET}:role/cdk-hnb659fds-lookup-role-{TARGET}-{REGION}"
SECRET_VALUE = secrets.token_urlsafe(16)  # generated: a secret value is never written down

# What stands in for ReadOnlyAccess, the lookup role's policy in the CDK bootstrap.
BROAD_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["cloudformation:Describe*", "cloudformation:Get*", "cloudformation:List*", "secretsmanager:GetSecretValue"],
            "Resource": "*",
        }
    ],
}

TOPIC = {"Type": "AWS::SNS::Topic"}
TOPIC_POLICY = {
    "Type": "AWS::SNS::TopicPolicy",
    "Properties": {
        "Topics": [{"Ref": "Topic"}],
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}
            ],
        },
    },
}
# A new stack whose topic policy grants events.amazonaws.com sns:Publish: that broadens.
BROADENING = {"Resources": {"Topic": TOPIC, "TopicPolicy": TOPIC_POLICY}}
# A new stack with a topic and no policy: nothing broadens.
PLAIN = {"Resources": {"Topic": TOPIC}}


def create_lookup_role(emulator: Emulator) -> str:
    """The target account's lookup role, trusting the tooling account (`cdk bootstrap --trust`)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"}, "Action": "sts:AssumeRole"}],
    }
    iam = emulator.client("iam", TARGET, REGION)
    name = LOOKUP_ROLE.rsplit("/", 1)[1]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="ReadOnlyAccessStandIn", PolicyDocument=json.dumps(BROAD_READ))
    return LOOKUP_ROLE


def create_step_role(emulator: Emulator, name: str) -> Credentials:
    """The ChangeSummary step's role in the tooling account, as pipeline/approval_steps.py
    declares it (trusted by CodeBuild, allowed only sts:AssumeRole on the lookup role), and
    its credentials as CodeBuild assumes it for a build."""
    from emulator.identity import assume_role_as_service

    iam = emulator.client("iam", TOOLING, REGION)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=service_trust("codebuild.amazonaws.com", TOOLING))["Role"]["Arn"]
    may = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "ReadTheChangeSet", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": LOOKUP_ROLE}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="ChangeSummary", PolicyDocument=json.dumps(may))
    source = f"arn:aws:codebuild:{REGION}:{TOOLING}:project/*"
    return assume_role_as_service(role, service="codebuild.amazonaws.com", source_arn=source, region=REGION)


def create_change_set(emulator: Emulator, stack: str, template: dict[str, Any]) -> None:
    """A new stack in the target account with its change set created (type CREATE), not
    executed: the state the Prepare action leaves the stack in."""
    emulator.client("cloudformation", TARGET, REGION).create_change_set(
        StackName=stack, ChangeSetName=CHANGE_SET, ChangeSetType="CREATE", TemplateBody=json.dumps(template)
    )


def base_session(credentials: Credentials) -> Any:
    """A boto3 Session with the step role's credentials: what the build's environment gives."""
    return boto3.Session(**credentials.as_boto3_kwargs(), region_name=REGION)


def arguments(stack: str, template: Path, output: Path, change_set: str = CHANGE_SET) -> list[str]:
    return [
        "--stack-name",
        stack,
        "--change-set-name",
        change_set,
        "--region",
        REGION,
        "--role-arn",
        LOOKUP_ROLE,
        "--template",
        str(template),
        "--output",
        str(output),
    ]


@pytest.fixture(scope="module")
def accounts() -> Iterator[tuple[Emulator, Credentials]]:
    """The emulated accounts with the lookup role in the target and the step's role in the
    tooling account; the step role's credentials."""
    from emulator import Emulator

    with Emulator() as emulator:
        create_lookup_role(emulator)
        yield emulator, create_step_role(emulator, "ChangeSummaryRole")


_counter = iter(range(10_000))


@pytest.fixture
def stack() -> str:
    """A fresh stack name per test: the module's accounts are shared."""
    return f"TrustingResources-dev-Stack{next(_counter)}"


@pytest.fixture(autouse=True)
def _not_in_a_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEBUILD_BUILD_ARN", raising=False)  # SUMMARY_URL: only a build's


def _written(template: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stack.template.json"
    path.write_text(json.dumps(template))
    return path


def _denied(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as denied:
        call(**kwargs)
    error: dict[str, Any] = denied.value.response["Error"]
    return error


@pytest.mark.parametrize(("template", "broadens"), [(BROADENING, True), (PLAIN, False)], ids=["topic-policy", "topic-only"])
def test_the_summary_reads_a_new_stacks_change_set_as_the_narrowed_lookup_role(accounts, stack, tmp_path, capsys, template, broadens):
    """CloudFormation API reference, DescribeChangeSet: a CREATE change set lists every
    resource of the template with ResourceChange.Action ``Add``. The step (main, as the
    step's role) exits 0, writes ``<stack>.json`` and ``<stack>.txt``, prints the text, and
    writes one file per exported variable (SUMMARY, BROADENS, SUMMARY_URL). A new stack
    has no deployed template: every Allow of the new one broadens, and only those."""
    emulator, step = accounts
    create_change_set(emulator, stack, template)
    output = tmp_path / "change-summary"
    code = change_summary.main(arguments(stack, _written(template, tmp_path / "cdk.out"), output), base_session=base_session(step))
    printed = capsys.readouterr()
    assert code == 0, printed.err

    summary = json.loads((output / f"{stack}.json").read_text())
    assert (summary["stack"], summary["change_set"], summary["where"]) == (stack, CHANGE_SET, f"account {TARGET} ({REGION})")
    assert sorted((change["action"], change["logical_id"], change["resource_type"]) for change in summary["changes"]) == sorted(
        ("Add", logical_id, resource["Type"]) for logical_id, resource in template["Resources"].items()
    )
    assert summary["broadens"] is broadens and summary["no_changes"] is False and summary["url"] == ""
    expected_widenings = (
        [
            {
                "owner": "TopicPolicy",
                "kind": "topic policy",
                "how": "allows",
                "action": "sns:Publish",
                "resource": "${Topic}",
                "principal": '{"Service": "events.amazonaws.com"}',
                "sid": "",
            }
        ]
        if broadens
        else []
    )
    assert summary["widenings"] == expected_widenings

    text = (output / f"{stack}.txt").read_text()
    assert text.startswith(f"Change set {CHANGE_SET} of {stack} in account {TARGET} ({REGION}): {len(template['Resources'])} change")
    assert printed.out == text

    variables = {path.name: path.read_text() for path in (output / "variables").iterdir()}
    assert set(variables) == set(change_summary.EXPORTED_VARIABLES)
    assert variables["BROADENS"] == ("true" if broadens else "false")
    assert variables["SUMMARY"] == summary["customData"] and variables["SUMMARY"].startswith(f"{stack} in account {TARGET}")
    assert len(variables["SUMMARY"]) <= change_summary.CUSTOM_DATA_LIMIT
    assert ("Permissions broaden: TopicPolicy" in variables["SUMMARY"]) is broadens
    assert variables["SUMMARY_URL"] == ""


def test_the_narrowed_session_cannot_read_another_stacks_change_set_or_template(accounts, stack):
    """Attack: the lookup role may read every stack of the account (cloudformation:Describe*,
    Get* on ``*``); the step's session, made by ``_session`` with the session policy, reads
    its own stack's change set and nothing of another stack's: DescribeChangeSet and
    GetTemplate on it are denied (IAM User Guide, "Session policies"), with the query
    protocol's AccessDenied. Without ``Policy=`` in ``_session`` these calls succeed."""
    emulator, step = accounts
    other = f"{stack}-other"
    create_change_set(emulator, other, BROADENING)
    create_change_set(emulator, stack, PLAIN)
    cloudformation = change_summary._session(base_session(step), LOOKUP_ROLE, REGION, stack).client("cloudformation")

    assert cloudformation.describe_change_set(StackName=stack, ChangeSetName=CHANGE_SET)["StackName"] == stack  # its own: read
    stack_arn = f"arn:aws:cloudformation:{REGION}:{TARGET}:stack/{other}/"
    for call, action in ((cloudformation.describe_change_set, "DescribeChangeSet"), (cloudformation.get_template, "GetTemplate")):
        error = _denied(call, StackName=other, ChangeSetName=CHANGE_SET)
        assert error["Code"] == "AccessDenied", error
        assert f"is not authorized to perform: cloudformation:{action} on resource: {stack_arn}" in error["Message"]
        assert LOOKUP_ROLE.rsplit("/", 1)[1] in error["Message"] and "no session policy allows it" in error["Message"]
    error = _denied(cloudformation.list_stacks)  # the role's List*: not the session's
    assert error["Code"] == "AccessDenied" and "no session policy allows it" in error["Message"]


def test_the_narrowed_session_cannot_read_a_secret_the_lookup_role_may_read(accounts, stack):
    """Attack: ReadOnlyAccess (here secretsmanager:GetSecretValue on ``*``) lets the lookup
    role read the target account's secrets; the step's session may not
    (Secrets Manager's AccessDeniedException). Without ``Policy=`` in ``_session`` it reads
    the value."""
    emulator, step = accounts
    secret = emulator.client("secretsmanager", TARGET, REGION).create_secret(Name=stack, SecretString=SECRET_VALUE)["ARN"]
    secretsmanager = change_summary._session(base_session(step), LOOKUP_ROLE, REGION, stack).client("secretsmanager")
    error = _denied(secretsmanager.get_secret_value, SecretId=secret)
    assert error["Code"] == "AccessDeniedException", error
    assert f"secretsmanager:GetSecretValue on resource: {secret}" in error["Message"]
    assert "no session policy allows it" in error["Message"] and SECRET_VALUE not in error["Message"]


def test_without_the_session_policy_the_same_role_reads_them_all(accounts, stack):
    """The reverse of the two attacks (IAM User Guide, "Session policies": without one,
    nothing limits the role's identity-based policy): the lookup role assumed by the same
    step role with no session policy reads the other stack's change set and template and
    the secret. So what refuses them above is the session policy, not the role."""
    emulator, step = accounts
    other = f"{stack}-other"
    create_change_set(emulator, other, BROADENING)
    secret = emulator.client("secretsmanager", TARGET, REGION).create_secret(Name=stack, SecretString=SECRET_VALUE)["ARN"]
    credentials = base_session(step).client("sts").assume_role(RoleArn=LOOKUP_ROLE, RoleSessionName="change-summary")["Credentials"]
    unlimited = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    cloudformation = unlimited.client("cloudformation")
    assert cloudformation.describe_change_set(StackName=other, ChangeSetName=CHANGE_SET)["StackName"] == other
    assert "TemplateBody" in cloudformation.get_template(StackName=other, ChangeSetName=CHANGE_SET)
    assert any(summary["StackName"] == other for summary in cloudformation.list_stacks()["StackSummaries"])
    assert unlimited.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == SECRET_VALUE


def test_a_change_set_that_does_not_exist_fails_the_step_naming_the_stack(accounts, stack, tmp_path, capsys):
    """CloudFormation API reference, DescribeChangeSet, Errors: ChangeSetNotFound, for a
    change set name that the stack has none of. The step exits 1, says which change set
    of which stack it cannot read, and writes no summary and no variables: an approval is
    never shown a summary of a change set nobody read."""
    emulator, step = accounts
    create_change_set(emulator, stack, PLAIN)
    output = tmp_path / "change-summary"
    argv = arguments(stack, _written(PLAIN, tmp_path / "cdk.out"), output, change_set="NotThere")
    code = change_summary.main(argv, base_session=base_session(step))
    printed = capsys.readouterr()
    assert code == 1
    assert printed.err.startswith(f"change summary: cannot read change set NotThere of {stack}: ")
    assert "ChangeSetNotFound" in printed.err
    assert not output.exists() and printed.out == ""


def test_a_step_role_that_may_not_assume_the_lookup_role_fails_the_step(accounts, stack, tmp_path, capsys):
    """The lookup role trusts the tooling account's root, which delegates to the account's
    identity policies (IAM User Guide, "Cross account resource access in IAM"): a tooling
    role without sts:AssumeRole on the lookup role cannot assume it. The step exits 1,
    naming the stack, and writes nothing."""
    from emulator.identity import assume_role_as_service

    emulator, _ = accounts
    iam = emulator.client("iam", TOOLING, REGION)
    name = f"NotAllowed{stack.rsplit('Stack', 1)[1]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=service_trust("codebuild.amazonaws.com", TOOLING))["Role"]["Arn"]
    source = f"arn:aws:codebuild:{REGION}:{TOOLING}:project/*"
    stranger = assume_role_as_service(role, service="codebuild.amazonaws.com", source_arn=source, region=REGION)
    create_change_set(emulator, stack, PLAIN)
    output = tmp_path / "change-summary"
    code = change_summary.main(arguments(stack, _written(PLAIN, tmp_path / "cdk.out"), output), base_session=base_session(stranger))
    printed = capsys.readouterr()
    assert code == 1
    assert printed.err.startswith(f"change summary: cannot read the change set of {stack}: ")
    assert "AccessDenied" in printed.err and "sts:AssumeRole" in printed.err
    assert not output.exists()


def test_each_stacks_change_set_of_the_same_name_is_its_own(accounts, stack, tmp_path):
    """CloudFormation API reference, DescribeChangeSet: ``StackName`` ("If you specified the
    name of a change set, specify the stack name or ID (ARN) of the change set you want to
    describe") and ``ChangeSetName``. Every stack CDK Pipelines prepares names its change set
    PipelineChange; two stacks in one account and region each keep their own. The summary of
    the first stack, read after the second's change set was created, is the first stack's:
    one Add, of its topic. moto answered with the second stack's change set (two Adds),
    which the narrowed session was not allowed to read (emulator/patches/change_set_cleanup.py)."""
    emulator, step = accounts
    create_change_set(emulator, stack, PLAIN)
    create_change_set(emulator, f"{stack}-next", BROADENING)
    cloudformation = change_summary._session(base_session(step), LOOKUP_ROLE, REGION, stack).client("cloudformation")
    assert cloudformation.describe_change_set(StackName=stack, ChangeSetName=CHANGE_SET)["StackName"] == stack
