"""StartExecution, ListExecutions and DescribeExecution answer as the Step Functions API
reference documents them (each case names its page), where moto did not."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

PASS_THROUGH = json.dumps({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})


def _machine(account, name: str, kind: str = "STANDARD") -> str:
    role = f"arn:aws:iam::{account.id}:role/runner"
    created = account.client("stepfunctions").create_state_machine(name=name, definition=PASS_THROUGH, roleArn=role, type=kind)
    return str(created["stateMachineArn"])


def _finished(stepfunctions, execution_arn: str) -> dict:
    for _ in range(200):
        described = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{execution_arn} did not end")


def test_moto_still_differs_where_the_patch_says(vanilla):
    from emulator.patches import execution_api

    assert execution_api.REASON
    stepfunctions = vanilla.client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        stepfunctions.start_execution(stateMachineArn=_machine(vanilla, "bad-input"), input="not json")
    assert refused.value.response["Error"]["Code"] == ""
    assert stepfunctions.list_executions(stateMachineArn=_machine(vanilla, "express", "EXPRESS"))["executions"] == []
    started = stepfunctions.start_execution(stateMachineArn=_machine(vanilla, "spaced"), input='{"a":{"b":1}}')
    described = _finished(stepfunctions, started["executionArn"])
    assert described["output"] == '{"a": {"b": 1}}'
    assert "inputDetails" not in described and "redriveStatus" not in described
    with pytest.raises(ClientError) as invalid:
        stepfunctions.create_state_machine(name="invalid", definition="{}", roleArn="arn:aws:iam::123456789012:role/runner")
    assert invalid.value.response["Error"]["Code"] == ""
    forward = stepfunctions.get_execution_history(executionArn=started["executionArn"])["events"]
    assert stepfunctions.get_execution_history(executionArn=started["executionArn"], reverseOrder=True)["events"] == forward


def test_input_that_is_not_json_is_invalid_execution_input(patched, unique):
    """API reference, StartExecution, Errors: InvalidExecutionInput, "The provided JSON input data is not valid"."""
    with pytest.raises(ClientError) as refused:
        patched.client("stepfunctions").start_execution(stateMachineArn=_machine(patched, unique), input="not json")
    assert refused.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_express_executions_cannot_be_listed(patched, unique):
    """API reference, ListExecutions: "This API action is not supported by EXPRESS state
    machines" (Errors: StateMachineTypeNotSupported)."""
    with pytest.raises(ClientError) as refused:
        patched.client("stepfunctions").list_executions(stateMachineArn=_machine(patched, unique, "EXPRESS"))
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_describe_execution_output_is_the_string_the_last_event_holds(patched, unique):
    """API reference, DescribeExecution ("output": the execution's JSON output) and
    GetExecutionHistory (ExecutionSucceededEventDetails.output): one string, not two."""
    stepfunctions = patched.client("stepfunctions")
    started = stepfunctions.start_execution(stateMachineArn=_machine(patched, unique), input='{"a": {"b": 1}}')
    described = _finished(stepfunctions, started["executionArn"])
    (last,) = [
        e for e in stepfunctions.get_execution_history(executionArn=started["executionArn"])["events"] if e["type"] == "ExecutionSucceeded"
    ]
    assert described["output"] == last["executionSucceededEventDetails"]["output"] == '{"a":{"b":1}}'


def test_history_in_reverse_and_without_execution_data(patched, unique):
    """API reference, GetExecutionHistory: ``reverseOrder`` lists the events newest first;
    ``includeExecutionData`` false leaves out their input and output."""
    stepfunctions = patched.client("stepfunctions")
    started = stepfunctions.start_execution(stateMachineArn=_machine(patched, unique), input='{"a": 1}')
    _finished(stepfunctions, started["executionArn"])
    arn = started["executionArn"]
    forward = stepfunctions.get_execution_history(executionArn=arn)["events"]
    backward = stepfunctions.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
    assert [e["id"] for e in backward] == [e["id"] for e in reversed(forward)]
    assert backward[0]["type"] == "ExecutionSucceeded"
    bare = stepfunctions.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "output" in forward[-1]["executionSucceededEventDetails"]
    assert "output" not in bare[-1].get("executionSucceededEventDetails", {})
    assert "input" not in bare[0].get("executionStartedEventDetails", {})


def test_describe_execution_has_the_data_details_and_redrive_fields(patched, unique):
    """API reference, DescribeExecution, response elements: inputDetails and outputDetails
    ("included": true when the data is there), redriveCount ("If you have not yet redriven an
    execution, the redriveCount is 0"), redriveStatus and redriveStatusReason ("Execution is
    SUCCEEDED and cannot be redriven."); a FAILED Standard execution is REDRIVABLE
    (RedriveExecution: "These include failed, aborted, or timed out executions")."""
    stepfunctions = patched.client("stepfunctions")
    succeeded = _finished(
        stepfunctions, stepfunctions.start_execution(stateMachineArn=_machine(patched, unique), input="{}")["executionArn"]
    )
    assert succeeded["inputDetails"] == {"included": True} and succeeded["outputDetails"] == {"included": True}
    assert (succeeded["redriveCount"], succeeded["redriveStatus"]) == (0, "NOT_REDRIVABLE")
    assert succeeded["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven."
    failing = json.dumps({"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "E", "Cause": "c"}}})
    role = f"arn:aws:iam::{patched.id}:role/runner"
    machine = stepfunctions.create_state_machine(name=f"{unique}-fail", definition=failing, roleArn=role)["stateMachineArn"]
    failed = _finished(stepfunctions, stepfunctions.start_execution(stateMachineArn=machine)["executionArn"])
    assert (failed["status"], failed["redriveStatus"], failed["redriveCount"]) == ("FAILED", "REDRIVABLE", 0)
    assert "outputDetails" not in failed and "redriveStatusReason" not in failed


def test_an_invalid_definition_is_refused_as_invalid_definition(patched, unique):
    """API reference, CreateStateMachine, "Errors": InvalidDefinition, "The provided Amazon
    States Language definition is not valid" (moto answered with an empty error code)."""
    stepfunctions = patched.client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        stepfunctions.create_state_machine(name=unique, definition="{}", roleArn=f"arn:aws:iam::{patched.id}:role/runner")
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["Error"]["Message"].startswith("Invalid State Machine Definition: ")
    arn = _machine(patched, f"{unique}-valid")
    with pytest.raises(ClientError) as refused_update:
        stepfunctions.update_state_machine(stateMachineArn=arn, definition='{"StartAt": "Nowhere", "States": {}}')
    assert refused_update.value.response["Error"]["Code"] == "InvalidDefinition"
