"""An event source mapping is made only if the function's execution role may read its source
(Lambda developer guide, "Using Lambda with Amazon SQS", "Execution role permissions")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import REGION, service_trust

HANDLER = "def handle(event, context):\n    return len(event.get('Records', []))\n"
READ_QUEUE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def _function(account, name: str, permissions) -> str:
    role = account.role(f"{name}-role", trust=service_trust("lambda", account.id), permissions=permissions)
    return account.python_function(name, HANDLER, role)


def _queue(account, name: str) -> str:
    account.client("sqs").create_queue(QueueName=name)
    return f"arn:aws:sqs:{REGION}:{account.id}:{name}"


def test_moto_still_maps_a_queue_to_a_function_whose_role_cannot_read_it(vanilla):
    from emulator.patches import event_source_mappings

    assert event_source_mappings.REASON
    function = _function(vanilla, "blind", None)
    mapping = vanilla.client("lambda").create_event_source_mapping(EventSourceArn=_queue(vanilla, "q"), FunctionName=function)
    assert mapping["UUID"]


def test_a_queue_is_mapped_only_to_a_function_whose_role_may_read_it(patched, unique):
    """A function whose role could read nothing was pointed at another team's queue and
    received its messages, which left the queue."""
    queue = _queue(patched, f"victim-{unique}")
    blind = _function(patched, f"blind-{unique}", None)
    with pytest.raises(ClientError) as refused:
        patched.client("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName=blind)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert (
        refused.value.response["Error"]["Message"] == "The provided execution role does not have permissions to call ReceiveMessage on SQS"
    )
    partial = _function(
        patched,
        f"partial-{unique}",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue}]},
    )
    with pytest.raises(ClientError, match="call DeleteMessage on SQS"):
        patched.client("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName=partial)
    reader = _function(
        patched, f"reader-{unique}", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": READ_QUEUE, "Resource": queue}]}
    )
    assert patched.client("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName=reader)["UUID"]
