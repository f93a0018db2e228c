"""The executions of one pipeline, as CodePipeline coordinates them: stage locks, superseded
and queued executions, disabled transitions, executions cancelled by an update.

CodePipeline user guide, "How pipeline executions work", for a pipeline in SUPERSEDED mode
(the default; API reference, "PipelineDeclaration": executionMode):

- Rule 1: a stage is locked while an execution is being processed in it; a stage with a
  manual approval stays locked until the approval is decided (its action is in progress);
- Rule 2: a later execution waits for the stage to be unlocked, between the stages;
- Rule 3: waiting executions are superseded by more recent executions: of the executions
  waiting to enter a stage, only the most recent one goes on, the others end
  ``Superseded`` ("While this pipeline execution was waiting for the next stage to be
  completed, a newer pipeline execution advanced and continued through the pipeline
  instead": API reference, "PipelineExecution"). Superseding happens only between stages,
  never to an execution inside one.

In QUEUED mode the waiting executions enter a stage one by one in the order they arrived;
in PARALLEL mode they neither lock stages nor wait ("executions run simultaneously and
independently of one another").

A disabled inbound transition ("DisableInboundStageTransitions"; user guide, "Concepts":
transitions) holds executions before its stage, the most recent superseding the others,
until it is enabled.

"Cancelled: The pipeline's definition was updated before the pipeline execution could be
completed" (API reference, "PipelineExecution"): when an action updates the pipeline (CDK
Pipelines' self-mutation does), every execution in progress ends ``Cancelled``, the one
that made the update included, each when what it runs now ends (an approval it waits at is
abandoned at once). Whether an update lets an action already running finish is not said in
the guides: that it does here is the emulator's guess; so is that PARALLEL executions are
cancelled too ("independently of one another" is all the guide says of them).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

EndedStatus = Literal["Superseded", "Cancelled", "Failed"]

# Restarts in a row after an update before no more are started: a pipeline that updates
# itself in every execution would otherwise never end here (on AWS it would go on).
MAX_RESTARTS = 3


class ExecutionEnded(Exception):
    """The execution ends before entering a stage: ``status`` (Superseded, Cancelled,
    Failed) and why."""

    def __init__(self, status: EndedStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(eq=False)
class Execution:
    """One execution: the run that shows it (``run_id``), its ``PipelineExecutionId`` (a UUID,
    as the API reference's pattern has it), and whatever ends it early."""

    run_id: str
    sequence: int  # when it started, among this pipeline's executions: more recent is higher
    execution_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ended: ExecutionEnded | None = None
    stage: str | None = None  # the stage it holds, if any
    waiting_for: str | None = None  # the stage it waits to enter, if any


class Executions:
    """The executions of one pipeline (one per service; `make local` has its own)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._owners: dict[str, Execution] = {}  # stage -> the execution that holds its lock
        self._arrivals: dict[str, list[Execution]] = {}  # stage -> who waits to enter it, in arrival order
        self._enabled: dict[str, bool] = {}  # transitions enabled or disabled since the definition said
        self._entered: dict[str, Execution] = {}  # stage -> the most recent execution that entered it
        self._active: list[Execution] = []
        self._sequence = itertools.count(1)

    def start(self, run_id: str) -> Execution:
        with self._changed:
            execution = Execution(run_id, next(self._sequence))
            self._active.append(execution)
            return execution

    def finish(self, execution: Execution) -> None:
        """The execution ended, however: its stage is unlocked."""
        with self._changed:
            self._release(execution)
            for waiting in self._arrivals.values():
                if execution in waiting:
                    waiting.remove(execution)
            if execution in self._active:
                self._active.remove(execution)
            self._changed.notify_all()

    # --- stages ----------------------------------------------------------------------

    def enter(self, execution: Execution, stage: str, *, mode: str, disabled: Mapping[str, str]) -> None:
        """Wait until ``execution`` may run ``stage`` (it then holds its lock), leaving the
        stage it held; raises ``ExecutionEnded`` if it is superseded or cancelled meanwhile.
        Executions are ordered by when they started, whatever order their threads reach a
        stage in: in QUEUED mode the oldest waiting goes first, in SUPERSEDED mode one older
        than an execution that already entered the stage is superseded."""
        with self._changed:
            self._release(execution)
            self._check(execution)
            waiting = self._arrivals.setdefault(stage, [])
            waiting.append(execution)
            execution.waiting_for = stage
            try:
                while True:
                    if mode == "SUPERSEDED":
                        self._supersede(waiting, stage)
                    self._check(execution)
                    if mode == "PARALLEL":
                        # No lock, no superseding; a disabled transition holds it all the same
                        # (the guide makes no exception for PARALLEL: a guess).
                        if self._transition_enabled(stage, disabled):
                            execution.stage = stage
                            return
                    else:
                        first = min(waiting, key=lambda e: e.sequence) if mode == "QUEUED" else execution
                        if first is execution and stage not in self._owners and self._transition_enabled(stage, disabled):
                            self._owners[stage] = execution
                            if stage not in self._entered or self._entered[stage].sequence < execution.sequence:
                                self._entered[stage] = execution
                            execution.stage = stage
                            return
                    self._changed.wait()
            finally:
                execution.waiting_for = None
                if execution in waiting:
                    waiting.remove(execution)

    def _supersede(self, waiting: list[Execution], stage: str) -> None:
        newest = max(waiting, key=lambda execution: execution.sequence)
        entered = self._entered.get(stage)  # the most recent execution that entered the stage
        for execution in waiting:
            if execution.ended is not None:
                continue
            went_on = newest if execution is not newest else entered if entered and entered.sequence > execution.sequence else None
            if went_on is not None:
                execution.ended = ExecutionEnded(
                    "Superseded", f"while it waited to enter {stage}, run {went_on.run_id}, more recent, went on instead"
                )
                self._changed.notify_all()

    def _transition_enabled(self, stage: str, disabled: Mapping[str, str]) -> bool:
        return self._enabled.get(stage, stage not in disabled)

    def _release(self, execution: Execution) -> None:
        if execution.stage is not None and self._owners.get(execution.stage) is execution:
            del self._owners[execution.stage]
            self._changed.notify_all()
        execution.stage = None

    def _check(self, execution: Execution) -> None:
        if execution.ended is not None:
            raise execution.ended

    # --- what ends executions ----------------------------------------------------------

    def pipeline_updated(self, by: Execution | None, where: str) -> None:
        """``by``'s action ``where`` (or, without ``by``, ``where`` itself: a deployment by
        hand) updated the pipeline: every execution in progress is cancelled (each ends when
        what it runs now ends)."""
        with self._changed:
            for execution in self._active:
                if execution.ended is None:
                    why = "" if by is None else "this run's " if execution is by else f"run {by.run_id}'s "
                    execution.ended = ExecutionEnded(
                        "Cancelled", f"the pipeline's definition was updated by {why}{where} before this run could complete"
                    )
            self._changed.notify_all()

    def end_all(self, reason: str) -> None:
        """Every execution in progress ends ``Failed`` with ``reason`` (the service stops)."""
        with self._changed:
            for execution in self._active:
                if execution.ended is None:
                    execution.ended = ExecutionEnded("Failed", reason)
            self._changed.notify_all()

    def set_transition(self, stage: str, *, enabled: bool) -> list[str]:
        """Enable or disable the inbound transition of ``stage`` (EnableStageTransition,
        DisableStageTransition); the runs that wait for it."""
        with self._changed:
            self._enabled[stage] = enabled
            self._changed.notify_all()
            return [execution.run_id for execution in self._arrivals.get(stage, [])]

    def waits(self, execution: Execution) -> tuple[str, str | None] | None:
        """(the stage ``execution`` waits to enter, the run that holds it) if it waits between
        stages (read under the lock: an execution that finds its stage free never shows waiting)."""
        with self._changed:
            stage = execution.waiting_for
            if stage is None:
                return None
            owner = self._owners.get(stage)
            return stage, owner.run_id if owner else None

    def waiting_at_transitions(self) -> dict[str, str]:
        """run id -> the stage it waits to enter."""
        with self._changed:
            return {e.run_id: e.waiting_for for e in self._active if e.waiting_for is not None}
