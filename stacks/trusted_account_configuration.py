"""Trusted account, deployed last: the consumer's configuration and the permissions that
switch it on (read the parameter, assume TrustingAccountRl), once the trusting side exists."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from pipeline.config import DeploymentEnvironment
from stacks.constructs.consumer_configuration import ConsumerConfiguration
from stacks.naming import SecretCacheArns


class TrustedAccountConfiguration(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, environment: DeploymentEnvironment, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        arns = SecretCacheArns(self, environment)
        configuration = ConsumerConfiguration(
            self,
            "ConsumerConfiguration",
            parameter_name=arns.names.consumer_configuration_parameter,
            parameter_arn=arns.consumer_configuration_parameter,
            consumer_role_name=arns.names.consumer_role,
            trusting_role_arn=arns.cross_account_role,
            cache_workflow_arn=arns.cache_workflow,
            secret_arn=arns.secret,
        )
        CfnOutput(self, "ConfigurationParameterName", value=configuration.parameter.parameter_name)
        # The integration test runs this; repeated here so the last stage has all it needs.
        CfnOutput(self, "ConsumerStateMachineArn", value=arns.consumer_workflow)
