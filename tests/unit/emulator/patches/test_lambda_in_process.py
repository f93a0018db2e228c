from __future__ import annotations

import json

from tests.unit.emulator.helpers import ACCOUNT, service_trust

HANDLER = """
import os
import boto3

def handle(event, context):
    print("handled", event["n"])
    identity = boto3.client("sts").get_caller_identity()
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"n": event["n"] + 1, "setting": os.environ["SETTING"], "arn": identity["Arn"], "function": context.function_name}
"""

LAMBDA_TRUST = service_trust("lambda.amazonaws.com", ACCOUNT)


def test_moto_without_docker_still_only_echoes(vanilla):
    from emulator.patches import lambda_in_process

    assert lambda_in_process.REASON
    role = vanilla.role("fn-role", LAMBDA_TRUST)
    vanilla.python_function("fn", HANDLER, role, {"SETTING": "x"})
    response = vanilla.client("lambda").invoke(FunctionName="fn", Payload=json.dumps({"n": 1}))
    assert json.loads(response["Payload"].read()) == {"n": 1}  # the event, not the handler's result


def test_the_handler_runs_with_its_environment_and_role(patched, emulator, unique):
    role = patched.role(f"{unique}-role", LAMBDA_TRUST)
    patched.client("logs").create_log_group(logGroupName=f"/aws/lambda/{unique}")
    patched.python_function(unique, HANDLER, role, {"SETTING": "from-the-function"})
    response = patched.client("lambda").invoke(FunctionName=unique, Payload=json.dumps({"n": 1}))
    result = json.loads(response["Payload"].read())
    assert result["n"] == 2 and result["setting"] == "from-the-function" and result["function"] == unique
    assert result["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{unique}-role/")
    events = patched.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{unique}")["events"]
    assert [event["message"] for event in events] == ["handled 1"]


def test_a_handler_error_is_a_function_error(patched, unique):
    role = patched.role(f"{unique}-role", LAMBDA_TRUST)
    patched.python_function(unique, HANDLER, role, {"SETTING": "x"})
    response = patched.client("lambda").invoke(FunctionName=unique, Payload=json.dumps({"n": 1, "fail": True}))
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")


# The setting is read once, at import: module state, as a real handler keeps it.
CACHING_HANDLER = """
import os

SETTING = os.environ["SETTING"]

def handle(event, context):
    return SETTING
"""


def test_functions_that_share_code_do_not_share_module_state(patched, unique):
    """Each function has its own execution environments (Lambda developer guide, "Lambda
    execution environment"): two functions deployed from one zip (two environments of this
    project, say) each keep their own module-level state."""
    role = patched.role(f"{unique}-role", LAMBDA_TRUST)
    for name in ("first", "second"):
        patched.python_function(f"{unique}-{name}", CACHING_HANDLER, role, {"SETTING": name})
    lambda_ = patched.client("lambda")
    answers = [json.loads(lambda_.invoke(FunctionName=f"{unique}-{name}")["Payload"].read()) for name in ("first", "second", "first")]
    assert answers == ["first", "second", "first"]


def _invoking(function: str, catch: bool = False) -> dict:
    task: dict = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": function, "Payload.$": "$"}}
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
        return {"StartAt": "Invoke", "States": {"Invoke": {**task, "End": True}, "Caught": {"Type": "Pass", "End": True}}}
    return {"StartAt": "Invoke", "States": {"Invoke": {**task, "End": True}}}


def test_lambda_invoke_returns_the_executed_version(patched, unique):
    """Developer guide, "Invoke an AWS Lambda function with Step Functions": "When the Task
    result is returned, the function output is nested inside a dictionary of metadata. For
    example: { "ExecutedVersion":"$LATEST", "Payload":"FUNCTION OUTPUT", ..."."""
    role = patched.role(f"{unique}-fn", LAMBDA_TRUST)
    function = patched.python_function(unique, HANDLER, role, {"SETTING": "x"})
    result = patched.run(patched.state_machine(unique, _invoking(function)), {"n": 1})
    output = json.loads(result["output"])
    assert (output["ExecutedVersion"], output["StatusCode"], output["Payload"]["n"]) == ("$LATEST", 200, 2)


def test_a_handler_error_is_shaped_as_the_python_runtime_shapes_it(patched, unique):
    """Lambda developer guide, "AWS Lambda function errors in Python": "When your code raises an
    error, Lambda generates a JSON representation of the error", with errorMessage, errorType,
    requestId and stackTrace; the trace holds the handler's own frames, under /var/task (the
    task root, "Defined runtime environment variables": LAMBDA_TASK_ROOT)."""
    role = patched.role(f"{unique}-fn", LAMBDA_TRUST)
    function = patched.python_function(unique, HANDLER, role, {"SETTING": "x"})
    result = patched.run(patched.state_machine(unique, _invoking(function)), {"n": 1, "fail": True})
    assert (result["status"], result["error"]) == ("FAILED", "ValueError")
    cause = json.loads(result["cause"])
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (cause["errorMessage"], cause["errorType"]) == ("asked to fail", "ValueError")
    assert len(cause["requestId"]) == 36
    assert len(cause["stackTrace"]) == 1 and cause["stackTrace"][0].startswith('  File "/var/task/handler.py", line ')
    assert "emulator" not in result["cause"] and "emulated-lambda-" not in result["cause"]  # no local path


def test_a_missing_function_is_named_with_its_version(patched, unique):
    """Lambda API reference, Invoke, "Errors": ResourceNotFoundException, "The resource specified
    in the request does not exist"; Lambda names the version it looked for, $LATEST for an
    unqualified name (as AWS-recorded executions show it), and States.ALL catches it."""
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{unique}-missing"
    result = patched.run(patched.state_machine(unique, _invoking(missing)), {"n": 1})
    assert (result["status"], result["error"]) == ("FAILED", "Lambda.ResourceNotFoundException")
    assert result["cause"].startswith(f"Function not found: {missing}:$LATEST (Service: AWSLambda; Status Code: 404;")
    caught = patched.run(patched.state_machine(f"{unique}-caught", _invoking(missing, catch=True)), {"n": 1})
    assert json.loads(caught["output"])["Error"] == "Lambda.ResourceNotFoundException"
