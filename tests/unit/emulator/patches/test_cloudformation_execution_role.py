"""A resource handler the service refuses fails the resource and rolls the stack back, as
CloudFormation reports it ("Resource handler returned message: ..."; CloudFormation user
guide, "Troubleshooting CloudFormation": a resource that already exists fails its
creation, and "Stack status codes": a failed creation ends ROLLBACK_COMPLETE), instead of
failing the ExecuteChangeSet call as moto does."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import service_trust

PARAMETER = {"Resources": {"Taken": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "taken", "Type": "String", "Value": "x"}}}}


def _execute(account, stack: str) -> None:
    cloudformation = account.client("cloudformation")
    role = account.role(f"{stack}-exec", service_trust("cloudformation.amazonaws.com", account.id))
    cloudformation.create_change_set(
        StackName=stack, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(PARAMETER), RoleARN=role
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName="first")


def test_moto_still_fails_the_call_when_a_handler_is_refused(vanilla):
    vanilla.client("ssm").put_parameter(Name="taken", Value="first", Type="String")
    cloudformation = vanilla.client("cloudformation")
    cloudformation.create_change_set(StackName="s", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(PARAMETER))
    with pytest.raises(ClientError):
        cloudformation.execute_change_set(StackName="s", ChangeSetName="first")


def test_a_resource_the_service_refuses_fails_and_the_stack_rolls_back_to_rollback_complete(patched):
    patched.client("ssm").put_parameter(Name="taken", Value="first", Type="String")
    _execute(patched, "taken-stack")
    cloudformation = patched.client("cloudformation")
    (stack,) = cloudformation.describe_stacks(StackName="taken-stack")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cloudformation.describe_stack_events(StackName="taken-stack")["StackEvents"]
        if e["LogicalResourceId"] == "Taken" and e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert reasons == [
        'Resource handler returned message: "The parameter already exists. To overwrite this value, set the overwrite option '
        'in the request to true." (ParameterAlreadyExists)'
    ]
    assert patched.client("ssm").get_parameter(Name="taken")["Parameter"]["Value"] == "first", "the rollback left it"
