"""`make local`'s stand-in for the pipeline's self-mutation (CDK Pipelines' ``UpdatePipeline/SelfMutate``).

On AWS, and on `git push local`, it is a CodeBuild action whose buildspec installs the
pinned CDK CLI and runs ``cdk -a . deploy <pipeline stack>`` on the Synth step's cloud
assembly, as the self-mutation project's role, which assumes the bootstrap's deploy role.
`make local` makes the same deployment in process (no CLI install per run), through the
same roles: the project's service role, assumed by CodeBuild, then the deploy role, then
the execution role handed to CloudFormation (with a local source standing in for one
cdk.json does not name: ``local_source.py``). A test runs both on one assembly and finds
the same stacks, bucket objects and pipeline definition
(tests/unit/local_pipeline/executor/test_stand_ins.py). Whether the pipeline changed, and
the run restarts, the runner tells from the deployed definition, as for the real build.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator import DeployError, Emulator
from emulator.identity import Credentials
from local_pipeline.executor.codebuild_action import Project
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from local_pipeline.executor.local_source import with_local_source
from project.assembly import AssemblyError, read_stacks


def is_self_mutation(project: Project, pipeline_stack: str) -> bool:
    """The project's buildspec deploys the pipeline stack with the CDK CLI."""
    return f"deploy {pipeline_stack}" in str(project.buildspec) and "cdk -a ." in str(project.buildspec)


@dataclass(frozen=True)
class SelfMutationAction:
    emulator: Emulator
    pipeline_stack_name: str

    def recognizes(self, project: Project) -> bool:
        return is_self_mutation(project, self.pipeline_stack_name)

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome:
        (assembly,) = [context.inputs[name] for name in context.action.input_artifacts]
        try:
            stacks = [s for s in read_stacks(assembly) if not s.stage and s.stack_name == self.pipeline_stack_name]
        except AssemblyError as error:
            return ActionOutcome("Failed", str(error))
        if len(stacks) != 1:
            return ActionOutcome("Failed", f"the cloud assembly holds no stack {self.pipeline_stack_name}")
        deployed, note = with_local_source(stacks[0], context.log.parent / "local-source")
        try:
            self.emulator.deploy(deployed, deployer=role)
        except DeployError as error:
            return ActionOutcome("Failed", str(error))
        said = f" ({note})" if note else ""
        return ActionOutcome("Succeeded", f"{self.pipeline_stack_name} deployed in process{said}")
