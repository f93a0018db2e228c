"""A run of the deployed pipeline, in the emulated accounts: for a pushed commit (`git push
local`), or for the working tree (`make local`).

The definition is the deployed pipeline's (``deployed.py``); each action goes to the
handler of its provider. Two CodeBuild actions are always done in process, for speed,
through the same roles as their buildspecs would use (README, "The executor"): the
self-mutation (``cdk -a . deploy <pipeline stack>``) and asset publishing (cdk-assets).
A caller may hand in more (``InProcessBuild``: `make local` does its Synth and its
integration tests so); every other CodeBuild action runs its buildspec on this machine.
When self-mutation changes the pipeline, the run starts again on the new definition, as
a new attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from emulator import Emulator
from emulator.identity import Credentials, assume_role_as_service
from local_pipeline.executor.approval_action import ApprovalAction, Decision
from local_pipeline.executor.asset_action import AssetPublishingAction
from local_pipeline.executor.cloudformation_action import CloudFormationAction
from local_pipeline.executor.codebuild_action import CodeBuildAction, Project
from local_pipeline.executor.deployed import DeployedPipeline, deployed_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, ActionRecord, Handler, PipelineRun, RunRecord
from local_pipeline.executor.self_mutation_action import SelfMutationAction
from local_pipeline.executor.sessions import PipelineSessions
from project.assembly import StackArtifact

# Restarts after self-mutation before the run gives up (a pipeline that changes itself on
# every run would otherwise never end).
MAX_ATTEMPTS = 3


def is_self_mutation(project: Project, pipeline_stack: str) -> bool:
    return f"deploy {pipeline_stack}" in str(project.buildspec) and "cdk -a ." in str(project.buildspec)


def is_asset_publishing(project: Project) -> bool:
    text = str(project.buildspec)
    return "cdk-assets" in text or (text.startswith("buildspec-") and text.endswith("-FileAsset.yaml"))


class InProcessBuild(Protocol):
    """A CodeBuild project's work done in process: what it recognizes, and doing it as
    the project's service role (``role``, assumed as CodeBuild assumes it)."""

    def recognizes(self, project: Project) -> bool: ...

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome: ...


@dataclass(frozen=True)
class CodeBuildDispatch:
    """The CodeBuild provider's handler: in process for self-mutation, assets and what the
    caller handed in, the buildspec on this machine for every other project."""

    projects: Callable[[str], Project]
    in_process_self_mutation: Handler
    in_process_assets: Handler
    in_process: Sequence[InProcessBuild]
    credentials: Callable[[str], Credentials]
    buildspec: Handler
    pipeline_stack: str

    def __call__(self, context: ActionContext) -> ActionOutcome:
        project = self.projects(str(context.configuration["ProjectName"]))
        if is_self_mutation(project, self.pipeline_stack):
            return self.in_process_self_mutation(context)
        if is_asset_publishing(project):
            return self.in_process_assets(context)
        for build in self.in_process:
            if build.recognizes(project):
                return build(context, project, self.credentials(project.service_role_arn))
        return self.buildspec(context)


@dataclass(frozen=True)
class PipelineRunner:
    emulator: Emulator
    pipeline_stack: StackArtifact
    endpoint: Callable[[], str]  # where builds reach the emulated accounts (asked for when a buildspec runs)
    machine_environment: Mapping[str, str]
    workspace: Path  # the builds' working directories, across runs
    decide: Callable[[str, str], Decision]
    on_action: Callable[[ActionRecord], None] | None = None
    in_process: Sequence[InProcessBuild] = field(default_factory=tuple)

    def _credentials(self, project_arn_prefix: str) -> Callable[[str], Credentials]:
        region = self.pipeline_stack.region

        def credentials(role_arn: str) -> Credentials:
            # CodeBuild assumes a project's service role on behalf of that project.
            return assume_role_as_service(role_arn, service="codebuild.amazonaws.com", source_arn=project_arn_prefix, region=region)

        return credentials

    def _handlers(self, deployed: DeployedPipeline, source: Handler) -> dict[str, Handler]:
        stack = self.pipeline_stack
        sessions = PipelineSessions(
            pipeline_arn=f"arn:aws:codepipeline:{stack.region}:{stack.account}:{deployed.pipeline.name}",
            pipeline_role_arn=deployed.role_arn,
            region=stack.region,
        )
        credentials = self._credentials(f"arn:aws:codebuild:{stack.region}:{stack.account}:project/*")
        said: set[str] = set()  # what the build machine could not honour, said once per run
        codebuild = CodeBuildDispatch(
            projects=deployed.projects,
            in_process_self_mutation=SelfMutationAction(
                self.emulator, stack.stack_name, deployed.projects, credentials, lambda: deployed_pipeline(self.emulator, stack).pipeline
            ),
            in_process_assets=AssetPublishingAction(self.emulator, deployed.projects, credentials),
            in_process=self.in_process,
            credentials=credentials,
            buildspec=lambda context: CodeBuildAction(
                projects=deployed.projects,
                credentials=credentials,
                machine_environment=self.machine_environment,
                endpoint=self.endpoint(),
                builds=self.workspace / "builds",
                region=stack.region,
                said=said,
            )(context),
            pipeline_stack=stack.stack_name,
        )
        return {
            "CodeStarSourceConnection": source,
            "CodeBuild": codebuild,
            "CloudFormation": CloudFormationAction(sessions.action_role, stack.region),
            "Manual": ApprovalAction(self.decide),
        }

    def run(self, source: Handler, commit: str, branch: str, run_id: str, directory: Path) -> RunRecord:
        """Run the deployed pipeline, its source action done by ``source`` (the pushed commit,
        or the working tree). When self-mutation changed the pipeline, the run starts again
        on the new definition: one record (``directory/run.json``) goes on through the
        attempts, each attempt's actions in a folder of its own (``attempt-<n>/`` from the
        second on)."""
        record = RunRecord(run_id, commit, branch)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            deployed = deployed_pipeline(self.emulator, self.pipeline_stack)
            folder = directory if attempt == 1 else directory / f"attempt-{attempt}"
            record = PipelineRun(
                deployed.pipeline,
                self._handlers(deployed, source),
                directory=folder,
                record=record,
                on_action=self.on_action,
                record_file=directory / "run.json",
            ).execute()
            if record.status != "Superseded":
                return record
            record.status = "InProgress"
            record.write(directory / "run.json")
        record.status, record.reason = "Failed", f"the pipeline changed itself {MAX_ATTEMPTS} times in a row: {record.reason}"
        record.write(directory / "run.json")
        return record
