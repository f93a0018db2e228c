"""CloudFormation user guide, "Specify existing resources at runtime with CloudFormation-
supplied parameter types" (SSM parameter types): an update with UsePreviousValue resolves
the parameter's name again, as `cdk deploy` relies on for BootstrapVersion."""

from __future__ import annotations

import json

import pytest

TEMPLATE = {
    "Parameters": {"Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"Seen": {"Value": {"Ref": "Version"}}},
}


def _update_with_previous_value(account, stack: str) -> dict:
    account.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String", Overwrite=True)
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(TEMPLATE))
    changed = dict(TEMPLATE, Resources={"Topic": {"Type": "AWS::SNS::Topic"}, "Other": {"Type": "AWS::SNS::Topic"}})
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="update",
        TemplateBody=json.dumps(changed),
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}],
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName="update")
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return described


def test_moto_still_hands_on_the_resolved_value_and_fails(vanilla):
    from emulator.patches import previous_parameter_values

    assert previous_parameter_values.REASON
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'value'"):
        _update_with_previous_value(vanilla, "vanilla")


def test_an_update_with_the_previous_value_resolves_the_name_again(patched, unique):
    described = _update_with_previous_value(patched, unique)
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    assert described["Outputs"][0]["OutputValue"] == "30"
