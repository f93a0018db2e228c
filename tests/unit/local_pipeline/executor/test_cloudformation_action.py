"""The CloudFormation deploy action: in a pipeline of its own, change sets through the
action's role into emulated accounts, a second run updating, outputs as variables; then
each action mode, its parameters and files, and what it refuses (CodePipeline user guide,
"AWS CloudFormation deploy action reference"; CloudFormation user guide, "AWS
CloudFormation configuration properties reference", "AWS CloudFormation artifacts", "Using
parameter override functions with CodePipeline pipelines")."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from local_pipeline.executor.definition import Action, ActionType, read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from project.assembly import read_stacks
from project.deployment_order import TRUSTED_RESOURCES
from tests.unit.local_pipeline.executor.helpers import action

if TYPE_CHECKING:
    from emulator import Emulator
    from emulator.identity import Credentials


def _pipeline(stack, template_path: str) -> dict:
    prepare = action("Prepare", "CloudFormation", inputs=["Synth_Output"], category="Deploy") | {
        "RoleArn": stack.deploy_role_arn,
        "Configuration": {
            "StackName": stack.stack_name,
            "ActionMode": "CHANGE_SET_REPLACE",
            "ChangeSetName": "PipelineChange",
            "TemplatePath": f"Synth_Output::{template_path}",
            "RoleArn": stack.execution_role_arn,
            "Capabilities": "CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND",
        },
    }
    deploy = action("Deploy", "CloudFormation", run_order=2, namespace="Trusted", category="Deploy") | {
        "RoleArn": stack.deploy_role_arn,
        "Configuration": {"StackName": stack.stack_name, "ActionMode": "CHANGE_SET_EXECUTE", "ChangeSetName": "PipelineChange"},
    }
    report = action("Report", "Echo", run_order=3) | {"Configuration": {"Consumer": "#{Trusted.ConsumerStateMachineArn}"}}
    return {
        "Stages": [
            {"Name": "Source", "Actions": [action("Synth", "Copy", outputs=["Synth_Output"], category="Source")]},
            {"Name": TRUSTED_RESOURCES.id("dev"), "Actions": [prepare, deploy, report]},
        ]
    }


def test_change_sets_create_then_update_through_the_actions_role(synthesized_app, tmp_path):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": CHANGE_SET_REPLACE
    then CHANGE_SET_EXECUTE, as CDK Pipelines' Prepare and Deploy, through the deploy role;
    "Output variables": CHANGE_SET_EXECUTE's stack outputs under the action's namespace."""
    from emulator import Emulator
    from emulator.identity import assume_role_as, principal_for_access_key
    from local_pipeline.deployment import bootstrap_accounts
    from local_pipeline.executor.cloudformation_action import CloudFormationAction

    stacks = read_stacks(synthesized_app.outdir)
    (stack,) = [s for s in stacks if s.stage == TRUSTED_RESOURCES.id("dev")]
    assembly = tmp_path / "assembly"
    shutil.copytree(synthesized_app.outdir, assembly)
    template_path = str(stack.template_file.relative_to(synthesized_app.outdir))
    echoed: list[str] = []

    def copy(context: ActionContext) -> ActionOutcome:
        shutil.copytree(assembly, context.outputs["Synth_Output"], dirs_exist_ok=True)
        return ActionOutcome("Succeeded", "assembly")

    def echo(context: ActionContext) -> ActionOutcome:
        echoed.append(str(context.configuration["Consumer"]))
        return ActionOutcome("Succeeded")

    with Emulator() as emulator:
        tooling = bootstrap_accounts(emulator, stacks)
        deployer = principal_for_access_key(emulator.credentials(tooling).access_key_id)

        def sessions(role_arn: str, region: str):
            return assume_role_as(deployer, role_arn, external_id=None, region=region)

        handlers = {"Copy": copy, "CloudFormation": CloudFormationAction(sessions, stack.region), "Echo": echo}

        def run(run_id: str, change: str, status: str) -> None:
            record = RunRecord(run_id, run_id, "main")
            ended = PipelineRun(
                read_pipeline(_pipeline(stack, template_path)), handlers, directory=tmp_path / run_id, record=record
            ).execute()
            assert ended.status == "Succeeded", ended.reason
            assert [a.summary for a in ended.actions][1:3] == [
                f"change set PipelineChange of {stack.stack_name} ({change})",
                f"{stack.stack_name}: {status}",
            ]

        run("1", "create", "CREATE_COMPLETE")
        assert echoed[0].endswith(":stateMachine:SecretCacheConsumerWfw-dev")

        # The next commit changes the template: the same actions update the stack.
        template_file = assembly / template_path
        template = json.loads(template_file.read_text())
        (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        parts[0] = parts[0].replace('{"StartAt":', '{"Comment":"second commit","StartAt":', 1)
        template_file.write_text(json.dumps(template))
        run("2", "update", "UPDATE_COMPLETE")
        described = emulator.client("stepfunctions", stack.account, stack.region).describe_state_machine(stateMachineArn=echoed[0])
        assert json.loads(described["definition"])["Comment"] == "second commit"


# --- every action mode, on small templates, in emulated accounts of their own ----------------
#
# The action's calls go through an action role (`deploy`, trusted by the tooling account, as CDK
# Pipelines' deploy role is), CloudFormation acts as the execution role (`exec`, allowed
# everything, or `exec-denied`, allowed nothing: a creation then rolls back to ROLLBACK_COMPLETE).

ACCOUNT, TOOLING, REGION = "111111111111", "222222222222", "us-east-1"
TOPIC = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}}}
TWO_TOPICS = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Other": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}
# Three parameters, each echoed as an output.
ECHO = {
    "Parameters": {name: {"Type": "String"} for name in ("First", "Second", "Third")},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {name: {"Value": {"Ref": name}} for name in ("First", "Second", "Third")},
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
CLOUDFORMATION_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TOOLING_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"}, "Action": "sts:AssumeRole"}],
}
DEPLOY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["cloudformation:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/exec*"},
    ],
}
NO_EVENTS = {"Effect": "Deny", "Action": "cloudformation:DescribeStackEvents", "Resource": "*"}


class Accounts:
    """The emulated target account, its roles, and actions run in it."""

    def __init__(self, emulator: Emulator) -> None:
        from emulator.identity import principal_for_access_key

        self.emulator = emulator
        iam = emulator.client("iam", ACCOUNT, REGION)
        roles = {
            "deploy": (TOOLING_TRUST, DEPLOY_POLICY),
            "deploy-no-events": (TOOLING_TRUST, {**DEPLOY_POLICY, "Statement": [*DEPLOY_POLICY["Statement"], NO_EVENTS]}),
            "exec": (CLOUDFORMATION_TRUST, ALLOW_ALL),
            "exec-denied": (CLOUDFORMATION_TRUST, None),
        }
        self.roles: dict[str, str] = {}
        for name, (trust, policy) in roles.items():
            self.roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            if policy is not None:
                iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(policy))
        self.tooling = principal_for_access_key(emulator.credentials(TOOLING).access_key_id)
        self.cloudformation = emulator.client("cloudformation", ACCOUNT, REGION)

    def run(
        self,
        tmp_path: Path,
        configuration: dict[str, str],
        *,
        files: dict[str, Any] | None = None,
        inputs: dict[str, Path] | None = None,
        output: bool = False,
        role: str = "deploy",
        namespace: str | None = None,
    ) -> tuple[ActionOutcome, Path]:
        """Run the action once: ``files`` (name -> JSON document or text) make its input artifact
        ``Source``; ``output`` gives it the output artifact ``Out``. Returns the outcome and the
        output artifact's folder."""
        from emulator.identity import assume_role_as
        from local_pipeline.executor.cloudformation_action import CloudFormationAction

        source = tmp_path / "Source"
        for name, content in (files or {}).items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text(content if isinstance(content, str) else json.dumps(content))
        out = tmp_path / "Out"
        out.mkdir(parents=True, exist_ok=True)
        source.mkdir(parents=True, exist_ok=True)
        action_role = self.roles[role]
        declared = Action(
            stage="Deploy",
            name="Action",
            type=ActionType("Deploy", "AWS", "CloudFormation", "1"),
            run_order=1,
            configuration=configuration,
            input_artifacts=("Source", *(inputs or {})),
            output_artifacts=("Out",) if output else (),
            role_arn=action_role,
            namespace=namespace,
        )
        context = ActionContext(
            action=declared,
            configuration=configuration,
            inputs={"Source": source, **(inputs or {})},
            outputs={"Out": out} if output else {},
            log=tmp_path / "log.txt",
            variables={},
        )

        def sessions(role_arn: str, region: str) -> Credentials:
            return assume_role_as(self.tooling, role_arn, external_id=None, region=region)

        return CloudFormationAction(sessions, REGION)(context), out

    def stack(self, name: str) -> dict[str, Any] | None:
        held = [s for s in self.cloudformation.describe_stacks()["Stacks"] if s["StackName"] == name]
        assert len(held) <= 1, held
        return held[0] if held else None

    def rolled_back(self, tmp_path: Path, name: str) -> str:
        """A stack whose creation failed, through the action's own change sets: ROLLBACK_COMPLETE. Its ID."""
        prepared, _ = self.run(tmp_path / "prepare-1", prepare(name, self.roles["exec-denied"]), files={"template.json": TOPIC})
        assert prepared.status == "Succeeded", prepared.summary
        executed, _ = self.run(tmp_path / "execute-1", execute(name))
        assert executed.status == "Failed"
        assert executed.summary.startswith(f"{name} ended ROLLBACK_COMPLETE: Topic: Resource handler returned message"), executed.summary
        stack = self.stack(name)
        assert stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE"
        return str(stack["StackId"])


def prepare(stack: str, role_arn: str, **extra: str) -> dict[str, str]:
    return {
        "ActionMode": "CHANGE_SET_REPLACE",
        "StackName": stack,
        "ChangeSetName": "PipelineChange",
        "TemplatePath": "Source::template.json",
        "RoleArn": role_arn,
        **extra,
    }


def execute(stack: str, **extra: str) -> dict[str, str]:
    return {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack, "ChangeSetName": "PipelineChange", **extra}


def deploy(mode: str, stack: str, role_arn: str, **extra: str) -> dict[str, str]:
    return {"ActionMode": mode, "StackName": stack, "TemplatePath": "Source::template.json", "RoleArn": role_arn, **extra}


@pytest.fixture(scope="module")
def accounts() -> Iterator[Accounts]:
    from emulator import Emulator

    with Emulator() as emulator:
        yield Accounts(emulator)


_names = iter(range(10_000))


@pytest.fixture
def name() -> str:
    """A fresh stack name per test: the module's accounts are shared."""
    return f"Stack{next(_names)}"


def test_change_set_replace_does_not_delete_a_stack_in_rollback_complete(accounts, tmp_path, name):
    """CloudFormation user guide, "Stack status codes": ROLLBACK_COMPLETE "exists only after a
    failed stack creation ... When in this state, only a delete operation can be performed";
    CodePipeline user guide, "AWS CloudFormation deploy action reference": CHANGE_SET_REPLACE
    "creates the change set" (nothing more); the error as aws/aws-cdk#901 shows it. Deleting
    the stack is the CDK CLI's recovery, not CodePipeline's: the action fails, and the stack
    is still there."""
    stack_id = accounts.rolled_back(tmp_path, name)
    again, _ = accounts.run(tmp_path / "prepare-2", prepare(name, accounts.roles["exec"]), files={"template.json": TOPIC})
    assert again.status == "Failed"
    assert again.summary == f"ValidationError: Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    left = accounts.stack(name)
    assert left is not None and (left["StackId"], left["StackStatus"]) == (stack_id, "ROLLBACK_COMPLETE")


def test_a_failed_change_set_fails_the_prepare_action_with_cloudformations_reason(accounts, tmp_path, name):
    """CloudFormation API reference, DescribeChangeSet: StatusReason, "if your attempt to create
    a change set failed, CloudFormation shows the error message". The change set is waited
    for; a change set without changes is no failure (a guess: the docs are silent; CDK
    Pipelines relies on it for an unchanged stack), in Prepare and in Deploy."""
    overrides = json.dumps({"First": "1", "Second": "2", "Third": "3"})
    for run in ("1", "2"):  # the second: the same template, the same parameters
        prepared, _ = accounts.run(
            tmp_path / f"prepare-{run}", prepare(name, accounts.roles["exec"], ParameterOverrides=overrides), files={"template.json": ECHO}
        )
        executed, _ = accounts.run(tmp_path / f"execute-{run}", execute(name), namespace="Deployed")
        assert (prepared.status, executed.status) == ("Succeeded", "Succeeded"), (prepared.summary, executed.summary)
    assert prepared.summary == f"change set PipelineChange of {name}: no changes"
    assert executed.summary == f"{name}: no changes"
    assert executed.variables == {"First": "1", "Second": "2", "Third": "3"}


class _ScriptedCloudFormation:
    """A CloudFormation that answers DescribeChangeSet with ``statuses``, one per call (the last
    one for ever after): what the emulator, which creates a change set at once, never shows."""

    def __init__(self, *statuses: tuple[str, str]) -> None:
        self.statuses = list(statuses)

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803  (boto3's names)
        raise ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}}, "DescribeStacks")

    def create_change_set(self, **arguments: Any) -> dict[str, str]:
        return {"Id": "arn:aws:cloudformation:us-east-1:111111111111:changeSet/PipelineChange/1"}

    def describe_change_set(self, **arguments: Any) -> dict[str, str]:
        status, reason = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Status": status, "StatusReason": reason, "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/S/1"}


@pytest.mark.parametrize(
    ("statuses", "status", "summary"),
    [
        (
            [("CREATE_PENDING", ""), ("CREATE_IN_PROGRESS", ""), ("FAILED", "Template format error: Unresolved resource dependencies")],
            "Failed",
            "change set PipelineChange of S FAILED: Template format error: Unresolved resource dependencies",
        ),
        ([("CREATE_PENDING", ""), ("CREATE_COMPLETE", "")], "Succeeded", "change set PipelineChange of S (create)"),
        ([("CREATE_IN_PROGRESS", "")], "Failed", "change set PipelineChange of S still CREATE_IN_PROGRESS after 0.2 s"),
    ],
)
def test_change_set_replace_waits_for_its_change_set(monkeypatch, tmp_path, statuses, status, summary):
    """CloudFormation API reference, DescribeChangeSet: Status "such as CREATE_IN_PROGRESS,
    CREATE_COMPLETE, or FAILED"; CHANGE_SET_REPLACE waits until it is created or failed (for
    at most the action's timeout), and a FAILED one fails the action with its StatusReason."""
    from emulator.identity import Credentials
    from local_pipeline.executor import cloudformation_action
    from local_pipeline.executor.cloudformation_action import CloudFormationAction

    scripted = _ScriptedCloudFormation(*statuses)
    monkeypatch.setattr(cloudformation_action.clients, "client", lambda *args, **kwargs: scripted)
    (tmp_path / "Source").mkdir()
    (tmp_path / "Source" / "template.json").write_text(json.dumps(TOPIC))
    configuration = prepare("S", "arn:aws:iam::111111111111:role/exec")
    declared = Action(
        stage="Deploy",
        name="Prepare",
        type=ActionType("Deploy", "AWS", "CloudFormation", "1"),
        run_order=1,
        configuration=configuration,
        input_artifacts=("Source",),
        output_artifacts=(),
        role_arn="arn:aws:iam::111111111111:role/deploy",
    )
    inputs = {"Source": tmp_path / "Source"}
    context = ActionContext(action=declared, configuration=configuration, inputs=inputs, outputs={}, log=tmp_path / "log.txt", variables={})
    action = CloudFormationAction(lambda role, region: Credentials("AKIA", "secret"), REGION, timeout_seconds=0.2, poll_seconds=0.01)
    outcome = action(context)
    assert (outcome.status, outcome.summary) == (status, summary)


def test_create_update_creates_then_updates_then_finds_nothing_to_update(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": CREATE_UPDATE
    "creates the stack if it doesn't exist. If the stack exists, AWS CloudFormation updates the
    stack"; "Output variables": CREATE_UPDATE is one of "the action modes that generate
    variables"; OutputFileName: "The JSON file contains the contents of the Outputs section".
    An update without changes ("No updates are to be performed.") is no failure (a guess: the
    reference is silent)."""
    configuration = deploy("CREATE_UPDATE", name, accounts.roles["exec"], OutputFileName="outputs/stack.json")
    runs = [("1", TOPIC, "CREATE_COMPLETE"), ("2", TWO_TOPICS, "UPDATE_COMPLETE"), ("3", TWO_TOPICS, "no updates")]
    for run, template, status in runs:
        outcome, out = accounts.run(tmp_path / run, configuration, files={"template.json": template}, output=True)
        assert (outcome.status, outcome.summary) == ("Succeeded", f"{name}: {status}")
        assert outcome.variables["TopicArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}-Topic-")
        assert json.loads((out / "outputs" / "stack.json").read_text()) == dict(outcome.variables)
    resources = accounts.cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["Other", "Topic"]


def test_create_update_does_not_replace_a_failed_stack(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": with CREATE_UPDATE,
    "Unlike REPLACE_ON_FAILURE, if the stack exists and is in a failed state, CodePipeline won't
    delete and replace the stack": CloudFormation refuses the update, and the stack stays."""
    configuration = deploy("CREATE_UPDATE", name, accounts.roles["exec-denied"])
    created, _ = accounts.run(tmp_path / "1", configuration, files={"template.json": TOPIC})
    assert created.status == "Failed"
    assert created.summary.startswith(f"{name} ended ROLLBACK_COMPLETE: Topic: Resource handler returned message"), created.summary
    stack_id = accounts.stack(name)["StackId"]
    again, _ = accounts.run(tmp_path / "2", deploy("CREATE_UPDATE", name, accounts.roles["exec"]), files={"template.json": TOPIC})
    assert again.status == "Failed"
    assert again.summary == f"ValidationError: Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    assert accounts.stack(name)["StackId"] == stack_id


def test_replace_on_failure_deletes_a_failed_stack_then_creates_it(accounts, tmp_path, name):
    """CloudFormation user guide, "AWS CloudFormation configuration properties reference":
    REPLACE_ON_FAILURE, "If the stack exists and is in a failed state (reported as
    ROLLBACK_COMPLETE, ROLLBACK_FAILED, CREATE_FAILED, DELETE_FAILED, or UPDATE_ROLLBACK_FAILED),
    AWS CloudFormation deletes the stack and then creates a new stack. If the stack isn't in a
    failed state, AWS CloudFormation updates it": a healthy stack is never deleted."""
    old = accounts.rolled_back(tmp_path, name)
    configuration = deploy("REPLACE_ON_FAILURE", name, accounts.roles["exec"])
    replaced, _ = accounts.run(tmp_path / "2", configuration, files={"template.json": TOPIC})
    assert (replaced.status, replaced.summary) == ("Succeeded", f"{name}: CREATE_COMPLETE (replaced the stack left ROLLBACK_COMPLETE)")
    assert "TopicArn" in replaced.variables
    new = accounts.stack(name)
    assert new is not None and new["StackId"] != old
    updated, _ = accounts.run(tmp_path / "3", configuration, files={"template.json": TWO_TOPICS})
    assert (updated.status, updated.summary) == ("Succeeded", f"{name}: UPDATE_COMPLETE")
    assert accounts.stack(name)["StackId"] == new["StackId"]


def test_delete_only_deletes_a_stack_and_succeeds_without_one(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": DELETE_ONLY
    "deletes a stack. If you specify a stack that doesn't exist, the action is completed
    successfully without deleting a stack"; no variables ("Output variables" lists no
    DELETE_ONLY). Through the action's role."""
    accounts.rolled_back(tmp_path, name)
    configuration = {"ActionMode": "DELETE_ONLY", "StackName": name, "RoleArn": accounts.roles["exec"]}
    deleted, _ = accounts.run(tmp_path / "delete-1", configuration)
    assert (deleted.status, deleted.summary, dict(deleted.variables)) == ("Succeeded", f"{name}: DELETE_COMPLETE", {})
    assert accounts.stack(name) is None
    absent, _ = accounts.run(tmp_path / "delete-2", configuration)
    assert (absent.status, absent.summary) == ("Succeeded", f"{name} does not exist: nothing to delete")


@pytest.mark.parametrize(
    ("configuration", "summary"),
    [
        (
            {"ActionMode": "ALWAYS_REPLACE", "StackName": "S"},
            "ActionMode 'ALWAYS_REPLACE' is not an action mode of the CloudFormation action, which takes "
            "CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE, CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE",
        ),
        (
            {"ActionMode": "CREATE_UPDATE", "StackName": "S"},
            "ActionMode CREATE_UPDATE requires TemplatePath, RoleArn in the action's configuration",
        ),
        (
            {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "S"},
            "ActionMode CHANGE_SET_EXECUTE requires ChangeSetName in the action's configuration",
        ),
    ],
)
def test_an_action_mode_the_reference_does_not_list_is_refused(accounts, tmp_path, configuration, summary):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference", ActionMode: "The
    following action modes are available" (the five); RoleArn, TemplatePath and ChangeSetName
    are "Required: Conditional", per mode. (Its "Output variables" names an ALWAYS_REPLACE that
    ActionMode does not list.)"""
    outcome, _ = accounts.run(tmp_path, configuration)
    assert (outcome.status, outcome.summary) == ("Failed", summary)


def test_parameters_from_the_template_configuration_overridden_and_from_another_stacks_outputs(accounts, tmp_path, name):
    """CloudFormation user guide, "AWS CloudFormation artifacts": a template configuration file
    "can specify template parameter values, a stack policy, and tags"; "AWS CloudFormation
    configuration properties reference", ParameterOverrides: "You can specify a JSON object
    that overrides template parameter values in the template configuration file"; "Using
    parameter override functions with CodePipeline pipelines", Fn::GetParam: "returns a value
    from a key-value pair in a JSON-formatted file", as stack B reads stack A's OutputFileName.
    In every mode that makes a stack or a change set."""
    first, stack_a = accounts.run(
        tmp_path / "a",
        deploy("CREATE_UPDATE", f"{name}A", accounts.roles["exec"], OutputFileName="TestOutput.json"),
        files={"template.json": TOPIC},
        output=True,
    )
    assert first.status == "Succeeded", first.summary
    configuration_file = {
        "Parameters": {"First": "from-configuration", "Second": "from-configuration"},
        "Tags": {"Department": "Marketing"},
        "StackPolicy": {"Statement": [{"Effect": "Allow", "NotAction": "Update:Delete", "Principal": "*", "Resource": "*"}]},
    }
    overrides = json.dumps({"Second": "overridden", "Third": {"Fn::GetParam": ["StackAOutput", "TestOutput.json", "TopicArn"]}})
    extra = {"TemplateConfiguration": "Source::test-configuration.json", "ParameterOverrides": overrides}
    files = {"template.json": ECHO, "test-configuration.json": configuration_file}
    expected = {"First": "from-configuration", "Second": "overridden", "Third": first.variables["TopicArn"]}

    created, _ = accounts.run(
        tmp_path / "b",
        deploy("CREATE_UPDATE", f"{name}B", accounts.roles["exec"], **extra),
        files=files,
        inputs={"StackAOutput": stack_a},
    )
    assert (created.status, dict(created.variables)) == ("Succeeded", expected), created.summary
    assert accounts.stack(f"{name}B")["Tags"] == [{"Key": "Department", "Value": "Marketing"}]
    policy = json.loads(accounts.cloudformation.get_stack_policy(StackName=f"{name}B")["StackPolicyBody"])
    assert policy == configuration_file["StackPolicy"]

    prepared, _ = accounts.run(
        tmp_path / "c", prepare(f"{name}C", accounts.roles["exec"], **extra), files=files, inputs={"StackAOutput": stack_a}
    )
    assert prepared.summary == (
        f"change set PipelineChange of {name}C (create) (the template configuration's StackPolicy is not applied to a change set)"
    )
    executed, _ = accounts.run(tmp_path / "d", execute(f"{name}C"))
    assert (executed.status, dict(executed.variables)) == ("Succeeded", expected), executed.summary


@pytest.mark.parametrize(
    ("extra", "files", "summary"),
    [
        (
            {"ParameterOverrides": json.dumps({"First": {"Fn::GetArtifactAtt": ["Source", "ObjectKey"]}})},
            {},
            "ParameterOverrides, parameter First: Fn::GetArtifactAtt is not run by the local executor (it runs Fn::GetParam)",
        ),
        (
            {"ParameterOverrides": json.dumps({"Fourth": "x"})},
            {},
            "the template Source::template.json declares no parameter Fourth (all parameter names must be present in the stack template)",
        ),
        (
            {"ParameterOverrides": json.dumps({"First": "x" * 1100})},
            {},
            "ParameterOverrides is 1113 bytes: CodePipeline takes at most 1 kilobyte",
        ),
        (
            {"ParameterOverrides": json.dumps({"First": {"Fn::GetParam": ["Source", "values.json", "Missing"]}})},
            {"values.json": {"Present": "1"}},
            "ParameterOverrides, parameter First: Fn::GetParam finds no key Missing in Source::values.json",
        ),
        (
            {"TemplateConfiguration": "Source::configuration.json"},
            {"configuration.json": {"Parameters": {"First": "1"}, "Capabilities": ["CAPABILITY_IAM"]}},
            "TemplateConfiguration Source::configuration.json holds Capabilities: a template configuration holds only Parameters, Tags "
            "and StackPolicy",
        ),
        (
            {"TemplateConfiguration": "Elsewhere::configuration.json"},
            {},
            "TemplateConfiguration names the artifact Elsewhere, which is not an input of this action",
        ),
    ],
)
def test_parameters_the_action_cannot_honour_are_refused_before_anything_is_made(accounts, tmp_path, name, extra, files, summary):
    """CloudFormation user guide, "Using parameter override functions with CodePipeline
    pipelines" (Fn::GetArtifactAtt, Fn::GetParam: "The name of the key whose value you want to
    retrieve"), "AWS CloudFormation configuration properties reference" ("All parameter names
    must be present in the stack template"; "a maximum size limit of 1 kilobyte for the JSON
    object"; TemplateConfiguration "follows the format ArtifactName::TemplateConfigurationFileName"),
    "AWS CloudFormation artifacts" (Parameters, Tags, StackPolicy). The emulator does not run
    Fn::GetArtifactAtt (no artifact's S3 location is handed to a template here): it says so."""
    outcome, _ = accounts.run(
        tmp_path, deploy("CREATE_UPDATE", name, accounts.roles["exec"], **extra), files={"template.json": ECHO, **files}
    )
    assert (outcome.status, outcome.summary) == ("Failed", summary)
    assert accounts.stack(name) is None


def test_paths_that_climb_out_of_an_artifact_are_refused(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": TemplatePath and
    TemplateConfiguration name a file "in an input artifact to this action", OutputFileName one
    that "CodePipeline adds to the pipeline output artifact for this action"; Fn::GetParam a
    "JSON file that is contained in the artifact". A pipeline definition that reaches this
    machine's files through them (``..``, an absolute path, a symbolic link) is refused and
    nothing is made, nor written outside the output artifact."""
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"Key": "host secret"}))
    cases = [
        ({"TemplatePath": "Source::../secret.json"}, "TemplatePath '../secret.json' is not a path inside the artifact"),
        ({"TemplatePath": f"Source::{secret}"}, f"TemplatePath '{secret}' is not a path inside the artifact"),
        ({"TemplatePath": "Source::link.json"}, "TemplatePath 'link.json' leads out of the artifact (a symbolic link)"),
        (
            {"ParameterOverrides": json.dumps({"First": {"Fn::GetParam": ["Source", "link.json", "Key"]}})},
            "ParameterOverrides, parameter First, Fn::GetParam 'link.json' leads out of the artifact (a symbolic link)",
        ),
        ({"OutputFileName": "../../escaped.json"}, "OutputFileName '../../escaped.json' is not a path inside the artifact"),
    ]
    for index, (extra, summary) in enumerate(cases):
        (tmp_path / f"run-{index}" / "Source").mkdir(parents=True)
        (tmp_path / f"run-{index}" / "Source" / "link.json").symlink_to(secret)
        outcome, _ = accounts.run(
            tmp_path / f"run-{index}",
            deploy("CREATE_UPDATE", name, accounts.roles["exec"], **extra),
            files={"template.json": ECHO},
            output=True,
        )
        assert (outcome.status, outcome.summary) == ("Failed", summary)
    assert accounts.stack(name) is None
    assert not list(tmp_path.glob("**/escaped.json"))


def test_without_describe_stack_events_the_failure_is_generic(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference": "If an action IAM
    role has permission to access that API [DescribeStackEvents], the details about the first
    failed resource will be included in the CodePipeline error message. Otherwise ...
    CodePipeline will ignore accessing the API and show a generic error message instead." """
    prepared, _ = accounts.run(tmp_path / "prepare", prepare(name, accounts.roles["exec-denied"]), files={"template.json": TOPIC})
    assert prepared.status == "Succeeded", prepared.summary
    executed, _ = accounts.run(tmp_path / "execute", execute(name), role="deploy-no-events")
    assert (executed.status, executed.summary) == (
        "Failed",
        f"{name} ended ROLLBACK_COMPLETE: no details (the action's role may not call cloudformation:DescribeStackEvents)",
    )


def test_only_the_modes_the_reference_names_export_variables(accounts, tmp_path, name):
    """CodePipeline user guide, "AWS CloudFormation deploy action reference", "Output
    variables": "the only CloudFormation action modes that generate outputs are those that
    result in creating or updating a stack": not CHANGE_SET_REPLACE. Its OutputFileName holds
    the stack's outputs as they are, none before the stack is created (a guess)."""
    prepared, out = accounts.run(
        tmp_path / "prepare",
        prepare(name, accounts.roles["exec"], OutputFileName="outputs.json"),
        files={"template.json": TOPIC},
        output=True,
    )
    assert (prepared.status, dict(prepared.variables)) == ("Succeeded", {})
    assert json.loads((out / "outputs.json").read_text()) == {}
    executed, _ = accounts.run(tmp_path / "execute", execute(name))
    assert list(executed.variables) == ["TopicArn"]
