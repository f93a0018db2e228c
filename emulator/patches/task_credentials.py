"""Task calls run with the execution role's credentials; a task's Credentials.RoleArn is
assumed for real, with sts:ExternalId = the state machine's ARN.

While an execution runs, Step Functions encrypts its data with the state machine's customer
managed key, as the execution role: the role is asked for ``kms:GenerateDataKey`` and
``kms:Decrypt`` on the key, under the encryption context ``aws:states:stateMachineArn``
(developer guide, "Data at rest encryption in Step Functions": "For an execution to
successfully complete when using customer managed key encryption, the execution role needs
to be granted kms:GenerateDataKey and kms:Decrypt permissions for AWS KMS keys used by the
state machine"); a synchronous Express execution (StartSyncExecution) keeps no history, and
its role is asked for ``kms:Decrypt`` only (the same page, as this project's
``stacks/constructs/workflow_encryption.py`` sums it up). A role without them fails its
execution before its first state, with ``KMS.AccessDeniedException`` (the error name is the
emulator's guess: AWS documents none).

With CloudWatch Logs on (a level other than OFF and a destination), log delivery uses the
key too (the same page, as ``workflow_encryption.py`` sums it up): the execution role is
asked for ``kms:GenerateDataKey`` under the encryption context ``SourceArn`` =
``arn:aws:logs:<region>:<account>:*``, and the key policy must let
``delivery.logs.amazonaws.com`` decrypt. Without either, the execution fails the same way,
naming log delivery. What AWS does then is not documented (logs may only go missing):
failing loudly is the emulator's guess, chosen so a missing grant is seen before AWS.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.config import Config
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client

from emulator import authorization, clients
from emulator.identity import Credentials, assume_role_as, assume_role_as_service, principal_for_access_key
from emulator.policy_evaluation import Principal

REASON = (
    "moto signs every task's calls with one fixed key (account 123456789012) and ignores "
    "Credentials.RoleArn, so cross-account calls and least-privilege trust would never be exercised."
)

_CLIENT_CONFIG = Config(
    parameter_validation=False,
    retries={"max_attempts": 0, "total_max_attempts": 1},
    connect_timeout=60,
    read_timeout=60,
)


@dataclass
class ExecutionCredentials(StateCredentials):
    """What Step Functions knows when it makes a task's call."""

    execution_role_arn: str = ""
    state_machine_arn: str = ""
    explicit: bool = False  # the task has a Credentials field


_original_eval_state_credentials = StateTask._eval_state_credentials


def _eval_state_credentials(self: StateTask, env: Any) -> ExecutionCredentials:
    credentials = _original_eval_state_credentials(self, env)
    return ExecutionCredentials(
        role_arn=credentials.role_arn,
        execution_role_arn=env.aws_execution_details.role_arn,
        state_machine_arn=env.states.context_object.context_object_data["StateMachine"]["Id"],
        explicit=self.credentials is not None,
    )


def credentials_for_task(credentials: ExecutionCredentials, region: str) -> Credentials:
    # Step Functions assumes the execution role as states.amazonaws.com, on behalf of this state machine...
    execution = assume_role_as_service(
        credentials.execution_role_arn, service="states.amazonaws.com", source_arn=credentials.state_machine_arn, region=region
    )
    if not credentials.explicit:
        return execution
    # ...and for a Credentials field, assumes that role as the execution role, passing the
    # state machine's ARN as the ExternalId. The trust policy is checked on every call.
    return assume_role_as(
        principal_for_access_key(execution.access_key_id),
        credentials.role_arn,
        external_id=credentials.state_machine_arn,
        region=region,
    )


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    if not isinstance(state_credentials, ExecutionCredentials):
        raise RuntimeError(f"a {service} task call came without execution credentials; the emulator cannot sign it")
    credentials = credentials_for_task(state_credentials, region)
    made: BaseClient = clients.client(service, region=region, credentials=credentials, config=_CLIENT_CONFIG)
    return made


# What Step Functions asks KMS for, as the execution role, while an execution runs.
EXECUTION_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SYNCHRONOUS_EXECUTION_KEY_ACTIONS = ("kms:Decrypt",)
# Executions StartSyncExecution runs now (sync_execution registers them), by ARN.
SYNCHRONOUS_EXECUTIONS: set[str] = set()
_program_eval_body = Program._eval_body


LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def _state_machine(state_machine_arn: str, region: str) -> Any:
    from moto.stepfunctions.responses import get_backend

    account = state_machine_arn.split(":")[4]
    try:
        return get_backend(account, region).describe_state_machine(state_machine_arn)
    except Exception:  # noqa: BLE001  (moto raises its own NotFound types)
        return None


def _state_machine_key(machine: Any) -> str | None:
    encryption = getattr(machine, "encryptionConfiguration", None) or {}
    return encryption.get("kmsKeyId") if encryption.get("type") == "CUSTOMER_MANAGED_KMS_KEY" else None


def _logs_to_cloudwatch(machine: Any) -> bool:
    logging = getattr(machine, "loggingConfiguration", None) or {}
    return logging.get("level", "OFF") != "OFF" and bool(logging.get("destinations"))


def _key_denial(principal: Principal, action: str, key: Any, region: str, context: dict[str, str]) -> str | None:
    decision = authorization.check(principal, action, key, region, context)
    if decision.allowed:
        return None
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {key.arn} ({decision.reason}) "
        "(Service: Kms, Status Code: 400)"
    )


def execution_key_denial(
    role_arn: str, state_machine_arn: str, region: str, actions: tuple[str, ...] = EXECUTION_KEY_ACTIONS
) -> str | None:
    """Why the execution role, or log delivery, may not use the state machine's key; None if they may."""
    machine = _state_machine(state_machine_arn, region)  # looked up once per execution
    key_id = _state_machine_key(machine)
    account = state_machine_arn.split(":")[4]
    key = authorization.key_target(key_id, region, account) if key_id else None
    if key is None:
        return None
    role = Principal(account=role_arn.split(":")[4], arn=role_arn)
    context = {"kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn, "kms:CallerAccount": role.account}
    for action in actions:
        if (denial := _key_denial(role, action, key, region, context)) is not None:
            return denial
    if not _logs_to_cloudwatch(machine):
        return None
    logs = {"kms:EncryptionContext:SourceArn": f"arn:{authorization.PARTITION}:logs:{region}:{account}:*"}
    for principal, action, context in (
        (role, "kms:GenerateDataKey", {**logs, "kms:CallerAccount": role.account}),
        (Principal(service=LOG_DELIVERY_SERVICE), "kms:Decrypt", logs),
    ):
        if (denial := _key_denial(principal, action, key, region, context)) is not None:
            return f"Log delivery to CloudWatch Logs: {denial}"
    return None


def _eval_program(self: Program, env: Any) -> None:
    if not env.is_frame():  # the execution itself, not a Map or Parallel branch of it
        machine_arn = env.states.context_object.context_object_data["StateMachine"]["Id"]
        region = machine_arn.split(":")[3]
        synchronous = env.states.context_object.context_object_data["Execution"]["Id"] in SYNCHRONOUS_EXECUTIONS
        actions = SYNCHRONOUS_EXECUTION_KEY_ACTIONS if synchronous else EXECUTION_KEY_ACTIONS
        cause = execution_key_denial(env.aws_execution_details.role_arn, machine_arn, region, actions)
        if cause is not None:
            env.set_error(ExecutionFailedEventDetails(error="KMS.AccessDeniedException", cause=cause))
    _program_eval_body(self, env)


def _modules_using_boto_client_for() -> list[Any]:
    # Each task module imported the function by name: replace it where it is used.
    original = moto_boto_client.boto_client_for
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original
    ]


@contextmanager
def patch() -> Iterator[None]:
    # Import every task module first, so that none binds the original after we patch.
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every state component)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(StateTask, "_eval_state_credentials", _eval_state_credentials))
        stack.enter_context(mock.patch.object(Program, "_eval_body", _eval_program))
        for module in _modules_using_boto_client_for():
            stack.enter_context(mock.patch.object(module, "boto_client_for", boto_client_for))
        yield
