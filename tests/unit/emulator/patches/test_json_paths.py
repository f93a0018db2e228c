"""A JSONPath is compiled once per text, and still selects and writes as before (AWS Step
Functions Developer Guide, "Using JSONPath paths": a path that matches nothing fails the
state; ResultPath writes the result into the input)."""

from __future__ import annotations

import json

import pytest


def test_moto_still_compiles_a_path_at_every_use():
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    from emulator.patches import json_paths

    assert json_paths.REASON
    assert json_path.parse("$.a") is not json_path.parse("$.a")
    assert result_path.parse("$.a") is not result_path.parse("$.a")


def test_a_path_is_compiled_once_and_selects_as_before(emulator):
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.a.b") is json_path.parse("$.a.b")
    assert result_path.parse("$.r") is result_path.parse("$.r")
    assert json_path.extract_json("$.a.b", {"a": {"b": 1}}) == 1
    assert json_path.extract_json("$.items[*].n", {"items": [{"n": 1}, {"n": 2}]}) == [1, 2]
    with pytest.raises(json_path.NoSuchJsonPathError):
        json_path.extract_json("$.a.missing", {"a": {}})


def test_a_state_machine_selects_writes_and_chooses_by_paths(patched, unique):
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Pass", "InputPath": "$.input", "ResultPath": "$.picked", "Next": "Which"},
            "Which": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.picked.n", "NumericGreaterThan": 1, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Parameters": {"size": "big", "n.$": "$.picked.n"}, "End": True},
            "Small": {"Type": "Pass", "Parameters": {"size": "small", "n.$": "$.picked.n"}, "End": True},
        },
    }
    arn = patched.state_machine(unique, definition)
    outputs = [json.loads(patched.run(arn, {"input": {"n": n}})["output"]) for n in (1, 2, 1)]
    assert outputs == [{"size": "small", "n": 1}, {"size": "big", "n": 2}, {"size": "small", "n": 1}]
