from __future__ import annotations

import json

from emulator.patches import lambda_in_process
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
