"""The optimized ``arn:aws:states:::states:startExecution`` integration runs as on AWS.

- Its PascalCase parameters (``StateMachineArn``, ``Input``, ``Name``) reach the API in its
  own casing, and its result comes back in Step Functions' casing: the plain call returns
  ``ExecutionArn`` and ``StartDate``; ``.sync`` returns the child's DescribeExecution fields
  with ``Output`` a JSON string; ``.sync:2`` the same with ``Input``/``Output`` parsed
  (developer guide, "Start a new AWS Step Functions state machine from a running
  execution"). moto passed the parameters unconverted: every call failed with
  ``States.Runtime``, cause ``'StateMachineArn'``.
- Timestamps in the result are epoch milliseconds, as Step Functions' Java SDK writes them.
- ``.sync`` asks the role for what the developer guide's "IAM policies for Step Functions"
  lists for it besides StartExecution and DescribeExecution (which the API calls
  themselves are authorized on): ``events:PutTargets``, ``events:PutRule`` and
  ``events:DescribeRule`` on the managed rule
  ``StepFunctionsGetEventsForStepFunctionsExecutionRule`` of the account the child runs in.
- A failed call is named ``StepFunctions.<Error code>``, with ``Exception`` added only where
  the code lacks it: moto named an AccessDeniedException
  ``StepFunctions.AccessDeniedExceptionException``.
- A failed call of the optimized ``events:putEvents`` (EventBridge answering with an error,
  AccessDenied say) is a task failure named ``EventBridge.<Error code>`` that a Catch can
  handle, not an uncatchable ``States.Runtime`` (the name follows the other optimized
  integrations'; the developer guide documents only ``EventBridge.FailedEntry``).
- DynamoDB's UpdateItem, which the optimized ``dynamodb:updateItem`` calls, returns with
  ``UPDATED_NEW``/``UPDATED_OLD`` only the attributes the update changed, never the key
  (DynamoDB API reference, UpdateItem, ReturnValues: "UPDATED_NEW - Returns only the updated
  attributes, as they appear after the UpdateItem operation"; a key attribute cannot be
  updated): moto returned the key of an item the update created.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from typing import Any
from unittest import mock

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import OperationModel
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events import StateTaskServiceEvents
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import StateTaskServiceSfn
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from emulator import authorization
from emulator.identity import principal_for_access_key
from emulator.patches import task_credentials

REASON = (
    "moto's optimized states:startExecution passes PascalCase parameters to boto3 unconverted "
    "(States.Runtime, cause 'StateMachineArn'), and .sync never asks for the managed rule's permissions."
)

# The EventBridge rule Step Functions manages for .sync on a child execution, and what the
# role needs on it (developer guide, "IAM policies for Step Functions", Synchronous).
MANAGED_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
MANAGED_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")

_normalise_parameters = StateTaskServiceSfn._normalise_parameters
_from_error = StateTaskServiceSfn._from_error
_build_sync_resolver = StateTaskServiceSfn._build_sync_resolver
_build_sync2_resolver = StateTaskServiceSfn._build_sync2_resolver
_update_item = DynamoHandler.update_item
_events_from_error = StateTaskServiceEvents._from_error


@cache
def _operation(action: str) -> OperationModel:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    name = next(name for name in model.operation_names if name.lower() == action.replace("_", "").lower())
    return model.operation_model(name)


def _epoch_millis(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: _epoch_millis(item) for key, item in value.items()}
    return value


def normalise_parameters(
    self: StateTaskServiceSfn, parameters: dict[str, Any], boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    _normalise_parameters(self, parameters, boto_service_name, service_action_name)  # Input as a JSON string
    operation = _operation(service_action_name or self._get_boto_service_action())
    if operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def normalise_response(
    self: StateTaskServiceSfn, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = _operation(service_action_name or self._get_boto_service_action())
    if not isinstance(response, dict) or operation.output_shape is None:
        return
    self._from_boto_response(response, operation.output_shape)
    response.update(_epoch_millis(response))


def _task_failure(self: Any, env: Any, error: str, cause: str) -> FailureEvent:
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(  # type: ignore[typeddict-item]  # a total TypedDict moto itself fills with one key
            taskFailedEventDetails=TaskFailedEventDetails(
                error=error, cause=cause, resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type()
            )
        ),
    )


def _client_error(self: Any, env: Any, ex: ClientError, prefix: str, service: str) -> FailureEvent:
    """``<prefix>.<code>``, "Exception" added where the code lacks it, as moto does for
    StateMachineDoesNotExist; the cause as moto words it (its recording of AWS)."""
    code = str(ex.response["Error"]["Code"])
    metadata = ex.response.get("ResponseMetadata", {})
    details = [
        f"Service: {service}",
        f"Status Code: {metadata.get('HTTPStatusCode')}",
        f"Error Code: {code}",
        f"Request ID: {metadata.get('RequestId')}",
        "Proxy: null",
    ]
    error = f"{prefix}.{code if code.endswith('Exception') else code + 'Exception'}"
    return _task_failure(self, env, error, f"{ex.response['Error'].get('Message', '')} ({'; '.join(details)})")


def from_error(self: StateTaskServiceSfn, env: Any, ex: Exception) -> FailureEvent:
    if not isinstance(ex, ClientError):
        return _from_error(self, env, ex)
    return _client_error(self, env, ex, "StepFunctions", "AWSStepFunctions")


def events_from_error(self: StateTaskServiceEvents, env: Any, ex: Exception) -> FailureEvent:
    if not isinstance(ex, ClientError):
        return _events_from_error(self, env, ex)
    return _client_error(self, env, ex, "EventBridge", "AmazonEventBridge")


def _managed_rule_denied(self: StateTaskServiceSfn, env: Any, region: str, state_credentials: Any) -> FailureEventException | None:
    """The role's events:PutTargets/PutRule/DescribeRule on the managed rule, as Step
    Functions uses them to learn that the child execution ended."""
    if not isinstance(state_credentials, task_credentials.ExecutionCredentials):
        return None
    credentials = task_credentials.credentials_for_task(state_credentials, region)
    principal = principal_for_access_key(credentials.access_key_id)
    rule = authorization.Target(f"arn:{authorization.PARTITION}:events:{region}:{principal.account}:rule/{MANAGED_RULE}", principal.account)
    for action in MANAGED_RULE_ACTIONS:
        decision = authorization.check(principal, action, rule, region)
        if decision.allowed:
            continue
        # The emulator's wording: the name is AWS's, the message a guess (AWS documents none).
        error = "StepFunctions.AccessDeniedException"
        cause = (
            f"User: {principal.arn} is not authorized to perform: {action} on resource: {rule.arn} ({decision.reason}) "
            "(Service: AWSStepFunctions; Status Code: 400; Error Code: AccessDeniedException; Proxy: null)"
        )
        return FailureEventException(_task_failure(self, env, error, cause))
    return None


def _checked(build: Callable[..., Any]) -> Callable[..., Any]:
    def build_resolver(
        self: StateTaskServiceSfn, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Any:
        denied = _managed_rule_denied(self, env, resource_runtime_part.region, state_credentials)
        if denied is not None:
            env.stack.pop()  # the submission's output, which the resolver would have taken

            def fail() -> Any:
                raise denied

            return fail
        return build(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    return build_resolver


def update_item(self: DynamoHandler) -> Any:
    answer = _update_item(self)
    if self.body.get("ReturnValues") not in ("UPDATED_NEW", "UPDATED_OLD") or not isinstance(answer, ActionResult):
        return answer
    result = answer.result
    if isinstance(result, dict) and isinstance(result.get("Attributes"), dict):
        key = set(self.body.get("Key") or {})
        attributes = {name: value for name, value in result["Attributes"].items() if name not in key}
        if attributes:
            result["Attributes"] = attributes
        else:
            result.pop("Attributes")
    return answer


@contextmanager
def patch() -> Iterator[None]:
    with ExitStack() as stack:
        for name, replacement in (
            ("_normalise_parameters", normalise_parameters),
            ("_normalise_response", normalise_response),
            ("_from_error", from_error),
            ("_build_sync_resolver", _checked(_build_sync_resolver)),
            ("_build_sync2_resolver", _checked(_build_sync2_resolver)),
        ):
            stack.enter_context(mock.patch.object(StateTaskServiceSfn, name, replacement))
        stack.enter_context(mock.patch.object(StateTaskServiceEvents, "_from_error", events_from_error))
        stack.enter_context(mock.patch.object(DynamoHandler, "update_item", update_item))
        yield
