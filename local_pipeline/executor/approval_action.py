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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local_pipeline.executor.engine import ActionContext, ActionOutcome

APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600  # "within seven days of the pipeline reaching the action"


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str
    comment: str = ""
    abandoned: bool = False  # nobody decided: its execution ended while it waited


@dataclass(frozen=True)
class ApprovalAction:
    decide: Callable[[str, str], Decision]  # (where: "stage/action", custom data) -> decision

    def __call__(self, context: ActionContext) -> ActionOutcome:
        where = f"{context.action.stage}/{context.action.name}"
        decision = self.decide(where, str(context.configuration.get("CustomData", "")))
        said = f": {decision.comment}" if decision.comment else ""
        if decision.abandoned:
            return ActionOutcome("Abandoned", f"abandoned{said}")
        if decision.approved:
            return ActionOutcome("Succeeded", f"approved by {decision.by}{said}")
        # No one decided (``by`` empty): seven days went by.
        return ActionOutcome("Failed", f"rejected by {decision.by}{said}" if decision.by else f"not approved{said}")
