"""The runs of the pipeline for pushes, one at a time, as the service behind `git push local` keeps them.

A push of a ref the pipeline's trigger selects starts a run in the background; any other
push is ignored, and the answer says why. A run waiting at a manual approval holds there
until ``decide`` approves or rejects it; the pusher, ``make approve`` and ``make reject``
follow a run with ``follow`` to its end or to its next approval. Every run is recorded
under ``runs/<id>/`` (``run.json``, a log per action), ``runs/latest`` pointing at the newest;
ids go on from the highest recorded, so no run's record is overwritten.

No run is lost (``run_folders``): the service lists every run recorded there, its own and
`make local`'s, earlier services' included; when it starts, a run a dead process left
unfinished is marked ``Failed`` with the reason, and what its builds left running is
ended. Redeploying the pipeline (``redeploy``) changes what the next run runs, never the
runs themselves. When the service stops (``stop``), the runs in progress end ``Failed``,
saying so, and their builds with them.

CodePipeline runs one execution of a stage at a time and supersedes waiting ones
(user guide, "How pipeline executions are processed"); here a push while a run is in
progress waits for it: an emulator's simplification, said in the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local_pipeline.executor.approval_action import Decision
from local_pipeline.executor.definition import Pipeline
from local_pipeline.executor.engine import RunRecord
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, recorded
from local_pipeline.executor.run_folders import RunFolder, new_run_folder, read_record, recover_abandoned
from local_pipeline.executor.source_action import PushedCommit

OWNER = "the push service"
STOPPED = f"{OWNER} stopped during this run"

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
    claim: RunFolder  # the run's folder, locked while this service runs it
    started: float
    thread: threading.Thread | None = None
    record: RunRecord | None = None
    waiting: _Waiting | None = None
    ended: float | None = None
    stopping: str = ""  # why the service ends it before it ends by itself

    @property
    def folder(self) -> Path:
        return self.claim.path


class _NotStarted(Exception):
    pass


class RunService:
    def __init__(self, runs: Path, definition: Callable[[], Pipeline], start_run: StartRun) -> None:
        self.runs_folder = runs
        self.definition = definition
        self.start_run = start_run
        self._runs: dict[str, _Run] = {}  # the runs this service started
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()
        self._stopped = False
        # What dead processes left: said in the service's log by whoever starts it.
        self.recovered = recover_abandoned(runs)

    def redeploy(self, definition: Callable[[], Pipeline], start_run: StartRun) -> None:
        """The pipeline deployed again: the next run runs the new one; the runs, in progress
        or recorded, stay as they are, and still run one at a time."""
        with self._lock:
            self.definition, self.start_run = definition, start_run

    # --- pushes ---------------------------------------------------------------------

    def push(self, ref: str, pushed: PushedCommit) -> PushAnswer:
        triggered, why = self.definition().triggered_by(ref)
        if not triggered:
            return PushAnswer(False, None, f"push of {ref} ignored: {why}")
        with self._lock:
            if self._stopped:
                return PushAnswer(False, None, f"push of {ref} not run: the service is stopping")
            claim = new_run_folder(self.runs_folder, owner=OWNER)
            run_id = claim.run_id
            run = _Run(run_id, pushed, claim, time.time())
            self._runs[run_id] = run
        run.thread = threading.Thread(target=self._execute, args=(run,), name=f"run-{run_id}", daemon=True)
        run.thread.start()
        return PushAnswer(True, run_id, f"run {run_id} started for {pushed.commit[:12]} on {pushed.branch}")

    def _execute(self, run: _Run) -> None:
        with self._one_at_a_time:
            try:
                if run.stopping:  # it waited for the run before it, and the service stopped meanwhile
                    raise _NotStarted("before it started")
                run.record = self.start_run(
                    run.pushed, run.run_id, run.folder, lambda where, data: self._wait_for_decision(run, where, data)
                )
            except Exception as error:  # noqa: BLE001  (the run fails with the reason; the service goes on)
                why = str(error) if isinstance(error, _NotStarted) else f"{type(error).__name__}: {error}"
                run.record = RunRecord(run.run_id, run.pushed.commit, run.pushed.branch, "Failed", reason=why)
                run.record.write(run.folder / "run.json")
            if run.stopping:  # what its last action saw (a build ended under it) is not why it ended
                run.record.status = "Failed"
                run.record.reason = f"{run.stopping}: {run.record.reason}" if run.record.reason else run.stopping
                run.record.write(run.folder / "run.json")
            run.ended = time.time()
            run.claim.release()

    def stop(self, reason: str = STOPPED, *, join_seconds: float = 10.0) -> None:
        """The service stops: no run starts any more; each run in progress ends ``Failed``
        with ``reason``, what its builds run is ended, and its folder is released."""
        with self._lock:
            self._stopped = True
            unfinished = [run for run in self._runs.values() if run.ended is None]
        for run in unfinished:
            run.stopping = reason
            for path in run.folder.rglob(PROCESS_GROUP_FILE):
                group = recorded(path)
                if group is not None:
                    group.end()
        deadline = time.monotonic() + join_seconds
        for run in unfinished:
            if run.thread is not None and run.waiting is None:
                run.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for run in unfinished:
            run.claim.release()
        # The runs still unfinished (waiting at an approval, or their thread did not end in
        # time) are now the abandoned runs of a dead service, and recorded so.
        recover_abandoned(self.runs_folder)

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
        """Every run recorded under the runs folder (``list_runs``), this service's live state over it."""
        return list_runs(self.runs_folder, self._runs)


def list_runs(runs: Path, live: Mapping[str, _Run] | None = None) -> list[dict[str, object]]:
    """Every run recorded under ``runs``, by id: id, commit, branch, status, duration
    (seconds: until now for a run in ``live``, the runs a service runs; else its actions')."""
    live = live or {}
    rows = []
    folders = [path for path in runs.iterdir() if path.name.isdigit()] if runs.is_dir() else []
    for folder in sorted(folders, key=lambda path: int(path.name)):
        record = read_record(folder) or {}
        run = live.get(folder.name)
        status = str(record.get("status", "InProgress"))
        if run is not None and run.waiting is not None:
            status = "Waiting"
        actions = record.get("actions") or []
        seconds = (run.ended or time.time()) - run.started if run else sum(float(a.get("seconds") or 0) for a in actions)
        rows.append(
            {
                "id": folder.name,
                "commit": str(record.get("commit") or (run.pushed.commit if run else ""))[:12],
                "branch": str(record.get("branch") or (run.pushed.branch if run else "")),
                "status": status,
                "seconds": round(seconds, 1),
            }
        )
    return rows
