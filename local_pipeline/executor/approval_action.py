"""The manual approval action (``Approval/AWS/Manual/1``): the run waits for a decision.

Here the decision comes from a callable (the terminal's ``Approver``, or the service's
queue of decisions); approving lets the run go on, rejecting stops it (CodePipeline user
guide, "Manage approval actions in CodePipeline": a rejected approval fails the stage and
nothing after it runs). The action's ``CustomData`` is what the approver is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local_pipeline.executor.engine import ActionContext, ActionOutcome


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str
    comment: str = ""


@dataclass(frozen=True)
class ApprovalAction:
    decide: Callable[[str, str], Decision]  # (where: "stage/action", custom data) -> decision

    def __call__(self, context: ActionContext) -> ActionOutcome:
        where = f"{context.action.stage}/{context.action.name}"
        decision = self.decide(where, str(context.configuration.get("CustomData", "")))
        said = f": {decision.comment}" if decision.comment else ""
        if decision.approved:
            return ActionOutcome("Succeeded", f"approved by {decision.by}{said}")
        return ActionOutcome("Stopped", f"rejected by {decision.by}{said}")
