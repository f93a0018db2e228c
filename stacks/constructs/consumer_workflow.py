"""SecretCacheConsumerWfw: the Standard workflow, in the trusted account, that fetches the secret.

It reads its configuration from SSM, runs SecretCacheWfw in the trusting account
under TrustingAccountRl (Step Functions ``Credentials``), checks that run's
status and ends with ``{"Secret": {...}}``. Failures end it FAILED with a named
error: ConfigurationNotFound, InvalidConfiguration, the Express run's own error,
or SecretCacheWfwNotSucceeded.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs.retries import SSM_TRANSIENT, STEP_FUNCTIONS_TRANSIENT, retry_transient
from stacks.constructs.workflow_role import WorkflowRole, observed_state_machine
from stacks.timeouts import CONSUMER_WORKFLOW_TIMEOUT_SECONDS, CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS, SERVICE_TASK_TIMEOUT_SECONDS

CONFIG = "$.Configuration.Params"
# The keys of the JSON document in the configuration parameter.
REQUIRED_CONFIGURATION = ("trustingAccountRoleArn", "trustingAccountWorkflowArn", "secret.secretArn")


class ConsumerWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        state_machine_arn: str,
        role_name: str,
        configuration_parameter_name: str,
        configuration_parameter_arn: str,
        cache_workflow_arn: str,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # Its permissions to read the configuration and assume the trusting role
        # come with the TrustedAccountConfiguration stack, which switches it on.
        self.execution_role = WorkflowRole(
            self,
            "ExecutionRole",
            role_name=role_name,
            state_machine_arn=state_machine_arn,
            description="Execution role of SecretCacheConsumerWfw.",
        )
        self.state_machine, self.data_key = observed_state_machine(
            self,
            state_machine_name=state_machine_name,
            state_machine_arn=state_machine_arn,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition=self._definition(
                parameter_name=configuration_parameter_name,
                parameter_arn=configuration_parameter_arn,
                cache_workflow_arn=cache_workflow_arn,
            ),
            role=self.execution_role,
            logs_key=logs_key,
            timeout_seconds=CONSUMER_WORKFLOW_TIMEOUT_SECONDS,
        )

    def _definition(self, *, parameter_name: str, parameter_arn: str, cache_workflow_arn: str) -> sfn.IChainable:
        configuration_not_found = sfn.Fail(
            self, "ConfigurationNotFound", error="ConfigurationNotFound", cause=f"SSM parameter {parameter_name} does not exist."
        )
        invalid_configuration = sfn.Fail(
            self,
            "InvalidConfiguration",
            error="InvalidConfiguration",
            cause=f"SSM parameter {parameter_name} is not a JSON object with {', '.join(REQUIRED_CONFIGURATION)}.",
        )

        fetch_configuration = tasks.CallAwsService(
            self,
            "FetchConfiguration",
            service="ssm",
            action="getParameter",
            iam_action="ssm:GetParameter",
            iam_resources=[parameter_arn],
            parameters={"Name": parameter_name},
            result_selector={"Params": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.Parameter.Value"))},
            result_path="$.Configuration",
            task_timeout=sfn.Timeout.duration(Duration.seconds(SERVICE_TASK_TIMEOUT_SECONDS)),
        )
        retry_transient(fetch_configuration, SSM_TRANSIENT)
        fetch_configuration.add_catch(configuration_not_found, errors=["Ssm.ParameterNotFoundException"], result_path="$.Failure")
        # States.StringToJson on a value that is not JSON.
        fetch_configuration.add_catch(invalid_configuration, errors=["States.IntrinsicFailure"], result_path="$.Failure")

        get_secret = tasks.CallAwsService(
            self,
            "GetSecretCrossAccount",
            service="sfn",
            action="startSyncExecution",
            iam_action="states:StartSyncExecution",
            iam_resources=[cache_workflow_arn],
            parameters={
                "StateMachineArn": sfn.JsonPath.string_at(f"{CONFIG}.trustingAccountWorkflowArn"),
                "Input": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(f"{CONFIG}.secret")),
            },
            # Step Functions assumes this role with sts:ExternalId = this state machine's ARN.
            credentials=sfn.Credentials(role=sfn.TaskRole.from_role_arn_json_path(f"{CONFIG}.trustingAccountRoleArn")),
            result_path="$.SecretCacheRun",
            task_timeout=sfn.Timeout.duration(Duration.seconds(CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS)),
        )
        retry_transient(get_secret, STEP_FUNCTIONS_TRANSIENT)

        return_secret = sfn.Pass(
            self,
            "ReturnSecret",
            parameters={"Secret": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.SecretCacheRun.Output"))},
        )
        # StartSyncExecution succeeds (HTTP 200) even when the Express run failed: the
        # consumer fails with the Express run's own error (SecretNotAllowed, ...), or, for
        # a States.* runtime error (reserved to Step Functions), with SecretCacheWfwFailed.
        cache_run_failed = sfn.Fail(
            self,
            "SecretCacheWfwFailedByName",
            error_path="$.SecretCacheRun.Error",
            cause_path="$.SecretCacheRun.Cause",
        )
        cache_run_failed_at_runtime = sfn.Fail(
            self,
            "SecretCacheWfwFailed",
            error="SecretCacheWfwFailed",
            cause_path="$.SecretCacheRun.Cause",
        )
        failed = sfn.Condition.and_(
            sfn.Condition.string_equals("$.SecretCacheRun.Status", "FAILED"),
            sfn.Condition.is_present("$.SecretCacheRun.Error"),
        )
        cache_run_not_succeeded = sfn.Fail(
            self,
            "SecretCacheWfwNotSucceeded",
            error="SecretCacheWfwNotSucceeded",
            cause="SecretCacheWfw ended neither SUCCEEDED nor FAILED (timed out or aborted).",
        )
        check_status = (
            sfn.Choice(self, "CheckSecretCacheRun")
            .when(sfn.Condition.string_equals("$.SecretCacheRun.Status", "SUCCEEDED"), return_secret)
            .when(
                sfn.Condition.and_(failed, sfn.Condition.string_matches("$.SecretCacheRun.Error", "States.*")), cache_run_failed_at_runtime
            )
            .when(failed, cache_run_failed)
            .otherwise(cache_run_not_succeeded)
        )

        # IsPresent first: a type test on a missing path is a runtime error.
        has_configuration = sfn.Condition.and_(
            *(
                test
                for key in REQUIRED_CONFIGURATION
                for test in (sfn.Condition.is_present(f"{CONFIG}.{key}"), sfn.Condition.is_string(f"{CONFIG}.{key}"))
            )
        )
        validate = (
            sfn.Choice(self, "ValidateConfiguration")
            .when(has_configuration, get_secret.next(check_status))
            .otherwise(invalid_configuration)
        )
        return fetch_configuration.next(validate)
