"""`make local`'s manual approvals: granted, or asked for on the terminal.

Which actions are approvals is the pipeline's business: the run waits wherever the
deployed pipeline has an ``Approval`` action (``executor/approval_action.py``), so an
environment with ``manualApprovals: false`` asks for none. Whether to ask is the
user's: ``--approve`` (``APPROVE=1``) asks on the terminal, otherwise every approval is
granted, and the run's record says so.

While the terminal asks, a build may answer the approval as on AWS, through CodePipeline's
API (``emulator.patches.codepipeline_approvals``): GetPipelineState shows the token of the
approval that waits, and PutApprovalResult with it decides it in the caller's name, which
ends the wait and says so on the terminal. The line the terminal was reading is then
still read: the answer typed next goes to the next approval asked, or nowhere.
GetPipelineState also shows each approval already decided (granted without asking
included): Succeeded or Failed, with no token.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from local_pipeline.executor.approval_action import Approval, Decision, current_approval, outcome_of

_POLL_SECONDS = 0.05
_TERMINAL = "you at the terminal"


class NotApproved(Exception):
    """An approval could not be asked for."""


@dataclass
class _Asked:
    """An approval asked on the terminal, which PutApprovalResult may decide meanwhile."""

    approval: Approval
    decided: threading.Event = field(default_factory=threading.Event)
    decision: Decision | None = None


class Approver:
    """Grants every approval, or asks on the terminal (``ask``)."""

    def __init__(self, *, ask: bool, console: Any, explain: Callable[[str], str] | None = None) -> None:
        self.ask = ask
        self.console = console
        # What an approval at "stage/action" lets through (its stage's change summaries), shown before asking.
        self.explain = explain or (lambda where: "")
        self._lock = threading.Lock()
        self._asked: dict[str, _Asked] = {}  # token -> the approval asked that waits
        # (stage, action) -> its last approval decided, and how: what GetPipelineState shows of it.
        self._decided: dict[tuple[str, str], tuple[Approval, Decision, float]] = {}
        self._answered: dict[str, tuple[str, str, bool]] = {}  # token -> (stage, action, decided; else abandoned)
        self._reading: Future[str] | None = None  # the terminal's line being read
        # What answers CodePipeline's API for the run's pipeline, from its first approval until
        # the emulated accounts end (emulator.patches.codepipeline_approvals forgets it then).
        self._api = _Api(self)

    def decide(self, where: str, custom_data: str) -> Decision:
        approval = current_approval()
        if approval is not None and approval.pipeline:
            from emulator.patches.codepipeline_approvals import publish

            publish(approval.pipeline, self._api)
        if not self.ask:
            decision = Decision(True, "make local", "granted without asking (APPROVE=1 asks)")
            if approval is not None:
                self._ended(approval, decision)
            return decision
        if not sys.stdin.isatty():
            raise NotApproved("approval was asked for (--approve / APPROVE=1), but there is no terminal to ask")
        explained = self.explain(where)
        if explained:
            self.console.print("\n".join(f"    {line}" for line in explained.splitlines()), markup=False, highlight=False, soft_wrap=True)
        prompt = f"  {custom_data or where} approve [bold]{where}[/bold]? [y/N] "
        if approval is None:  # not asked by a run's approval action: nothing else can answer it
            return _answer(self.console.input(prompt))
        return self._wait(where, prompt, approval)

    def _wait(self, where: str, prompt: str, approval: Approval) -> Decision:
        asked = _Asked(approval)
        with self._lock:
            self._asked[approval.token] = asked
        try:
            reading = self._read(prompt)
            while not asked.decided.wait(_POLL_SECONDS):
                if reading.done():
                    with self._lock:
                        if asked.decision is None:  # the terminal first
                            self._reading = None
                            asked.decision = _answer(reading.result())
                            asked.decided.set()
            assert asked.decision is not None
            if asked.decision.by != _TERMINAL:
                verdict = "approved" if asked.decision.approved else "rejected"
                self.console.print(f"  {where} {verdict} by {asked.decision.by} (PutApprovalResult): no answer needed")
            return asked.decision
        finally:
            self._ended(approval, asked.decision)

    def _ended(self, approval: Approval, decision: Decision | None) -> None:
        """``approval`` no longer waits: decided (``decision``), or given up (None: the terminal failed)."""
        with self._lock:
            self._asked.pop(approval.token, None)
            self._answered[approval.token] = (approval.stage, approval.action, decision is not None)
            if decision is not None:
                self._decided[(approval.stage, approval.action)] = (approval, decision, time.time())

    def _read(self, prompt: str) -> Future[str]:
        """The terminal's next line, read in the background; a line still being read for an
        approval the API decided is this approval's answer (its prompt is shown again)."""
        with self._lock:
            reading = self._reading
            if reading is not None and not reading.done():
                self.console.print(prompt, end="")
                return reading
            reading = self._reading = Future()

        def read() -> None:
            try:
                reading.set_result(self.console.input(prompt))
            except BaseException as error:  # noqa: BLE001  (the waiting thread sees it: EOF, an interrupt)
                reading.set_exception(error)

        threading.Thread(target=read, name="approval-terminal", daemon=True).start()
        return reading

    # --- what CodePipeline's API asks (emulator.patches.codepipeline_approvals) --------------

    def pipeline_state(self) -> dict[str, Any]:
        """GetPipelineState's ``stageStates`` as the approvals make them: each approval's last
        decision (status, summary), the one that waits with its token (the stage's execution
        InProgress). What else the run did, `make local` shows on the terminal and in its record."""
        with self._lock:
            decided = list(self._decided.values())
            waiting = [asked.approval for asked in self._asked.values()]
        stages: dict[str, dict[str, Any]] = {}
        actions: dict[tuple[str, str], dict[str, Any]] = {}
        for approval, decision, when in decided:
            outcome = outcome_of(decision)
            status = outcome.status if outcome.status in ("Succeeded", "Failed", "Abandoned") else "Failed"
            latest = {"status": status, "summary": outcome.summary[:2048], "lastStatusChange": when}
            actions[(approval.stage, approval.action)] = {"actionName": approval.action, "latestExecution": latest}
            stages.setdefault(approval.stage, {"stageName": approval.stage, "actionStates": []})
        for approval in waiting:
            latest = {"status": "InProgress", "token": approval.token, "lastStatusChange": approval.started}
            actions[(approval.stage, approval.action)] = {"actionName": approval.action, "latestExecution": latest}
            # Its stage is in progress, in the approval's execution.
            stages[approval.stage] = {
                "stageName": approval.stage,
                "latestExecution": {"pipelineExecutionId": approval.execution_id, "status": "InProgress"},
                "actionStates": [],
            }
        for (stage, _), state in actions.items():
            stages[stage]["actionStates"].append(state)
        return {"stageStates": list(stages.values())}

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        from emulator.patches.codepipeline_approvals import ApprovalAlreadyCompleted, InvalidApprovalToken

        with self._lock:
            asked = self._asked.get(token)
            if asked is not None and (asked.approval.stage, asked.approval.action) == (stage, action) and asked.decision is None:
                asked.decision = Decision(status == "Approved", by, summary)
                asked.decided.set()
                return
            answered = self._answered.get(token)
        if answered is not None and answered[:2] == (stage, action) and answered[2]:
            raise ApprovalAlreadyCompleted(f"the approval of {stage}/{action} was already approved or rejected")
        raise InvalidApprovalToken(f"the token is not that of an approval of {stage}/{action} that waits")


@dataclass(frozen=True)
class _Api:
    """The Approver as ``emulator.patches.codepipeline_approvals`` asks it (one per Approver)."""

    approver: Approver

    def state(self) -> Mapping[str, Any]:
        return self.approver.pipeline_state()

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        self.approver.put_approval_result(stage, action, token, status, summary, by)


def _answer(line: str) -> Decision:
    return Decision(line.strip().lower() in ("y", "yes"), _TERMINAL)
