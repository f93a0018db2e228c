"""SNS and EventBridge deliver to an SQS queue only as its queue policy allows (SNS developer
guide, "Subscribing an Amazon SQS queue to an Amazon SNS topic"; EventBridge user guide,
"Using resource-based policies for Amazon EventBridge", Amazon SQS permissions)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

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
    from emulator.patches import service_deliveries

    assert service_deliveries.REASON
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


def _forwarding_rule(account, name: str, target_arn: str) -> None:
    events = account.client("events")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "target", "Arn": target_arn}])


def _send(account) -> None:
    account.client("events").put_events(Entries=[{"Source": "app", "DetailType": "d", "Detail": "{}"}])


@pytest.mark.parametrize(("policy_allows", "delivered"), [(None, 0), ("events.amazonaws.com", 1), ("sns.amazonaws.com", 0)])
def test_a_rule_writes_into_a_log_group_only_as_a_logs_resource_policy_allows(patched, unique, policy_allows, delivered):
    """A role with Deny logs:* wrote forged lines into a protected log group through its own rule."""
    logs = patched.client("logs")
    group = f"/protected/{unique}"
    logs.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:{REGION}:{patched.id}:log-group:{group}:*"
    if policy_allows:
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": policy_allows},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": group_arn,
        }
        logs.put_resource_policy(policyName=f"p-{unique}", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    _forwarding_rule(patched, f"to-logs-{unique}", group_arn.removesuffix(":*"))
    _send(patched)
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == delivered
    if policy_allows:
        logs.delete_resource_policy(policyName=f"p-{unique}")


@pytest.mark.parametrize("bus_policy", [False, True], ids=["no bus policy", "the bus allows the sender"])
def test_a_rule_puts_events_on_another_account_s_bus_only_as_its_policy_allows(patched, other, unique, bus_policy):
    """A role allowed only its own rule put forged events on another account's default bus,
    whose own rules then acted on them."""
    url, queue = _queue(other, f"inbox-{unique}")
    rule = other.client("events").put_rule(Name=f"receive-{unique}", EventPattern=json.dumps({"source": ["app"]}))["RuleArn"]
    other.client("sqs").set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue,
                            "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
                        }
                    ],
                }
            )
        },
    )
    other.client("events").put_targets(Rule=f"receive-{unique}", Targets=[{"Id": "inbox", "Arn": queue}])
    if bus_policy:
        other.client("events").put_permission(
            EventBusName="default", Action="events:PutEvents", Principal=patched.id, StatementId=f"s{unique}"
        )
    _forwarding_rule(patched, f"forward-{unique}", f"arn:aws:events:{REGION}:{other.id}:event-bus/default")
    _send(patched)
    assert bool(_received(other, url)) is bus_policy  # (moto delivers a forwarded event twice)
    if bus_policy:
        other.client("events").remove_permission(EventBusName="default", StatementId=f"s{unique}")


def test_a_bucket_notifies_only_a_destination_whose_policy_lets_s3(patched, unique):
    """S3 user guide, "Granting permissions to publish event notification messages to a
    destination": PutBucketNotificationConfiguration validates each destination's policy. A
    role allowed only its own bucket sent its notifications into a queue and a topic whose
    owners never opened them."""
    from tests.unit.emulator.helpers import client_as_role

    bucket = f"notifying-{unique}".lower()
    patched.client("s3").create_bucket(Bucket=bucket)
    url, queue = _queue(patched, f"closed-{unique}")
    topic = patched.client("sns").create_topic(Name=f"closed-{unique}")["TopicArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    grant = {
        "Effect": "Allow",
        "Action": ["s3:PutBucketNotification", "s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }
    role = patched.role(f"notifier-{unique}", trust=json.dumps(trust), permissions={"Version": "2012-10-17", "Statement": [grant]})
    s3 = client_as_role(patched, role, "s3")
    for configuration in (
        {"QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectCreated:*"]}]},
        {"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]},
        {"QueueConfigurations": [{"QueueArn": queue.replace(patched.id, "222222222222"), "Events": ["s3:ObjectCreated:*"]}]},
    ):
        with pytest.raises(ClientError) as refused:
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
        assert refused.value.response["Error"]["Message"] == "Unable to validate the following destination configurations"
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert _received(patched, url) == 0
    opened_url, opened = _queue(patched, f"opened-{unique}", ("s3.amazonaws.com", f"arn:aws:s3:::{bucket}"))
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": opened, "Events": ["s3:ObjectCreated:*"]}]}
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert _received(patched, opened_url) >= 1
