from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}


def test_moto_still_has_no_start_sync_execution(vanilla):
    from emulator.patches import sync_execution

    assert sync_execution.REASON
    arn = vanilla.state_machine("express", PASS, kind="EXPRESS")
    with pytest.raises(ClientError, match="404"):
        vanilla.client("stepfunctions").start_sync_execution(stateMachineArn=arn)


def test_an_express_run_returns_its_output(patched, unique):
    arn = patched.state_machine(unique, PASS, kind="EXPRESS")
    result = patched.client("stepfunctions").start_sync_execution(stateMachineArn=arn, input="{}")
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"ok": True}


def test_a_failed_express_run_is_status_failed_with_error_and_cause(patched, unique):
    arn = patched.state_machine(unique, FAIL, kind="EXPRESS")
    result = patched.client("stepfunctions").start_sync_execution(stateMachineArn=arn)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Nope", "because")
    assert "output" not in result


def test_a_standard_workflow_is_refused(patched, unique):
    arn = patched.state_machine(unique, PASS)
    with pytest.raises(ClientError, match="StateMachineTypeNotSupported"):
        patched.client("stepfunctions").start_sync_execution(stateMachineArn=arn)
