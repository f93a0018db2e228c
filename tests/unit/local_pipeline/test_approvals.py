"""Which stages wait for an approval: read from the synthesized pipeline, nowhere else."""

from __future__ import annotations

import io

import pytest

from local_pipeline.approvals import Approver, NotApproved, stages_awaiting_approval
from project.assembly import AssemblyError, read_stacks


def test_the_approvals_are_the_pipelines(synthesized_app, configured_app):
    assert stages_awaiting_approval(read_stacks(synthesized_app.outdir)) == {"TrustingResources-dev", "TrustedConfiguration-dev"}
    # prod has manualApprovals: false in the configured synth.
    assert stages_awaiting_approval(read_stacks(configured_app.outdir)) == {"TrustingResources-dev", "TrustedConfiguration-dev"}


def test_an_assembly_without_a_pipeline_is_refused(synthesized_app):
    stage_stacks_only = [stack for stack in read_stacks(synthesized_app.outdir) if stack.stage]
    with pytest.raises(AssemblyError, match="no AWS::CodePipeline::Pipeline"):
        stages_awaiting_approval(stage_stacks_only)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Console:
    def __init__(self, answer: str) -> None:
        self.answer = answer

    def input(self, prompt: str) -> str:
        return self.answer


def test_without_asking_every_approval_is_granted(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    Approver(ask=False, console=_Console("n")).approve("dev/TrustingResources")  # no terminal needed, no error


@pytest.mark.parametrize(("answer", "approved"), [("y", True), ("yes", True), ("n", False), ("", False)])
def test_asking_takes_yes_only(monkeypatch, answer, approved):
    monkeypatch.setattr("sys.stdin", _Terminal())
    approver = Approver(ask=True, console=_Console(answer))
    if approved:
        approver.approve("dev/TrustingResources")
    else:
        with pytest.raises(NotApproved, match="not approved"):
            approver.approve("dev/TrustingResources")
