"""Trusted account, deployed last: the consumer's configuration and the permissions that
switch it on (read the parameter, assume TrustingAccountRl), once the trusting side exists."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Fn, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from project.config import DeploymentEnvironment
from stacks.constructs.consumer_configuration import ConsumerConfiguration
from stacks.constructs.external_id_role import ExternalIdRole
from stacks.constructs.workflow_encryption import decrypt_through_step_functions
from stacks.naming import SecretCacheArns


class TrustedAccountConfiguration(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, environment: DeploymentEnvironment, tooling_account: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        arns = SecretCacheArns(self, environment, tooling_account=tooling_account)
        configuration = ConsumerConfiguration(
            self,
            "ConsumerConfiguration",
            parameter_name=arns.names.consumer_configuration_parameter,
            parameter_arn=arns.consumer_configuration_parameter,
            consumer_role_name=arns.names.consumer_role,
            trusting_role_arn=arns.cross_account_role,
            cache_workflow_arn=arns.cache_workflow,
            secret_arn=arns.secret_named(environment.consumer_secret_name),
        )
        CfnOutput(self, "ConfigurationParameterName", value=configuration.parameter.parameter_name)
        test_role = ExternalIdRole(
            self,
            "IntegrationTestConsumerRole",
            role_name=arns.names.integration_test_consumer_role,
            principal_arn=arns.integration_test_step_role,
            external_id=arns.names.integration_test_external_id,
            description="Lets the pipeline's IntegrationTest step run the consumer and read how it ended.",
            statements=[
                iam.PolicyStatement(sid="RunTheConsumer", actions=["states:StartExecution"], resources=[arns.consumer_workflow]),
                iam.PolicyStatement(sid="WatchTheConsumer", actions=["states:DescribeExecution"], resources=[arns.consumer_executions]),
                # The consumer's execution history is encrypted with its own key (TrustedAccountResources).
                decrypt_through_step_functions(
                    "ReadTheConsumersRuns",
                    key_arn=Fn.import_value(arns.names.consumer_data_key_export),
                    state_machine_arn=arns.consumer_workflow,
                    region=environment.region,
                ),
            ],
        )
        Validations.of(test_role.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:aws:states:{environment.region}:{environment.trusted.account}"
                f":execution:{arns.names.consumer_workflow}:*]",
                reason="Execution ARNs end in a generated name: DescribeExecution is on this consumer's executions only "
                "(execution:SecretCacheConsumerWfw-<env>:*).",
            )
        )
        # The integration test runs this; repeated here so the last stage has all it needs.
        self.consumer_arn_output = CfnOutput(self, "ConsumerStateMachineArn", value=arns.consumer_workflow)
