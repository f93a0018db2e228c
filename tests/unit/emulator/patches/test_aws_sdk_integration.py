from __future__ import annotations

import json

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import StateTaskServiceAwsSdk

from emulator.patches import aws_sdk_integration


def _get_parameter(name: str) -> dict:
    return {
        "StartAt": "Get",
        "States": {
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter", "Parameters": {"Name": name}, "End": True}
        },
    }


def test_moto_still_neither_converts_shapes_nor_names_errors_like_aws(vanilla):
    assert aws_sdk_integration.REASON
    assert StateTaskServiceAwsSdk._normalise_parameters is StateTaskService._normalise_parameters  # a no-op
    result = vanilla.run(vanilla.state_machine("get", _get_parameter("/missing")))
    assert result["error"] == "ssm.ParameterNotFoundException"  # AWS says "Ssm."


def test_responses_come_back_in_pascal_case(patched, unique):
    patched.client("ssm").put_parameter(Name=f"/{unique}", Value="v", Type="String")
    result = patched.run(patched.state_machine(unique, _get_parameter(f"/{unique}")))
    assert result["status"] == "SUCCEEDED", result
    parameter = json.loads(result["output"])["Parameter"]
    assert parameter["Value"] == "v"
    assert parameter["LastModifiedDate"].endswith("Z")  # a timestamp, as JSON text


def test_errors_are_named_after_the_sdk_service(patched, unique):
    result = patched.run(patched.state_machine(unique, _get_parameter("/missing")))
    assert result["error"] == "Ssm.ParameterNotFoundException"
    assert result["cause"].startswith("ParameterNotFound: ")


def test_camel_case_apis_take_pascal_case_parameters(patched, unique):
    # Step Functions' own API is camelCase in boto3: the case that failed with a KeyError.
    target = patched.state_machine(f"{unique}-target", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
                "Parameters": {"StateMachineArn": target},
                "ResultSelector": {"Name.$": "$.Name"},
                "End": True,
            }
        },
    }
    result = patched.run(patched.state_machine(unique, definition))
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"Name": f"{unique}-target"}


@pytest.mark.parametrize(
    ("service", "name"),
    [("ssm", "Ssm"), ("secretsmanager", "SecretsManager"), ("dynamodb", "DynamoDb"), ("sfn", "Sfn"), ("s3", "S3"), ("lambda", "Lambda")],
)
def test_error_prefixes_are_the_sdk_client_names(service, name):
    assert aws_sdk_integration._sdk_service_name(service) == name
