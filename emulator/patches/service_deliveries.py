"""SNS and EventBridge deliver only where the destination's resource policy lets them.

- A topic's subscribed SQS queue receives a message only if the queue's policy lets
  ``sns.amazonaws.com`` send it for that topic (``aws:SourceArn``; SNS developer guide,
  "Subscribing an Amazon SQS queue to an Amazon SNS topic": "the queue policy ... must allow
  the Amazon SNS topic to send messages").
- An EventBridge rule's targets (EventBridge user guide, "Using resource-based policies for
  Amazon EventBridge"):
  - an SQS queue, if its policy lets ``events.amazonaws.com`` send for that rule;
  - a CloudWatch Logs log group, if one of its account's Logs resource policies lets
    ``events.amazonaws.com`` (or ``delivery.logs.amazonaws.com``) put log events in it;
  - another account's event bus, if that bus's policy lets the rule's account put events on
    it ("Sending and receiving events between AWS accounts in Amazon EventBridge").

- A bucket's event notifications may name a queue, a topic or a function only if its policy
  lets ``s3.amazonaws.com`` send, publish or invoke for that bucket; otherwise
  PutBucketNotificationConfiguration fails with InvalidArgument, "Unable to validate the
  following destination configurations" (S3 user guide, "Granting permissions to publish
  event notification messages to a destination"). Checked when the configuration is put.

moto delivers to any of them: a role allowed only its own topic, rule or bucket wrote into
a queue, a topic, a log group or another account's bus whose owner never opened it.

A delivery the policy does not allow is dropped, as AWS's is after its retries (SNS counts
it in ``NumberOfNotificationsFailed``, EventBridge in ``FailedInvocations``); the emulator
keeps no such metric. Whether a queue's KMS key would let the service encrypt is not
checked.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.events.models import Rule
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend, s3_backends
from moto.sns.models import Subscription

from emulator.authorization import PARTITION, Target, check, function_policy
from emulator.policy_evaluation import Principal

REASON = (
    "moto's SNS and EventBridge deliver to any SQS queue, log group or other account's event bus, whatever its resource "
    "policy says: a topic or rule anyone could make wrote where the owner never opened it."
)

_original_publish = Subscription.publish
_original_send_to_targets = Rule.send_to_targets
_original_notifications = S3Backend.put_bucket_notification_configuration

# The rule's own account has chosen the target; whether the destination takes it is for the
# destination's policy alone (the service acts, not an identity of the destination's account).
_THE_SOURCE_MAY = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]


def _allows(principal: Principal, action: str, arn: str, policy: Mapping[str, Any] | None, source_arn: str) -> bool:
    account, region = arn.split(":")[4], arn.split(":")[3]
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_arn.split(":")[4]}
    return check(principal, action, Target(arn, account, policy=policy), region, context, identity=_THE_SOURCE_MAY).allowed


def queue_allows(service: str, account: str, region: str, queue_name: str, source_arn: str) -> bool:
    """Does the queue's policy let ``service`` send to it for ``source_arn``? No queue (moto
    answers that itself) is not refused here."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][region].queues.get(queue_name)
    if queue is None:
        return True
    policy = json.loads(queue.policy) if queue.policy else None
    arn = f"arn:{PARTITION}:sqs:{region}:{account}:{queue_name}"
    return _allows(Principal(service=service), "sqs:SendMessage", arn, policy, source_arn)


def _log_group_allows(account: str, region: str, group: str, source_arn: str) -> bool:
    from moto.logs.models import logs_backends

    statements = [
        statement
        for policy in logs_backends[account][region].resource_policies.values()
        for statement in json.loads(policy.policy_document).get("Statement", [])
    ]
    document = {"Version": "2012-10-17", "Statement": statements} if statements else None
    arn = f"arn:{PARTITION}:logs:{region}:{account}:log-group:{group}:*"
    return any(
        _allows(Principal(service=service), "logs:PutLogEvents", arn, document, source_arn)
        for service in ("events.amazonaws.com", "delivery.logs.amazonaws.com")
    )


def _bus_allows(rule: Rule, bus_arn: str) -> bool:
    from moto.events.models import events_backends

    _, _, _, region, account, resource = bus_arn.split(":", 5)
    if account == rule.account_id:
        return True
    bus = events_backends[account][region].event_buses.get(resource.removeprefix("event-bus/"))
    if bus is None:
        return True  # moto answers that itself
    policy = json.loads(bus.policy) if bus.policy else None
    sender = Principal(account=rule.account_id, arn=f"arn:{PARTITION}:iam::{rule.account_id}:root")
    return _allows(sender, "events:PutEvents", bus_arn, policy, rule.arn)


def _target_allowed(rule: Rule, target: Mapping[str, Any]) -> bool:
    arn = str(target.get("Arn", ""))
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return True  # moto refuses what it cannot parse
    service, resource = parts[2], parts[5]
    if service == "sqs":
        # moto sends to the queue of that name in the rule's own account and region.
        return queue_allows("events.amazonaws.com", rule.account_id, rule.region_name, resource, rule.arn)
    if service == "logs" and resource.startswith("log-group:"):
        return _log_group_allows(parts[4], parts[3], resource.removeprefix("log-group:").removesuffix(":*"), rule.arn)
    if service == "events" and resource.startswith("event-bus/"):
        return _bus_allows(rule, arn)
    return True


def _s3_destination_allows(kind: str, arn: str, bucket_arn: str) -> bool:
    """May S3 send a bucket's notifications to the queue, topic or function ``arn``? A
    destination that does not exist cannot be validated either."""
    parts = arn.split(":")
    if len(parts) < 6:
        return False
    region, account, name = parts[3], parts[4], parts[5]
    s3 = Principal(service="s3.amazonaws.com")
    if kind == "Queue":
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[account][region].queues.get(name)
        policy = json.loads(queue.policy) if queue is not None and queue.policy else None
        return queue is not None and _allows(s3, "sqs:SendMessage", arn, policy, bucket_arn)
    if kind == "Topic":
        from moto.sns.models import sns_backends

        topic = sns_backends[account][region].topics.get(arn)
        policy = json.loads(topic._policy_json) if topic is not None and isinstance(topic._policy_json, str) else None
        policy = topic._policy_json if topic is not None and isinstance(topic._policy_json, dict) else policy
        return topic is not None and _allows(s3, "sns:Publish", arn, policy, bucket_arn)
    if kind == "CloudFunction":
        from moto.awslambda.utils import get_backend

        try:
            function = get_backend(account, region).get_function(arn)
        except Exception:  # noqa: BLE001  (moto's own NotFound types)
            return False
        policy = function_policy(function)
        return str(function.function_arn) == arn.split(":$LATEST")[0] and _allows(s3, "lambda:InvokeFunction", arn, policy, bucket_arn)
    return True


def _put_bucket_notification_configuration(self: S3Backend, bucket_name: str, notification_config: dict[str, Any]) -> None:
    bucket_arn = f"arn:{PARTITION}:s3:::{bucket_name}"
    # moto sends a bucket's notifications to the destination of that name in the bucket
    # owner's own account, whatever account the ARN names: another account's is refused
    # (AWS takes it when its policy allows: a guess on the safe side).
    owner = next((account for account, backends in s3_backends.items() if bucket_name in backends[PARTITION].buckets), "")
    for kind in ("Queue", "Topic", "CloudFunction"):
        for destination in notification_config.get(f"{kind}Configuration") or []:
            arn = str(destination.get(kind, ""))
            elsewhere = owner and arn.count(":") >= 5 and arn.split(":")[4] != owner
            if elsewhere or not _s3_destination_allows(kind, arn, bucket_arn):
                raise S3ClientError("InvalidArgument", "Unable to validate the following destination configurations")
    _original_notifications(self, bucket_name, notification_config)


def _publish(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    if self.protocol == "sqs":
        # moto sends to the queue of that name in the subscription's account and the endpoint's region.
        region, name = self.endpoint.split(":")[3], self.endpoint.split(":")[-1]
        if not queue_allows("sns.amazonaws.com", self.account_id, region, name, self.topic.arn):
            return
    _original_publish(self, message, message_id, *args, **kwargs)


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    # moto walks self.targets: a copy of the rule with only the targets that take the event.
    allowed = [target for target in self.targets if _target_allowed(self, target)]
    if len(allowed) == len(self.targets):
        _original_send_to_targets(self, original_event, transform_input)
        return
    narrowed = copy.copy(self)
    narrowed.targets = allowed
    _original_send_to_targets(narrowed, original_event, transform_input)


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(Subscription, "publish", _publish),
        mock.patch.object(Rule, "send_to_targets", _send_to_targets),
        mock.patch.object(S3Backend, "put_bucket_notification_configuration", _put_bucket_notification_configuration),
    ):
        yield
