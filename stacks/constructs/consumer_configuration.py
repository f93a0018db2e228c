"""The consumer's configuration parameter and the permissions that switch it on."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.constructs.audit_skips import skip_checkov


class ConsumerConfiguration(Construct):
    """Writes ``{trustingAccountRoleArn, trustingAccountWorkflowArn, secret: {secretArn}}``
    to SSM and lets TrustedAccountRl read it and assume exactly that trusting role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_name: str,
        parameter_arn: str,
        consumer_role_name: str,
        trusting_role_arn: str,
        cache_workflow_arn: str,
        secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=parameter_name,
            description="Configuration of SecretCacheConsumerWfw (ARNs only, no secret).",
            string_value=stack.to_json_string(
                {
                    "trustingAccountRoleArn": trusting_role_arn,
                    "trustingAccountWorkflowArn": cache_workflow_arn,
                    "secret": {"secretArn": secret_arn},
                }
            ),
        )
        skip_checkov(
            self.parameter,
            "CKV_AWS_384",
            "The value is JSON of three ARNs (role, workflow, secret), no secret; "
            "tests/unit/stacks/test_trusted_account_configuration.py pins its exact content.",
        )
        consumer_role = iam.Role.from_role_name(self, "ConsumerRole", consumer_role_name)
        self.policy = iam.Policy(
            self,
            "ConsumerPermissions",
            roles=[consumer_role],
            statements=[
                iam.PolicyStatement(sid="ReadConfiguration", actions=["ssm:GetParameter"], resources=[parameter_arn]),
                iam.PolicyStatement(sid="AssumeTrustingRole", actions=["sts:AssumeRole"], resources=[trusting_role_arn]),
            ],
        )
