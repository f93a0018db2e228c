"""JSONata states and workflow variables, each result next to what the AWS Step Functions
Developer Guide documents: "Transforming data with JSONata in Step Functions" (JSONATA below)
and "Passing data between states with variables" (VARIABLES below)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

JSONATA = "AWS Step Functions Developer Guide, 'Transforming data with JSONata in Step Functions'"
VARIABLES = "AWS Step Functions Developer Guide, 'Passing data between states with variables'"


def jsonata_machine(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def output(result: dict[str, Any]) -> Any:
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    return json.loads(result["output"])


ASSIGN_THEN_USE = jsonata_machine(
    {
        "Store": {
            "Type": "Pass",
            "Assign": {"productName": "product1", "count": 42, "available": True, "customerName": "{% $states.input.customer %}"},
            "Next": "Use",
        },
        "Use": {
            "Type": "Pass",
            "Output": {
                "static": "Hello",
                "title": "{% $states.input.title %}",
                "name": "{% $customerName %}",
                "not-evaluated": "$customerName",
                "product": {"name": "{% $productName %}", "stock": ["{% $count * 2 %}", "{% $available %}"]},
            },
            "End": True,
        },
    }
)


def test_moto_still_has_no_jsonata_evaluator(vanilla):
    from emulator.patches import jsonata_states

    assert jsonata_states.REASON
    result = vanilla.run(vanilla.state_machine("jsonata", ASSIGN_THEN_USE), {"customer": "Ana", "title": "Dr"})
    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")
    assert "'NoneType' object is not callable" in result["cause"]


def test_a_jsonata_workflow_with_assign_gives_the_documented_outputs(patched, unique):
    """VARIABLES: "To set a variable, provide a JSON object with variable names and values"
    ({"productName": "product1", "count": 42, "available": true}); "To reference a variable,
    prepend the name with a dollar sign ($), for example, $productName." JSONATA, its
    JSONPath-to-JSONata sample: "static": "Hello", "title": "{% $states.input.title %}",
    "name": "{% $customerName %}" (with $customerName declared as a variable), and
    "not-evaluated": "$customerName" stays a literal. Expressions may sit in strings nested
    in objects and arrays."""
    result = patched.run(patched.state_machine(unique, ASSIGN_THEN_USE), {"customer": "Ana", "title": "Dr"})
    assert output(result) == {
        "static": "Hello",
        "title": "Dr",
        "name": "Ana",
        "not-evaluated": "$customerName",
        "product": {"name": "product1", "stock": [84, True]},
    }


def test_a_task_assigns_from_its_result_and_outputs_it(patched, unique):
    """VARIABLES, reserved variable $states: "input" is the original input to the state,
    "result" the API or sub-workflow's result (if successful); a Task's Assign and Output
    both read $states.result. JSONATA: a JSONata Task takes "Arguments" instead of
    Parameters, and its TimeoutSeconds and HeartbeatSeconds may be expressions."""
    definition = jsonata_machine(
        {
            "Who": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                "Arguments": {},
                "TimeoutSeconds": "{% $states.input.seconds %}",
                "HeartbeatSeconds": "{% $states.input.seconds - 1 %}",
                "Assign": {"account": "{% $states.result.Account %}", "asked": "{% $states.input.ask %}"},
                "Output": {"arn": "{% $states.result.Arn %}"},
                "Next": "Say",
            },
            "Say": {"Type": "Pass", "Output": "{% $asked & ' ' & $account & ' ' & $states.input.arn %}", "End": True},
        }
    )
    said = output(patched.run(patched.state_machine(unique, definition), {"ask": "account", "seconds": 30}))
    assert re.fullmatch(rf"account {patched.id} arn:aws:sts::{patched.id}:assumed-role/.+", said), said


def test_assign_reads_the_values_of_state_entry_and_output_does_not_see_them(patched, unique):
    """VARIABLES: the expressions of one Assign are evaluated with the variable values from
    when the state was entered, and the new values take effect for the states that follow
    (a paraphrase, and the emulator's reading where the page is not explicit: Output of the
    assigning state still sees the old value - a guess, see emulator/patches/jsonata_states.py)."""
    definition = jsonata_machine(
        {
            "Start": {"Type": "Pass", "Assign": {"x": 1, "y": 10}, "Next": "Swap"},
            "Swap": {
                "Type": "Pass",
                "Assign": {"x": "{% $y %}", "y": "{% $x %}", "z": "{% $x + 1 %}"},
                "Output": {"xSeenHere": "{% $x %}"},
                "Next": "After",
            },
            "After": {
                "Type": "Pass",
                "Output": {"x": "{% $x %}", "y": "{% $y %}", "z": "{% $z %}", "before": "{% $states.input %}"},
                "End": True,
            },
        }
    )
    assert output(patched.run(patched.state_machine(unique, definition))) == {"x": 10, "y": 1, "z": 2, "before": {"xSeenHere": 1}}


def test_a_jsonpath_state_assigns_from_paths_and_reads_variables(patched, unique):
    """VARIABLES: Assign is also available to JSONPath states; its "name.$" values take
    paths into the state's input ($.), the context object ($$.) and variables
    ($name), and "name.$": "$customerName" reads a variable (JSONATA's JSONPath sample)."""
    definition = {
        "StartAt": "Store",
        "States": {
            "Store": {
                "Type": "Pass",
                "Assign": {"order.$": "$.order", "execution.$": "$$.Execution.Name", "fixed": "literal"},
                "Next": "Read",
            },
            "Read": {
                "Type": "Pass",
                "Parameters": {"item.$": "$order.item", "execution.$": "$execution", "fixed.$": "$fixed", "quoted.$": "$order.note"},
                "End": True,
            },
        },
    }
    sfn = patched.client("stepfunctions")
    arn = patched.state_machine(unique, definition)
    started = sfn.start_execution(
        stateMachineArn=arn, name="run-1", input=json.dumps({"order": {"item": "book", "note": 'say "hi" \\ bye'}})
    )
    assert output(_wait(sfn, started["executionArn"])) == {
        "item": "book",
        "execution": "run-1",
        "fixed": "literal",
        "quoted": 'say "hi" \\ bye',
    }


def _wait(sfn: Any, arn: str) -> dict[str, Any]:
    stop = time.monotonic() + 15
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > stop:
            return described
        time.sleep(0.02)


def test_a_jsonpath_machine_runs_a_jsonata_state_and_a_jsonata_machine_refuses_a_jsonpath_state(patched, unique):
    """JSONATA: QueryLanguage is set at the top level "and could be set and inherited from
    top-level" per state (its sample's comment: "Set explicitly; could be set and inherited
    from top-level"); a JSONPath workflow may convert individual states to JSONata. A state
    cannot go back to JSONPath inside a JSONata workflow (moto's parser refuses it; the
    guide's console converts JSONPath states to JSONata, never the other way)."""
    mixed = {
        "StartAt": "Path",
        "States": {
            "Path": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Assign": {"seen.$": "$.n"}, "Next": "Ata"},
            "Ata": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {"double": "{% $states.input.n * 2 %}", "seen": "{% $seen %}"},
                "End": True,
            },
        },
    }
    assert output(patched.run(patched.state_machine(unique, mixed), {"n": 21})) == {"double": 42, "seen": 21}
    backwards = jsonata_machine({"Path": {"Type": "Pass", "QueryLanguage": "JSONPath", "Parameters": {"n.$": "$.n"}, "End": True}})
    with pytest.raises(ClientError):
        patched.state_machine(f"{unique}-back", backwards)


@pytest.mark.parametrize(
    "field",
    [
        {"InputPath": "$.a"},
        {"Parameters": {"a.$": "$.a"}},
        {"ResultSelector": {"a.$": "$.a"}},
        {"ResultPath": "$.a"},
        {"OutputPath": "$.a"},
    ],
    ids=lambda field: next(iter(field)),
)
def test_jsonpath_fields_in_a_jsonata_state_are_an_invalid_definition(patched, unique, field):
    """JSONATA: "After selecting JSONata, your workflow fields will be reduced from five
    JSONPath fields (InputPath, Parameters, ResultSelector, ResultPath, and OutputPath) to
    only two fields: Arguments and Output." """
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "End": True, **field}
    with pytest.raises(ClientError) as refused:
        patched.state_machine(unique, jsonata_machine({"Call": task}))
    assert "Invalid" in str(refused.value) or "Unsupported" in str(refused.value)
    # The refusal leaves nothing behind: the next JSONPath definition still takes its fields.
    jsonpath = {"StartAt": "Call", "States": {"Call": {**task, "QueryLanguage": "JSONPath"}}}
    assert patched.state_machine(f"{unique}-jsonpath", jsonpath)


def test_moto_keeps_the_query_language_scopes_of_a_refused_definition():
    """moto's parser stacks QueryLanguage scopes on its class; a refused definition leaves
    its scope there. The patch gives each parse its own stack: this pins moto's behaviour."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    assert isinstance(vars(Preprocessor).get("_query_language_per_scope"), list)


def test_choice_conditions_and_the_wait_seconds_are_expressions(patched, unique):
    """JSONATA: a Choice rule's "Condition" is a JSONata expression (or a boolean), and
    fields such as a Wait's Seconds accept an expression."""
    definition = jsonata_machine(
        {
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.age >= 18 %}", "Next": "Adult", "Assign": {"kind": "adult"}}],
                "Default": "Minor",
            },
            "Adult": {"Type": "Wait", "Seconds": "{% $states.input.age - $states.input.age %}", "Next": "Done"},
            "Minor": {"Type": "Pass", "Output": "minor", "End": True},
            "Done": {"Type": "Pass", "Output": "{% $kind %}", "End": True},
        }
    )
    arn = patched.state_machine(unique, definition)
    assert output(patched.run(arn, {"age": 30})) == "adult"
    assert output(patched.run(arn, {"age": 3})) == "minor"


def test_map_items_and_item_selector_and_parallel_branches_read_outer_variables(patched, unique):
    """VARIABLES, variable scope: states inside a Map or Parallel (the inner scope) can read
    the variables of the outer scope; a Map's "Items" and "ItemSelector" take expressions
    (JSONATA), and Output returns data from the sub-workflows."""
    definition = jsonata_machine(
        {
            "Set": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "Both"},
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "Items": "{% $states.input.numbers %}",
                                "ItemSelector": {
                                    "value": "{% $states.context.Map.Item.Value %}",
                                    "index": "{% $states.context.Map.Item.Index %}",
                                },
                                "ItemProcessor": {
                                    "ProcessorConfig": {"Mode": "INLINE"},
                                    "StartAt": "Scale",
                                    "States": {
                                        "Scale": {
                                            "Type": "Pass",
                                            "Output": "{% $states.input.value * $factor + $states.input.index %}",
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "Read", "States": {"Read": {"Type": "Pass", "Output": "{% $factor %}", "End": True}}},
                ],
                "Output": {"scaled": "{% $states.result[0] %}", "factor": "{% $states.result[1] %}"},
                "End": True,
            },
        }
    )
    assert output(patched.run(patched.state_machine(unique, definition), {"numbers": [1, 2, 3]})) == {"scaled": [10, 21, 32], "factor": 10}


def test_the_functions_step_functions_adds(patched, unique):
    """JSONATA, "JSONata functions provided by Step Functions": $partition (like
    States.ArrayPartition, the last chunk may be shorter), $range (like States.ArrayRange:
    $range(0, 10, 2) gives [0, 2, 4, 6, 8, 10]), $hash (MD5, SHA-1, SHA-256, SHA-384,
    SHA-512), $random (an optional seed: the same seed gives the same number), $uuid (a v4
    UUID) and $parse (deserializes a JSON string)."""
    definition = jsonata_machine(
        {
            "Functions": {
                "Type": "Pass",
                "Output": {
                    "partition": "{% $partition([1, 2, 3, 4, 5, 6, 7], 3) %}",
                    "range": "{% $range(0, 10, 2) %}",
                    "hash": "{% $hash($states.input.content, 'SHA-256') %}",
                    "seeded": "{% [$random(7), $random(7)] %}",
                    "random": "{% $random() %}",
                    "uuid": "{% $uuid() %}",
                    "parsed": "{% $parse($states.input.json) %}",
                },
                "End": True,
            }
        }
    )
    got = output(patched.run(patched.state_machine(unique, definition), {"content": "input data", "json": '{"a": [1, null, "x"]}'}))
    assert got["partition"] == [[1, 2, 3], [4, 5, 6], [7]]
    assert got["range"] == [0, 2, 4, 6, 8, 10]
    assert got["hash"] == hashlib.sha256(b"input data").hexdigest()
    assert got["seeded"][0] == got["seeded"][1] and 0 <= got["seeded"][0] < 1
    assert 0 <= got["random"] < 1
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", got["uuid"])
    assert got["parsed"] == {"a": [1, None, "x"]}


def test_a_failing_expression_is_a_catchable_query_evaluation_error(patched, unique):
    """JSONATA: an expression that fails, or returns nothing (JSON cannot represent
    undefined), fails the state with States.QueryEvaluationError; $eval is not available
    ("$eval is not available - use $parse instead"). A Catch sees it in
    $states.errorOutput ("Error Output (only available in a Catch)", VARIABLES)."""
    definition = jsonata_machine(
        {
            "Fails": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                "Arguments": {"ignored": "{% $states.input.missing %}"},
                "Catch": [
                    {
                        "ErrorEquals": ["States.QueryEvaluationError"],
                        "Assign": {"caught": "{% $states.errorOutput.Error %}"},
                        "Output": "{% $states.errorOutput %}",
                        "Next": "Report",
                    }
                ],
                "End": True,
            },
            "Report": {"Type": "Pass", "Output": {"caught": "{% $caught %}", "cause": "{% $states.input.Cause %}"}, "End": True},
        }
    )
    got = output(patched.run(patched.state_machine(unique, definition)))
    assert got["caught"] == "States.QueryEvaluationError"
    assert "$states.input.missing" in got["cause"] and "returned nothing (undefined)" in got["cause"]

    for expression in ("$eval('1 + 1')", "$number('x') + 1", "$hash('a', 'SHA-3')"):
        failing = jsonata_machine({"Fail": {"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}})
        result = patched.run(patched.state_machine(f"{unique}-{len(expression)}", failing))
        assert (result["status"], result["error"]) == ("FAILED", "States.QueryEvaluationError"), expression


def test_values_are_bound_not_pasted_into_the_expression():
    """moto's own evaluator pasted each value into the expression's text, unescaped: a string
    with a quote broke the expression. Bound values come back as they went in, JSON's null
    stays null and undefined is told apart from it."""
    from emulator import jsonata_evaluation

    value = 'a "quoted" \\ string'
    assert jsonata_evaluation.evaluate("$v", {"v": value}) == value
    assert jsonata_evaluation.evaluate("$states.input", {"states": {"input": {"a": None}}}) == {"a": None}
    assert jsonata_evaluation.evaluate("$states.input.b", {"states": {"input": {"a": None}}}) is jsonata_evaluation.UNDEFINED
    assert jsonata_evaluation.evaluate("4 / 2", {}) == 2 and isinstance(jsonata_evaluation.evaluate("4 / 2", {}), int)
    with pytest.raises(jsonata_evaluation.QueryEvaluationError):
        jsonata_evaluation.evaluate("function($x) { $x }", {})
