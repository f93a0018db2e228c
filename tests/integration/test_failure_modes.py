"""How the secret cache fails, on the emulator: every failure ends the consumer FAILED
with a name the user can act on, and never with the value of a secret it must not see.

These tests change the deployed accounts (a trust policy, the configuration, the secret,
the cache), and put each change back; they run on the emulator only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from integration_target import SecretCacheTarget, on_aws, secret_of

if TYPE_CHECKING:  # the emulator (moto) loads when the deployment does, not when pytest collects
    from local_pipeline.deployment import LocalDeployment

pytestmark = pytest.mark.skipif(on_aws(), reason="changes the deployed accounts: emulator only")


@pytest.fixture
def accounts(local_deployment: LocalDeployment) -> LocalDeployment:
    return local_deployment


@pytest.fixture
def target(local_deployment: LocalDeployment) -> SecretCacheTarget:
    return local_deployment.target()


def configuration(accounts: LocalDeployment) -> dict[str, Any]:
    """The consumer's configuration, as deployed."""
    return json.loads(accounts.trusted("ssm").get_parameter(Name=accounts.configuration_parameter)["Parameter"]["Value"])


@contextmanager
def configured(accounts: LocalDeployment, value: str | None) -> Iterator[None]:
    """The consumer's configuration parameter set to ``value`` (None: deleted), then restored."""
    ssm = accounts.trusted("ssm")
    name = accounts.configuration_parameter
    original = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    if value is None:
        ssm.delete_parameter(Name=name)
    else:
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    try:
        yield
    finally:
        ssm.put_parameter(Name=name, Value=original, Type="String", Overwrite=True)


def _failed_state(accounts: LocalDeployment, execution_arn: str) -> str:
    """The state whose task failed (or the Fail state), from the execution history."""
    events = accounts.trusted("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    entered = [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]
    return entered[-1]


# 1 -----------------------------------------------------------------------------


def test_a_wrong_external_id_denies_the_cross_account_step(accounts, target):
    iam = accounts.trusting("iam")
    role_name = configuration(accounts)["trustingAccountRoleArn"].rsplit("/", 1)[1]
    original = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    wrong = json.loads(json.dumps(original))
    wrong["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = accounts.consumer_arn + "-someone-else"
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(wrong))
    try:
        result = target.run_consumer()
    finally:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(original))
    assert result["status"] == "FAILED"
    assert "AccessDenied" in result["cause"] and "sts:AssumeRole" in result["cause"]
    assert _failed_state(accounts, result["executionArn"]) == "GetSecretCrossAccount"
    assert "output" not in result


# 2 -----------------------------------------------------------------------------


OTHER_SECRET_VALUE = secrets.token_urlsafe(16)  # generated per run: only there to be looked for


def test_a_secret_outside_the_allow_list_is_refused_by_name(accounts, target):
    other = accounts.trusting("secretsmanager").create_secret(Name="not-for-the-consumer", SecretString=OTHER_SECRET_VALUE)
    changed = configuration(accounts)
    changed["secret"]["secretArn"] = other["ARN"]
    with configured(accounts, json.dumps(changed)):
        result = target.run_consumer()
    assert result["status"] == "FAILED"
    assert result["error"] == "SecretNotAllowed"
    history = accounts.trusted("stepfunctions").get_execution_history(executionArn=result["executionArn"])
    assert OTHER_SECRET_VALUE not in json.dumps(result, default=str) + json.dumps(history, default=str)


# 3 -----------------------------------------------------------------------------


def test_a_missing_configuration_parameter_is_named(accounts, target):
    with configured(accounts, None):
        result = target.run_consumer()
    assert (result["status"], result["error"]) == ("FAILED", "ConfigurationNotFound")


@pytest.mark.parametrize("value", ["not json at all", '{"trustingAccountRoleArn": "arn:aws:iam::222222222222:role/x"}', "[]"])
def test_an_invalid_configuration_is_named(accounts, target, value):
    with configured(accounts, value):
        result = target.run_consumer()
    assert (result["status"], result["error"]) == ("FAILED", "InvalidConfiguration")


# 4 -----------------------------------------------------------------------------


def test_a_secret_that_does_not_exist_fails_the_run(accounts, target):
    from moto.secretsmanager.models import secretsmanager_backends

    from_store = secretsmanager_backends[accounts.trusting_account][accounts.region].secrets
    deleted = from_store[accounts.secret_arn]
    accounts.clear_cache()
    accounts.trusting("secretsmanager").delete_secret(SecretId=accounts.secret_arn, ForceDeleteWithoutRecovery=True)
    try:
        result = target.run_consumer()
    finally:
        # AWS cannot undo a forced deletion: a new secret of that name gets a new ARN, which
        # SecretCacheWfwRl's policy (naming the deployed ARN) would refuse. The very same
        # secret is put back into the emulated account, so later tests see the deployment.
        from_store[deleted.name] = deleted
    assert result["status"] == "FAILED"  # not SUCCEEDED with an error payload
    # SecretCacheWfwRl may read the deployed secret's ARN only: a secret that is gone is, to
    # IAM, a resource the role may not read, and Secrets Manager answers AccessDenied rather
    # than say whether it exists. Which ARN IAM checks for a secret that does not exist,
    # AWS does not document: the emulator checks the one asked for (a guess, see docs/emulator.md).
    assert result["error"] == "SecretsManager.SecretsManagerException"
    assert "AccessDeniedException" in result["cause"] and "secretsmanager:GetSecretValue" in result["cause"]


# 5 -----------------------------------------------------------------------------


def test_a_failed_cache_write_still_returns_the_secret(accounts, target):
    dynamodb = accounts.trusting("dynamodb")
    description = dynamodb.describe_table(TableName=accounts.cache_table)["Table"]
    dynamodb.delete_table(TableName=accounts.cache_table)  # every read and write of the cache now fails
    try:
        secret = secret_of(target.run_consumer())
        logs = accounts.trusting("logs").filter_log_events(logGroupName="/aws/lambda/" + _function_name(accounts))["events"]
    finally:
        dynamodb.create_table(
            TableName=accounts.cache_table,
            KeySchema=description["KeySchema"],
            AttributeDefinitions=description["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
    assert secret["SecretValue"] == target.read_secret_value()
    assert secret["Source"] == "secretsmanager"
    assert any("CacheWriteFailed" in event["message"] for event in logs), "the Lambda did fail"


def _function_name(accounts: LocalDeployment) -> str:
    (function,) = accounts.trusting("lambda").list_functions()["Functions"]
    return function["FunctionName"]


# 6 -----------------------------------------------------------------------------


def test_a_cached_item_past_its_expiry_is_not_served(accounts, target):
    secret_id = configuration(accounts)["secret"]["secretArn"]
    expired = datetime.now(UTC) - timedelta(minutes=1)
    accounts.trusting("dynamodb").put_item(
        TableName=accounts.cache_table,
        Item={
            "SecretArn": {"S": secret_id},
            "SecretValue": {"S": "stale-value-from-before-rotation"},
            "ExpiresAt": {"S": expired.strftime("%Y-%m-%dT%H:%M:%SZ")},
            # DynamoDB may keep an expired item for days: TTL deletion is lazy.
            "TimeToLive": {"N": str(int(expired.timestamp()))},
        },
    )
    secret = secret_of(target.run_consumer())
    assert secret["SecretValue"] == target.read_secret_value() != "stale-value-from-before-rotation"
    assert secret["Source"] == "secretsmanager"


# 7 -----------------------------------------------------------------------------


def test_25_concurrent_consumers_all_get_the_secret(accounts, target):
    accounts.clear_cache()  # the first ones race through a cold cache
    stepfunctions = accounts.trusted("stepfunctions")
    arns = [stepfunctions.start_execution(stateMachineArn=accounts.consumer_arn)["executionArn"] for _ in range(25)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(target.wait, arns))
    assert len({result["executionArn"] for result in results}) == 25
    assert [result["status"] for result in results] == ["SUCCEEDED"] * 25
    expected = target.read_secret_value()
    assert all(secret_of(result)["SecretValue"] == expected for result in results)


# and nothing leaks ---------------------------------------------------------------


def test_the_secret_value_appears_in_no_log(accounts, target):
    secret_of(target.run_consumer())
    value = target.read_secret_value()
    for account in (accounts.trusted_account, accounts.trusting_account):
        logs = accounts.emulator.client("logs", account, accounts.region)
        for group in logs.describe_log_groups()["logGroups"]:
            for event in logs.filter_log_events(logGroupName=group["logGroupName"])["events"]:
                assert value not in event["message"], group["logGroupName"]


# Identity policies are enforced: a permission taken out fails the run, naming it ------


@contextmanager
def without_permission(accounts: LocalDeployment, role_name: str, action: str, *, via: str | None = None) -> Iterator[None]:
    """The deployed role's policy without ``action`` (only where ``kms:ViaService`` names
    ``via``, if given), then the deployed policy back."""
    iam = accounts.trusting("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    reduced = json.loads(json.dumps(original))
    for statement in reduced["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action not in actions:
            continue
        if via is None:
            statement["Action"] = [kept for kept in actions if kept != action] or "none:None"
        else:
            condition = statement.get("Condition", {}).get("StringEquals", {})
            if "kms:ViaService" not in condition:
                continue  # another key's statement (a state machine's own data key)
            services = condition["kms:ViaService"] if isinstance(condition["kms:ViaService"], list) else [condition["kms:ViaService"]]
            condition["kms:ViaService"] = [s for s in services if not s.startswith(f"{via}.")] or ["none.invalid"]
    assert reduced != original, f"{role_name} has no {action} to take out"
    iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(reduced))
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(original))


@pytest.mark.parametrize(
    ("role", "action", "via"),
    [
        ("SecretCacheWfwRl", "secretsmanager:GetSecretValue", None),
        ("SecretCacheWfwRl", "kms:Decrypt", "secretsmanager"),
        ("TrustingAccountRl", "states:StartSyncExecution", None),
        # SecretCacheWfw's history is encrypted with its own key: StartSyncExecution, which
        # returns the run's output, needs the caller's kms:Decrypt through Step Functions
        # (developer guide, "Data at rest encryption in Step Functions"; the API reference's
        # KmsAccessDeniedException).
        ("TrustingAccountRl", "kms:Decrypt", "states"),
    ],
)
def test_a_permission_taken_out_of_a_role_fails_the_run_naming_it(accounts, target, role, action, via):
    accounts.clear_cache()  # the secret must be read, not served from the cache
    with without_permission(accounts, f"{role}-{accounts.environment_name}", action, via=via):
        result = target.run_consumer()
    assert result["status"] == "FAILED"
    assert f"is not authorized to perform: {action}" in result["cause"], result["cause"]
    assert f"role/{role}-{accounts.environment_name}" in result["cause"]


def test_describe_execution_without_the_consumers_key_shows_no_secret(accounts, target):
    """The consumer's execution history, its output with the secret included, is encrypted
    with the consumer's own key. A principal of the trusted account allowed
    states:DescribeExecution, but not kms:Decrypt on that key, gets Step Functions'
    KmsAccessDeniedException (developer guide, "Data at rest encryption in Step
    Functions": DescribeExecution needs the caller's kms:Decrypt; API reference,
    DescribeExecution, "Errors"), not the output. The integration test's own role reads
    it: `make local` runs the test module as that role (tests/unit/local_pipeline/test_run.py)."""
    import boto3
    from botocore.exceptions import ClientError

    finished = target.run_consumer()
    assert finished["status"] == "SUCCEEDED"
    iam = accounts.trusted("iam")
    name = f"Reader{secrets.token_hex(4)}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": accounts.trusted_account}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    executions = accounts.consumer_arn.replace(":stateMachine:", ":execution:") + ":*"
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "states:DescribeExecution", "Resource": executions}]}
    iam.put_role_policy(RoleName=name, PolicyName="DescribeOnly", PolicyDocument=json.dumps(reads))
    role_arn = f"arn:aws:iam::{accounts.trusted_account}:role/{name}"
    credentials = accounts.trusted("sts").assume_role(RoleArn=role_arn, RoleSessionName="reader")["Credentials"]
    reader = boto3.client(
        "stepfunctions",
        region_name=accounts.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    with pytest.raises(ClientError) as denied:
        reader.describe_execution(executionArn=finished["executionArn"])
    assert denied.value.response["Error"]["Code"] == "KmsAccessDeniedException"
    assert f"role/{name} is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:" in denied.value.response["Error"]["Message"]
