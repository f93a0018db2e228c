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


PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _encrypted_machine(account, name: str, role_arn: str, kind: str = "STANDARD") -> str:
    key = account.client("kms").create_key(Description=name)["KeyMetadata"]["Arn"]  # default key policy: the account's IAM decides
    return str(
        account.client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(PASS),
            roleArn=role_arn,
            type=kind,
            encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key, "kmsDataKeyReusePeriodSeconds": 300},
        )["stateMachineArn"]
    )


def _key_grant(account: str, name: str, actions: list[str]) -> dict:
    """The execution role's key statement as the developer guide's "Data at rest encryption in
    Step Functions" writes it: the key actions, scoped by the encryption context
    aws:states:stateMachineArn."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:EncryptionContext:aws:states:stateMachineArn": f"arn:aws:states:us-east-1:{account}:stateMachine:{name}"
                    }
                },
            }
        ],
    }


def test_an_execution_role_with_its_key_grant_runs_the_encrypted_machine(patched, unique):
    """Developer guide, "Data at rest encryption in Step Functions": "For an execution to
    successfully complete when using customer managed key encryption, the execution role needs
    to be granted kms:GenerateDataKey and kms:Decrypt permissions for AWS KMS keys used by the
    state machine"."""
    role = patched.role(f"{unique}-role", permissions=_key_grant(ACCOUNT, unique, ["kms:GenerateDataKey", "kms:Decrypt"]))
    result = patched.run(_encrypted_machine(patched, unique, role))
    assert result["status"] == "SUCCEEDED", result


def test_an_execution_role_without_generate_data_key_fails_its_execution(patched, unique):
    """Attack: the same role without kms:GenerateDataKey (same page, same sentence). The
    execution fails before its first state, with KMS.AccessDeniedException (the name is the
    emulator's guess; AWS documents none)."""
    role = patched.role(f"{unique}-role", permissions=_key_grant(ACCOUNT, unique, ["kms:Decrypt"]))
    result = patched.run(_encrypted_machine(patched, unique, role))
    assert (result["status"], result["error"]) == ("FAILED", "KMS.AccessDeniedException")
    assert "kms:GenerateDataKey" in result["cause"]
    events = patched.client("stepfunctions").get_execution_history(executionArn=result["executionArn"])["events"]
    assert [event["type"] for event in events] == ["ExecutionStarted", "ExecutionFailed"]


def test_the_key_grant_is_for_this_state_machine_only(patched, unique):
    """Attack: a grant whose encryption context names another state machine does not cover this
    one (same page: the encryption context is aws:states:stateMachineArn)."""
    role = patched.role(f"{unique}-role", permissions=_key_grant(ACCOUNT, f"{unique}-other", ["kms:GenerateDataKey", "kms:Decrypt"]))
    result = patched.run(_encrypted_machine(patched, unique, role))
    assert (result["status"], result["error"]) == ("FAILED", "KMS.AccessDeniedException")


def test_a_synchronous_express_execution_asks_its_role_for_decrypt_only(patched, unique):
    """Same page: a synchronous Express execution's role needs kms:Decrypt, not
    kms:GenerateDataKey (as stacks/constructs/workflow_encryption.py sums the page up); the
    attack, the role without kms:Decrypt, fails the run."""
    stepfunctions = patched.client("stepfunctions")
    role = patched.role(f"{unique}-role", permissions=_key_grant(ACCOUNT, unique, ["kms:Decrypt"]))
    arn = _encrypted_machine(patched, unique, role, kind="EXPRESS")
    assert stepfunctions.start_sync_execution(stateMachineArn=arn, input="{}")["status"] == "SUCCEEDED"
    bare = patched.role(f"{unique}-bare", permissions=_key_grant(ACCOUNT, f"{unique}-bare", ["kms:GenerateDataKey"]))
    failed = stepfunctions.start_sync_execution(stateMachineArn=_encrypted_machine(patched, f"{unique}-bare", bare, kind="EXPRESS"))
    assert (failed["status"], failed["error"]) == ("FAILED", "KMS.AccessDeniedException")
    assert "kms:Decrypt" in failed["cause"]
