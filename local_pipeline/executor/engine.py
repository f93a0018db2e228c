"""A run of a pipeline definition: its stages in order, each stage's actions by run order,
artifacts handed from action to action, variables from namespaces, a record of it all.

What each action does is its handler's business (``handlers``, keyed by the action type's
provider); the engine only runs them in CodePipeline's order (user guide, "How pipeline
executions work"): a stage starts when the one before it succeeded; within a stage,
actions with a lower ``RunOrder`` finish first; an action that fails fails its stage and
the run, and nothing after it runs. Actions that share a run order run one after the
other here, where CodePipeline runs them side by side (their order then follows the
definition: an emulator's choice).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from local_pipeline.executor.definition import Action, DefinitionError, Pipeline, resolve_variables
from local_pipeline.report_page import write_pages

ActionStatus = Literal["InProgress", "Succeeded", "Failed", "Stopped", "Skipped"]
RunStatus = Literal["InProgress", "Succeeded", "Failed", "Stopped", "Superseded"]


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


@dataclass(frozen=True)
class ActionOutcome:
    status: ActionStatus
    summary: str = ""  # one line: what it did, or why it failed
    variables: Mapping[str, str] = field(default_factory=dict)  # exported under the action's namespace
    restart: bool = False  # the pipeline's definition changed: the run starts again on the new one


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
    ) -> None:
        self.pipeline = pipeline
        self.handlers = handlers
        self.directory = directory
        self.record = record
        # Where run.json goes: the directory's, unless the run is one attempt of several.
        self.record_file = record_file or directory / "run.json"
        self.variables: dict[str, dict[str, str]] = {"variables": dict(pipeline.variables)}
        for namespace, values in (variables or {}).items():
            self.variables.setdefault(namespace, {}).update(values)
        self.on_action = on_action or (lambda _: None)
        self.artifacts: dict[str, Path] = {}
        self.artifact_store = artifact_store
        self.locations: dict[str, str] = {}  # an output artifact's location in the store

    def execute(self) -> RunRecord:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for stage in self.pipeline.stages:
                for group in stage.action_groups():
                    for action in group:
                        outcome = self._run(action)
                        why = f"{action.stage}/{action.name}: {outcome.summary}"
                        if outcome.status != "Succeeded":
                            return self._end("Stopped" if outcome.status == "Stopped" else "Failed", why)
                        if outcome.restart:
                            return self._end("Superseded", why)
            return self._end("Succeeded", "")
        finally:
            self.record.write(self.record_file)

    def _end(self, status: RunStatus, reason: str) -> RunRecord:
        self.record.status, self.record.reason = status, reason
        return self.record

    def _run(self, action: Action) -> ActionOutcome:
        folder = self._folder(action).relative_to(self.record_file.parent).as_posix()
        entry = ActionRecord(action.stage, action.name, "InProgress", category=action.type.category, folder=folder)
        self.record.actions.append(entry)
        self.record.write(self.record_file)
        started = time.perf_counter()
        outcome = self._outcome(action)
        entry.status, entry.seconds, entry.summary, entry.ended_at = (
            outcome.status,
            time.perf_counter() - started,
            outcome.summary.splitlines()[0] if outcome.summary else "",
            utc_now(),
        )
        if action.namespace:
            self.variables.setdefault(action.namespace, {}).update(outcome.variables)
        self.on_action(entry)
        return outcome

    def _folder(self, action: Action) -> Path:
        return self.directory / "actions" / f"{action.stage}.{action.name}"

    def _outcome(self, action: Action) -> ActionOutcome:
        handler = self.handlers.get(action.type.provider)
        if handler is None:
            return ActionOutcome("Failed", f"action type {action.type} is not supported by the local executor")
        try:
            configuration = resolve_variables(dict(action.configuration), self.variables)
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
            variables=self.variables,
        )
        try:
            outcome = handler(context)
        except Exception as error:  # noqa: BLE001  (a handler's crash fails its action, named, not the executor)
            outcome = ActionOutcome("Failed", f"{type(error).__name__}: {error}")
        if outcome.status == "Succeeded":
            self.artifacts.update(outputs)
            if self.artifact_store is not None:
                try:
                    for name, path in outputs.items():
                        self.locations[name] = self.artifact_store.put(action, name, path)
                except ArtifactError as error:
                    return ActionOutcome("Failed", str(error))
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
