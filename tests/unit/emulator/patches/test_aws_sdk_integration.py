from __future__ import annotations

import json

import pytest


def _get_parameter(name: str) -> dict:
    return {
        "StartAt": "Get",
        "States": {
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter", "Parameters": {"Name": name}, "End": True}
        },
    }


def test_moto_still_neither_converts_shapes_nor_names_errors_like_aws(vanilla):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import StateTaskServiceAwsSdk

    from emulator.patches import aws_sdk_integration

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
    from emulator.patches import aws_sdk_integration

    assert aws_sdk_integration._sdk_service_name(service) == name


def test_a_null_required_member_is_the_services_validation_error(patched, unique):
    """A JSON null is a member the SDK leaves out; DynamoDB refuses a PutItem without its Item
    as a validation error, which the aws-sdk integration names after the SDK's exception for
    an unmodeled error, DynamoDb.DynamoDbException (developer guide, "Learning to use AWS
    service SDK integrations in Step Functions": "If an AWS SDK integration encounters an error,
    the resulting Error field will be composed of the service name and the error name,
    separated by a period character"), and States.ALL catches it (the emulator crashed with
    States.Runtime, which no Catch can handle)."""
    patched.client("dynamodb").create_table(
        TableName=unique,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem", "Parameters": {"TableName": unique, "Item.$": "$.item"}}
    failed = patched.run(patched.state_machine(unique, {"StartAt": "Put", "States": {"Put": {**put, "End": True}}}), {"item": None})
    assert (failed["status"], failed["error"]) == ("FAILED", "DynamoDb.DynamoDbException")
    assert "Value null at 'item' failed to satisfy constraint: Member must not be null" in failed["cause"]
    caught = {
        "StartAt": "Put",
        "States": {
            "Put": {**put, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = patched.run(patched.state_machine(f"{unique}-caught", caught), {"item": None})
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"])["Error"] == "DynamoDb.DynamoDbException"
