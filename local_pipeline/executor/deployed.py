"""The pipeline as it is deployed in the emulated tooling account: its definition and its
CodeBuild projects, read from the pipeline stack's resources as CloudFormation resolved
them (a project's name, a role's ARN), so that a run executes what is deployed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from emulator import Emulator
from local_pipeline.executor.codebuild_action import Project, project_variables
from local_pipeline.executor.definition import DefinitionError, Pipeline, read_pipeline
from project.assembly import StackArtifact

PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"


@dataclass(frozen=True)
class DeployedPipeline:
    pipeline: Pipeline
    role_arn: str  # the pipeline's service role
    projects: Callable[[str], Project]
    artifact_bucket: str = ""  # ArtifactStore.Location
    artifact_key: str = ""  # ArtifactStore.EncryptionKey.Id: the key the artifacts are encrypted with
    # The pipeline resource's properties as deployed: any change is an update of the pipeline
    # (CloudFormation updates a resource only when its properties change).
    declaration: str = ""


def deployed_pipeline(emulator: Emulator, stack: StackArtifact) -> DeployedPipeline:
    resources = emulator.deployed_resources(stack)
    # The template as deployed (GetTemplate), not as the stack artifact was first synthesized:
    # a self-mutation may have added CodeBuild projects since.
    body = emulator.client("cloudformation", stack.account, stack.region).get_template(StackName=stack.stack_name)["TemplateBody"]
    template = (json.loads(body) if isinstance(body, str) else body)["Resources"]
    pipelines = [(logical_id, resources[logical_id]) for logical_id, r in template.items() if r["Type"] == PIPELINE_TYPE]
    if len(pipelines) != 1:
        raise DefinitionError(f"the stack {stack.stack_name} holds {len(pipelines)} pipelines, not one")
    ((_, deployed),) = pipelines
    projects = {
        resources[logical_id].physical_resource_id: resources[logical_id].properties
        for logical_id, r in template.items()
        if r["Type"] == "AWS::CodeBuild::Project"
    }

    def project(name: str) -> Project:
        if name not in projects:
            raise DefinitionError(f"no CodeBuild project {name} in the stack {stack.stack_name}")
        properties = projects[name]
        plain, stored = project_variables(properties.get("Environment", {}).get("EnvironmentVariables", []))
        return Project(
            name=name,
            buildspec=properties["Source"]["BuildSpec"],
            service_role_arn=properties["ServiceRole"],
            environment_variables=plain,
            stored_variables=stored,
            timeout_minutes=int(properties.get("TimeoutInMinutes", 60)),
            image=str(properties.get("Environment", {}).get("Image", "")),
            encryption_key=str(properties.get("EncryptionKey", "")),
        )

    store = deployed.properties.get("ArtifactStore") or {}
    return DeployedPipeline(
        read_pipeline(deployed.properties, name=deployed.physical_resource_id),
        deployed.properties["RoleArn"],
        project,
        artifact_bucket=str(store.get("Location", "")),
        artifact_key=str((store.get("EncryptionKey") or {}).get("Id", "")),
        declaration=json.dumps(deployed.properties, sort_keys=True, default=str),
    )
