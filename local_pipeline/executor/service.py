"""The pipeline's executions for pushes, as the service behind `git push local` runs them.

A push of a ref the pipeline's trigger selects starts an execution (a run) in the
background; any other push is ignored, and the answer says why. Runs go side by side as
CodePipeline lets them (``executions.py``: stage locks, superseded or queued runs, the
execution mode the pipeline declares): while run A waits at an approval, run B deploys
the stages before it. A run waiting at a manual approval holds there until ``decide``
approves or rejects it, or seven days go by on the service's clock (then it fails, as a
rejection does: ``approval_action``); the pusher, ``make approve`` and ``make reject``
follow a run with ``follow`` to its end or to its next approval. Every run is recorded
under ``runs/<id>/`` (``run.json``, a log per action), ``runs/latest`` pointing at the
newest; ids go on from the highest recorded, so no run's record is overwritten.

When a run's action updates the pipeline (its self-mutation), every run in progress ends
``Cancelled``, and, if the pipeline says ``RestartExecutionOnUpdate``, a new run starts on
the head of the updating run's branch, as CloudFormation starts a new execution after it
updates such a pipeline. A pipeline that updates itself in every run stops being
restarted after ``MAX_RESTARTS`` restarts in a row, saying so (on AWS it would go on).

No run is lost (``run_folders``): the service lists every run recorded there, its own and
`make local`'s, earlier services' included; when it starts, a run a dead process left
unfinished is marked ``Failed`` with the reason, and what its builds left running is
ended. Redeploying the pipeline (``redeploy``) changes what the next run runs, never the
runs in progress. When the service stops (``stop``), the runs in progress end ``Failed``,
saying so, and their builds with them.

A build answers an approval as on AWS, through CodePipeline's API
(``emulator.patches.codepipeline_approvals``): from its first run until it stops, the
service answers for the deployed pipeline (``PipelineStateApi``). GetPipelineState shows,
stage by stage, the most recent of its runs that reached the stage and what each action
did there, the token of an approval that waits; PutApprovalResult with that token decides
it, as ``decide`` does, in the name of the caller's ARN.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from local_pipeline.executor.approval_action import APPROVAL_TIMEOUT_SECONDS, Approval, Decision, current_approval
from local_pipeline.executor.definition import Pipeline
from local_pipeline.executor.engine import RunRecord
from local_pipeline.executor.executions import MAX_RESTARTS, Execution, Executions
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, recorded
from local_pipeline.executor.run_folders import RunFolder, new_run_folder, read_record, recover_abandoned
from local_pipeline.executor.source_action import PushedCommit

OWNER = "the push service"
STOPPED = f"{OWNER} stopped during this run"
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RunStart:
    """What starting a run needs: the commit, the run's id and folder, how its approvals are
    decided, the pipeline's executions and this run's, and what started it."""

    pushed: PushedCommit
    run_id: str
    folder: Path
    decide: Callable[[str, str], Decision]
    executions: Executions
    execution: Execution
    trigger: str


StartRun = Callable[[RunStart], RunRecord]


@dataclass(frozen=True)
class PushAnswer:
    started: bool
    run_id: str | None
    message: str  # one line for the pusher's terminal


@dataclass
class _Waiting:
    where: str
    custom_data: str
    deadline: float  # on the service's clock
    approval: Approval  # its token: what GetPipelineState shows, and PutApprovalResult brings back
    decided: threading.Event = field(default_factory=threading.Event)
    decision: Decision | None = None


@dataclass
class _Run:
    run_id: str
    pushed: PushedCommit
    claim: RunFolder  # the run's folder, locked while this service runs it
    started: float
    execution: Execution
    ref: str
    restarts: int = 0  # how many updates in a row led to this run
    thread: threading.Thread | None = None
    record: RunRecord | None = None
    waiting: _Waiting | None = None
    ended: float | None = None
    stopping: str = ""  # why the service ends it before it ends by itself

    @property
    def folder(self) -> Path:
        return self.claim.path


class RunService:
    def __init__(
        self,
        runs: Path,
        definition: Callable[[], Pipeline],
        start_run: StartRun,
        *,
        branch_head: Callable[[str], PushedCommit | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runs_folder = runs
        self.definition = definition
        self.start_run = start_run
        self.branch_head = branch_head or (lambda _: None)  # a branch's head now, for a restart
        self.clock = clock  # what the approvals' seven days are counted on
        self.executions = Executions()
        self._runs: dict[str, _Run] = {}  # the runs this service started
        self._lock = threading.Lock()
        self._stopped = False
        # The tokens of the approvals that waited: token -> (stage, action, decided; else expired or abandoned).
        self._answered: dict[str, tuple[str, str, bool]] = {}
        self.api = PipelineStateApi(self)  # what answers CodePipeline's API for the runs
        self._published: set[tuple[str, str, str]] = set()  # (account, region, pipeline) it answers for
        # What dead processes left: said in the service's log by whoever starts it.
        self.recovered = recover_abandoned(runs)

    def redeploy(self, definition: Callable[[], Pipeline], start_run: StartRun, *, updated: str = "") -> str | None:
        """The pipeline deployed again by hand (`make remote`): the next run runs the new one.
        If that ``updated`` the pipeline (names how), the runs in progress are cancelled, as
        any update cancels them, and, with RestartExecutionOnUpdate, a run starts on the head
        of the branch the source action names; its id."""
        with self._lock:
            if updated:  # before the swap: a push from now on runs the new pipeline, and is not cancelled
                self.executions.pipeline_updated(None, updated)
            self.definition, self.start_run = definition, start_run
        if not updated:
            return None
        pipeline = definition()
        branch = _source_branch(pipeline)
        head = self.branch_head(branch) if pipeline.restart_on_update and branch else None
        if head is None:
            return None
        restart = self._start(f"refs/heads/{head.branch}", head, f"the pipeline's update by {updated}")
        return restart.run_id if restart else None

    # --- pushes ---------------------------------------------------------------------

    def push(self, ref: str, pushed: PushedCommit, changed_files: list[str] | None = None) -> PushAnswer:
        pipeline = self.definition()
        triggered, why = pipeline.triggered_by(ref, changed_files)
        if not triggered:
            return PushAnswer(False, None, f"push of {ref} ignored: {why}")
        self._publish(pipeline.name)
        run = self._start(ref, pushed, f"push of {ref}")
        if run is None:
            return PushAnswer(False, None, f"push of {ref} not run: the service is stopping")
        return PushAnswer(True, run.run_id, f"run {run.run_id} started for {pushed.commit[:12]} on {pushed.branch}")

    def _start(self, ref: str, pushed: PushedCommit, trigger: str, restarts: int = 0) -> _Run | None:
        with self._lock:
            if self._stopped:
                return None
            claim = new_run_folder(self.runs_folder, owner=OWNER)
            run = _Run(claim.run_id, pushed, claim, time.time(), self.executions.start(claim.run_id), ref, restarts)
            self._runs[run.run_id] = run
            start_run = self.start_run
        run.thread = threading.Thread(target=self._execute, args=(run, start_run, trigger), name=f"run-{run.run_id}", daemon=True)
        run.thread.start()
        return run

    def _execute(self, run: _Run, start_run: StartRun, trigger: str) -> None:
        try:
            run.record = start_run(
                RunStart(
                    run.pushed,
                    run.run_id,
                    run.folder,
                    lambda where, data: self._wait_for_decision(run, where, data),
                    self.executions,
                    run.execution,
                    trigger,
                )
            )
        except Exception as error:  # noqa: BLE001  (the run fails with the reason; the service goes on)
            run.record = RunRecord(run.run_id, run.pushed.commit, run.pushed.branch, "Failed", reason=f"{type(error).__name__}: {error}")
            run.record.write(run.folder / "run.json")
        finally:
            self.executions.finish(run.execution)
        try:
            if run.stopping:  # what its last action saw (a build ended under it) is not why it ended
                run.record.status = "Failed"
                said = run.record.reason
                run.record.reason = f"{run.stopping}: {said}" if said and not said.startswith(run.stopping) else run.stopping
                run.record.write(run.folder / "run.json")
            elif run.record.updated_pipeline:
                self._restart(run)
        except Exception as error:  # noqa: BLE001  (the run has ended: what failed after it is said, never lost)
            run.record.reason += f"; not restarted: {type(error).__name__}: {error}"
            run.record.write(run.folder / "run.json")
        finally:
            run.ended = time.time()
            run.claim.release()

    def _restart(self, run: _Run) -> None:
        """``run`` updated the pipeline: a new run, if the pipeline asks for it
        (RestartExecutionOnUpdate), said in its record. It runs what a start of the pipeline
        would: the head of the branch its source action names (the pushed branch's, if none)."""
        assert run.record is not None
        pipeline = self.definition()
        if not pipeline.restart_on_update:
            return
        if run.restarts >= MAX_RESTARTS:
            run.record.reason += f"; not restarted: the pipeline updated itself in {MAX_RESTARTS + 1} runs in a row"
        else:
            branch = _source_branch(pipeline) or run.pushed.branch
            head = self.branch_head(branch) or run.pushed
            where = run.record.updated_pipeline
            restart = self._start(
                f"refs/heads/{head.branch}", head, f"the pipeline's update by run {run.run_id} ({where})", run.restarts + 1
            )
            if restart is not None:
                run.record.restarted_as = restart.run_id
        run.record.write(run.folder / "run.json")

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
        self.executions.end_all(reason)  # those waiting between stages stop waiting
        deadline = time.monotonic() + join_seconds
        for run in unfinished:  # one at an approval gives up within a poll: its execution ended
            if run.thread is not None:
                run.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for run in unfinished:
            run.claim.release()
        self._unpublish()
        # The runs still unfinished (waiting at an approval, or their thread did not end in
        # time) are now the abandoned runs of a dead service, and recorded so.
        recover_abandoned(self.runs_folder)

    # --- approvals --------------------------------------------------------------------

    def _wait_for_decision(self, run: _Run, where: str, custom_data: str) -> Decision:
        stage, _, action = where.partition("/")
        # The approval the run's ApprovalAction asks about (its token); one of its own if none does.
        approval = current_approval() or Approval("", stage, action, run.execution.execution_id)
        if approval.pipeline:
            self._publish(approval.pipeline)
        waiting = _Waiting(where, custom_data, self.clock() + APPROVAL_TIMEOUT_SECONDS, approval)
        run.waiting = waiting
        while not waiting.decided.wait(_POLL_SECONDS):
            ended = run.execution.ended
            timed_out = self.clock() >= waiting.deadline
            if ended is None and not timed_out:
                continue
            with self._lock:  # a decision that came meanwhile wins; after this, none can come
                if waiting.decided.is_set():
                    break
                run.waiting = None
                self._answered[approval.token] = (approval.stage, approval.action, False)
            if ended is not None:
                return Decision(False, "", ended.reason, abandoned=True)
            return Decision(False, "", "no one approved or rejected it within seven days")
        assert waiting.decision is not None
        return waiting.decision

    def waiting(self) -> list[tuple[str, str, str]]:
        """(run id, stage/action, what the approver is shown) of each approval a run waits at, oldest run first."""
        return [(run.run_id, run.waiting.where, run.waiting.custom_data) for run in list(self._runs.values()) if run.waiting is not None]

    def decide(self, approved: bool, by: str, comment: str = "", *, run_id: str | None = None) -> str:
        """Approve or reject the approval ``run_id`` waits at; without ``run_id``, the one
        approval that a run waits at (several: refused, naming them)."""
        with self._lock:  # one decision an approval, however many callers decide at once
            return self._decide(approved, by, comment, run_id)

    def _decide(self, approved: bool, by: str, comment: str, run_id: str | None) -> str:
        waiting = [run for run in list(self._runs.values()) if run.waiting is not None]
        if run_id is not None:
            waiting = [run for run in waiting if run.run_id == run_id]
            if not waiting:
                raise LookupError(f"run {run_id} waits for no approval")
        if not waiting:
            raise LookupError("no run waits for an approval")
        if len(waiting) > 1:
            named = ", ".join(f"run {run.run_id} at {run.waiting.where}" for run in waiting if run.waiting)
            raise LookupError(f"{len(waiting)} runs wait for an approval ({named}): say which, RUN=<id>")
        run = waiting[0]
        if run.waiting is None:  # decided by another caller in between
            raise LookupError(f"run {run.run_id} waits for no approval")
        decided = self._settle(run, Decision(approved, by, comment))
        return f"run {run.run_id}: {decided.where} {'approved' if approved else 'rejected'} by {by}"

    def _settle(self, run: _Run, decision: Decision) -> _Waiting:
        """``run``'s waiting approval decided (the caller holds the lock)."""
        decided = run.waiting
        assert decided is not None
        decided.decision = decision
        run.waiting = None  # before the run resumes: a follower must not see it still waiting
        self._answered[decided.approval.token] = (decided.approval.stage, decided.approval.action, True)
        decided.decided.set()
        return decided

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        """PutApprovalResult: decide the approval that waits at ``stage``/``action`` with
        ``token``, as ``by`` (the caller's ARN), ``summary`` its comment."""
        from emulator.patches.codepipeline_approvals import ApprovalAlreadyCompleted, InvalidApprovalToken

        with self._lock:
            for run in list(self._runs.values()):
                waiting = run.waiting
                if waiting is not None and waiting.approval.token == token:
                    if (waiting.approval.stage, waiting.approval.action) != (stage, action):
                        raise InvalidApprovalToken(f"the token is not that of an approval of {stage}/{action}")
                    self._settle(run, Decision(status == "Approved", by, summary))
                    return
            answered = self._answered.get(token)
        if answered is not None and answered[:2] == (stage, action):
            if answered[2]:
                raise ApprovalAlreadyCompleted(f"the approval of {stage}/{action} was already approved or rejected")
            raise InvalidApprovalToken(f"the approval of {stage}/{action} of that token expired or was abandoned")
        raise InvalidApprovalToken(f"the token is not that of an approval of {stage}/{action} that waits")

    def _publish(self, pipeline: str) -> None:
        """Answer CodePipeline's API for ``pipeline`` where it is deployed, until the service stops."""
        from emulator.patches.codepipeline_approvals import homes, register

        found = homes(pipeline)
        if len(found) != 1:  # not deployed in the emulated accounts, or more than once: no one knows which
            return
        ((account, region),) = found
        with self._lock:  # never after the service stopped (``_unpublish``)
            if self._stopped or (account, region, pipeline) in self._published:
                return
            self._published.add((account, region, pipeline))
            register(account, region, pipeline, self.api)

    def _unpublish(self) -> None:
        from emulator.patches.codepipeline_approvals import unregister

        with self._lock:
            for account, region, pipeline in self._published:
                unregister(account, region, pipeline, self.api)
            self._published = set()

    def pipeline_state(self) -> dict[str, Any]:
        """GetPipelineState's ``stageStates`` as this service's runs make them: for each stage,
        the most recent run that reached it (its record), each of its actions there."""
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda run: run.execution.sequence)
            waiting = {run.run_id: run.waiting for run in runs}
        stages: dict[str, dict[str, Any]] = {}
        for run in runs:  # oldest first: a more recent run that reached a stage shows instead
            record = read_record(run.folder) or {}
            reached: dict[str, list[Mapping[str, Any]]] = {}
            for entry in record.get("actions") or []:
                if isinstance(entry, Mapping) and entry.get("stage"):
                    reached.setdefault(str(entry["stage"]), []).append(entry)
            for stage, entries in reached.items():
                stages[stage] = _stage_state(stage, entries, run, str(record.get("status") or "InProgress"), waiting[run.run_id])
        return {"stageStates": list(stages.values())}

    # --- transitions --------------------------------------------------------------------

    def set_transition(self, stage: str, *, enabled: bool) -> str:
        """EnableStageTransition / DisableStageTransition (inbound) of ``stage``."""
        stages = [s.name for s in self.definition().stages]
        if stage not in stages:
            raise LookupError(f"the pipeline has no stage {stage!r} (its stages: {', '.join(stages)})")
        held = self.executions.set_transition(stage, enabled=enabled)
        said = f"; run {', '.join(held)} waits for it" if held and not enabled else ""
        return f"the transition into {stage} is {'enabled' if enabled else 'disabled'}{said}"

    # --- following and listing --------------------------------------------------------

    def waits_to_enter(self, run_id: str) -> str | None:
        """What the run waits for between two stages ("Deploy, held by run 3"), if it does."""
        run = self._runs.get(run_id)
        waits = self.executions.waits(run.execution) if run is not None and run.ended is None else None
        if waits is None:
            return None
        stage, holder = waits
        return f"{stage}, held by run {holder}" if holder else f"{stage}, whose inbound transition is disabled"

    def ended(self, run_id: str) -> bool:
        """Has the service finished with the run (its record final, a restart started)? A
        run this service did not start is as its record says."""
        run = self._runs.get(run_id)
        return run is None or run.ended is not None

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
        return list_runs(self.runs_folder, self._runs, self.waits_to_enter)


class PipelineStateApi:
    """What ``emulator.patches.codepipeline_approvals`` asks of the service's runs."""

    def __init__(self, service: RunService) -> None:
        self.service = service

    def state(self) -> Mapping[str, Any]:
        return self.service.pipeline_state()

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        self.service.put_approval_result(stage, action, token, status, summary, by)


# The engine's action status as the API's ActionExecution status (InProgress | Abandoned |
# Succeeded | Failed); a stopped or skipped action is shown Abandoned (a guess: the API has neither).
_ACTION_STATUS = {"InProgress": "InProgress", "Succeeded": "Succeeded", "Failed": "Failed", "Abandoned": "Abandoned"}
SUMMARY_MAX = 2048  # ActionExecution.summary: "Maximum length of 2048"


def _stage_state(stage: str, entries: list[Mapping[str, Any]], run: _Run, run_status: str, waiting: _Waiting | None) -> dict[str, Any]:
    """One stage as GetPipelineState shows it: the run's execution there, and its actions."""
    statuses = [str(entry.get("status")) for entry in entries]
    if "InProgress" in statuses or (run.ended is None and run.execution.stage == stage):
        status = "InProgress"
    elif "Failed" in statuses:
        status = "Failed"
    elif "Stopped" in statuses:
        status = "Stopped"
    elif "Abandoned" in statuses or run_status in ("Cancelled", "Superseded"):
        status = "Cancelled"  # the execution's definition was updated meanwhile (API reference, "StageExecution")
    else:
        status = "Succeeded"
    actions = []
    for entry in entries:
        latest: dict[str, Any] = {"status": _ACTION_STATUS.get(str(entry.get("status")), "Abandoned")}
        if entry.get("summary"):
            latest["summary"] = str(entry["summary"])[:SUMMARY_MAX]
        approval = waiting.approval if waiting is not None else None
        if approval is not None and (approval.stage, approval.action) == (stage, entry.get("action")) and latest["status"] == "InProgress":
            latest["token"] = approval.token  # an approval that waits: the only action with a token
            latest["lastStatusChange"] = approval.started
        elif entry.get("ended_at"):
            latest["lastStatusChange"] = datetime.fromisoformat(str(entry["ended_at"])).timestamp()
        actions.append({"actionName": str(entry.get("action")), "latestExecution": latest})
    return {
        "stageName": stage,
        "latestExecution": {"pipelineExecutionId": run.execution.execution_id, "status": status},
        "actionStates": actions,
    }


def _source_branch(pipeline: Pipeline) -> str | None:
    """The branch the pipeline's (first) source action names: what a start of the pipeline runs."""
    branches = [
        str(a.configuration["BranchName"]) for a in pipeline.actions() if a.type.category == "Source" and a.configuration.get("BranchName")
    ]
    return branches[0] if branches else None


def list_runs(
    runs: Path, live: Mapping[str, _Run] | None = None, waits_to_enter: Callable[[str], str | None] = lambda _: None
) -> list[dict[str, object]]:
    """Every run recorded under ``runs``, by id: id, commit, branch, status, duration
    (seconds: until now for a run in ``live``, the runs a service runs; else its actions')."""
    live = live or {}
    rows = []
    folders = [path for path in runs.iterdir() if path.name.isdigit()] if runs.is_dir() else []
    for folder in sorted(folders, key=lambda path: int(path.name)):
        record = read_record(folder) or {}
        run = live.get(folder.name)
        status = str(record.get("status", "InProgress"))
        why = str(record.get("reason") or "")
        if run is not None and run.waiting is not None:
            status, why = "Waiting", f"for approval at {run.waiting.where}"
        elif run is not None and (waits := waits_to_enter(run.run_id)):
            why = f"waits to enter {waits}"
        elif record.get("restarted_as"):
            why = f"{why}; restarted as run {record['restarted_as']}"
        actions = record.get("actions") or []
        seconds = (run.ended or time.time()) - run.started if run else sum(float(a.get("seconds") or 0) for a in actions)
        decided = approvals_decided(actions)
        rows.append(
            {
                "id": folder.name,
                "commit": str(record.get("commit") or (run.pushed.commit if run else ""))[:12],
                "branch": str(record.get("branch") or (run.pushed.branch if run else "")),
                "status": status,
                "seconds": round(seconds, 1),
                "why": why.splitlines()[0] if why else "",
                "approvals": decided,
            }
        )
    return rows


def approvals_decided(actions: Sequence[Mapping[str, Any]]) -> str:
    """The approvals a run's record holds, each with its stage and what became of it:
    "TrustingResources-dev: approved by root; TrustedConfiguration-dev: no permission broadens: not asked"."""
    said = []
    for entry in actions:
        if entry.get("category") != "Approval" or entry.get("status") == "InProgress":
            continue
        summary = str(entry.get("summary") or entry.get("status"))
        said.append(f"{entry.get('stage')}: {summary.splitlines()[0] if summary else ''}")
    return "; ".join(said)
