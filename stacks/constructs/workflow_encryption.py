"""The customer managed key of one state machine's definition and execution history.

A state machine's execution history holds its input, output and errors: the consumer's
output is ``{"Secret": {"SecretValue": ...}}``, kept for 90 days. With this key, reading
that history also takes ``kms:Decrypt`` on the key, so ``states:DescribeExecution``
alone no longer shows the secret. What follows is the Step Functions developer guide,
"Data at rest encryption in Step Functions":

- the execution role: ``kms:Decrypt`` and ``kms:GenerateDataKey`` for Standard and
  asynchronous Express executions, ``kms:Decrypt`` for synchronous Express ones, with
  the encryption context ``aws:states:stateMachineArn`` = the state machine's ARN;
- with CloudWatch Logs on, the execution role's ``kms:GenerateDataKey`` with the
  encryption context ``SourceArn`` = ``arn:aws:logs:<region>:<account>:*``, and the key
  policy letting ``delivery.logs.amazonaws.com`` decrypt (the CDK's StateMachine adds
  that statement to the key);
- an API caller (DescribeExecution, GetExecutionHistory, StartSyncExecution,
  DescribeStateMachine): ``kms:Decrypt``, here only through Step Functions
  (``kms:ViaService``) and only for this state machine. StartExecution needs none.

The execution role is immutable to the CDK (``WorkflowRole``), so the grants the
CDK would add to it are written out here.
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class ExecutionRole(Protocol):
    """What the key needs of a state machine's role (``WorkflowRole``): to be granted."""

    def allow(self, sid: str, actions: list[str], resources: list[str], conditions: dict[str, Any] | None = None) -> None: ...


STATE_MACHINE_CONTEXT = "kms:EncryptionContext:aws:states:stateMachineArn"
# How long Step Functions reuses a data key before it asks KMS for another (60 to 900 s).
DATA_KEY_REUSE = Duration.minutes(5)


class StateMachineDataKey(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        state_machine_arn: str,
        role: ExecutionRole,
        synchronous_express: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.state_machine_arn = state_machine_arn
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the definition and execution history of {state_machine_name}.",
            enable_key_rotation=True,
        )
        runs = ["kms:Decrypt"] if synchronous_express else ["kms:Decrypt", "kms:GenerateDataKey"]
        role.allow("StateMachineData", runs, [self.key.key_arn], {"StringEquals": {STATE_MACHINE_CONTEXT: state_machine_arn}})
        log_source = stack.format_arn(service="logs", resource="*", arn_format=ArnFormat.NO_RESOURCE_NAME)
        log_context = {"StringEquals": {"kms:EncryptionContext:SourceArn": log_source}}
        role.allow("LogDeliveryDataKey", ["kms:GenerateDataKey"], [self.key.key_arn], log_context)
        self.encryption = sfn.CustomerManagedEncryptionConfiguration(self.key, DATA_KEY_REUSE)

    def read_statement(self, sid: str) -> iam.PolicyStatement:
        return decrypt_through_step_functions(
            sid, key_arn=self.key.key_arn, state_machine_arn=self.state_machine_arn, region=Stack.of(self).region
        )


def decrypt_through_step_functions(sid: str, *, key_arn: str, state_machine_arn: str, region: str) -> iam.PolicyStatement:
    """What an API caller needs besides its ``states:`` action to read a state machine's
    executions: ``kms:Decrypt`` on its key, through Step Functions, for that state machine."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["kms:Decrypt"],
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"states.{region}.amazonaws.com", STATE_MACHINE_CONTEXT: state_machine_arn}},
    )
