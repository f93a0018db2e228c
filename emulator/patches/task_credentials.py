"""Task calls run with the execution role's credentials; a task's Credentials.RoleArn is
assumed for real, with sts:ExternalId = the state machine's ARN."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.config import Config
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client

from emulator import clients
from emulator.identity import Credentials, assume_role_as, assume_role_as_service, principal_for_access_key

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
        for module in _modules_using_boto_client_for():
            stack.enter_context(mock.patch.object(module, "boto_client_for", boto_client_for))
        yield
