"""states:StartSyncExecution runs an Express workflow to completion and returns its result."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock
from uuid import uuid4

import moto.backend_index as backend_index
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions import urls as stepfunctions_urls
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.patches import task_credentials

REASON = "moto has no StartSyncExecution (and no sync-states endpoint): the cross-account call answered 404."


class StateMachineTypeNotSupported(AWSError):
    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


# botocore sends StartSyncExecution to the "sync-" host prefix.
SYNC_URL_BASE = r"https?://sync-states\.(.+)\.amazonaws\.com"


def start_sync_execution(
    backend: StepFunctionsParserBackend, state_machine_arn: str, name: str | None, execution_input: str | None
) -> SyncExecution:
    state_machine = backend.describe_state_machine(state_machine_arn)
    # moto keeps the declared type in .type (.sm_type is always STANDARD).
    if state_machine.type != "EXPRESS":
        raise StateMachineTypeNotSupported("This operation is not supported by this type of state machine")
    input_data = execution_input if execution_input is not None else "{}"
    try:
        json.loads(input_data)
    except ValueError as error:
        raise InvalidExecutionInput(str(error)) from None
    name = name or str(uuid4())
    execution = SyncExecution(
        name=name,
        sm_type=state_machine.type,  # type: ignore[arg-type]  # the model's type string, one of the enum's values
        role_arn=state_machine.roleArn,
        exec_arn=f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:{state_machine.name}:{name}:{uuid4()}",
        account_id=backend.account_id,
        region_name=backend.region_name,
        state_machine=state_machine,  # type: ignore[arg-type]  # moto's model: the execution reads its ARN, name and definition
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=None,
        activity_store={},
    )
    task_credentials.SYNCHRONOUS_EXECUTIONS.add(execution.exec_arn)  # its role is asked for kms:Decrypt only
    try:
        execution.start()  # SyncExecutionWorker runs the program in this thread, to the end
    finally:
        task_credentials.SYNCHRONOUS_EXECUTIONS.discard(execution.exec_arn)
    return execution


def _start_sync_execution_response(self: StepFunctionResponse) -> ActionResult:
    execution = start_sync_execution(
        self.stepfunction_backend,  # type: ignore[arg-type]  # the parser backend, with execute_state_machine on (MOTO_CONFIG)
        self._get_param("stateMachineArn"),
        self._get_param("name"),
        self._get_param("input"),
    )
    output: dict[str, Any] = {key: value for key, value in execution.to_start_sync_execution_output().items() if value is not None}
    output["status"] = str(getattr(output["status"], "value", output["status"]))
    # Step Functions bills Express runs by memory and duration; the emulator has neither.
    output["billingDetails"] = {"billedMemoryUsedInMB": 0, "billedDurationInMilliseconds": 0}
    return ActionResult(output)


@contextmanager
def patch() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(StepFunctionResponse, "start_sync_execution", _start_sync_execution_response, create=True))
        stack.enter_context(mock.patch.object(stepfunctions_urls, "url_bases", [*stepfunctions_urls.url_bases, SYNC_URL_BASE]))
        stack.enter_context(
            mock.patch.object(
                backend_index,
                "backend_url_patterns",
                [("stepfunctions", re.compile(SYNC_URL_BASE)), *backend_index.backend_url_patterns],
            )
        )
        yield
