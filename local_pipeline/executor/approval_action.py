"""The manual approval action (``Approval/AWS/Manual/1``): the run waits for a decision.

Here the decision comes from a callable (the terminal's ``Approver``, or the push service,
which `make approve` and `make reject` answer). CodePipeline user guide, "Manage approval
actions in CodePipeline": "If the action is approved, the pipeline execution resumes. If
the action is rejected—or if no one approves or rejects the action within seven days of
the pipeline reaching the action and stopping—the result is the same as an action
failing, and the pipeline execution does not continue." A rejection and a timeout fail
the action, and with it the stage and the run. The action's ``CustomData`` is what the
approver is shown. An approval whose execution is cancelled while it waits (the pipeline
was updated) is abandoned.

While it waits, the approval has a token (a UUID, as the API reference's pattern has it):
``decide`` finds the approval it is asked about, token included, with
``current_approval()``, and a build may answer it through CodePipeline's API as on AWS
(GetPipelineState shows the token of an approval that waits, PutApprovalResult decides
it: ``emulator.patches.codepipeline_approvals``). Its decision names the caller: "approved
by arn:aws:sts::<account>:assumed-role/<role>/<session>: <summary>".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from local_pipeline.executor.engine import ActionContext, ActionOutcome

APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600  # "within seven days of the pipeline reaching the action"


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str
    comment: str = ""
    abandoned: bool = False  # nobody decided: its execution ended while it waited


@dataclass(frozen=True)
class Approval:
    """An approval that waits: where, in which execution, and the token that answers it."""

    pipeline: str  # the pipeline's name
    stage: str
    action: str
    execution_id: str  # its execution's PipelineExecutionId
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)  # when it started waiting (seconds since the epoch)


_deciding: ContextVar[Approval | None] = ContextVar("the approval being decided", default=None)


def current_approval() -> Approval | None:
    """The approval a ``decide`` callable is asked about, when an ``ApprovalAction`` asks
    (in the thread that calls it); None otherwise."""
    return _deciding.get()


@dataclass(frozen=True)
class ApprovalAction:
    decide: Callable[[str, str], Decision]  # (where: "stage/action", custom data) -> decision

    def __call__(self, context: ActionContext) -> ActionOutcome:
        where = f"{context.action.stage}/{context.action.name}"
        execution_id = context.execution.execution_id if context.execution is not None else ""
        approval = Approval(context.pipeline_name, context.action.stage, context.action.name, execution_id)
        asked = _deciding.set(approval)
        try:
            decision = self.decide(where, str(context.configuration.get("CustomData", "")))
        finally:
            _deciding.reset(asked)
        return outcome_of(decision)


def outcome_of(decision: Decision) -> ActionOutcome:
    """What a decision makes of the approval action: its status and its summary."""
    said = f": {decision.comment}" if decision.comment else ""
    if decision.abandoned:
        return ActionOutcome("Abandoned", f"abandoned{said}")
    if decision.approved:
        return ActionOutcome("Succeeded", f"approved by {decision.by}{said}")
    # No one decided (``by`` empty): seven days went by.
    return ActionOutcome("Failed", f"rejected by {decision.by}{said}" if decision.by else f"not approved{said}")
