"""The steps between an approved stack's change set and its execution.

CDK Pipelines runs a stack's ``StackSteps.change_set`` steps after its Prepare action
(CHANGE_SET_REPLACE: the change set is created) and before its Deploy action
(CHANGE_SET_EXECUTE), so what is approved is that change set and nothing else:

    Prepare -> ChangeSummary -> Approve (+ AutoApprove, with when-permissions-broaden) -> Deploy

- ``ChangeSummary`` (``pipeline.change_summary``) reads the change set in the stack's
  account as the CDK bootstrap's lookup role, narrowed by a session policy to
  DescribeChangeSet and GetTemplate on this stack, and exports ``SUMMARY``,
  ``BROADENS`` and ``SUMMARY_URL``.
- ``Approve`` shows ``SUMMARY`` as its CustomData and links ``SUMMARY_URL``.
- ``AutoApprove`` (``pipeline.auto_approve``) runs beside the approval, as the CDK's own
  ConfirmPermissionsBroadening does: when ``BROADENS`` is false, it approves the waiting
  approval through CodePipeline's API (GetPipelineState for its token, then
  PutApprovalResult), saying "no permission broadens: not asked".
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from pipeline.change_summary import EXPORTED_VARIABLES
from pipeline.steps import BUILD_CACHE, BUILD_ENVIRONMENT, INTEGRATION_CACHE, INTEGRATION_REQUIREMENTS, RUNTIMES
from project.config import DeploymentEnvironment

BOOTSTRAP_QUALIFIER = "hnb659fds"  # the CDK's default, which `make bootstrap-commands` uses
SUMMARY_FOLDER = "change-summary"
CHANGE_SUMMARY = "ChangeSummary"  # the summary step's id starts so; it writes an output artifact
ASSEMBLY_FOLDER = "cdk.out"  # where the summary step finds the Synth step's cloud assembly
# Install only what the summary and the auto-approver import (boto3), as IntegrationTest does.
_INSTALL = ['python -m venv "$(readlink -f .venv)"', f".venv/bin/python -m pip install --quiet -r {INTEGRATION_REQUIREMENTS}"]


class SummarizedApprovalStep(pipelines.ManualApprovalStep):
    """A manual approval whose comment and review URL are another step's exported variables.

    CDK Pipelines' ManualApprovalStep does not look for step outputs in its own
    properties, so the variables it shows would stay unresolved ("Output for step ... not
    configured"); this one declares them, as its CodeBuildStep does for its env."""

    def __init__(self, construct_id: str, *, comment: str, review_url: str, notification_topic: sns.ITopic) -> None:
        super().__init__(construct_id, comment=comment, review_url=review_url, notification_topic=notification_topic)
        self._discover_referenced_outputs({"comment": comment, "reviewUrl": review_url})


def lookup_role_arn(account: str, region: str) -> str:
    """The CDK bootstrap's read-only lookup role, which trusts the tooling account (`cdk bootstrap --trust`)."""
    return f"arn:aws:iam::{account}:role/cdk-{BOOTSTRAP_QUALIFIER}-lookup-role-{account}-{region}"


def _step_role(scope: Construct, construct_id: str, tooling_account: str, description: str) -> iam.Role:
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": tooling_account}}),
        description=description,
    )


@dataclass(frozen=True)
class ApprovalSteps:
    steps: list[pipelines.Step]
    roles: list[tuple[iam.Role, str]]  # each step's role, with the step's id
    auto_approver: iam.Role | None = None  # the AutoApprove step's role (when-permissions-broaden)
    approval_id: str = ""


def approval_steps(
    scope: Construct,
    *,
    environment: DeploymentEnvironment,
    stage: Stage,
    stack: Stack,
    source: pipelines.IFileSetProducer,
    assembly: pipelines.IFileSetProducer,
    pipeline_name: str,
    tooling_account: str,
    tooling_region: str,
    notification_topic: sns.ITopic,
) -> ApprovalSteps:
    """The change-set steps of one approved stack, by ``environment.approvals``."""
    stage_name = stage.stage_name
    summary_role = _step_role(
        scope,
        f"ChangeSummaryRole-{stage_name}",
        tooling_account,
        f"The ChangeSummary step of {stage_name}: may only assume the lookup role of account {stack.account}.",
    )
    summary_role.add_to_policy(
        iam.PolicyStatement(sid="ReadTheChangeSet", actions=["sts:AssumeRole"], resources=[lookup_role_arn(stack.account, stack.region)])
    )
    template = f"{ASSEMBLY_FOLDER}/{stage.artifact_id}/{stack.template_file}"  # artifact_id: "assembly-<stage path>"
    summary = pipelines.CodeBuildStep(
        f"{CHANGE_SUMMARY}-{stage_name}",
        input=source,
        additional_inputs={ASSEMBLY_FOLDER: assembly},
        role=summary_role,
        build_environment=BUILD_ENVIRONMENT,
        partial_build_spec=_runtimes(),
        cache=BUILD_CACHE,
        install_commands=_INSTALL,
        commands=[
            ".venv/bin/python -m pipeline.change_summary"
            f" --stack-name {stack.stack_name} --change-set-name PipelineChange --region {stack.region}"
            f" --role-arn {lookup_role_arn(stack.account, stack.region)} --template {template} --output {SUMMARY_FOLDER}",
            *(f'export {name}="$(cat {SUMMARY_FOLDER}/variables/{name})"' for name in EXPORTED_VARIABLES),
        ],
        primary_output_directory=SUMMARY_FOLDER,
        timeout=Duration.minutes(10),
    )
    approval = SummarizedApprovalStep(
        f"Approve-{stage_name}",
        comment=summary.exported_variable("SUMMARY"),
        review_url=summary.exported_variable("SUMMARY_URL"),
        notification_topic=notification_topic,
    )
    approval.add_step_dependency(summary)
    steps: list[pipelines.Step] = [summary, approval]
    roles = [(summary_role, summary.id)]
    if environment.approvals == "when-permissions-broaden":
        auto_role = _step_role(
            scope,
            f"AutoApproveRole-{stage_name}",
            tooling_account,
            f"The AutoApprove step of {stage_name}: may only read the pipeline's state and decide its approval.",
        )
        pipeline_arn = f"arn:aws:codepipeline:{tooling_region}:{tooling_account}:{pipeline_name}"
        auto_role.add_to_policy(
            iam.PolicyStatement(sid="FindTheApproval", actions=["codepipeline:GetPipelineState"], resources=[pipeline_arn])
        )
        # codepipeline:PutApprovalResult on the approval's action ARN: granted once the
        # pipeline is built and the action's name known (allow_deciding).
        auto = pipelines.CodeBuildStep(
            f"AutoApprove-{stage_name}",
            input=source,
            role=auto_role,
            build_environment=BUILD_ENVIRONMENT,
            partial_build_spec=_runtimes(),
            cache=BUILD_CACHE,
            install_commands=_INSTALL,
            env={"BROADENS": summary.exported_variable("BROADENS")},
            commands=[
                ".venv/bin/python -m pipeline.auto_approve"
                f' --pipeline {pipeline_name} --stage {stage_name} --action-suffix Approve-{stage_name} --broadens "$BROADENS"'
                f" --region {tooling_region}"
            ],
            timeout=Duration.minutes(10),
        )
        auto.add_step_dependency(summary)
        steps.append(auto)
        roles.append((auto_role, auto.id))
        return ApprovalSteps(steps, roles, auto_role, approval.id)
    return ApprovalSteps(steps, roles)


def allow_deciding(role: iam.Role, pipeline: codepipeline.Pipeline, stage_name: str, approval_id: str) -> None:
    """Let the AutoApprove step decide its own approval and no other: PutApprovalResult on
    the action ARN "<pipeline ARN>/<stage>/<action>" (Service Authorization Reference), the
    action named as CDK Pipelines built it ("<stack>.Approve-..." when the stage has several stacks' steps)."""
    (stage,) = [stage for stage in pipeline.stages if stage.stage_name == stage_name]
    (action,) = [action for action in stage.actions if action.action_properties.action_name.split(".")[-1] == approval_id]
    name = action.action_properties.action_name
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DecideTheApproval", actions=["codepipeline:PutApprovalResult"], resources=[f"{pipeline.pipeline_arn}/{stage_name}/{name}"]
        )
    )


def _runtimes() -> codebuild.BuildSpec:
    return codebuild.BuildSpec.from_object(
        {"phases": {"install": {"runtime-versions": RUNTIMES}}, "cache": {"paths": list(INTEGRATION_CACHE)}}
    )
