from __future__ import annotations

import json

from emulator.patches import task_credentials
from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT

WHO_AM_I = {
    "StartAt": "Who",
    "States": {"Who": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "End": True}},
}


def test_moto_still_runs_every_task_as_its_default_account(vanilla):
    assert task_credentials.REASON
    result = vanilla.run(vanilla.state_machine("who", WHO_AM_I))
    assert json.loads(result["output"])["Account"] == "123456789012"
    assert "assumed-role" not in json.loads(result["output"])["Arn"]


def test_tasks_run_as_the_execution_role(patched, unique):
    role = patched.role(f"{unique}-role")
    result = patched.run(patched.state_machine(unique, WHO_AM_I, role_arn=role))
    assert json.loads(result["output"])["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{unique}-role/")


def test_the_execution_role_must_trust_step_functions(patched, unique):
    role = patched.role(
        f"{unique}-role",
        trust=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    result = patched.run(patched.state_machine(unique, WHO_AM_I, role_arn=role))
    assert result["status"] == "FAILED"
    assert "not authorized to perform: sts:AssumeRole" in result["cause"]


def test_a_credentials_role_is_assumed_with_the_state_machine_arn_as_external_id(patched, other, unique):
    machine_arn = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{unique}"
    execution_role = patched.role(f"{unique}-role")
    target = other.client("iam").create_role(
        RoleName=f"{unique}-target",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": execution_role},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": machine_arn}},
                    }
                ]
            }
        ),
    )["Role"]["Arn"]
    definition = {"StartAt": "Who", "States": {"Who": {**WHO_AM_I["States"]["Who"], "Credentials": {"RoleArn": target}}}}
    result = patched.run(patched.state_machine(unique, definition, role_arn=execution_role))
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"])["Arn"].startswith(f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/{unique}-target/")
