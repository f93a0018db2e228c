"""CloudWatch log groups encrypted with a customer managed key that only CloudWatch
Logs may use, and only for this stack's log groups."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

RETENTION = logs.RetentionDays.ONE_MONTH


class LogsKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_group_names: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(self, "Key", description="Encrypts this stack's CloudWatch log groups.", enable_key_rotation=True)
        # CloudWatch Logs names the log group in the encryption context of every call.
        log_group_arns = [
            stack.format_arn(service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
            for name in log_group_names
        ]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsForThisStacksLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
            )
        )


def encrypted_log_group(scope: Construct, construct_id: str, *, log_group_name: str, key: kms.IKey) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=key,
        retention=RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )


def state_machine_log_group_name(state_machine_name: str) -> str:
    # The vendedlogs prefix keeps the shared CloudWatch Logs resource policy small.
    return f"/aws/vendedlogs/states/{state_machine_name}"


def function_log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"
