"""CloudFormation creates Secrets Manager secrets, state machines that execute and keep their
type, S3 bucket policies, and roles with their managed policies attached."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.awslambda.models import Permission
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation import parsing
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, Group, ManagedPolicy, Role, User, iam_backends
from moto.logs.models import LogGroup
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.stepfunctions.responses import get_backend as stepfunctions_backend

REASON = (
    "moto's CloudFormation has no AWS::SecretsManager::Secret nor AWS::S3::BucketPolicy, puts state machines in a "
    "backend that never executes them and drops StateMachineType (Express runs as Standard), and ignores a role's "
    "ManagedPolicyArns (the CDK bootstrap's execution role would have no permission at all), and never deletes an "
    "AWS::IAM::ManagedPolicy (a denied one stayed attached after the rollback), nor an AWS::Lambda::Permission."
)


class _Created:
    """What moto's CloudFormation engine needs of a created resource (not registered as a
    moto model on purpose: the new types must vanish when the patch is taken back)."""

    def __init__(self, physical_resource_id: str) -> None:
        self.physical_resource_id = physical_resource_id

    def is_created(self) -> bool:
        return True

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False


class SecretsManagerSecret:
    """AWS::SecretsManager::Secret, generated (GenerateSecretString) or given (SecretString)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Created:
        properties = cloudformation_json.get("Properties", {})
        backend = secretsmanager_backends[account_id][region_name]
        secret_string = properties.get("SecretString")
        generate = properties.get("GenerateSecretString")
        if secret_string is None and generate is not None:
            secret_string = cls._generate(backend, generate)
        backend.create_secret(
            name=properties.get("Name", resource_name),
            secret_string=secret_string,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        secret = backend.describe_secret(properties.get("Name", resource_name))
        return _Created(secret.arn)

    @staticmethod
    def _generate(backend: Any, generate: dict[str, Any]) -> str:
        password = backend.get_random_password(
            password_length=int(generate.get("PasswordLength", 32)),
            exclude_characters=generate.get("ExcludeCharacters", ""),
            exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
            include_space=bool(generate.get("IncludeSpace", False)),
            require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
        )
        password = str(json.loads(password)["RandomPassword"])  # moto returns the response body
        template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
        if template and key:
            return json.dumps({**json.loads(template), key: password})
        return password

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


def _encryption(declared: dict[str, Any] | None) -> dict[str, Any]:
    """EncryptionConfiguration as the API holds it (API reference, EncryptionConfiguration):
    an AWS owned key unless the template names a customer managed one."""
    if not declared or declared.get("Type", "AWS_OWNED_KEY") == "AWS_OWNED_KEY":
        return {"type": "AWS_OWNED_KEY"}
    return {
        "type": str(declared["Type"]),
        "kmsKeyId": str(declared["KmsKeyId"]),
        "kmsDataKeyReusePeriodSeconds": int(declared.get("KmsDataKeyReusePeriodSeconds", 300)),
    }


class ExecutableStateMachine:
    """AWS::StepFunctions::StateMachine in the backend that runs ASL, with its declared type."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::StepFunctions::StateMachine"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StateMachineName"

    @staticmethod
    def _configuration(properties: dict[str, Any]) -> dict[str, Any]:
        if properties.get("DefinitionSubstitutions") or properties.get("DefinitionS3Location"):
            raise NotImplementedError("the emulator deploys state machines from DefinitionString only")
        logging = properties.get("LoggingConfiguration") or {}
        tracing = properties.get("TracingConfiguration") or {}
        return {
            "definition": properties["DefinitionString"],
            "loggingConfiguration": {
                "level": logging.get("Level", "OFF"),
                "includeExecutionData": bool(logging.get("IncludeExecutionData", False)),
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": d.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")}}
                    for d in logging.get("Destinations", [])
                ],
            },
            "tracingConfiguration": {"enabled": bool(tracing.get("Enabled", False))},
            "encryptionConfiguration": _encryption(properties.get("EncryptionConfiguration")),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> Any:
        properties = cloudformation_json["Properties"]
        configuration = cls._configuration(properties)
        return stepfunctions_backend(account_id, region_name).create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=configuration["definition"],
            roleArn=properties["RoleArn"],
            tags=[{"key": tag["Key"], "value": tag["Value"]} for tag in properties.get("Tags", [])],
            loggingConfiguration=configuration["loggingConfiguration"],
            tracingConfiguration=configuration["tracingConfiguration"],
            encryptionConfiguration=configuration["encryptionConfiguration"],
            sm_type=properties.get("StateMachineType", "STANDARD"),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        # In place, as UpdateStateMachine does (the name and type cannot change without replacement).
        properties = cloudformation_json["Properties"]
        configuration = cls._configuration(properties)
        return stepfunctions_backend(account_id, region_name).update_state_machine(
            original_resource.arn,
            definition=configuration["definition"],
            role_arn=properties["RoleArn"],
            logging_configuration=configuration["loggingConfiguration"],
            tracing_configuration=configuration["tracingConfiguration"],
            encryption_configuration=configuration["encryptionConfiguration"],
        )

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        stepfunctions_backend(account_id, region_name).delete_state_machine(resource_name)


class CdkMetadata:
    """AWS::CDK::Metadata, the CDK's version reporting: nothing to emulate, nothing to warn about."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CDK::Metadata"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, *_: Any, **__: Any) -> _Created:
        return _Created(resource_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, *_: Any, **__: Any) -> Any:
        # Its Analytics change whenever constructs are added (a new stage, say): nothing to do.
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, *_: Any, **__: Any) -> None:
        return None


class S3BucketPolicy:
    """AWS::S3::BucketPolicy: the bucket's policy document."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Created:
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        s3_backends[account_id]["aws"].put_bucket_policy(properties["Bucket"], json.dumps(document).encode())
        return _Created(properties["Bucket"])

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> _Created:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        s3_backends[account_id]["aws"].delete_bucket_policy(resource_name)  # the physical ID is the bucket's name


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    """moto's copy of AWS's managed policy documents, read once (a 4.7 MB JSON text: 90 ms
    a read, and every stack with a role that names one read it again)."""
    documents: dict[str, Any] = json.loads(aws_managed_policies_data)
    return documents


_original_role_create = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # the classmethod's function, called with cls


def _role_with_managed_policies(
    cls: type[Role], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Role:
    role: Role = _original_role_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    backend = iam_backends[account_id]["aws"]
    for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []) or []:
        if arn.startswith("arn:aws:iam::aws:policy/") and arn not in {p.arn for p in backend.managed_policies.values()}:
            # AWS managed policies are not loaded into the emulated accounts (too slow):
            # the one a role names is, from moto's copy of AWS's documents.
            name = arn.rsplit("/", 1)[-1]
            data = _aws_managed_policies()[name]
            backend.managed_policies[arn] = AWSManagedPolicy.from_data(name, account_id, region_name, data)
        backend.attach_role_policy(arn, role.name)
    return role


_original_role_delete = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # the classmethod's function


def _role_delete_detaching(cls: type[Role], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    """AWS::IAM::Role's delete handler detaches the role's managed policies first, as IAM
    requires of DeleteRole (its schema's delete handler lists iam:ListAttachedRolePolicies and
    iam:DetachRolePolicy; IAM API reference, DeleteRole: "you must first remove ... attached
    managed policies"); moto's deletes only its inline policies and fails with DeleteConflict."""
    backend = iam_backends[account_id]["aws"]
    role = next((role for role in backend.roles.values() if role.name == resource_name), None)
    if role is not None:
        for arn in list(role.managed_policies):
            backend.detach_role_policy(arn, resource_name)
    _original_role_delete(cls, resource_name, cloudformation_json, account_id, region_name)


def _managed_policy_delete(
    cls: type[ManagedPolicy], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    """AWS::IAM::ManagedPolicy's delete handler detaches the policy and deletes it (its
    schema's delete handler lists iam:DetachRolePolicy, iam:DetachUserPolicy,
    iam:DetachGroupPolicy and iam:DeletePolicy). moto's does nothing: a stack's deleted or
    rolled-back managed policy stayed attached to the roles it named, still granting."""
    backend = iam_backends[account_id]["aws"]
    policy = backend.managed_policies.get(resource_name)
    if policy is None:
        return
    holders: list[Role | Group | User] = [*backend.roles.values(), *backend.users.values(), *backend.groups.values()]
    for holder in holders:
        if resource_name in holder.managed_policies:
            policy.detach_from(holder)
    del backend.managed_policies[resource_name]


_original_permission_create = Permission.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _permission_remembering_its_statement(
    cls: type[Permission], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Permission:
    """AWS::Lambda::Permission, remembering which function and statement it added, so that
    deleting it (a stack's delete, a rollback) removes that statement: moto's could not, and
    a rolled-back permission stayed in the function's policy, granting."""
    permission: Permission = _original_permission_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    function = lambda_backend(account_id, region_name).get_function(cloudformation_json["Properties"]["FunctionName"])
    # Kept on the model moto returns (it has no such attributes of its own).
    vars(permission).update(function_name=function.function_name, sid=function.policy.statements[-1]["Sid"])
    return permission


def _permission_delete(self: Permission, account_id: str, region_name: str) -> None:
    """AWS::Lambda::Permission's delete handler removes its statement (lambda:RemovePermission)."""
    function_name, sid = getattr(self, "function_name", None), getattr(self, "sid", None)
    if function_name and sid:
        with contextlib.suppress(Exception):  # already removed
            lambda_backend(account_id, region_name).remove_permission(function_name, sid)


_original_table_create = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # the classmethod's function, called with cls


def _table_as_declared(
    cls: type[Table], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Table:
    """AWS::DynamoDB::Table with its encryption and TTL as the template declares them.

    CloudFormation's ``SSESpecification`` says ``SSEEnabled`` where the API says
    ``Enabled`` (CloudFormation template reference, AWS::DynamoDB::Table
    SSESpecification): moto kept the template's spelling, so DescribeTable showed no
    ``SSEDescription`` and no caller was asked for the key. ``TimeToLiveSpecification``
    was ignored: DescribeTimeToLive said DISABLED."""
    properties = dict(cloudformation_json.get("Properties") or {})
    declared = properties.get("SSESpecification")
    if isinstance(declared, dict) and "SSEEnabled" in declared:
        properties["SSESpecification"] = {
            "Enabled": bool(declared["SSEEnabled"]),
            **({"SSEType": declared["SSEType"]} if "SSEType" in declared else {}),
            **({"KMSMasterKeyId": declared["KMSMasterKeyId"]} if "KMSMasterKeyId" in declared else {}),
        }
    table: Table = _original_table_create(
        cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs
    )
    ttl = properties.get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and ttl.get("Enabled") and ttl.get("AttributeName"):
        dynamodb_backends[account_id][region_name].update_time_to_live(table.name, {"AttributeName": ttl["AttributeName"], "Enabled": True})
    return table


_original_log_group_attribute = LogGroup.get_cfn_attribute


def _log_group_attribute(self: LogGroup, attribute_name: str) -> str:
    """``Fn::GetAtt <log group>.Arn`` ends in ``:*``, as CloudFormation returns it
    (template reference, AWS::Logs::LogGroup, return values: "Arn ... such as
    arn:aws:logs:us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*")."""
    value = _original_log_group_attribute(self, attribute_name)
    return f"{value}:*" if attribute_name == "Arn" and not str(value).endswith(":*") else value


_MODELS = {model.cloudformation_type(): model for model in (SecretsManagerSecret, ExecutableStateMachine, CdkMetadata, S3BucketPolicy)}


@contextmanager
def patch() -> Iterator[None]:
    original_map, original_names = parsing.get_model_map(), parsing.get_name_type_map()
    models = {**original_map, **_MODELS}
    names = {**original_names, **{kind: model.cloudformation_name_type() for kind, model in _MODELS.items()}}
    with (
        mock.patch.object(parsing, "get_model_map", lambda: models),
        mock.patch.object(parsing, "get_name_type_map", lambda: names),
        mock.patch.object(Role, "create_from_cloudformation_json", classmethod(_role_with_managed_policies)),
        mock.patch.object(Role, "delete_from_cloudformation_json", classmethod(_role_delete_detaching)),
        mock.patch.object(ManagedPolicy, "delete_from_cloudformation_json", classmethod(_managed_policy_delete)),
        mock.patch.object(Permission, "create_from_cloudformation_json", classmethod(_permission_remembering_its_statement)),
        mock.patch.object(Permission, "delete", _permission_delete, create=True),
        mock.patch.object(Table, "create_from_cloudformation_json", classmethod(_table_as_declared)),
        mock.patch.object(LogGroup, "get_cfn_attribute", _log_group_attribute),
    ):
        yield
