"""TrustedAccountResources: SecretCacheConsumerWfw and TrustedAccountRl."""

from __future__ import annotations

import botocore.session

from tests.unit.stacks.template_helpers import (
    allowed_actions,
    assert_role_trusts_step_functions_only_for,
    identity_statements,
    iter_states,
    only_resource,
    resources,
    role_by_name,
    state_machine_definition,
)


def test_consumer_role_trusts_only_step_functions_for_the_consumer(trusted_resources, names, dev, expected_arns):
    assert_role_trusts_step_functions_only_for(
        trusted_resources, names.consumer_role, account=dev.trusted.account, state_machine_arn=expected_arns["consumer_workflow"]
    )


def test_consumer_role_has_only_observability_and_its_own_data_key_before_configuration(trusted_resources, names, expected_arns):
    role_id, _ = role_by_name(trusted_resources, names.consumer_role)
    statements = identity_statements(trusted_resources, role_id)
    actions = allowed_actions(statements)
    assert {action.split(":")[0] for action in actions} == {"logs", "xray", "kms"}
    data_key = "${" + _data_key(trusted_resources) + ".Arn}"
    assert actions["kms:Decrypt"] == [data_key] and actions["kms:GenerateDataKey"] == [data_key, data_key]
    kms = {s["Sid"]: s["Condition"] for s in statements if str(s["Action"]).count("kms:")}
    assert kms == {
        # Step Functions developer guide, "Data at rest encryption": the execution role, for this state machine only ...
        "StateMachineData": {"StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": expected_arns["consumer_workflow"]}},
        # ... and, with logging on, data keys for CloudWatch Logs delivery.
        "LogDeliveryDataKey": {"StringEquals": {"kms:EncryptionContext:SourceArn": "arn:aws:logs:us-east-1:111111111111:*"}},
    }


def _data_key(template):
    (logical_id,) = [i for i in resources(template, "AWS::KMS::Key") if "DataKey" in i]
    return logical_id


def test_consumer_data_and_history_are_encrypted_with_its_own_rotating_key(trusted_resources, names):
    """The consumer's output holds the secret for the 90 days Step Functions keeps a
    Standard execution's history: encrypted with a customer managed key
    (AWS::StepFunctions::StateMachine EncryptionConfiguration)."""
    machine = only_resource(trusted_resources, "AWS::StepFunctions::StateMachine", StateMachineName=names.consumer_workflow)
    key_id = _data_key(trusted_resources)
    assert machine["Properties"]["EncryptionConfiguration"] == {
        "Type": "CUSTOMER_MANAGED_KMS_KEY",
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "KmsDataKeyReusePeriodSeconds": 300,
    }
    key = resources(trusted_resources, "AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [statement["Principal"] for statement in key["KeyPolicy"]["Statement"]]
    assert principals == [{"AWS": "arn:aws:iam::111111111111:root"}, {"Service": "delivery.logs.amazonaws.com"}]


def test_consumer_is_a_standard_workflow_traced_and_logged_without_data(trusted_resources, names):
    machine = only_resource(trusted_resources, "AWS::StepFunctions::StateMachine", StateMachineName=names.consumer_workflow)
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False


def test_consumer_reads_configuration_from_ssm_and_parses_it(trusted_resources, names):
    definition = state_machine_definition(trusted_resources, names.consumer_workflow)
    assert definition["StartAt"] == "FetchConfiguration"
    fetch = definition["States"]["FetchConfiguration"]
    assert fetch["Resource"] == "arn:aws:states:::aws-sdk:ssm:getParameter"
    assert fetch["Parameters"] == {"Name": names.consumer_configuration_parameter}
    assert fetch["ResultSelector"] == {"Params.$": "States.StringToJson($.Parameter.Value)"}
    assert fetch["ResultPath"] == "$.Configuration"
    catches = {error: catch["Next"] for catch in fetch["Catch"] for error in catch["ErrorEquals"]}
    assert catches == {"Ssm.ParameterNotFoundException": "ConfigurationNotFound", "States.IntrinsicFailure": "InvalidConfiguration"}


def test_consumer_calls_the_express_workflow_with_credentials_from_configuration(trusted_resources, names):
    definition = state_machine_definition(trusted_resources, names.consumer_workflow)
    call = definition["States"]["GetSecretCrossAccount"]
    assert call["Resource"] == "arn:aws:states:::aws-sdk:sfn:startSyncExecution"
    assert call["Credentials"] == {"RoleArn.$": "$.Configuration.Params.trustingAccountRoleArn"}
    assert call["Parameters"] == {
        "StateMachineArn.$": "$.Configuration.Params.trustingAccountWorkflowArn",
        "Input.$": "States.JsonToString($.Configuration.Params.secret)",
    }


def test_consumer_fails_by_name_when_the_express_run_did_not_succeed(trusted_resources, names):
    states = state_machine_definition(trusted_resources, names.consumer_workflow)["States"]
    check = states["CheckSecretCacheRun"]
    succeeded, failed_at_runtime, failed = check["Choices"]
    assert succeeded == {"Variable": "$.SecretCacheRun.Status", "StringEquals": "SUCCEEDED", "Next": "ReturnSecret"}
    assert {"Variable": "$.SecretCacheRun.Error", "StringMatches": "States.*"} in failed_at_runtime["And"]
    assert failed_at_runtime["And"][0]["And"] == failed["And"]
    assert states[failed_at_runtime["Next"]] == {"Type": "Fail", "Error": "SecretCacheWfwFailed", "CausePath": "$.SecretCacheRun.Cause"}
    assert {"Variable": "$.SecretCacheRun.Status", "StringEquals": "FAILED"} in failed["And"]
    assert states[failed["Next"]] == {
        "Type": "Fail",
        "ErrorPath": "$.SecretCacheRun.Error",
        "CausePath": "$.SecretCacheRun.Cause",
    }
    assert states[check["Default"]]["Error"] == "SecretCacheWfwNotSucceeded"
    assert states["ReturnSecret"]["Parameters"] == {"Secret.$": "States.StringToJson($.SecretCacheRun.Output)"}


def test_consumer_validates_every_configuration_key_before_using_it(trusted_resources, names):
    states = state_machine_definition(trusted_resources, names.consumer_workflow)["States"]
    validate = states["ValidateConfiguration"]
    (rule,) = validate["Choices"]
    checked = {(test["Variable"], next(key for key in test if key != "Variable")) for test in rule["And"]}
    for key in ("trustingAccountRoleArn", "trustingAccountWorkflowArn", "secret.secretArn"):
        assert (f"$.Configuration.Params.{key}", "IsPresent") in checked
        assert (f"$.Configuration.Params.{key}", "IsString") in checked
    assert rule["Next"] == "GetSecretCrossAccount"
    assert states[validate["Default"]]["Error"] == "InvalidConfiguration"


def test_every_consumer_task_retries_transient_errors_with_backoff(trusted_resources, names):
    definition = state_machine_definition(trusted_resources, names.consumer_workflow)
    tasks = [state for _, state in iter_states(definition) if state["Type"] == "Task"]
    assert len(tasks) == 2
    for task in tasks:
        (retry,) = task["Retry"]
        assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 1
        assert "States.ALL" not in retry["ErrorEquals"]
        assert "TimeoutSeconds" in task


def test_the_cross_account_task_retries_only_what_start_sync_execution_can_return(trusted_resources, names):
    (retry,) = state_machine_definition(trusted_resources, names.consumer_workflow)["States"]["GetSecretCrossAccount"]["Retry"]
    # The operation's own errors (botocore's model of the Step Functions API Reference), named as
    # an SDK integration names them ("Sfn." and the "Exception" suffix), and the throttling
    # error common to every action (API Reference, "Common Errors").
    operation = botocore.session.get_session().get_service_model("stepfunctions").operation_model("StartSyncExecution")
    returned = {f"Sfn.{shape.name.removesuffix('Exception')}Exception" for shape in operation.error_shapes}
    assert set(retry["ErrorEquals"]) <= returned | {"Sfn.ThrottlingException"}
    assert {"Sfn.ThrottlingException", "Sfn.KmsThrottlingException"} <= set(retry["ErrorEquals"])


def test_outputs_name_the_consumer_state_machine(trusted_resources, names):
    machines = resources(trusted_resources, "AWS::StepFunctions::StateMachine")
    assert trusted_resources["Outputs"]["ConsumerStateMachineArn"]["Value"] == {"Ref": next(iter(machines))}
