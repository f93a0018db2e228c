"""Retry on transient errors only: a permanent error (not found, access denied)
fails fast with its own name instead of burning the caller's timeout."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

from stacks.timeouts import TRANSIENT_RETRY

# Error names as Step Functions reports them: "<Service>.<Exception>".
DYNAMODB_TRANSIENT = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
)
SECRETS_MANAGER_TRANSIENT = (
    "SecretsManager.InternalServiceErrorException",
    "SecretsManager.ThrottlingException",
)
SSM_TRANSIENT = (
    "Ssm.InternalServerErrorException",
    "Ssm.ThrottlingException",
)
LAMBDA_TRANSIENT = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# What StartSyncExecution can return that a retry may cure (Step Functions API Reference):
# its own KmsThrottlingException (KMS throttled the call Step Functions made for it) and
# ThrottlingException, one of the errors common to every action. It has no
# InternalServerException; an SDK integration's error gets the "Exception" suffix.
STEP_FUNCTIONS_TRANSIENT = (
    "Sfn.ThrottlingException",
    "Sfn.KmsThrottlingException",
)


def retry_transient(task: sfn.TaskStateBase, errors: tuple[str, ...]) -> None:
    task.add_retry(
        errors=list(errors),
        max_attempts=TRANSIENT_RETRY.max_attempts,
        interval=Duration.seconds(TRANSIENT_RETRY.interval_seconds),
        backoff_rate=TRANSIENT_RETRY.backoff_rate,
        max_delay=Duration.seconds(TRANSIENT_RETRY.max_delay_seconds),
        jitter_strategy=sfn.JitterType.FULL,
    )
