"""The runs of the pipeline for pushes, one at a time, as the service behind `git push local` keeps them.

A push of a ref the pipeline's trigger selects starts a run in the background; any other
push is ignored, and the answer says why. A run waiting at a manual approval holds there
until ``decide`` approves or rejects it; the pusher, ``make approve`` and ``make reject``
follow a run with ``follow`` to its end or to its next approval. Every run is recorded
under ``runs/<id>/`` (``run.json``, a log per action), ``runs/latest`` pointing at the newest;
ids go on from the highest recorded, so no run's record is overwritten.

CodePipeline runs one execution of a stage at a time and supersedes waiting ones
(user guide, "How pipeline executions are processed"); here a push while a run is in
progress waits for it: an emulator's simplification, said in the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from local_pipeline.executor.approval_action import Decision
from local_pipeline.executor.definition import Pipeline
from local_pipeline.executor.engine import RunRecord, new_run_folder
from local_pipeline.executor.source_action import PushedCommit

# (the commit, its run id, the run's folder, how approvals are decided) -> the finished run
StartRun = Callable[[PushedCommit, str, Path, Callable[[str, str], Decision]], RunRecord]


@dataclass(frozen=True)
class PushAnswer:
    started: bool
    run_id: str | None
    message: str  # one line for the pusher's terminal


@dataclass
class _Waiting:
    where: str
    custom_data: str
    decided: threading.Event = field(default_factory=threading.Event)
    decision: Decision | None = None


@dataclass
class _Run:
    run_id: str
    pushed: PushedCommit
    folder: Path
    started: float
    thread: threading.Thread | None = None
    record: RunRecord | None = None
    waiting: _Waiting | None = None
    ended: float | None = None


class RunService:
    def __init__(self, runs: Path, definition: Callable[[], Pipeline], start_run: StartRun) -> None:
        self.runs_folder = runs
        self.definition = definition
        self.start_run = start_run
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    # --- pushes ---------------------------------------------------------------------

    def push(self, ref: str, pushed: PushedCommit) -> PushAnswer:
        triggered, why = self.definition().triggered_by(ref)
        if not triggered:
            return PushAnswer(False, None, f"push of {ref} ignored: {why}")
        with self._lock:
            run_id, folder = new_run_folder(self.runs_folder)
            run = _Run(run_id, pushed, folder, time.time())
            self._runs[run_id] = run
        run.thread = threading.Thread(target=self._execute, args=(run,), name=f"run-{run_id}", daemon=True)
        run.thread.start()
        return PushAnswer(True, run_id, f"run {run_id} started for {pushed.commit[:12]} on {pushed.branch}")

    def _execute(self, run: _Run) -> None:
        with self._one_at_a_time:
            try:
                run.record = self.start_run(
                    run.pushed, run.run_id, run.folder, lambda where, data: self._wait_for_decision(run, where, data)
                )
            except Exception as error:  # noqa: BLE001  (the run fails with the reason; the service goes on)
                run.record = RunRecord(
                    run.run_id, run.pushed.commit, run.pushed.branch, "Failed", reason=f"{type(error).__name__}: {error}"
                )
                run.record.write(run.folder / "run.json")
            run.ended = time.time()

    # --- approvals --------------------------------------------------------------------

    def _wait_for_decision(self, run: _Run, where: str, custom_data: str) -> Decision:
        waiting = _Waiting(where, custom_data)
        run.waiting = waiting
        waiting.decided.wait()
        assert waiting.decision is not None
        return waiting.decision

    def waiting(self) -> tuple[str, str, str] | None:
        """(run id, stage/action, what the approver is shown) of the approval a run waits at."""
        for run in reversed(list(self._runs.values())):
            if run.waiting is not None:
                return run.run_id, run.waiting.where, run.waiting.custom_data
        return None

    def decide(self, approved: bool, by: str, comment: str = "") -> str:
        for run in reversed(list(self._runs.values())):
            waiting = run.waiting
            if waiting is not None:
                waiting.decision = Decision(approved, by, comment)
                run.waiting = None  # before the run resumes: a follower must not see it still waiting
                waiting.decided.set()
                return f"run {run.run_id}: {waiting.where} {'approved' if approved else 'rejected'} by {by}"
        raise LookupError("no run waits for an approval")

    # --- following and listing --------------------------------------------------------

    def follow(self, run_id: str, *, timeout_seconds: float = 3600, poll_seconds: float = 0.05) -> str:
        """Wait until the run ends or waits at an approval; its status, or "Waiting"."""
        run = self._runs[run_id]
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if run.ended is not None and run.record is not None:
                return run.record.status
            if run.waiting is not None:
                return "Waiting"
            time.sleep(poll_seconds)
        raise TimeoutError(f"run {run_id} is still running after {timeout_seconds:.0f} s")

    def listing(self) -> list[dict[str, object]]:
        """Every run: id, commit, branch, status, duration (seconds)."""
        rows = []
        for run in self._runs.values():
            recorded = run.folder / "run.json"
            status = (
                run.record.status if run.record else (json.loads(recorded.read_text())["status"] if recorded.is_file() else "InProgress")
            )
            if run.waiting is not None:
                status = "Waiting"
            rows.append(
                {
                    "id": run.run_id,
                    "commit": run.pushed.commit[:12],
                    "branch": run.pushed.branch,
                    "status": status,
                    "seconds": round((run.ended or time.time()) - run.started, 1),
                }
            )
        return rows
