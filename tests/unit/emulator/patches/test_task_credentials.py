from __future__ import annotations

import json

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT

WHO_AM_I = {
    "StartAt": "Who",
    "States": {"Who": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "End": True}},
}


def test_moto_still_runs_every_task_as_its_default_account(vanilla):
    from emulator.patches import task_credentials

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


def _encrypted_machine(
    account, name: str, role_arn: str, kind: str = "STANDARD", *, logged: bool = False, key_policy: dict | None = None
) -> str:
    kms = account.client("kms")
    # The default key policy (the account's IAM decides) unless one is given.
    key = kms.create_key(Description=name, **({"Policy": json.dumps(key_policy)} if key_policy else {}))["KeyMetadata"]["Arn"]
    logging = {
        "level": "ALL",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/{name}:*"}}],
    }
    return str(
        account.client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(PASS),
            roleArn=role_arn,
            type=kind,
            encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key, "kmsDataKeyReusePeriodSeconds": 300},
            **({"loggingConfiguration": logging} if logged else {}),
        )["stateMachineArn"]
    )


# The key policy the CDK writes for a logged state machine: the account's IAM decides, and
# log delivery may decrypt.
LOGGED_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "kms:Decrypt*", "Resource": "*"},
    ],
}


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


def _with_log_delivery_grant(policy: dict) -> dict:
    """Same page, for logging: the execution role's kms:GenerateDataKey with the encryption
    context SourceArn = arn:aws:logs:<region>:<account>:* (as workflow_encryption.py writes it)."""
    statement = {
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:SourceArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:*"}},
    }
    return {**policy, "Statement": [*policy["Statement"], statement]}


def test_a_logged_machine_runs_with_log_deliverys_grants(patched, unique):
    """Developer guide, "Data at rest encryption in Step Functions", with CloudWatch Logs on:
    the execution role's kms:GenerateDataKey for the logs' SourceArn, and the key policy
    letting delivery.logs.amazonaws.com decrypt."""
    role = patched.role(
        f"{unique}-role", permissions=_with_log_delivery_grant(_key_grant(ACCOUNT, unique, ["kms:GenerateDataKey", "kms:Decrypt"]))
    )
    result = patched.run(_encrypted_machine(patched, unique, role, logged=True, key_policy=LOGGED_KEY_POLICY))
    assert result["status"] == "SUCCEEDED", result.get("cause")


def test_a_logged_machine_whose_role_lacks_the_logs_data_key_fails(patched, unique):
    """Attack: the role keeps its execution grant but not the logs' one. The failure names log
    delivery (failing is the emulator's guess: the page does not say what AWS does)."""
    role = patched.role(f"{unique}-role", permissions=_key_grant(ACCOUNT, unique, ["kms:GenerateDataKey", "kms:Decrypt"]))
    result = patched.run(_encrypted_machine(patched, unique, role, logged=True, key_policy=LOGGED_KEY_POLICY))
    assert (result["status"], result["error"]) == ("FAILED", "KMS.AccessDeniedException")
    assert result["cause"].startswith("Log delivery to CloudWatch Logs: ")
    assert "kms:GenerateDataKey" in result["cause"]


def test_a_logged_machine_whose_key_policy_shuts_out_log_delivery_fails(patched, unique):
    """Attack: the key policy without delivery.logs.amazonaws.com's statement (the default
    one). The same role runs the same machine unlogged."""
    role = patched.role(
        f"{unique}-role", permissions=_with_log_delivery_grant(_key_grant(ACCOUNT, unique, ["kms:GenerateDataKey", "kms:Decrypt"]))
    )
    result = patched.run(_encrypted_machine(patched, unique, role, logged=True))
    assert (result["status"], result["error"]) == ("FAILED", "KMS.AccessDeniedException")
    assert "delivery.logs.amazonaws.com is not authorized to perform: kms:Decrypt" in result["cause"]
    same_grants = patched.role(
        f"{unique}-same",
        permissions=_with_log_delivery_grant(_key_grant(ACCOUNT, f"{unique}-unlogged", ["kms:GenerateDataKey", "kms:Decrypt"])),
    )
    unlogged = patched.run(_encrypted_machine(patched, f"{unique}-unlogged", same_grants))
    assert unlogged["status"] == "SUCCEEDED", unlogged
