"""Step Functions' execution API answers as its API reference documents it:

- StartExecution with ``input`` that is not JSON fails with ``InvalidExecutionInput``
  (API reference, StartExecution, "Errors": "The provided JSON input data is not
  valid"); moto answered HTTP 400 with an empty error code;
- ListExecutions on an Express state machine fails with ``StateMachineTypeNotSupported``
  (API reference, ListExecutions: "This API action is not supported by EXPRESS state
  machines"); moto listed none;
- DescribeExecution's ``output`` is the string the execution produced, the same one its
  ``ExecutionSucceeded`` event holds (API reference, DescribeExecution, "output": "The
  JSON output data of the execution"); moto re-serialized it with spaces after the
  separators, so the two differed;
- GetExecutionHistory honours ``reverseOrder`` (events newest first) and
  ``includeExecutionData`` (false: no input or output in the events' details) (API
  reference, GetExecutionHistory, request parameters); moto ignored both;
- DescribeExecution carries ``inputDetails`` (and ``outputDetails`` with an output),
  ``{"included": true}``, and the redrive fields: ``redriveCount`` 0 and ``redriveStatus``
  ``REDRIVABLE`` for a Standard execution that FAILED, TIMED_OUT or was ABORTED, else
  ``NOT_REDRIVABLE`` with its ``redriveStatusReason`` (API reference, DescribeExecution,
  response elements); moto gave neither;
- CreateStateMachine and UpdateStateMachine refuse a definition that does not parse with
  ``InvalidDefinition`` (API reference, CreateStateMachine, "Errors": "The provided Amazon
  States Language definition is not valid"); moto answered with an empty error code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.api import InvalidDefinition
from moto.stepfunctions.responses import StepFunctionResponse

REASON = (
    "moto answers non-JSON execution input with no error code, lists Express executions, "
    "re-serializes DescribeExecution's output with spaces, and ignores GetExecutionHistory's reverseOrder and includeExecutionData."
)

_start_execution = StepFunctionResponse.start_execution
_list_executions = StepFunctionResponse.list_executions
_describe_execution = StepFunctionResponse.describe_execution
_get_execution_history = StepFunctionResponse.get_execution_history
_create_state_machine = StepFunctionResponse.create_state_machine
_update_state_machine = StepFunctionResponse.update_state_machine
# What "execution data" is in an event's details (API reference, HistoryEvent's *EventDetails).
_EXECUTION_DATA = ("input", "output", "inputDetails", "outputDetails")


class _StepFunctionsError(JsonRESTError):
    code = 400


def _started(self: StepFunctionResponse) -> Any:
    given = self._get_param("input", if_none="{}")
    try:
        json.loads(given)
    except (TypeError, ValueError):
        raise _StepFunctionsError("InvalidExecutionInput", "The provided JSON input data is not valid.") from None
    return _start_execution(self)


def _listed(self: StepFunctionResponse) -> Any:
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    if getattr(machine, "type", "STANDARD") == "EXPRESS":
        raise _StepFunctionsError("StateMachineTypeNotSupported", "This API action is not supported by EXPRESS state machines.")
    return _list_executions(self)


def _definition_checked(respond: Callable[[StepFunctionResponse], Any]) -> Callable[[StepFunctionResponse], Any]:
    def checked(self: StepFunctionResponse) -> Any:
        try:
            return respond(self)
        except InvalidDefinition as error:
            # moto's parser declares its error code as ``code``, which AWSError never reads.
            raise _StepFunctionsError("InvalidDefinition", f"Invalid State Machine Definition: '{error.message}'") from None

    return checked


# Executions a redrive can restart (API reference, RedriveExecution: "Restarts unsuccessful
# executions of Standard workflows that didn't complete successfully in the last 14 days. These
# include failed, aborted, or timed out executions"; "not supported by EXPRESS state machines").
_REDRIVABLE = {"FAILED", "TIMED_OUT", "ABORTED"}


def _redrive_fields(result: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution's redrive fields for an execution never redriven ("If you have not yet
    redriven an execution, the redriveCount is 0"); redriveStatusReason as the API reference
    lists it for a Standard execution ("Execution is RUNNING and cannot be redriven.")."""
    status = str(result.get("status"))
    if ":express:" in str(result.get("executionArn", "")):
        return {"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE"}
    if status in _REDRIVABLE:
        return {"redriveCount": 0, "redriveStatus": "REDRIVABLE"}
    return {"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE", "redriveStatusReason": f"Execution is {status} and cannot be redriven."}


def _described(self: StepFunctionResponse) -> TYPE_RESPONSE | ActionResult:
    answer = _describe_execution(self)
    result = answer.result if isinstance(answer, ActionResult) else None
    if isinstance(result, dict):
        result.setdefault("inputDetails", {"included": True})
        if "output" in result:
            result.setdefault("outputDetails", {"included": True})
        for key, value in _redrive_fields(result).items():
            result.setdefault(key, value)
    if isinstance(result, dict) and isinstance(result.get("output"), str):
        try:
            value = json.loads(result["output"])
        except ValueError:
            value = result["output"]  # a bare string result, which moto keeps unencoded: JSON has it quoted
        # As the execution's last event has it: compact JSON.
        result["output"] = json.dumps(value, separators=(",", ":"))
    return answer


def _history(self: StepFunctionResponse) -> Any:
    answer = _get_execution_history(self)
    result = answer.result if isinstance(answer, ActionResult) else None
    if not isinstance(result, dict) or not isinstance(result.get("events"), list):
        return answer
    events = list(result["events"])
    if self._get_param("includeExecutionData", if_none=True) is False:
        events = [
            {
                key: ({k: v for k, v in value.items() if k not in _EXECUTION_DATA} if key.endswith("EventDetails") else value)
                for key, value in event.items()
            }
            for event in events
        ]
    if self._get_param("reverseOrder", if_none=False) is True:
        events.reverse()
    return ActionResult({**result, "events": events})


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(StepFunctionResponse, "start_execution", _started),
        mock.patch.object(StepFunctionResponse, "list_executions", _listed),
        mock.patch.object(StepFunctionResponse, "describe_execution", _described),
        mock.patch.object(StepFunctionResponse, "get_execution_history", _history),
        mock.patch.object(StepFunctionResponse, "create_state_machine", _definition_checked(_create_state_machine)),
        mock.patch.object(StepFunctionResponse, "update_state_machine", _definition_checked(_update_state_machine)),
    ):
        yield
