"""CloudFormation creates the pipeline stack's resources: the CodePipeline, its CodeBuild
projects, the notification rule and the topic policy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation import parsing
from moto.codebuild.models import codebuild_backends
from moto.codepipeline.models import codepipeline_backends
from moto.sns.models import sns_backends

REASON = (
    "moto's CloudFormation has no AWS::CodePipeline::Pipeline, AWS::CodeBuild::Project, "
    "AWS::CodeStarNotifications::NotificationRule nor AWS::SNS::TopicPolicy: the pipeline stack could not deploy."
)


class _Resource:
    """What moto's CloudFormation engine needs of a created resource: its physical ID (what
    Ref gives), its ARN, and the attributes Fn::GetAtt may ask for."""

    def __init__(
        self, physical_resource_id: str, arn: str, attributes: dict[str, str] | None = None, properties: dict[str, Any] | None = None
    ) -> None:
        self.physical_resource_id = physical_resource_id
        self.arn = arn
        # The resource's properties as CloudFormation resolved them: what the service runs.
        self.properties = properties or {}
        self._attributes = {"Arn": arn, **(attributes or {})}

    def is_created(self) -> bool:
        return True

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Version", "Name")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self._attributes[attribute_name]


class _Model:
    """A CloudFormation type the emulator adds; update is delete then create, under the same name."""

    type_name = ""
    name_property = ""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.type_name

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Resource:
        raise NotImplementedError

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        return None

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: _Resource, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> _Resource:
        cls.delete_from_cloudformation_json(original_resource.physical_resource_id, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(original_resource.physical_resource_id, cloudformation_json, account_id, region_name)


def _api_tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": tag["Key"], "value": tag["Value"]} for tag in properties.get("Tags", [])]


def _camel(value: Any, *, keep_keys: bool = False) -> Any:
    """CloudFormation's PascalCase properties as the API's camelCase; an action's
    ``Configuration`` keeps its keys (they are PascalCase in both)."""
    if isinstance(value, dict):
        return {
            (key if keep_keys else key[:1].lower() + key[1:]): _camel(item, keep_keys=keep_keys or key == "Configuration")
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_camel(item, keep_keys=keep_keys) for item in value]
    return value


class CodePipeline(_Model):
    type_name = "AWS::CodePipeline::Pipeline"
    name_property = "Name"
    # Properties of the resource that are not part of the API's pipeline declaration.
    _RESOURCE_ONLY = ("RestartExecutionOnUpdate", "DisableInboundStageTransitions", "Tags")

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Resource:
        properties = cloudformation_json["Properties"]
        name = properties.get("Name", resource_name)
        declaration = _camel({key: value for key, value in properties.items() if key not in cls._RESOURCE_ONLY})
        declaration["name"] = name
        codepipeline_backends[account_id][region_name].create_pipeline(declaration, _api_tags(properties))
        return _Resource(name, f"arn:aws:codepipeline:{region_name}:{account_id}:{name}", {"Version": "1"}, properties)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        codepipeline_backends[account_id][region_name].delete_pipeline(resource_name)


class CodeBuildProject(_Model):
    type_name = "AWS::CodeBuild::Project"
    name_property = "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Resource:
        properties = cloudformation_json["Properties"]
        name = properties.get("Name", resource_name)
        codebuild_backends[account_id][region_name].create_project(
            project_name=name,
            description=properties.get("Description"),
            project_source=_camel(properties["Source"]),
            artifacts=_camel(properties["Artifacts"]),
            environment=_camel(properties["Environment"]),
            service_role=properties["ServiceRole"],
            tags=_api_tags(properties),
            cache=_camel(properties["Cache"]) if "Cache" in properties else None,
            timeout=properties.get("TimeoutInMinutes"),
            queued_timeout=properties.get("QueuedTimeoutInMinutes"),
            source_version=properties.get("SourceVersion"),
            logs_config=_camel(properties["LogsConfig"]) if "LogsConfig" in properties else None,
            vpc_config=_camel(properties["VpcConfig"]) if "VpcConfig" in properties else None,
        )
        return _Resource(name, f"arn:aws:codebuild:{region_name}:{account_id}:project/{name}", properties=properties)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        codebuild_backends[account_id][region_name].delete_project(resource_name)


class NotificationRule(_Model):
    """Accepted and kept by name: the emulator delivers no notification (docs/emulator.md)."""

    type_name = "AWS::CodeStarNotifications::NotificationRule"
    name_property = "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Resource:
        arn = f"arn:aws:codestar-notifications:{region_name}:{account_id}:notificationrule/{uuid.uuid4().hex}"
        return _Resource(arn, arn)


class TopicPolicy(_Model):
    type_name = "AWS::SNS::TopicPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> _Resource:
        properties = cloudformation_json["Properties"]
        for topic in properties["Topics"]:
            sns_backends[account_id][region_name].set_topic_attribute(topic, "Policy", json.dumps(properties["PolicyDocument"]))
        return _Resource(resource_name, properties["Topics"][0])


_MODELS = {model.cloudformation_type(): model for model in (CodePipeline, CodeBuildProject, NotificationRule, TopicPolicy)}


@contextmanager
def patch() -> Iterator[None]:
    # Applied after cloudformation_resources: extends the model map as that patch left it.
    models = {**parsing.get_model_map(), **_MODELS}
    names = {**parsing.get_name_type_map(), **{kind: model.cloudformation_name_type() for kind, model in _MODELS.items()}}
    with (
        mock.patch.object(parsing, "get_model_map", lambda: models),
        mock.patch.object(parsing, "get_name_type_map", lambda: names),
    ):
        yield
