from __future__ import annotations

# getCallerIdentity's Arn is not JSON: StringToJson fails inside the task's ResultSelector.
PARSE_AND_CATCH = {
    "StartAt": "Parse",
    "States": {
        "Parse": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
            "ResultSelector": {"parsed.$": "States.StringToJson($.Arn)"},
            "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "Result": "caught", "End": True},
    },
}


def test_moto_still_fails_uncatchably(vanilla):
    from emulator.patches import intrinsic_failures

    assert intrinsic_failures.REASON
    result = vanilla.run(vanilla.state_machine("parse", PARSE_AND_CATCH))
    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")


def test_a_string_to_json_failure_is_caught_as_intrinsic_failure(patched, unique):
    result = patched.run(patched.state_machine(unique, PARSE_AND_CATCH))
    assert result["status"] == "SUCCEEDED"
    assert "caught" in result["output"]
