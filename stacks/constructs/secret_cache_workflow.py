"""SecretCacheWfw: the Express workflow, in the trusting account, that serves a secret.

Input ``{"secretArn": "<partial ARN>"}``; output ``{"SecretArn", "SecretValue", "Source"}``
where Source is ``cache`` or ``secretsmanager``. Every failure ends the run FAILED
with a named error: InvalidRequest, SecretNotAllowed, SecretNotFound, or the
service's own error name.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs.cache_table import PARTITION_KEY
from stacks.constructs.retries import DYNAMODB_TRANSIENT, LAMBDA_TRANSIENT, SECRETS_MANAGER_TRANSIENT, retry_transient
from stacks.constructs.workflow_role import WorkflowRole, observed_state_machine
from stacks.timeouts import CACHE_WORKFLOW_TIMEOUT_SECONDS, SERVICE_TASK_TIMEOUT_SECONDS

_TASK_TIMEOUT = sfn.Timeout.duration(Duration.seconds(SERVICE_TASK_TIMEOUT_SECONDS))


class SecretCacheWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        state_machine_arn: str,
        role_name: str,
        table: dynamodb.ITable,
        secret_resources: list[str],
        allowed_secret_ids: list[str],
        encryption_key: kms.IKey,
        secret_keys: list[str],
        cache_function: lambda_.IFunction,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.execution_role = WorkflowRole(
            self,
            "ExecutionRole",
            role_name=role_name,
            state_machine_arn=state_machine_arn,
            description="Execution role of SecretCacheWfw: reads the cache and the allow-listed secret.",
        )
        self.execution_role.allow("ReadCache", ["dynamodb:GetItem"], [table.table_arn])
        self.execution_role.allow("ReadAllowListedSecrets", ["secretsmanager:GetSecretValue"], secret_resources)
        self.execution_role.allow(
            "DecryptSecretAndCache",
            ["kms:Decrypt"],
            [encryption_key.key_arn],
            {"StringEquals": {"kms:ViaService": [f"secretsmanager.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"]}},
        )
        if secret_keys:
            # Existing allow-listed secrets under customer managed keys of their own (configuration).
            self.execution_role.allow(
                "DecryptAllowListedSecrets",
                ["kms:Decrypt"],
                secret_keys,
                {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            )
        self.execution_role.allow("InvokeCacheSecret", ["lambda:InvokeFunction"], [cache_function.function_arn])

        self.state_machine, self.data_key = observed_state_machine(
            self,
            state_machine_name=state_machine_name,
            state_machine_arn=state_machine_arn,
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition=self._definition(
                table=table, secret_resources=secret_resources, allowed_secret_ids=allowed_secret_ids, cache_function=cache_function
            ),
            role=self.execution_role,
            logs_key=logs_key,
            timeout_seconds=CACHE_WORKFLOW_TIMEOUT_SECONDS,
            # Started only with StartSyncExecution (the consumer's task).
            started_synchronously=True,
        )

    def _definition(
        self,
        *,
        table: dynamodb.ITable,
        secret_resources: list[str],
        allowed_secret_ids: list[str],
        cache_function: lambda_.IFunction,
    ) -> sfn.IChainable:
        secret_id = sfn.JsonPath.string_at("$.secretArn")

        invalid_request = sfn.Fail(self, "InvalidRequest", error="InvalidRequest", cause="The input has no string field 'secretArn'.")
        not_allowed = sfn.Fail(
            self, "SecretNotAllowed", error="SecretNotAllowed", cause="The requested secret is not on this workflow's allow-list."
        )
        not_found = sfn.Fail(self, "SecretNotFound", error="SecretNotFound", cause="The allow-listed secret does not exist.")

        read_cache = tasks.DynamoGetItem(
            self,
            "ReadCache",
            table=table,
            key={PARTITION_KEY: tasks.DynamoAttributeValue.from_string(secret_id)},
            consistent_read=True,
            result_path="$.Cache",
            task_timeout=_TASK_TIMEOUT,
        )
        retry_transient(read_cache, DYNAMODB_TRANSIENT)

        serve_from_cache = sfn.Pass(
            self,
            "ServeFromCache",
            parameters={
                "SecretArn": secret_id,
                "SecretValue": sfn.JsonPath.string_at("$.Cache.Item.SecretValue.S"),
                "Source": "cache",
            },
        )

        get_secret_value = tasks.CallAwsService(
            self,
            "GetSecretValue",
            service="secretsmanager",
            action="getSecretValue",
            # The permission is ReadAllowListedSecret above: the role is immutable
            # (WorkflowRole), so the statement CallAwsService derives from these two never
            # reaches the template. They are required, and spelled as IAM spells the action.
            iam_action="secretsmanager:GetSecretValue",
            iam_resources=secret_resources,
            parameters={"SecretId": secret_id},
            result_selector={"SecretString": sfn.JsonPath.string_at("$.SecretString")},
            result_path="$.Secret",
            task_timeout=_TASK_TIMEOUT,
        )
        retry_transient(get_secret_value, SECRETS_MANAGER_TRANSIENT)
        get_secret_value.add_catch(not_found, errors=["SecretsManager.ResourceNotFoundException"], result_path="$.Failure")

        cache_secret = tasks.LambdaInvoke(
            self,
            "CacheSecret",
            lambda_function=cache_function,
            payload=sfn.TaskInput.from_object({"SecretArn": secret_id, "SecretValue": sfn.JsonPath.string_at("$.Secret.SecretString")}),
            payload_response_only=True,
            # The default Lambda retry (6 attempts from 2 s) outlasts the Express timeout.
            retry_on_service_exceptions=False,
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=_TASK_TIMEOUT,
        )
        retry_transient(cache_secret, LAMBDA_TRANSIENT)

        serve_from_secrets_manager = sfn.Pass(
            self,
            "ServeFromSecretsManager",
            parameters={
                "SecretArn": secret_id,
                "SecretValue": sfn.JsonPath.string_at("$.Secret.SecretString"),
                "Source": "secretsmanager",
            },
        )
        # A failed cache write must not fail a read that already has the value.
        cache_write_failed = sfn.Pass(self, "CacheWriteFailed", result_path=sfn.JsonPath.DISCARD)
        cache_secret.add_catch(cache_write_failed, errors=["States.ALL"], result_path="$.CacheWriteFailure")
        cache_write_failed.next(serve_from_secrets_manager)

        miss = get_secret_value.next(cache_secret.next(serve_from_secrets_manager))
        # An unreadable cache is a miss, not an outage.
        read_cache.add_catch(get_secret_value, errors=["States.ALL"], result_path="$.CacheReadFailure")

        is_fresh = sfn.Condition.and_(
            sfn.Condition.is_present("$.Cache.Item.SecretValue.S"),
            sfn.Condition.is_present("$.Cache.Item.ExpiresAt.S"),
            # Expired but not yet deleted by DynamoDB TTL counts as a miss.
            sfn.Condition.timestamp_greater_than_json_path("$.Cache.Item.ExpiresAt.S", "$.RequestedAt"),
        )
        check_cache = sfn.Choice(self, "IsCacheFresh").when(is_fresh, serve_from_cache).otherwise(miss)

        # The time the cache is judged against, taken once, from the context object.
        stamp_request = sfn.Pass(
            self,
            "StampRequest",
            parameters={"secretArn": secret_id, "RequestedAt": sfn.JsonPath.string_at("$$.Execution.StartTime")},
        )
        allowed = sfn.Condition.or_(*(sfn.Condition.string_equals("$.secretArn", arn) for arn in allowed_secret_ids))
        check_allow_list = (
            sfn.Choice(self, "CheckAllowList").when(allowed, stamp_request.next(read_cache).next(check_cache)).otherwise(not_allowed)
        )

        has_secret_id = sfn.Condition.and_(sfn.Condition.is_present("$.secretArn"), sfn.Condition.is_string("$.secretArn"))
        return sfn.Choice(self, "ValidateRequest").when(has_secret_id, check_allow_list).otherwise(invalid_request)
