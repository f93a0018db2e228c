"""SNS and EventBridge deliver to an SQS queue only as its queue policy allows.

A topic's subscribed queue, and a rule's target queue, receive a message on AWS only if
the queue's policy lets the service send it: ``sns.amazonaws.com`` with the topic as
``aws:SourceArn`` (SNS developer guide, "Subscribing an Amazon SQS queue to an Amazon SNS
topic": "the queue policy ... must allow the Amazon SNS topic to send messages"), and
``events.amazonaws.com`` with the rule as ``aws:SourceArn`` (EventBridge user guide,
"Using resource-based policies for Amazon EventBridge", Amazon SQS permissions). moto
delivers to any queue: a role allowed to subscribe or target only its own topic or rule
wrote into a queue it could not send to itself.

A delivery the policy does not allow is dropped, as AWS's is after its retries (SNS
counts it in ``NumberOfNotificationsFailed``, EventBridge in ``FailedInvocations``); the
emulator keeps no such metric. Whether the queue's KMS key would let the service encrypt
is not checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.events.models import Rule
from moto.sns.models import Subscription

from emulator.authorization import PARTITION, Target, check
from emulator.policy_evaluation import Principal

REASON = (
    "moto's SNS and EventBridge deliver to any SQS queue, whatever its queue policy says: a topic or rule anyone "
    "could make wrote into a queue its owner never opened to it."
)

_original_publish = Subscription.publish
_original_send = Rule._send_to_sqs_queue


def queue_allows(service: str, account: str, region: str, queue_name: str, source_arn: str) -> bool:
    """Does the queue's policy let ``service`` send to it for ``source_arn``? No queue (moto
    answers that itself) is not refused here."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(queue_name)
    if queue is None:
        return True
    policy = json.loads(queue.policy) if queue.policy else None
    queue_arn = f"arn:{PARTITION}:sqs:{region}:{account}:{queue_name}"
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_arn.split(":")[4]}
    decision = check(Principal(service=service), "sqs:SendMessage", Target(queue_arn, account, policy=policy), region, context)
    return decision.allowed


def _publish(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    if self.protocol == "sqs":
        # moto sends to the queue of that name in the subscription's account and the endpoint's region.
        region, name = self.endpoint.split(":")[3], self.endpoint.split(":")[-1]
        if not queue_allows("sns.amazonaws.com", self.account_id, region, name, self.topic.arn):
            return
    _original_publish(self, message, message_id, *args, **kwargs)


def _send_to_sqs_queue(self: Rule, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
    if not queue_allows("events.amazonaws.com", self.account_id, self.region_name, resource_id, self.arn):
        return
    _original_send(self, resource_id, event, group_id)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(Subscription, "publish", _publish), mock.patch.object(Rule, "_send_to_sqs_queue", _send_to_sqs_queue):
        yield
