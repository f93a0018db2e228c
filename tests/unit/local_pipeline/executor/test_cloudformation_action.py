"""The CloudFormation deploy action in a pipeline of its own: change sets through the
action's role into emulated accounts, a second run updating, outputs as variables
(CodePipeline user guide, "AWS CloudFormation deploy action reference")."""

from __future__ import annotations

import json
import shutil

from emulator import Emulator
from emulator.identity import assume_role_as, principal_for_access_key
from local_pipeline.deployment import bootstrap_accounts
from local_pipeline.executor.cloudformation_action import CloudFormationAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from project.assembly import read_stacks
from project.deployment_order import TRUSTED_RESOURCES
from tests.unit.local_pipeline.executor.helpers import action


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
