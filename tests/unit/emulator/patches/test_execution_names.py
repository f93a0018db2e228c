from __future__ import annotations

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_moto_still_names_unnamed_executions_none(vanilla):
    from emulator.patches import execution_names

    assert execution_names.REASON
    arn = vanilla.state_machine("named", PASS)
    assert vanilla.client("stepfunctions").start_execution(stateMachineArn=arn)["executionArn"].endswith(":None")


def test_unnamed_executions_get_distinct_names(patched, unique):
    arn = patched.state_machine(unique, PASS)
    first = patched.client("stepfunctions").start_execution(stateMachineArn=arn)["executionArn"]
    second = patched.client("stepfunctions").start_execution(stateMachineArn=arn)["executionArn"]
    assert first != second and not first.endswith(":None")
