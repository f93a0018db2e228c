"""The pipeline's manual approvals, on this machine.

Which stages wait for an approval is the synthesized pipeline's business: a stage
whose actions include an ``Approval`` action (the ``ManualApprovalStep`` the pipeline
puts before it). The local run reads that from the pipeline's template, so an
environment with ``manualApprovals: false`` asks for none here either. Whether to ask
at all is the user's: ``--approve`` (``APPROVE=1``) asks on the terminal, otherwise
every approval is granted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from project.assembly import AssemblyError, StackArtifact

PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"


class NotApproved(Exception):
    """An approval was refused, or could not be asked for."""


def pipeline_definitions(stacks: Sequence[StackArtifact]) -> list[dict[str, Any]]:
    """The properties of every CodePipeline in the assembly's top-level stacks."""
    return [
        resource["Properties"]
        for stack in stacks
        if not stack.stage
        for resource in stack.template().get("Resources", {}).values()
        if resource.get("Type") == PIPELINE_TYPE
    ]


def stages_awaiting_approval(stacks: Sequence[StackArtifact]) -> set[str]:
    """Names of the pipeline stages that open with a manual approval (``TrustingResources-dev``)."""
    pipelines = pipeline_definitions(stacks)
    if not pipelines:
        raise AssemblyError(f"the cloud assembly has no {PIPELINE_TYPE}: the approvals come from the synthesized pipeline")
    return {
        stage["Name"]
        for pipeline in pipelines
        for stage in pipeline.get("Stages", [])
        if any(action["ActionTypeId"]["Category"] == "Approval" for action in stage.get("Actions", []))
    }


class Approver:
    """Grants every approval, or asks on the terminal (``ask``)."""

    def __init__(self, *, ask: bool, console: Any) -> None:
        self.ask = ask
        self.console = console

    def approve(self, stage_name: str) -> None:
        if not self.ask:
            return
        if not sys.stdin.isatty():
            raise NotApproved("approval was asked for (--approve / APPROVE=1), but there is no terminal to ask")
        answer = self.console.input(f"  approve [bold]{stage_name}[/bold]? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise NotApproved("not approved")
