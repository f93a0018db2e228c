"""A definition is parsed once per text, and every execution still runs on its own input
with its own retries (AWS Step Functions Developer Guide, "Handling errors in Step
Functions workflows": each execution counts its own retry attempts)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.unit.emulator.helpers import service_trust

PASS_THROUGH = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"seen.$": "$.value"}, "End": True}}}

# A Lambda task that fails once per id, then succeeds: only its retry can make it succeed.
FLAKY = """
COUNTS = {}
def handle(event, context):
    COUNTS[event["id"]] = COUNTS.get(event["id"], 0) + 1
    if COUNTS[event["id"]] < 2:
        raise RuntimeError("not yet")
    return {"attempts": COUNTS[event["id"]]}
"""


def test_moto_still_parses_a_definition_anew_each_time():
    from emulator.patches import parsed_definitions

    assert parsed_definitions.REASON
    text = json.dumps(PASS_THROUGH)
    assert parsed_definitions._parse(text)[0] is not parsed_definitions._parse(text)[0]


def test_one_text_is_parsed_once_and_a_bad_one_fails_every_time(emulator):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    text = json.dumps(PASS_THROUGH)
    assert AmazonStateLanguageParser.parse(text)[0] is AmazonStateLanguageParser.parse(text)[0]
    assert AmazonStateLanguageParser.parse(text)[0] is not AmazonStateLanguageParser.parse(json.dumps({**PASS_THROUGH, "Comment": "x"}))[0]
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": ')


def test_concurrent_executions_of_one_definition_each_get_their_own_output(patched, unique):
    arn = patched.state_machine(unique, PASS_THROUGH)
    with ThreadPoolExecutor(max_workers=8) as pool:
        described = list(pool.map(lambda value: patched.run(arn, {"value": value}), range(16)))
    assert [json.loads(d["output"]) for d in described] == [{"seen": value} for value in range(16)]


def test_each_execution_counts_its_own_retries(patched, unique):
    role = patched.role(f"{unique}-fn", service_trust("lambda.amazonaws.com", patched.id))
    function = patched.python_function(f"{unique}-flaky", FLAKY, role)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    arn = patched.state_machine(unique, definition)
    # Each run needs its one retry (1 s away), the two at once: had the attempts been
    # counted on the shared definition, one of them would find none left and fail.
    with ThreadPoolExecutor(max_workers=2) as pool:
        described = list(pool.map(lambda run: patched.run(arn, {"id": run}), ("a", "b")))
    outputs = [json.loads(d.get("output") or "null") for d in described]
    assert outputs == [{"attempts": 2}, {"attempts": 2}], [(d.get("error"), d.get("cause")) for d in described]


def test_every_declaration_of_a_shared_program_has_its_heap_key_before_any_execution():
    """moto draws a declaration's heap key (under which an execution keeps, for one, its
    retry count) on first use, without a lock: a program shared by executions gets them all
    when it is parsed."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    from emulator.patches import parsed_definitions

    definition = json.dumps(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f"},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                    "End": True,
                }
            },
        }
    )
    program, _ = parsed_definitions.parse_once(definition)
    components, pending, seen = [], [program], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Component):
            components += [item] if isinstance(item, EvalComponent) else []
            pending.extend(vars(item).values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    retry_declarations = [c for c in components if type(c).__name__ in ("MaxAttemptsDecl", "BackoffRateDecl")]
    assert len(retry_declarations) == 2
    assert all(vars(c).get("_EvalComponent__heap_key") for c in components)
