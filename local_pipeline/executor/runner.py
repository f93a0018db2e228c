"""A run of the deployed pipeline, in the emulated accounts: for a pushed commit (`git push
local`), or for the working tree (`make local`).

The definition is the deployed pipeline's (``deployed.py``); each action goes to the
handler of its provider. Every CodeBuild action runs its project's buildspec on this
machine, as CodeBuild runs it (``codebuild_action.py``): the self-mutation runs the
pinned CDK CLI, asset publishing the pinned cdk-assets. A caller may hand in stand-ins
(``InProcessBuild``): `make local` does its Synth, self-mutation, assets and integration
tests in process, each shown by a test to give the real build's result.

When an action updated the deployed pipeline (the self-mutation does, whenever the
pipeline resource's properties changed), the pipeline's executions in progress are
cancelled, this one included (``executions.py``); the restart that
``RestartExecutionOnUpdate`` asks for is a new execution, started by whoever runs the
pipeline's executions (the push service, `make local`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from emulator import Emulator
from emulator.identity import Credentials, assume_role_as_service
from local_pipeline.executor.approval_action import ApprovalAction, Decision
from local_pipeline.executor.artifact_store import S3ArtifactStore
from local_pipeline.executor.cloudformation_action import CloudFormationAction
from local_pipeline.executor.codebuild_action import CodeBuildAction, NpmSource, Project
from local_pipeline.executor.definition import Action
from local_pipeline.executor.deployed import DeployedPipeline, deployed_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, ActionRecord, Handler, PipelineRun, RunRecord
from local_pipeline.executor.executions import MAX_RESTARTS, Execution, Executions
from local_pipeline.executor.local_source import local_source_in_assembly
from local_pipeline.executor.sessions import PipelineSessions
from project.assembly import StackArtifact


class InProcessBuild(Protocol):
    """A CodeBuild project's work done in process: what it recognizes, and doing it as
    the project's service role (``role``, assumed as CodeBuild assumes it)."""

    def recognizes(self, project: Project) -> bool: ...

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome: ...


@dataclass(frozen=True)
class CodeBuildDispatch:
    """The CodeBuild provider's handler: a stand-in the caller handed in, if one recognizes
    the project, else the buildspec on this machine."""

    projects: Callable[[str], Project]
    in_process: Sequence[InProcessBuild]
    credentials: Callable[[str], Credentials]
    buildspec: Handler

    def __call__(self, context: ActionContext) -> ActionOutcome:
        project = self.projects(str(context.configuration["ProjectName"]))
        for build in self.in_process:
            if build.recognizes(project):
                return build(context, project, self.credentials(project.service_role_arn))
        return self.buildspec(context)


@dataclass(frozen=True)
class UpdatesThePipeline:
    """A handler whose action may update the deployed pipeline (any change of the pipeline
    resource's properties): the outcome says so, and the engine cancels the pipeline's
    executions in progress (API reference, "PipelineExecution": Cancelled)."""

    handler: Handler
    declaration: Callable[[], str]

    def __call__(self, context: ActionContext) -> ActionOutcome:
        before = self.declaration()
        outcome = self.handler(context)
        if outcome.status == "Succeeded" and self.declaration() != before:
            summary = f"{outcome.summary}: the pipeline was updated"
            return ActionOutcome(outcome.status, summary, outcome.variables, restart=True)
        return outcome


@dataclass(frozen=True)
class PipelineRunner:
    emulator: Emulator
    pipeline_stack: StackArtifact
    endpoint: Callable[[], str]  # where builds reach the emulated accounts (asked for when a buildspec runs)
    host_path: str  # this machine's PATH: all a build gets of this machine's environment
    workspace: Path  # the builds' source directories and caches, across runs
    decide: Callable[[str, str], Decision]
    on_action: Callable[[ActionRecord], None] | None = None
    in_process: Sequence[InProcessBuild] = field(default_factory=tuple)
    npm: Callable[[], NpmSource] | None = None  # the registry builds install from (asked for when a buildspec runs)

    def _credentials(self, project_arn_prefix: str) -> Callable[[str], Credentials]:
        region = self.pipeline_stack.region

        def credentials(role_arn: str) -> Credentials:
            # CodeBuild assumes a project's service role on behalf of that project.
            return assume_role_as_service(role_arn, service="codebuild.amazonaws.com", source_arn=project_arn_prefix, region=region)

        return credentials

    def _sessions(self, deployed: DeployedPipeline) -> PipelineSessions:
        stack = self.pipeline_stack
        return PipelineSessions(
            pipeline_arn=f"arn:aws:codepipeline:{stack.region}:{stack.account}:{deployed.pipeline.name}",
            pipeline_role_arn=deployed.role_arn,
            region=stack.region,
        )

    def _artifact_store(self, deployed: DeployedPipeline) -> S3ArtifactStore:
        """The pipeline's artifact bucket, each artifact written and read as the role that
        does it on AWS (``artifact_store.py``)."""
        stack = self.pipeline_stack
        sessions = self._sessions(deployed)
        credentials = self._credentials(f"arn:aws:codebuild:{stack.region}:{stack.account}:project/*")

        def credentials_of(action: Action) -> tuple[Credentials, str]:
            if action.type.provider == "CodeBuild":
                role = deployed.projects(str(action.configuration["ProjectName"])).service_role_arn
                return credentials(role), role
            if action.role_arn:
                return sessions.action_role(action.role_arn, action.region or stack.region), action.role_arn
            return sessions.pipeline_role(), deployed.role_arn

        return S3ArtifactStore(deployed.pipeline.name, deployed.artifact_bucket, deployed.artifact_key, stack.region, credentials_of)

    def _handlers(self, deployed: DeployedPipeline, source: Handler) -> dict[str, Handler]:
        stack = self.pipeline_stack
        sessions = self._sessions(deployed)
        credentials = self._credentials(f"arn:aws:codebuild:{stack.region}:{stack.account}:project/*")
        said: set[str] = set()  # what the build machine could not honour, said once per run

        def buildspec(context: ActionContext) -> ActionOutcome:
            return CodeBuildAction(
                projects=deployed.projects,
                credentials=credentials,
                host_path=self.host_path,
                endpoint=self.endpoint(),
                builds=self.workspace / "builds",
                region=stack.region,
                pipeline_name=deployed.pipeline.name,
                npm=self.npm() if self.npm else None,
                prepare_source=lambda _, source: local_source_in_assembly(source, stack.stack_name),
                said=said,
            )(context)

        codebuild = UpdatesThePipeline(
            CodeBuildDispatch(projects=deployed.projects, in_process=self.in_process, credentials=credentials, buildspec=buildspec),
            declaration=lambda: deployed_pipeline(self.emulator, stack).declaration,
        )
        return {
            "CodeStarSourceConnection": source,
            "CodeBuild": codebuild,
            "CloudFormation": CloudFormationAction(sessions.action_role, stack.region),
            "Manual": ApprovalAction(self.decide),
        }

    def run(
        self,
        source: Handler,
        commit: str,
        branch: str,
        run_id: str,
        directory: Path,
        *,
        executions: Executions | None = None,
        execution: Execution | None = None,
        trigger: str = "",
    ) -> RunRecord:
        """One execution of the deployed pipeline, its source action done by ``source`` (the
        pushed commit, or the working tree), recorded in ``directory/run.json``; among
        ``executions`` (the pipeline's others), or on its own."""
        deployed = deployed_pipeline(self.emulator, self.pipeline_stack)
        return PipelineRun(
            deployed.pipeline,
            self._handlers(deployed, source),
            directory=directory,
            record=RunRecord(run_id, commit, branch, trigger=trigger),
            on_action=self.on_action,
            artifact_store=self._artifact_store(deployed) if deployed.artifact_bucket else None,
            executions=executions,
            execution=execution,
        ).execute()

    def run_restarting(
        self,
        source: Handler,
        commit: str,
        branch: str,
        run_id: str,
        directory: Path,
        *,
        new_run: Callable[[RunRecord, Path], tuple[str, Path]],
        trigger: str = "",
    ) -> RunRecord:
        """Executions one after another, as `make local` has them: the first; then, each time
        one updated the pipeline and the pipeline restarts on update
        (``RestartExecutionOnUpdate``), a new one of the same source, in the run
        ``new_run(cancelled record, its folder)`` gives (it records the restart); at most
        ``MAX_RESTARTS`` restarts. The last one's record."""
        record = self.run(source, commit, branch, run_id, directory, trigger=trigger)
        for _ in range(MAX_RESTARTS):
            restarts = deployed_pipeline(self.emulator, self.pipeline_stack).pipeline.restart_on_update
            if not (record.updated_pipeline and record.status == "Cancelled" and restarts):
                break
            trigger = f"the pipeline's update by run {record.id} ({record.updated_pipeline})"
            run_id, directory = new_run(record, directory)
            record = self.run(source, commit, branch, run_id, directory, trigger=trigger)
        return record
