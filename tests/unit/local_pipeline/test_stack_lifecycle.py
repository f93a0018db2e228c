"""Stacks live as in an account: a deploy, an update by change set, a failed update that
rolls back while the previous version keeps serving, and deletion in reverse stage order,
all through the CDK bootstrap roles under the project's scoped execution policies
(AWS CloudFormation User Guide, "Update stacks using change sets" and "Stack failure
options"). On the emulated accounts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from integration_target import secret_of
from project.assembly import StackArtifact, read_stacks
from project.deployment_order import DEPLOYMENT_ORDER, TRUSTING_RESOURCES

if TYPE_CHECKING:
    from local_pipeline.deployment import LocalDeployment


def _edit(stack: StackArtifact, edit: object) -> None:
    template = stack.template()
    edit(template)  # type: ignore[operator]
    stack.template_file.write_text(json.dumps(template))


def _resource(template: dict, kind: str) -> dict:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == kind]
    return resource


def _set_ttl(seconds: int):
    def edit(template: dict) -> None:
        _resource(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]["CACHE_TTL_SECONDS"] = str(seconds)

    return edit


def _comment_definition(comment: str):
    def edit(template: dict) -> None:
        parts = _resource(template, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"]["Fn::Join"][1]
        assert parts[0].startswith('{"StartAt":')
        parts[0] = parts[0].replace('{"StartAt":', f'{{"Comment":"{comment}","StartAt":', 1)

    return edit


@pytest.fixture
def assembly(synthesized_app, tmp_path) -> Path:
    """A copy of the session's cloud assembly, to change as a new commit would."""
    return Path(shutil.copytree(synthesized_app.outdir, tmp_path / "cdk.out"))


def _trusting_stack(assembly: Path, environment: str) -> StackArtifact:
    from local_pipeline.deployment import stage_stacks

    (stack,) = stage_stacks(read_stacks(assembly), TRUSTING_RESOURCES.id(environment))
    return stack


def _function(deployment: LocalDeployment) -> dict:
    (function,) = deployment.trusting("lambda").list_functions()["Functions"]
    return function


def _execution_policies(deployment: LocalDeployment) -> list[dict]:
    iam = deployment.trusting("iam")
    return [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith("SecretCacheCfnExecution")]


def _without_action(deployment: LocalDeployment, action: str) -> None:
    """The trusting account's execution policies, with ``action`` taken out (new default versions)."""
    iam = deployment.trusting("iam")
    for policy in _execution_policies(deployment):
        document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [kept for kept in actions if kept != action] or "none:None"
        iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(document), SetAsDefault=True)


def _as_deployed(deployment: LocalDeployment) -> None:
    """The execution policies as bootstrapped (their first versions) again."""
    iam = deployment.trusting("iam")
    for policy in _execution_policies(deployment):
        iam.set_default_policy_version(PolicyArn=policy["Arn"], VersionId="v1")


def test_deploy_update_failed_update_and_deletion(assembly, dev):
    from emulator import DeployError, Emulator
    from local_pipeline.deployment import deploy_environment, deploy_stage, stage_stacks

    with Emulator() as emulator:
        stacks = read_stacks(assembly)
        deployment = deploy_environment(emulator, stacks, dev.name)
        target = deployment.target()
        assert secret_of(target.run_consumer())["SecretValue"] == target.read_secret_value()

        # An update: the cache TTL and the Express workflow's definition change.
        trusting = _trusting_stack(assembly, dev.name)
        _edit(trusting, _set_ttl(600))
        _edit(trusting, _comment_definition("v2"))
        deploy_stage(emulator, [trusting], deployer_account=dev.trusting.account)
        assert _function(deployment)["Environment"]["Variables"]["CACHE_TTL_SECONDS"] == "600"
        workflow = deployment.trusting("stepfunctions").describe_state_machine(stateMachineArn=_express_arn(deployment))
        assert json.loads(workflow["definition"])["Comment"] == "v2"
        deployment.clear_cache()
        assert secret_of(target.run_consumer())["SecretValue"] == target.read_secret_value()

        # A failing update: the execution role may no longer change a function's configuration.
        _without_action(deployment, "lambda:UpdateFunctionConfiguration")
        _edit(trusting, _set_ttl(900))
        with pytest.raises(DeployError) as failed:
            deploy_stage(emulator, [trusting], deployer_account=dev.trusting.account)
        message = str(failed.value)
        assert "ended UPDATE_ROLLBACK_COMPLETE" in message
        assert "is not authorized to perform: lambda:UpdateFunctionConfiguration on resource: " in message
        assert "function:CacheSecret-dev" in message
        assert _function(deployment)["Environment"]["Variables"]["CACHE_TTL_SECONDS"] == "600"  # the previous version
        deployment.clear_cache()
        assert secret_of(target.run_consumer())["SecretValue"] == target.read_secret_value()

        # Deletion, in reverse stage order, under the scoped policies (the one action back).
        _as_deployed(deployment)
        for step in reversed(DEPLOYMENT_ORDER):
            for stack in stage_stacks(stacks, step.id(dev.name)):
                emulator.delete(stack, deployer_account=dev.trusting.account)
        for account in (dev.trusted.account, dev.trusting.account):
            remaining = emulator.client("cloudformation", account, dev.region).describe_stacks()["Stacks"]
            assert [s["StackName"] for s in remaining] == ["CDKToolkit"]
        # The secret and its key are retained on purpose (RemovalPolicy.RETAIN), as on AWS.
        assert deployment.trusting("secretsmanager").describe_secret(SecretId=deployment.secret_arn)["ARN"] == deployment.secret_arn


def _express_arn(deployment: LocalDeployment) -> str:
    machines = deployment.trusting("stepfunctions").list_state_machines()["stateMachines"]
    (express,) = [m["stateMachineArn"] for m in machines if m["name"].startswith("SecretCacheWfw-")]
    return express


def test_bootstrap_is_idempotent(synthesized_app):
    from emulator import Emulator
    from local_pipeline.deployment import bootstrap_accounts

    with Emulator() as emulator:
        stacks = read_stacks(synthesized_app.outdir)
        assert bootstrap_accounts(emulator, stacks) == bootstrap_accounts(emulator, stacks)


def test_an_update_the_emulator_cannot_make_fails_instead_of_passing_silently(assembly, dev):
    """moto implements no update of a log group: the emulator says so and rolls back,
    rather than report an update it did not make."""
    from emulator import DeployError, Emulator
    from local_pipeline.deployment import deploy_environment, deploy_stage

    with Emulator() as emulator:
        stacks = read_stacks(assembly)
        deploy_environment(emulator, stacks, dev.name)
        trusting = _trusting_stack(assembly, dev.name)

        def retention(template: dict) -> None:
            (group,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup" and "lambda" in json.dumps(r)]
            group["Properties"]["RetentionInDays"] = 60

        _edit(trusting, retention)
        with pytest.raises(DeployError, match=r"cannot update a AWS::Logs::LogGroup \(moto implements no update for it\); AWS would"):
            deploy_stage(emulator, [trusting], deployer_account=dev.trusting.account)
