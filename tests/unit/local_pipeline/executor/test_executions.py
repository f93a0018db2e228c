"""The pipeline's executions coordinated as CodePipeline does: stage locks, superseded and
queued executions, disabled transitions, cancellation by an update (CodePipeline user
guide, "How pipeline executions work"; API reference, "PipelineExecution")."""

from __future__ import annotations

import threading
import time

import pytest

from local_pipeline.executor.executions import Execution, ExecutionEnded, Executions


class _Entering:
    """``execution`` entering ``stage`` in a thread of its own: what came of it."""

    def __init__(self, executions: Executions, execution: Execution, stage: str, *, mode: str = "SUPERSEDED", disabled=None) -> None:
        self.result: str | None = None
        self.thread = threading.Thread(target=self._enter, args=(executions, execution, stage, mode, disabled or {}), daemon=True)
        self.thread.start()

    def _enter(self, executions, execution, stage, mode, disabled) -> None:
        try:
            executions.enter(execution, stage, mode=mode, disabled=disabled)
            self.result = "entered"
        except ExecutionEnded as ended:
            self.result = f"{ended.status}: {ended.reason}"

    def wait(self, seconds: float = 5) -> str | None:
        self.thread.join(seconds)
        return self.result


def _settle() -> None:
    time.sleep(0.1)  # long enough for a thread that could go on to have done so


def test_a_stage_runs_one_execution_and_the_next_waits_for_it_to_leave():
    """Rule 1, "Stages are locked when an execution is being processed", and Rule 2,
    "Subsequent executions wait for the stage to be unlocked"."""
    executions = Executions()
    a, b = executions.start("1"), executions.start("2")
    executions.enter(a, "Build", mode="SUPERSEDED", disabled={})
    b_enters = _Entering(executions, b, "Build")
    _settle()
    assert b_enters.result is None and executions.waiting_at_transitions() == {"2": "Build"}
    executions.enter(a, "Deploy", mode="SUPERSEDED", disabled={})  # A leaves Build for Deploy
    assert b_enters.wait() == "entered"


def test_of_the_executions_waiting_for_a_stage_the_most_recent_goes_on_and_the_others_are_superseded():
    """Rule 3, "Waiting executions are superseded by more recent executions"; API
    reference, "PipelineExecution": Superseded. Only between stages: A, inside the stage,
    is never superseded."""
    executions = Executions()
    a, b, c = executions.start("1"), executions.start("2"), executions.start("3")
    executions.enter(a, "Deploy", mode="SUPERSEDED", disabled={})
    b_enters = _Entering(executions, b, "Deploy")
    _settle()
    c_enters = _Entering(executions, c, "Deploy")
    assert b_enters.wait() == "Superseded: while it waited to enter Deploy, run 3, more recent, went on instead"
    assert c_enters.result is None and a.ended is None
    executions.finish(a)
    assert c_enters.wait() == "entered"


def test_in_queued_mode_waiting_executions_go_in_one_by_one_in_their_order():
    """ "QUEUED mode: Executions are processed one by one in the order that they are queued"
    (user guide, "How pipeline executions work"): none is superseded."""
    executions = Executions()
    a, b, c = executions.start("1"), executions.start("2"), executions.start("3")
    executions.enter(a, "Deploy", mode="QUEUED", disabled={})
    b_enters = _Entering(executions, b, "Deploy", mode="QUEUED")
    _settle()
    c_enters = _Entering(executions, c, "Deploy", mode="QUEUED")
    _settle()
    executions.finish(a)
    assert b_enters.wait() == "entered"
    _settle()
    assert c_enters.result is None
    executions.finish(b)
    assert c_enters.wait() == "entered"


def test_in_parallel_mode_executions_do_not_wait_for_each_other():
    """ "PARALLEL mode: executions run simultaneously and independently of one another"."""
    executions = Executions()
    a, b = executions.start("1"), executions.start("2")
    executions.enter(a, "Deploy", mode="PARALLEL", disabled={})
    assert _Entering(executions, b, "Deploy", mode="PARALLEL").wait() == "entered"


def test_a_disabled_transition_holds_executions_until_enabled_and_the_most_recent_goes_on():
    """User guide, "CodePipeline concepts" (Transitions): "When multiple executions arrive
    at a disabled transition, only the latest execution continues to the next stage when
    the transition is enabled." The transition is disabled by the definition
    (DisableInboundTransitions) and enabled by EnableStageTransition."""
    executions = Executions()
    a, b = executions.start("1"), executions.start("2")
    disabled = {"Prod": "freeze"}
    a_enters = _Entering(executions, a, "Prod", disabled=disabled)
    _settle()
    assert a_enters.result is None  # the stage is free: the transition holds it
    b_enters = _Entering(executions, b, "Prod", disabled=disabled)
    assert a_enters.wait() == "Superseded: while it waited to enter Prod, run 2, more recent, went on instead"
    assert executions.set_transition("Prod", enabled=True) == ["2"]
    assert b_enters.wait() == "entered"


def test_an_update_cancels_every_execution_in_progress_the_updating_one_included():
    """API reference, "PipelineExecution": "Cancelled: The pipeline's definition was updated
    before the pipeline execution could be completed." One waiting between stages ends at
    once; one inside a stage has it set, for its run to end when its action does."""
    executions = Executions()
    a, b, c = executions.start("1"), executions.start("2"), executions.start("3")
    executions.enter(a, "Deploy", mode="SUPERSEDED", disabled={})
    executions.enter(b, "UpdatePipeline", mode="SUPERSEDED", disabled={})
    c_enters = _Entering(executions, c, "Deploy")
    _settle()
    executions.pipeline_updated(b, "UpdatePipeline/SelfMutate")
    assert c_enters.wait() == (
        "Cancelled: the pipeline's definition was updated by run 2's UpdatePipeline/SelfMutate before this run could complete"
    )
    assert a.ended is not None and a.ended.status == "Cancelled"
    assert b.ended is not None and "by this run's UpdatePipeline/SelfMutate" in b.ended.reason
    later = executions.start("4")  # started after the update: not cancelled
    executions.enter(later, "Source", mode="SUPERSEDED", disabled={})
    with pytest.raises(ExecutionEnded, match="Cancelled|updated"):
        executions.enter(a, "Next", mode="SUPERSEDED", disabled={})


def test_executions_keep_the_order_they_started_in_whatever_order_they_reach_a_stage():
    """ "QUEUED mode: Executions are processed one by one in the order that they are queued"
    and, in SUPERSEDED mode, "The pipeline processes each execution in order and might
    supersede an earlier execution with a later one" ("How pipeline executions work"): an
    older execution whose thread reaches a stage after a newer one entered it is
    superseded there (SUPERSEDED), or waits its turn before the newer ones (QUEUED)."""
    executions = Executions()
    older, newer = executions.start("1"), executions.start("2")
    executions.enter(newer, "Source", mode="SUPERSEDED", disabled={})
    assert (
        _Entering(executions, older, "Source").wait() == "Superseded: while it waited to enter Source, run 2, more recent, went on instead"
    )

    queued = Executions()
    first, second, third = queued.start("1"), queued.start("2"), queued.start("3")
    queued.enter(third, "Deploy", mode="QUEUED", disabled={})
    second_enters = _Entering(queued, second, "Deploy", mode="QUEUED")
    _settle()
    first_enters = _Entering(queued, first, "Deploy", mode="QUEUED")
    _settle()
    queued.finish(third)
    assert first_enters.wait() == "entered"
    assert second_enters.result is None, "the older one goes first"


def test_a_disabled_transition_holds_parallel_executions_too():
    """PARALLEL executions take no stage lock, but a disabled transition holds them: the
    guide makes no exception for PARALLEL mode (a guess)."""
    executions = Executions()
    a = executions.start("1")
    held = _Entering(executions, a, "Prod", mode="PARALLEL", disabled={"Prod": "freeze"})
    _settle()
    assert held.result is None
    executions.set_transition("Prod", enabled=True)
    assert held.wait() == "entered"
