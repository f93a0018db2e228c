"""The pipeline's self-mutation (CDK Pipelines' ``UpdatePipeline/SelfMutate``), in process.

On AWS it is a CodeBuild action whose buildspec installs the pinned CDK CLI and runs
``cdk -a . deploy <pipeline stack>`` on the Synth step's cloud assembly, as the
self-mutation project's role, which assumes the bootstrap's deploy role. Here the same
deployment is made in process (no CLI install per run), through the same roles: the
project's service role, assumed by CodeBuild, then the deploy role, then the execution
role handed to CloudFormation (with a local source standing in for one cdk.json does not
name: ``local_source.py``). If the pipeline's definition changed, the run restarts on
the new one, as CodePipeline supersedes an execution whose pipeline was updated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emulator import DeployError, Emulator
from emulator.identity import Credentials
from local_pipeline.executor.codebuild_action import Project
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from local_pipeline.executor.local_source import with_local_source
from project.assembly import AssemblyError, read_stacks


@dataclass(frozen=True)
class SelfMutationAction:
    emulator: Emulator
    pipeline_stack_name: str
    projects: Callable[[str], Project]
    credentials: Callable[[str], Credentials]  # a service role's credentials, as CodeBuild assumes it
    definition: Callable[[], object]  # the deployed pipeline's definition, to tell whether it changed

    def __call__(self, context: ActionContext) -> ActionOutcome:
        project = self.projects(str(context.configuration["ProjectName"]))
        (assembly,) = [context.inputs[name] for name in context.action.input_artifacts]
        try:
            stacks = [s for s in read_stacks(assembly) if not s.stage and s.stack_name == self.pipeline_stack_name]
        except AssemblyError as error:
            return ActionOutcome("Failed", str(error))
        if len(stacks) != 1:
            return ActionOutcome("Failed", f"the cloud assembly holds no stack {self.pipeline_stack_name}")
        before = self.definition()
        deployed, note = with_local_source(stacks[0], context.log.parent / "local-source")
        try:
            self.emulator.deploy(deployed, deployer=self.credentials(project.service_role_arn))
        except DeployError as error:
            return ActionOutcome("Failed", str(error))
        said = f" ({note})" if note else ""
        if self.definition() != before:
            return ActionOutcome(
                "Succeeded", f"{self.pipeline_stack_name} updated: the pipeline changed, the run starts again on it{said}", restart=True
            )
        return ActionOutcome("Succeeded", f"{self.pipeline_stack_name} is up to date{said}")
