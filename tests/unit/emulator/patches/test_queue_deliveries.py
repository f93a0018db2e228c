"""SNS and EventBridge deliver to an SQS queue only as its queue policy allows (SNS developer
guide, "Subscribing an Amazon SQS queue to an Amazon SNS topic"; EventBridge user guide,
"Using resource-based policies for Amazon EventBridge", Amazon SQS permissions)."""

from __future__ import annotations

import json

import pytest

from tests.unit.emulator.helpers import REGION


def _queue(account, name: str, allowed: tuple[str, str] | None = None) -> tuple[str, str]:
    """A queue (URL, ARN); with ``allowed`` (service, source ARN), a policy letting that service send for that source."""
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{account.id}:{name}"
    if allowed is not None:
        service, source = allowed
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})})
    return url, arn


def _received(account, url: str) -> int:
    return len(account.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


def _published(account, topic: str, queue_arn: str) -> None:
    sns = account.client("sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message="m")


def test_moto_still_delivers_a_topic_s_message_to_a_queue_without_a_policy(vanilla):
    from emulator.patches import queue_deliveries

    assert queue_deliveries.REASON
    url, arn = _queue(vanilla, "closed")
    _published(vanilla, vanilla.client("sns").create_topic(Name="t")["TopicArn"], arn)
    assert _received(vanilla, url) == 1


@pytest.mark.parametrize(
    ("policy_names", "delivered"),
    [("no policy", 0), ("the topic", 1), ("another topic", 0)],
)
def test_a_topic_delivers_to_a_queue_only_as_its_policy_allows(patched, unique, policy_names, delivered):
    topic = patched.client("sns").create_topic(Name=f"topic-{unique}")["TopicArn"]
    allowed = {"no policy": None, "the topic": ("sns.amazonaws.com", topic), "another topic": ("sns.amazonaws.com", f"{topic}-other")}
    url, arn = _queue(patched, f"queue-{unique}", allowed[policy_names])
    _published(patched, topic, arn)
    assert _received(patched, url) == delivered


@pytest.mark.parametrize(("policy_names", "delivered"), [("no policy", 0), ("the rule", 1), ("the topic service", 0)])
def test_a_rule_delivers_to_a_queue_only_as_its_policy_allows(patched, unique, policy_names, delivered):
    events = patched.client("events")
    rule = events.put_rule(Name=f"rule-{unique}", EventPattern=json.dumps({"source": ["app"]}))["RuleArn"]
    allowed = {"no policy": None, "the rule": ("events.amazonaws.com", rule), "the topic service": ("sns.amazonaws.com", rule)}
    url, arn = _queue(patched, f"queue-{unique}", allowed[policy_names])
    events.put_targets(Rule=f"rule-{unique}", Targets=[{"Id": "queue", "Arn": arn}])
    events.put_events(Entries=[{"Source": "app", "DetailType": "d", "Detail": "{}"}])
    assert _received(patched, url) == delivered
