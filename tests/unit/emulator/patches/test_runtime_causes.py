"""States.Runtime causes, as Step Functions writes them: "An error occurred while executing
the state '<name>' (entered at the event id #<the state's Entered event>). ..." (the
wording of AWS-recorded executions; the developer guide's "Error handling in Step
Functions" page names States.Runtime but gives no cause text)."""

from __future__ import annotations

from typing import Any

# A Task whose ResultSelector reads a field the result lacks: it fails after its
# TaskScheduled, TaskStarted and TaskSucceeded events, but was entered at event #2.
RESULT_SELECTOR_MISS: dict[str, Any] = {
    "StartAt": "Identity",
    "States": {
        "Identity": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
            "ResultSelector": {"missing.$": "$.NoSuchField"},
            "End": True,
        }
    },
}

# A ResultPath into a string: a failure moto's evaluator did not foresee.
RESULT_PATH_INTO_A_STRING: dict[str, Any] = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Next": "Into"},
        "Into": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True},
    },
}


def _entered(history: list[dict[str, Any]], state: str) -> int:
    return next(event["id"] for event in history if event.get("stateEnteredEventDetails", {}).get("name") == state)


def test_moto_still_names_the_last_event_and_leaves_a_bare_repr(vanilla):
    from emulator.patches import runtime_causes

    assert runtime_causes.REASON
    result = vanilla.run(vanilla.state_machine("selector", RESULT_SELECTOR_MISS))
    history = vanilla.client("stepfunctions").get_execution_history(executionArn=result["executionArn"])["events"]
    assert f"(entered at the event id #{_entered(history, 'Identity')})" not in result["cause"]
    crash = vanilla.run(vanilla.state_machine("into", RESULT_PATH_INTO_A_STRING), {"a": "s"})
    assert crash["cause"].startswith("TypeError(")


def test_the_cause_names_the_event_the_state_was_entered_at(patched, unique):
    result = patched.run(patched.state_machine(unique, RESULT_SELECTOR_MISS))
    history = patched.client("stepfunctions").get_execution_history(executionArn=result["executionArn"])["events"]
    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")
    entered = _entered(history, "Identity")
    assert entered == 2
    assert result["cause"].startswith(f"An error occurred while executing the state 'Identity' (entered at the event id #{entered}). ")
    assert "$.NoSuchField" in result["cause"]


def test_an_unforeseen_failure_names_its_state_and_says_the_wording_is_the_emulators(patched, unique):
    result = patched.run(patched.state_machine(unique, RESULT_PATH_INTO_A_STRING), {"a": "s"})
    history = patched.client("stepfunctions").get_execution_history(executionArn=result["executionArn"])["events"]
    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")
    assert result["cause"].startswith(
        f"An error occurred while executing the state 'Into' (entered at the event id #{_entered(history, 'Into')}). "
    )
    assert "is not documented" in result["cause"]
