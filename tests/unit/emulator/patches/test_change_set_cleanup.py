"""CloudFormation API reference, DeleteChangeSet (no ChangeSetNotFound error), as the CDK
CLI's `cdk deploy` relies on it before every change set it creates."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def test_moto_still_crashes_on_a_change_set_it_does_not_hold(vanilla):
    from emulator.patches import change_set_cleanup

    assert change_set_cleanup.REASON
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_stack(StackName="held", TemplateBody=TEMPLATE)
    with pytest.raises(UnboundLocalError):
        cloudformation.delete_change_set(StackName="held", ChangeSetName="cdk-deploy-change-set")


def test_moto_still_answers_a_missing_change_set_as_a_missing_stack(vanilla):
    cloudformation = vanilla.client("cloudformation")
    with pytest.raises(ClientError) as raised:
        cloudformation.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="held")
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_deleting_a_change_set_that_does_not_exist_succeeds(patched, unique):
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=unique, TemplateBody=TEMPLATE)
    cloudformation.delete_change_set(StackName=unique, ChangeSetName="cdk-deploy-change-set")


def test_a_change_set_that_exists_is_still_deleted(patched, unique):
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=unique, TemplateBody=TEMPLATE)
    cloudformation.create_change_set(StackName=unique, ChangeSetName="named", TemplateBody=TEMPLATE)
    cloudformation.delete_change_set(StackName=unique, ChangeSetName="named")
    assert cloudformation.list_change_sets(StackName=unique)["Summaries"] == []


def test_describing_a_missing_change_set_answers_change_set_not_found(patched, unique):
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=unique, TemplateBody=TEMPLATE)
    with pytest.raises(cloudformation.exceptions.ChangeSetNotFoundException) as raised:
        cloudformation.describe_change_set(StackName=unique, ChangeSetName="cdk-deploy-change-set")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert raised.value.response["Error"]["Message"] == "ChangeSet [cdk-deploy-change-set] does not exist"


def _two_stacks_one_change_set_name(cloudformation, unique: str) -> tuple[str, str]:
    first, second = f"{unique}-a", f"{unique}-b"
    for stack, logical_id in ((first, "TopicA"), (second, "TopicB")):
        body = json.dumps({"Resources": {logical_id: {"Type": "AWS::SNS::Topic"}}})
        cloudformation.create_change_set(StackName=stack, ChangeSetName="PipelineChange", ChangeSetType="CREATE", TemplateBody=body)
    return first, second


def test_a_change_set_name_is_looked_up_within_its_stack(patched, unique):
    """CloudFormation API reference, DescribeChangeSet / DeleteChangeSet / ExecuteChangeSet:
    "If you specified the name of a change set, specify the stack name or ID (ARN) of the
    change set". Every stack CDK Pipelines prepares names its change set PipelineChange; moto
    answered the latest of that name, of whichever stack."""
    cloudformation = patched.client("cloudformation")
    first, second = _two_stacks_one_change_set_name(cloudformation, unique)
    described = cloudformation.describe_change_set(StackName=first, ChangeSetName="PipelineChange")
    assert (described["StackName"], [c["ResourceChange"]["LogicalResourceId"] for c in described["Changes"]]) == (first, ["TopicA"])
    cloudformation.execute_change_set(StackName=first, ChangeSetName="PipelineChange")
    resources = cloudformation.describe_stack_resources(StackName=first)["StackResources"]
    assert [resource["LogicalResourceId"] for resource in resources] == ["TopicA"]
    assert cloudformation.describe_stacks(StackName=second)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"  # not run
    cloudformation.delete_change_set(StackName=second, ChangeSetName="PipelineChange")
    assert cloudformation.describe_change_set(StackName=first, ChangeSetName="PipelineChange")["StackName"] == first  # not dropped
