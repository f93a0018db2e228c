"""An event source mapping is made only if the function's execution role may read its source.

Lambda polls an SQS queue, a DynamoDB stream or a Kinesis stream with the function's
execution role, and CreateEventSourceMapping checks that role first: "The provided
execution role does not have permissions to call ReceiveMessage on SQS"
(InvalidParameterValueException; Lambda developer guide, "Using Lambda with Amazon SQS",
"Execution role permissions": sqs:ReceiveMessage, sqs:DeleteMessage,
sqs:GetQueueAttributes; "Using AWS Lambda with Amazon DynamoDB" and "... with Amazon
Kinesis" list theirs). moto checks nothing: a caller allowed only
lambda:CreateEventSourceMapping pointed its own function, whose role could read nothing, at
any queue of the account, and the function received and the queue lost its messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaBackend

from emulator.authorization import Target, check
from emulator.policy_evaluation import Principal

REASON = (
    "moto makes an event source mapping whatever the function's execution role may do: a function whose role could "
    "read no queue drained one."
)

# What the execution role needs on each kind of source, by the ARN's service (the pages above).
SOURCE_PERMISSIONS = {
    "sqs": ("SQS", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")),
    "dynamodb": ("DynamoDB", ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")),
    "kinesis": (
        "Kinesis",
        ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"),
    ),
}

_original = LambdaBackend.create_event_source_mapping


def _create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
    source = str(spec.get("EventSourceArn") or "")
    named = str(spec.get("FunctionName") or "")
    service = source.split(":")[2] if source.count(":") >= 5 else ""
    if named and service in SOURCE_PERMISSIONS:
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(named)  # moto's own NotFound if none
        role = str(function.role)
        principal = Principal(account=role.split(":")[4], arn=role)
        label, actions = SOURCE_PERMISSIONS[service]
        for action in actions:
            if not check(principal, action, Target(source, source.split(":")[4]), self.region_name).allowed:
                raise InvalidParameterValueException(
                    f"The provided execution role does not have permissions to call {action.split(':')[1]} on {label}"
                )
    return _original(self, spec)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(LambdaBackend, "create_event_source_mapping", _create_event_source_mapping):
        yield
