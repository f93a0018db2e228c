from __future__ import annotations

import json
import re


def test_moto_still_reads_only_whole_second_zulu_timestamps():
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import IsTimestamp

    from emulator.patches import timestamps

    assert timestamps.REASON
    assert IsTimestamp.string_to_timestamp("2026-11-28T12:00:00Z") is not None
    assert IsTimestamp.string_to_timestamp("2026-11-28T12:00:00.123Z") is None


def test_fractional_seconds_offsets_and_the_context_start_time_compare(patched, unique):
    definition = {
        "StartAt": "Stamp",
        "States": {
            "Stamp": {
                "Type": "Pass",
                "Parameters": {"now.$": "$$.Execution.StartTime", "later": "2999-01-01T00:00:00.5+02:00"},
                "Next": "Compare",
            },
            "Compare": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.later", "TimestampGreaterThanPath": "$.now", "Next": "Later"}],
                "Default": "NotLater",
            },
            "Later": {"Type": "Succeed"},
            "NotLater": {"Type": "Fail", "Error": "NotLater"},
        },
    }
    result = patched.run(patched.state_machine(unique, definition))
    assert result["status"] == "SUCCEEDED", result
    history = patched.client("stepfunctions").get_execution_history(executionArn=result["executionArn"])["events"]
    stamped = next(
        json.loads(e["stateExitedEventDetails"]["output"]) for e in history if e.get("stateExitedEventDetails", {}).get("name") == "Stamp"
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamped["now"])
