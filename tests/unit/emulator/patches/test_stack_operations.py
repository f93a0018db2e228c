"""CloudFormation refuses to update a stack that can only be deleted and to create a stack
twice, creates a change set without changes FAILED, and runs CreateStack/UpdateStack as
the execution role (CloudFormation user guide, "Stack status codes": ROLLBACK_COMPLETE
"only a delete operation can be performed"; the refusal's wording as aws/aws-cdk#901 and
aws/aws-cli#6216 show it; CloudFormation API reference, CreateChangeSet and UpdateStack)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import REGION, service_trust

TOPIC = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Arn": {"Value": {"Ref": "Topic"}}}}
TWO_TOPICS = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Other": {"Type": "AWS::SNS::Topic"}}}
NAMED = {
    "Parameters": {"Name": {"Type": "String"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}},
}


def _execution_role(account, name: str, *, allowed: bool) -> str:
    """A CloudFormation execution role: allowed everything, or nothing at all."""
    trust = service_trust("cloudformation.amazonaws.com", account.id)
    return account.role(name, trust) if allowed else account.role(name, trust, permissions=None)


def _rolled_back(account, stack: str) -> str:
    """A stack whose creation failed and rolled back: ROLLBACK_COMPLETE. Returns its ARN."""
    cloudformation = account.client("cloudformation")
    denied = _execution_role(account, f"{stack}-denied", allowed=False)
    cloudformation.create_change_set(
        StackName=stack, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(TOPIC), RoleARN=denied
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName="first")
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    return str(described["StackId"])


def _stacks_named(account, name: str) -> list[str]:
    return [s["StackStatus"] for s in account.client("cloudformation").describe_stacks()["Stacks"] if s["StackName"] == name]


# --- moto as it ships -------------------------------------------------------------------


def test_moto_still_creates_an_update_change_set_of_a_stack_in_rollback_complete(vanilla):
    from moto.cloudformation.models import cloudformation_backends

    from emulator.patches import stack_operations

    assert stack_operations.REASON
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_stack(StackName="failed", TemplateBody=json.dumps(TOPIC))
    (stack,) = cloudformation_backends[vanilla.id][REGION].stacks.values()
    stack.status = "ROLLBACK_COMPLETE"  # moto has no rollback of its own
    cloudformation.create_change_set(StackName="failed", ChangeSetName="next", ChangeSetType="UPDATE", TemplateBody=json.dumps(TWO_TOPICS))


def test_moto_still_makes_a_second_stack_for_a_create_change_set_of_a_name_that_exists(vanilla):
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_stack(StackName="twice", TemplateBody=json.dumps(TOPIC))
    cloudformation.create_change_set(StackName="twice", ChangeSetName="again", ChangeSetType="CREATE", TemplateBody=json.dumps(TOPIC))
    assert len(_stacks_named(vanilla, "twice")) == 2


def test_moto_still_takes_create_for_the_default_change_set_type(vanilla):
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_change_set(StackName="default", ChangeSetName="first", TemplateBody=json.dumps(TOPIC))
    assert _stacks_named(vanilla, "default") == ["REVIEW_IN_PROGRESS"]


def test_moto_still_refuses_a_change_set_without_changes_when_parameters_are_named(vanilla):
    cloudformation = vanilla.client("cloudformation")
    parameters = [{"ParameterKey": "Name", "ParameterValue": "same"}]
    cloudformation.create_stack(StackName="same", TemplateBody=json.dumps(NAMED), Parameters=parameters)
    with pytest.raises(ClientError, match="No updates are to be performed"):
        cloudformation.create_change_set(
            StackName="same", ChangeSetName="none", ChangeSetType="UPDATE", TemplateBody=json.dumps(NAMED), Parameters=parameters
        )


# --- the emulator -----------------------------------------------------------------------


def test_an_update_change_set_of_a_stack_in_rollback_complete_is_refused(patched, unique):
    stack_arn = _rolled_back(patched, unique)
    cloudformation = patched.client("cloudformation")
    allowed = _execution_role(patched, f"{unique}-allowed", allowed=True)
    with pytest.raises(ClientError) as refused:
        cloudformation.create_change_set(
            StackName=unique, ChangeSetName="next", ChangeSetType="UPDATE", TemplateBody=json.dumps(TWO_TOPICS), RoleARN=allowed
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == f"Stack:{stack_arn} is in ROLLBACK_COMPLETE state and can not be updated."
    assert _stacks_named(patched, unique) == ["ROLLBACK_COMPLETE"]


def test_an_update_stack_of_a_stack_in_rollback_complete_is_refused(patched, unique):
    stack_arn = _rolled_back(patched, unique)
    with pytest.raises(ClientError) as refused:
        patched.client("cloudformation").update_stack(StackName=unique, TemplateBody=json.dumps(TWO_TOPICS))
    assert refused.value.response["Error"]["Message"] == f"Stack:{stack_arn} is in ROLLBACK_COMPLETE state and can not be updated."


def test_a_create_change_set_of_a_stack_that_exists_is_refused(patched, unique):
    _rolled_back(patched, unique)
    with pytest.raises(ClientError) as refused:
        patched.client("cloudformation").create_change_set(
            StackName=unique, ChangeSetName="again", ChangeSetType="CREATE", TemplateBody=json.dumps(TOPIC)
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        f"Stack [{unique}] already exists and cannot be created again with the changeSet [again]."
    )
    assert _stacks_named(patched, unique) == ["ROLLBACK_COMPLETE"]


def test_a_change_set_is_an_update_unless_told_otherwise(patched, unique):
    cloudformation = patched.client("cloudformation")
    with pytest.raises(ClientError, match="does not exist"):  # an UPDATE: of no stack
        cloudformation.create_change_set(StackName=unique, ChangeSetName="default", TemplateBody=json.dumps(TOPIC))
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(TOPIC))
    cloudformation.create_change_set(StackName=unique, ChangeSetName="default", TemplateBody=json.dumps(TWO_TOPICS))
    cloudformation.execute_change_set(StackName=unique, ChangeSetName="default")
    assert _stacks_named(patched, unique) == ["UPDATE_COMPLETE"]


def test_a_stack_awaiting_its_creation_takes_the_next_create_change_set(patched, unique):
    cloudformation = patched.client("cloudformation")
    for _ in range(2):  # the first change set is never executed, as when a pipeline stops between them
        cloudformation.delete_change_set(StackName=unique, ChangeSetName="create")
        cloudformation.create_change_set(StackName=unique, ChangeSetName="create", ChangeSetType="CREATE", TemplateBody=json.dumps(TOPIC))
    assert _stacks_named(patched, unique) == ["REVIEW_IN_PROGRESS"]
    cloudformation.execute_change_set(StackName=unique, ChangeSetName="create")
    assert _stacks_named(patched, unique) == ["CREATE_COMPLETE"]


def test_a_change_set_without_changes_is_created_failed(patched, unique):
    from emulator.patches import stack_operations

    cloudformation = patched.client("cloudformation")
    parameters = [{"ParameterKey": "Name", "ParameterValue": unique}]
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(NAMED), Parameters=parameters)
    made = cloudformation.create_change_set(
        StackName=unique, ChangeSetName="none", ChangeSetType="UPDATE", TemplateBody=json.dumps(NAMED), Parameters=parameters
    )
    described = cloudformation.describe_change_set(ChangeSetName=made["Id"])
    assert (described["Status"], described["StatusReason"]) == ("FAILED", stack_operations.NO_CHANGES)


def test_create_stack_acts_as_its_execution_role_and_rolls_back(patched, unique):
    cloudformation = patched.client("cloudformation")
    denied = _execution_role(patched, f"{unique}-denied", allowed=False)
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(TOPIC), RoleARN=denied)
    assert _stacks_named(patched, unique) == ["ROLLBACK_COMPLETE"]
    events = cloudformation.describe_stack_events(StackName=unique)["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Topic"
    assert "is not authorized to perform: sns:CreateTopic" in failed["ResourceStatusReason"]
    assert not [t for t in patched.client("sns").list_topics()["Topics"] if f":{unique}-Topic-" in t["TopicArn"]]  # deleted again


def test_create_and_update_stack_as_an_allowed_role(patched, unique):
    cloudformation = patched.client("cloudformation")
    allowed = _execution_role(patched, f"{unique}-allowed", allowed=True)
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(TOPIC), RoleARN=allowed)
    (created,) = cloudformation.describe_stacks(StackName=unique)["Stacks"]
    assert created["StackStatus"] == "CREATE_COMPLETE"
    assert created["Outputs"][0]["OutputKey"] == "Arn"
    events = cloudformation.describe_stack_events(StackName=unique)["StackEvents"]
    assert "REVIEW_IN_PROGRESS" not in [e["ResourceStatus"] for e in events]  # as CreateStack's own
    with pytest.raises(ClientError, match=r"No updates are to be performed\."):
        cloudformation.update_stack(StackName=unique, TemplateBody=json.dumps(TOPIC))
    cloudformation.update_stack(StackName=unique, TemplateBody=json.dumps(TWO_TOPICS))  # as the role the stack keeps
    assert _stacks_named(patched, unique) == ["UPDATE_COMPLETE"]


def test_update_stack_acts_as_its_execution_role_and_rolls_back(patched, unique):
    cloudformation = patched.client("cloudformation")
    allowed = _execution_role(patched, f"{unique}-allowed", allowed=True)
    denied = _execution_role(patched, f"{unique}-denied", allowed=False)
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(TOPIC), RoleARN=allowed)
    cloudformation.update_stack(StackName=unique, TemplateBody=json.dumps(TWO_TOPICS), RoleARN=denied)
    assert _stacks_named(patched, unique) == ["UPDATE_ROLLBACK_COMPLETE"]
    template = cloudformation.get_template(StackName=unique)["TemplateBody"]
    assert "Other" not in (template if isinstance(template, str) else json.dumps(template))
