"""Asset publishing (CDK Pipelines' ``Assets/FileAssets``), in process.

On AWS it is a CodeBuild action whose buildspec runs cdk-assets on the Synth step's
asset manifests, as the asset project's role, which assumes each destination's
file-publishing role. Here the same uploads are made in process (no npm install per
run), through the same roles: the project's service role, assumed by CodeBuild, then the
bootstrap's file-publishing role of each destination. Every file asset of the assembly
is published, as the action's manifests list them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emulator import DeployError, Emulator
from emulator.identity import Credentials
from local_pipeline.executor.codebuild_action import Project
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from project.assembly import AssemblyError, read_stacks


@dataclass(frozen=True)
class AssetPublishingAction:
    emulator: Emulator
    projects: Callable[[str], Project]
    credentials: Callable[[str], Credentials]  # a service role's credentials, as CodeBuild assumes it

    def __call__(self, context: ActionContext) -> ActionOutcome:
        project = self.projects(str(context.configuration["ProjectName"]))
        (assembly,) = [context.inputs[name] for name in context.action.input_artifacts]
        try:
            stacks = read_stacks(assembly)
        except AssemblyError as error:
            return ActionOutcome("Failed", str(error))
        publisher = self.credentials(project.service_role_arn)
        try:
            for stack in stacks:
                self.emulator.publish_assets(stack, publisher)
        except DeployError as error:
            return ActionOutcome("Failed", str(error))
        count = sum(len(stack.assets) for stack in stacks)
        return ActionOutcome("Succeeded", f"{count} file assets published")
