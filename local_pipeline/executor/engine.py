"""A run of a pipeline definition: its stages in order, each stage's actions by run order,
artifacts handed from action to action, variables from namespaces, a record of it all.

What each action does is its handler's business (``handlers``, keyed by the action type's
provider); the engine only runs them in CodePipeline's order (user guide, "How pipeline
executions work"): a stage starts when the one before it succeeded, and when the stage's
lock lets the execution in (``executions.py``); within a stage, actions with a lower
``RunOrder`` finish first, and actions that share a run order run side by side (API
reference, "ActionDeclaration": runOrder). An action that fails fails its stage once its
siblings have ended, each recorded, and nothing after it runs.

Variables (user guide, "Variables reference"): ``#{codepipeline.PipelineExecutionId}`` is
the execution's id; an action sees the variables of the actions of earlier stages and
earlier run orders only ("a variable can be referenced by an action that runs after the
action that produces it"), never a sibling's of its own run order.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from local_pipeline.executor.definition import Action, DefinitionError, Pipeline, resolve_variables
from local_pipeline.executor.executions import Execution, ExecutionEnded, Executions
from local_pipeline.report_page import write_pages

# An action abandoned: its execution was cancelled while it waited (API reference, "ActionExecution": status).
ActionStatus = Literal["InProgress", "Succeeded", "Failed", "Stopped", "Skipped", "Abandoned"]
RunStatus = Literal["InProgress", "Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"]


@dataclass(frozen=True)
class ActionContext:
    """What a handler gets: the action, its configuration with ``#{...}`` resolved, its
    input artifacts (directories to read), its output artifacts (empty directories to
    fill) and a log file of its own."""

    action: Action
    configuration: Mapping[str, Any]
    inputs: Mapping[str, Path]
    outputs: Mapping[str, Path]
    log: Path
    variables: Mapping[str, Mapping[str, str]]
    execution: Execution | None = None  # the execution it is part of (an approval ends early when it is cancelled)
    pipeline_name: str = ""  # the pipeline's (an approval is looked up by it: GetPipelineState, PutApprovalResult)


@dataclass(frozen=True)
class ActionOutcome:
    status: ActionStatus
    summary: str = ""  # one line: what it did, or why it failed
    variables: Mapping[str, str] = field(default_factory=dict)  # exported under the action's namespace
    restart: bool = False  # it updated the pipeline: the pipeline's executions are cancelled


Handler = Callable[[ActionContext], ActionOutcome]


class ArtifactError(Exception):
    """An artifact could not be stored or read back; says which and why (a denial names the
    action and the role)."""


class ArtifactStore(Protocol):
    """Where output artifacts go and input artifacts come from (``artifact_store.py``: the
    pipeline's artifact bucket). Without one, artifacts are handed on as folders."""

    def put(self, action: Action, artifact: str, folder: Path) -> str:
        """Store ``folder`` as ``action``'s output ``artifact``; its location."""
        ...

    def get(self, action: Action, artifact: str, location: str, into: Path) -> None:
        """Read ``artifact`` (at ``location``) back into ``into``, as ``action`` reads it."""
        ...


@dataclass
class ActionRecord:
    stage: str
    action: str
    status: ActionStatus
    seconds: float = 0.0
    summary: str = ""
    category: str = ""  # the action type's (Source, Build, Deploy, Approval, ...); none for a preparation step
    ended_at: str = ""  # when it ended, UTC, ISO 8601 (an approval: when it was decided)
    folder: str = ""  # its folder (log, reports, artifacts), relative to the run's record; none for a preparation step


def utc_now() -> str:
    """Now, UTC, to the second, ISO 8601: when a run started or an action ended."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class RunRecord:
    """``run.json``: the run as the user sees it."""

    id: str
    commit: str
    branch: str
    status: RunStatus = "InProgress"
    actions: list[ActionRecord] = field(default_factory=list)
    reason: str = ""
    started_at: str = field(default_factory=utc_now)
    execution_id: str = ""  # its PipelineExecutionId
    trigger: str = ""  # what started it: a push, or the pipeline's update by another run
    updated_pipeline: str = ""  # the action of this run that updated the pipeline, if one did
    restarted_as: str = ""  # the run the update started (RestartExecutionOnUpdate), if any

    def write(self, path: Path) -> None:
        """Replace ``path`` whole: the service reads it while the run writes it, and a
        truncated file read halfway broke `git push`'s follow of the run."""
        replace_json(path, asdict(self))
        try:
            # The run's page follows its record, as the console follows a run. The index reads
            # every run's record: rewritten only when this run starts and when it ends.
            write_pages(path.parent, index=len(self.actions) <= 1 or self.status != "InProgress")
        except Exception as error:  # noqa: BLE001  (the page is a view of the run: it never stops it)
            print(f"run {self.id}: its page was not written: {type(error).__name__}: {error}", file=sys.stderr)


def replace_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` whole, never seen half written by a reader."""
    written = path.with_name(f".{path.name}.writing")
    written.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(written, path)


class PipelineRun:
    def __init__(
        self,
        pipeline: Pipeline,
        handlers: Mapping[str, Handler],
        *,
        directory: Path,
        record: RunRecord,
        variables: Mapping[str, Mapping[str, str]] | None = None,
        on_action: Callable[[ActionRecord], None] | None = None,
        record_file: Path | None = None,
        artifact_store: ArtifactStore | None = None,
        executions: Executions | None = None,
        execution: Execution | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.handlers = handlers
        self.directory = directory
        self.record = record
        # Where run.json goes: the directory's, unless told otherwise.
        self.record_file = record_file or directory / "run.json"
        # The pipeline's other executions; a run on its own has none to wait for.
        self.executions = executions or Executions()
        self.execution = execution or self.executions.start(record.id)
        self.record.execution_id = self.execution.execution_id
        self.variables: dict[str, dict[str, str]] = {
            "variables": dict(pipeline.variables),
            "codepipeline": {"PipelineExecutionId": self.execution.execution_id},
        }
        for namespace, values in (variables or {}).items():
            self.variables.setdefault(namespace, {}).update(values)
        self.on_action = on_action or (lambda _: None)
        self.artifacts: dict[str, Path] = {}
        self.artifact_store = artifact_store
        self.locations: dict[str, str] = {}  # an output artifact's location in the store
        self._recording = threading.Lock()  # actions side by side write one record

    def execute(self) -> RunRecord:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for stage in self.pipeline.stages:
                self.executions.enter(
                    self.execution, stage.name, mode=self.pipeline.execution_mode, disabled=self.pipeline.disabled_transitions
                )
                for group in stage.action_groups():
                    outcomes = self._run_side_by_side(group)
                    self._check_ended()
                    for action, outcome in zip(group, outcomes, strict=True):
                        if outcome.status != "Succeeded":
                            why = f"{action.stage}/{action.name}: {outcome.summary}"
                            return self._end("Stopped" if outcome.status == "Stopped" else "Failed", why)
            return self._end("Succeeded", "")
        except ExecutionEnded as ended:
            return self._end(ended.status, ended.reason)
        finally:
            self.executions.finish(self.execution)
            with self._recording:
                self.record.write(self.record_file)

    def _check_ended(self) -> None:
        if self.execution.ended is not None:
            raise self.execution.ended

    def _end(self, status: RunStatus, reason: str) -> RunRecord:
        self.record.status, self.record.reason = status, reason
        return self.record

    def _run_side_by_side(self, group: tuple[Action, ...]) -> list[ActionOutcome]:
        """The actions of one run order, side by side, each seeing the variables as they were
        when the group started; their variables are seen from the next run order on."""
        seen = {namespace: dict(values) for namespace, values in self.variables.items()}
        if len(group) == 1:
            outcomes = [self._run(group[0], seen)]
        else:
            outcomes = [ActionOutcome("Failed", "did not run")] * len(group)

            def run(index: int) -> None:
                outcomes[index] = self._run(group[index], seen)

            threads = [threading.Thread(target=run, args=(i,), name=f"{a.stage}.{a.name}") for i, a in enumerate(group)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        for action, outcome in zip(group, outcomes, strict=True):
            if action.namespace:
                self.variables.setdefault(action.namespace, {}).update(outcome.variables)
            if outcome.status == "Succeeded" and outcome.restart:
                self.record.updated_pipeline = f"{action.stage}/{action.name}"
                self.executions.pipeline_updated(self.execution, self.record.updated_pipeline)
        return outcomes

    def _run(self, action: Action, seen: Mapping[str, Mapping[str, str]]) -> ActionOutcome:
        folder = self._folder(action).relative_to(self.record_file.parent).as_posix()
        entry = ActionRecord(action.stage, action.name, "InProgress", category=action.type.category, folder=folder)
        with self._recording:
            self.record.actions.append(entry)
            self.record.write(self.record_file)
        started = time.perf_counter()
        outcome = self._outcome(action, seen)
        with self._recording:
            entry.status, entry.seconds, entry.summary, entry.ended_at = (
                outcome.status,
                time.perf_counter() - started,
                outcome.summary.splitlines()[0] if outcome.summary else "",
                utc_now(),
            )
            # Written as each action ends: a run may wait between stages for a while after it.
            self.record.write(self.record_file)
        self.on_action(entry)
        return outcome

    def _folder(self, action: Action) -> Path:
        return self.directory / "actions" / f"{action.stage}.{action.name}"

    def _outcome(self, action: Action, seen: Mapping[str, Mapping[str, str]]) -> ActionOutcome:
        handler = self.handlers.get(action.type.provider)
        if handler is None:
            return ActionOutcome("Failed", f"action type {action.type} is not supported by the local executor")
        try:
            configuration = resolve_variables(dict(action.configuration), seen)
        except DefinitionError as error:
            return ActionOutcome("Failed", str(error))
        folder = self._folder(action)
        outputs = {name: folder / "out" / name for name in action.output_artifacts}
        for path in outputs.values():
            path.mkdir(parents=True, exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            inputs = self._inputs(action, folder)
        except ArtifactError as error:
            return ActionOutcome("Failed", str(error))
        context = ActionContext(
            action=action,
            configuration=configuration,
            inputs=inputs,
            outputs=outputs,
            log=folder / "log.txt",
            variables=seen,
            execution=self.execution,
            pipeline_name=self.pipeline.name,
        )
        try:
            outcome = handler(context)
        except Exception as error:  # noqa: BLE001  (a handler's crash fails its action, named, not the executor)
            outcome = ActionOutcome("Failed", f"{type(error).__name__}: {error}")
        if outcome.status == "Succeeded":
            if self.artifact_store is not None:
                try:
                    locations = {name: self.artifact_store.put(action, name, path) for name, path in outputs.items()}
                except ArtifactError as error:
                    return ActionOutcome("Failed", str(error))
                with self._recording:
                    self.locations.update(locations)
            with self._recording:
                self.artifacts.update(outputs)
        return outcome

    def _inputs(self, action: Action, folder: Path) -> dict[str, Path]:
        """The action's input artifacts: the producers' folders, or, with a store, each read
        back from it as this action reads it."""
        if self.artifact_store is None:
            return {name: self.artifacts[name] for name in action.input_artifacts}
        inputs = {}
        for name in action.input_artifacts:
            into = folder / "in" / name
            self.artifact_store.get(action, name, self.locations[name], into)
            inputs[name] = into
        return inputs
