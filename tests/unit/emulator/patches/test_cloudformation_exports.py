"""Exports and Fn::ImportValue through change sets, as CDK Pipelines deploys: a stack's
exports are there for the stacks deployed after it (CloudFormation User Guide, "Get
exported outputs from a deployed CloudFormation stack" and "Fn::ImportValue")."""

from __future__ import annotations

import json


def _through_a_change_set(cloudformation, name: str, template: dict) -> str:
    cloudformation.create_change_set(StackName=name, ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(template))
    cloudformation.execute_change_set(StackName=name, ChangeSetName="c")
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return str(stack["StackStatus"])


def test_a_stack_created_by_a_change_set_imports_what_another_exports(patched, unique):
    cloudformation = patched.client("cloudformation")
    exporting = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{unique}-topic"}}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": f"{unique}-TopicArn"}}},
    }
    importing = {
        "Resources": {
            "Parameter": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/{unique}/topic", "Type": "String", "Value": {"Fn::ImportValue": f"{unique}-TopicArn"}},
            }
        }
    }
    assert _through_a_change_set(cloudformation, f"{unique}-exports", exporting) == "CREATE_COMPLETE"
    assert f"{unique}-TopicArn" in [e["Name"] for e in cloudformation.list_exports()["Exports"]]
    assert _through_a_change_set(cloudformation, f"{unique}-imports", importing) == "CREATE_COMPLETE"
    value = patched.client("ssm").get_parameter(Name=f"/{unique}/topic")["Parameter"]["Value"]
    assert value.endswith(f":{unique}-topic")
