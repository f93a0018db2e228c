"""Trusted account, deployed first: the consumer workflow and its role (TrustedAccountRl).

First because TrustingAccountRl's trust policy names TrustedAccountRl, and IAM
rejects a principal that does not exist yet.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from project.config import DeploymentEnvironment
from stacks.constructs.consumer_workflow import ConsumerWorkflow
from stacks.constructs.log_encryption import LogsKey, state_machine_log_group_name
from stacks.naming import SecretCacheArns


class TrustedAccountResources(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, environment: DeploymentEnvironment, tooling_account: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        arns = SecretCacheArns(self, environment, tooling_account=tooling_account)
        logs_key = LogsKey(self, "LogsKey", log_group_names=[state_machine_log_group_name(arns.names.consumer_workflow)])
        consumer = ConsumerWorkflow(
            self,
            "Consumer",
            state_machine_name=arns.names.consumer_workflow,
            state_machine_arn=arns.consumer_workflow,
            role_name=arns.names.consumer_role,
            configuration_parameter_name=arns.names.consumer_configuration_parameter,
            configuration_parameter_arn=arns.consumer_configuration_parameter,
            cache_workflow_arn=arns.cache_workflow,
            logs_key=logs_key.key,
        )
        CfnOutput(self, "ConsumerStateMachineArn", value=consumer.state_machine.state_machine_arn)
        CfnOutput(self, "ConsumerRoleArn", value=consumer.execution_role.role.role_arn)
        CfnOutput(self, "ConsumerDataKeyArn", value=consumer.data_key.key.key_arn, export_name=arns.names.consumer_data_key_export)
