"""PipelineStack: the self-mutating CDK Pipeline, in the tooling account.

    push -> Source -> Synth (tests, cdk synth, audit) -> UpdatePipeline -> Assets
      -> per environment: TrustedResources -> [approve] -> TrustingResources
         -> [approve] -> TrustedConfiguration -> IntegrationTest

Deployed once by hand (`npx cdk deploy SecretCachePipeline`); from then on every push to
the configured branch deploys everything, the pipeline included.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnElement, CfnRule, CfnRuleAssertion, Fn, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from pipeline.approval_steps import CHANGE_SUMMARY, allow_deciding, approval_steps
from pipeline.generated_findings import (
    acknowledge_pipeline_findings,
    acknowledge_step_role_findings,
    harden_cross_region_support,
    harden_generated_resources,
)
from pipeline.steps import RUNTIMES, integration_test_step, synth_step
from project.config import DeploymentEnvironment, ProjectConfig
from project.deployment_order import (
    PIPELINE_NAME,
    SOURCE_RULE,
    TRUSTED_CONFIGURATION,
    TRUSTING_RESOURCES,
    UNSET_CONNECTION,
    UNSET_REPOSITORY,
    UNSET_SOURCE_ACTION,
    integration_test_id,
)
from project.paths import PACKAGE_JSON
from stacks.naming import SecretCacheArns
from stacks.trusted_account_configuration import TrustedAccountConfiguration
from stacks.trusting_account_resources import TrustingAccountResources
from stages.deployment_stages import STAGE_CLASSES


def npm_pin(package: str) -> str:
    """An exact version from package.json's devDependencies, where the project pins its Node tools."""
    version: str = json.loads(PACKAGE_JSON.read_text())["devDependencies"][package]
    return version


def cdk_cli_version() -> str:
    """The CLI the pipeline installs: the one package.json pins, so it reads this library's output."""
    return npm_pin("aws-cdk")


def cdk_assets_version() -> str:
    """The asset publisher the Assets step installs; unpinned, CDK Pipelines installs
    `cdk-assets@latest`, whatever npm serves on the day of the build."""
    return npm_pin("cdk-assets")


def node_runtime() -> pipelines.CodeBuildOptions:
    """The Node.js every step runs on (``steps.RUNTIMES``), for a step CDK Pipelines writes."""
    return pipelines.CodeBuildOptions(
        partial_build_spec=codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": {"nodejs": RUNTIMES["nodejs"]}}}}),
    )


class PipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ProjectConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        tooling_account = config.tooling_environment.account
        self.tooling_region = config.tooling_environment.region
        source = pipelines.CodePipelineSource.connection(
            config.repository or UNSET_REPOSITORY,
            config.branch,
            connection_arn=config.connection_arn or UNSET_CONNECTION,
            trigger_on_push=False,  # the V2 trigger below filters on the branch
            # CDK Pipelines names the action after the repository ("owner_name"); without one
            # it would be the placeholder's "unset_unset" in every local run's lines and pages.
            action_name=None if config.repository else UNSET_SOURCE_ACTION,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=PIPELINE_NAME,
            pipeline_type=codepipeline.PipelineType.V2,
            synth=synth_step(source),
            cross_account_keys=True,  # stages deploy into other accounts
            enable_key_rotation=True,
            self_mutation=True,
            cli_version=cdk_cli_version(),
            cdk_assets_cli_version=cdk_assets_version(),
            publish_assets_in_parallel=False,  # one Assets action, not one per asset
            # CDK Pipelines' own projects name no runtime: on standard:7.0 they would run the
            # image's default Node 18, which the pinned CLI warns about. They get ours.
            self_mutation_code_build_defaults=node_runtime(),
            asset_publishing_code_build_defaults=node_runtime(),
        )
        topic_key = kms.Key(self, "NotificationsKey", description="Encrypts the pipeline's notifications.", enable_key_rotation=True)
        self.topic = sns.Topic(self, "Notifications", display_name="Secret cache pipeline", master_key=topic_key)
        if config.notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.notification_email))

        # (role, stage id, step id) of each CodeBuildStep with a role of ours.
        self._step_roles: list[tuple[iam.Role, str, str]] = []
        self._auto_approvers: list[tuple[iam.Role, str, str]] = []  # (role, stage, approval id)
        for environment in config.environments:
            self._add_environment(environment, source, tooling_account)

        self.pipeline.build_pipeline()
        for role, stage_name, approval_id in self._auto_approvers:
            allow_deciding(role, self.pipeline.pipeline, stage_name, approval_id)
        self._trigger_on_push(config.branch)
        self.pipeline.pipeline.notify_on(
            "NotifyOnFailure", self.topic, events=[codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED]
        )
        bucket = self.pipeline.pipeline.artifact_bucket.node.default_child
        assert isinstance(bucket, CfnElement)  # the bucket's CfnBucket
        bucket_id = self.resolve(self.get_logical_id(bucket))
        acknowledge_pipeline_findings(self, self.pipeline, bucket_id)
        harden_generated_resources(self, self.pipeline)
        harden_cross_region_support(self, self.pipeline)
        for role, stage_id, step_id in self._step_roles:
            # CDK Pipelines names a stack's change-set steps "<stack>.<step>" when the stage has several actions.
            stage_scope = self.pipeline.pipeline.node.find_child(stage_id)
            (step_scope,) = [child for child in stage_scope.node.children if child.node.id.split(".")[-1] == step_id]
            acknowledge_step_role_findings(self, role, step_scope, bucket_id, writes=step_id.startswith(CHANGE_SUMMARY))
        missing = config.missing_source_keys()
        if missing:
            self._refuse_to_deploy(missing)

    def _add_environment(self, environment: DeploymentEnvironment, source: pipelines.CodePipelineSource, tooling_account: str) -> None:
        """The environment's three stages in order, approvals between them, the integration test
        after the last."""
        arns = SecretCacheArns(self, environment, tooling_account=tooling_account)
        names = arns.names
        stages = [stage_class(self, environment=environment, tooling_account=tooling_account) for stage_class in STAGE_CLASSES]
        test_roles = [arns.integration_test_consumer_role, arns.integration_test_secret_role]
        step_role = iam.Role(
            self,
            f"IntegrationTestStepRole-{environment.name}",
            role_name=names.integration_test_step_role,
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": tooling_account}}),
            description=f"The IntegrationTest step of {environment.name}: may only assume the two integration-test roles.",
        )
        step_role.add_to_policy(iam.PolicyStatement(sid="AssumeTheIntegrationTestRoles", actions=["sts:AssumeRole"], resources=test_roles))
        by_stage = {stage.deployment_stage: stage for stage in stages}
        configuration, resources = by_stage[TRUSTED_CONFIGURATION].stack, by_stage[TRUSTING_RESOURCES].stack
        assert isinstance(configuration, TrustedAccountConfiguration) and isinstance(resources, TrustingAccountResources)
        test = integration_test_step(
            environment_name=environment.name,
            source=source,
            role=step_role,
            consumer_arn_output=configuration.consumer_arn_output,
            secret_arn_output=resources.secret_arn_output,
            consumer_role_arn=test_roles[0],
            secret_role_arn=test_roles[1],
            external_id=names.integration_test_external_id,
        )
        for index, stage in enumerate(stages):
            # Each stage after the first is approved between its change set and its
            # execution (pipeline/approval_steps.py), unless the environment says never.
            stack_steps = []
            if index and environment.approvals != "never":
                change_set = approval_steps(
                    self,
                    environment=environment,
                    stage=stage,
                    stack=stage.stack,
                    source=source,
                    assembly=self.pipeline.synth,
                    pipeline_name=PIPELINE_NAME,
                    tooling_account=tooling_account,
                    tooling_region=self.tooling_region,
                    notification_topic=self.topic,
                )
                stack_steps.append(pipelines.StackSteps(stack=stage.stack, change_set=change_set.steps))
                self._step_roles += [(role, stage.stage_name, step_id) for role, step_id in change_set.roles]
                if change_set.auto_approver is not None:
                    self._auto_approvers.append((change_set.auto_approver, stage.stage_name, change_set.approval_id))
            self.pipeline.add_stage(stage, stack_steps=stack_steps, post=[test] if index == len(stages) - 1 else [])
        self._step_roles.append((step_role, TRUSTED_CONFIGURATION.id(environment.name), integration_test_id(environment.name)))

    def _trigger_on_push(self, branch: str) -> None:
        (source_action,) = self.pipeline.pipeline.stages[0].actions
        self.pipeline.pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=source_action,
                push_filter=[codepipeline.GitPushFilter(branches_includes=[branch])],
            ),
        )

    def _refuse_to_deploy(self, missing: list[str]) -> None:
        # Synth must work without a repository (local use); a pipeline without one must not
        # deploy. A rule that cannot hold makes CloudFormation refuse the stack at once.
        keys = " and ".join(missing)
        CfnRule(
            self,
            SOURCE_RULE,
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_not(Fn.condition_equals("unset", "unset")),
                    assert_description=f"The pipeline has no source: set the context key(s) {keys} "
                    "in cdk.json, commit it, then deploy again.",
                )
            ],
        )
