"""The CacheSecret Lambda: writes one secret into the cache, returns no value."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.audit_skips import skip_checkov
from stacks.constructs.function_bundle import python_code_with_packages
from stacks.constructs.log_encryption import encrypted_log_group, function_log_group_name
from stacks.timeouts import CACHE_FUNCTION_TIMEOUT_SECONDS

# Anchored on this file, not the working directory: synth works from anywhere.
LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambda_src"
HANDLER = "cache_secret.handler.lambda_handler"
# Bundled with the function (stacks/constructs/function_bundle.py), at the version the tests
# run with: no layer, and no deploy-time lookup of one.
BUNDLED_PACKAGES = ("aws-lambda-powertools",)


class CacheSecretFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        role_name: str,
        table: dynamodb.ITable,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        cache_ttl_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group = encrypted_log_group(self, "LogGroup", log_group_name=function_log_group_name(function_name), key=logs_key)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Execution role of the CacheSecret function: writes cache items only.",
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com",
                # Confused deputy: only Lambda acting for this account.
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(sid="WriteCache", actions=["dynamodb:PutItem"], resources=[table.table_arn]))
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptCacheItems",
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                resources=[encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) accepts only Resource '*'.",
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="Writes a secret into the SecretCache table with its expiry; never logs or returns the value.",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=python_code_with_packages(LAMBDA_SOURCE, *BUNDLED_PACKAGES),
            memory_size=256,
            timeout=Duration.seconds(CACHE_FUNCTION_TIMEOUT_SECONDS),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            # Nothing secret in there (audited), but encrypted at rest with our key all the same.
            environment_encryption=encryption_key,
            environment={
                "CACHE_TABLE_NAME": table.table_name,
                "CACHE_TTL_SECONDS": str(cache_ttl_seconds),
                "POWERTOOLS_SERVICE_NAME": "secret-cache",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "Only ever invoked synchronously by SecretCacheWfw; a DLQ catches asynchronous invocations. "
            "Failures surface in the workflow, which still returns the secret.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "Talks only to DynamoDB over IAM-signed HTTPS, limited by its role to PutItem on one table; "
            "a VPC would add NAT or endpoints and no control over that path.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "Reserved concurrency comes out of the account pool: a new account has 10 and must keep 10 "
            "unreserved, so any reservation fails the deploy there. Callers are bounded by SecretCacheWfw.",
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Pinned to Python 3.13 on purpose: the function and the packages bundled with it are tested on it; "
                "moving to a newer runtime is a deliberate, tested change.",
            )
        )
