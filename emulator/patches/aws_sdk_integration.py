"""aws-sdk:* tasks speak Step Functions' PascalCase both ways and name errors as AWS does."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from unittest import mock

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import OperationModel
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)

REASON = (
    "moto passes aws-sdk task parameters to boto3 unconverted and returns boto3's casing and datetimes "
    "(sfn:startSyncExecution fails), and names errors after the lower-case service instead of the SDK's."
)


@cache
def _operation(service: str, action: str) -> OperationModel:
    model = botocore.session.get_session().get_service_model(service)
    operation = next(name for name in model.operation_names if name.lower() == action.replace("_", "").lower())
    return model.operation_model(operation)


# Where the SDK's client name is not the service ID in PascalCase.
_IRREGULAR_SERVICE_NAMES = {"sfn": "Sfn", "dynamodb": "DynamoDb"}


@cache
def _sdk_service_name(service: str) -> str:
    # Step Functions names aws-sdk errors after the SDK's client ("SecretsManager",
    # "Ssm", "DynamoDb", "Sfn"): mostly the service ID in PascalCase.
    if service in _IRREGULAR_SERVICE_NAMES:
        return _IRREGULAR_SERVICE_NAMES[service]
    service_id = botocore.session.get_session().get_service_model(service).service_id
    return "".join(word[:1].upper() + word[1:].lower() for word in str(service_id).replace("-", " ").split())


def _without_nulls(value: Any) -> Any:
    # A JSON null is a member the SDK leaves out of the request (botocore, unvalidated, crashed on
    # it: "'NoneType' object has no attribute 'items'", an uncatchable States.Runtime); the
    # service then answers for the missing member, e.g. DynamoDB's ValidationException.
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _normalise_parameters(self: StateTaskServiceAwsSdk, parameters: dict[str, Any], *_: Any, **__: Any) -> None:
    operation = _operation(self._get_boto_service_name(), self._get_boto_service_action())
    kept = _without_nulls(parameters)
    parameters.clear()
    parameters.update(kept)
    if operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)
        _check_required(operation, parameters)


def _check_required(operation: OperationModel, parameters: dict[str, Any]) -> None:
    """A required member left out is refused by the service, as its API validation words it
    ("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member
    must not be null"), before it acts: moto's handlers crashed on it instead."""
    shape = operation.input_shape
    missing = [name for name in getattr(shape, "required_members", []) if name not in parameters]
    if not missing:
        return
    errors = [f"Value null at '{name[:1].lower() + name[1:]}' failed to satisfy constraint: Member must not be null" for name in missing]
    message = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: {'; '.join(errors)}"
    raise ClientError(
        {
            "Error": {"Code": "ValidationException", "Message": message},
            # What botocore parses from an error response, without the HTTP details.
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": uuid.uuid4().hex.upper()},  # type: ignore[typeddict-item]
        },
        operation.name,
    )


def _json_timestamps(value: Any) -> Any:
    # boto3 parses timestamps into datetimes; in a state's JSON they are ISO 8601 strings.
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _json_timestamps(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_timestamps(item) for item in value]
    return value


def _normalise_response(self: StateTaskServiceAwsSdk, response: Any, *_: Any, **__: Any) -> None:
    operation = _operation(self._get_boto_service_name(), self._get_boto_service_action())
    if operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    if isinstance(response, dict):
        response.update(_json_timestamps(response))


def _error_name(service: str, error: ClientError) -> str:
    # "<Service>.<Exception>": the modeled exception's class, or "<Service>Exception"
    # for an unmodeled one; always ending in "Exception" (Ssm.ParameterNotFoundException).
    name = type(error).__name__
    name = f"{service}Exception" if name == "ClientError" else name
    return f"{service}.{name if name.endswith('Exception') else name + 'Exception'}"


@contextmanager
def patch() -> Iterator[None]:
    original_from_error = StateTaskServiceAwsSdk._from_error

    def _from_error(self: StateTaskServiceAwsSdk, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original_from_error(self, env, ex)
        service = _sdk_service_name(self._get_boto_service_name())
        metadata = ex.response.get("ResponseMetadata", {})
        error = ex.response.get("Error", {})
        cause = (
            f"{error.get('Code', 'Unknown')}: {error.get('Message', '')} "
            f"(Service: {service}, Status Code: {metadata.get('HTTPStatusCode')}, Request ID: {metadata.get('RequestId')})"
        )
        return self._get_task_failure_event(env=env, error=_error_name(service, ex), cause=cause)

    with (
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters),
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_response", _normalise_response),
        mock.patch.object(StateTaskServiceAwsSdk, "_from_error", _from_error),
    ):
        yield
