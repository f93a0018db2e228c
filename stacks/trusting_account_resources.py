"""Trusting account (also the tooling account): the secret, its cache, SecretCacheWfw,
and TrustingAccountRl, the role the consumer assumes to run it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from project.config import DeploymentEnvironment
from stacks.constructs.cache_secret_function import CacheSecretFunction
from stacks.constructs.cache_table import SecretCacheTable
from stacks.constructs.cached_secret import CachedSecret
from stacks.constructs.external_id_role import ExternalIdRole
from stacks.constructs.log_encryption import LogsKey, function_log_group_name, state_machine_log_group_name
from stacks.constructs.secret_cache_workflow import SecretCacheWorkflow
from stacks.naming import SecretCacheArns


@dataclass(frozen=True)
class _Served:
    resource: str  # what IAM grants GetSecretValue on
    key_arn: str | None  # the customer managed key it is encrypted with, if any


class TrustingAccountResources(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, environment: DeploymentEnvironment, tooling_account: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        arns = SecretCacheArns(self, environment, tooling_account=tooling_account)
        names = arns.names
        # One key for the secret and the cache: both hold the same value.
        key = kms.Key(
            self,
            "SecretCacheKey",
            description=f"Encrypts the secret-cache secret and its DynamoDB cache ({environment.name}).",
            enable_key_rotation=True,
        )
        logs_key = LogsKey(
            self,
            "LogsKey",
            log_group_names=[state_machine_log_group_name(names.cache_workflow), function_log_group_name(names.cache_function)],
        )
        secret = CachedSecret(self, "Secret", secret_name=names.secret, encryption_key=key)
        # The secrets the workflow serves (configuration): the sample one it creates, and
        # existing ones, by name, with the key each is encrypted with.
        served = {
            allowed.name: _Served(secret.secret.secret_arn, key.key_arn)
            if allowed.name == names.secret
            else _Served(arns.secret_pattern(allowed.name), allowed.kms_key_arn)
            for allowed in environment.allowed_secrets
        }
        consumer_secret = served[environment.consumer_secret_name]
        cache = SecretCacheTable(self, "Cache", table_name=names.cache_table, encryption_key=key)
        cache_function = CacheSecretFunction(
            self,
            "CacheSecret",
            function_name=names.cache_function,
            role_name=names.cache_function_role,
            table=cache.table,
            encryption_key=key,
            logs_key=logs_key.key,
            cache_ttl_seconds=environment.cache_ttl_seconds,
        )
        workflow = SecretCacheWorkflow(
            self,
            "SecretCacheWorkflow",
            state_machine_name=names.cache_workflow,
            state_machine_arn=arns.cache_workflow,
            role_name=names.cache_workflow_role,
            table=cache.table,
            secret_resources=[served[name].resource for name in served],
            allowed_secret_ids=[arns.secret_named(name) for name in served],
            encryption_key=key,
            secret_keys=[allowed.kms_key_arn for allowed in environment.allowed_secrets if allowed.kms_key_arn],
            cache_function=cache_function.function,
            logs_key=logs_key.key,
        )
        # TrustingAccountRl: Step Functions passes the calling state machine's ARN as the
        # ExternalId, so no other workflow (or person) using the consumer role gets in.
        ExternalIdRole(
            self,
            "CrossAccountRole",
            role_name=names.cross_account_role,
            principal_arn=arns.consumer_role,
            external_id=arns.consumer_workflow,
            description="Lets the trusted account's SecretCacheConsumerWfw start SecretCacheWfw synchronously.",
            statements=[
                iam.PolicyStatement(
                    sid="StartSecretCacheWfw", actions=["states:StartSyncExecution"], resources=[workflow.state_machine.state_machine_arn]
                ),
                # StartSyncExecution returns the run's output, read from its encrypted history.
                workflow.data_key.read_statement("DecryptSecretCacheWfwRuns"),
            ],
        )
        ExternalIdRole(
            self,
            "IntegrationTestSecretRole",
            role_name=names.integration_test_secret_role,
            principal_arn=arns.integration_test_step_role,
            external_id=names.integration_test_external_id,
            description="Lets the pipeline's IntegrationTest step read the secret, to compare it with what the consumer got.",
            statements=[
                iam.PolicyStatement(sid="ReadTheSecret", actions=["secretsmanager:GetSecretValue"], resources=[consumer_secret.resource]),
                *(
                    [
                        iam.PolicyStatement(
                            sid="DecryptTheSecret",
                            actions=["kms:Decrypt"],
                            resources=[consumer_secret.key_arn],
                            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{environment.region}.amazonaws.com"}},
                        )
                    ]
                    if consumer_secret.key_arn
                    else []  # under aws/secretsmanager, whose key policy lets the account's principals use it
                ),
            ],
        )
        # The secret the consumer asks for: what the integration test compares its output with.
        consumer_secret_arn = (
            secret.secret.secret_arn
            if environment.consumer_secret_name == names.secret
            else arns.secret_named(environment.consumer_secret_name)
        )
        self.secret_arn_output = CfnOutput(self, "SecretArn", value=consumer_secret_arn)
        CfnOutput(self, "SecretCacheWfwArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "CacheTableName", value=cache.table.table_name)
