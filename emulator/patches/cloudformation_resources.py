"""CloudFormation creates Secrets Manager secrets, and state machines that execute and keep their type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation import parsing
from moto.secretsmanager.models import secretsmanager_backends
from moto.stepfunctions.responses import get_backend as stepfunctions_backend

REASON = (
    "moto's CloudFormation has no AWS::SecretsManager::Secret, and puts state machines in a "
    "backend that never executes them and drops StateMachineType (Express runs as Standard)."
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
        password = json.loads(password)["RandomPassword"]  # moto returns the response body
        template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
        if template and key:
            return json.dumps({**json.loads(template), key: password})
        return password

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class ExecutableStateMachine:
    """AWS::StepFunctions::StateMachine in the backend that runs ASL, with its declared type."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::StepFunctions::StateMachine"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StateMachineName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> Any:
        properties = cloudformation_json["Properties"]
        if properties.get("DefinitionSubstitutions") or properties.get("DefinitionS3Location"):
            raise NotImplementedError("the emulator deploys state machines from DefinitionString only")
        logging = properties.get("LoggingConfiguration") or {}
        tracing = properties.get("TracingConfiguration") or {}
        return stepfunctions_backend(account_id, region_name).create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=properties["DefinitionString"],
            roleArn=properties["RoleArn"],
            tags=[{"key": tag["Key"], "value": tag["Value"]} for tag in properties.get("Tags", [])],
            loggingConfiguration={
                "level": logging.get("Level", "OFF"),
                "includeExecutionData": bool(logging.get("IncludeExecutionData", False)),
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": d.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")}}
                    for d in logging.get("Destinations", [])
                ],
            },
            tracingConfiguration={"enabled": bool(tracing.get("Enabled", False))},
            sm_type=properties.get("StateMachineType", "STANDARD"),
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
    def delete_from_cloudformation_json(cls, *_: Any, **__: Any) -> None:
        return None


_MODELS = {model.cloudformation_type(): model for model in (SecretsManagerSecret, ExecutableStateMachine, CdkMetadata)}


@contextmanager
def patch() -> Iterator[None]:
    original_map, original_names = parsing.get_model_map(), parsing.get_name_type_map()
    models = {**original_map, **_MODELS}
    names = {**original_names, **{kind: model.cloudformation_name_type() for kind, model in _MODELS.items()}}
    with (
        mock.patch.object(parsing, "get_model_map", lambda: models),
        mock.patch.object(parsing, "get_name_type_map", lambda: names),
    ):
        yield
