"""`make local`'s approvals: granted without asking, or asked on the terminal (yes only)."""

from __future__ import annotations

import io

import pytest

from local_pipeline.approvals import Approver, NotApproved


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Console:
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def input(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_without_asking_every_approval_is_granted_and_says_so(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal needed
    decision = Approver(ask=False, console=_Console("n")).decide("TrustingResources-dev/Approve", "Deploy?")
    assert decision.approved
    assert decision.by == "make local" and "APPROVE=1" in decision.comment


@pytest.mark.parametrize(("answer", "approved"), [("y", True), ("yes", True), ("n", False), ("", False)])
def test_asking_takes_yes_only_and_shows_what_is_approved(monkeypatch, answer, approved):
    monkeypatch.setattr("sys.stdin", _Terminal())
    console = _Console(answer)
    decision = Approver(ask=True, console=console).decide("TrustingResources-dev/Approve", "Deploy X into account 2?")
    assert decision.approved is approved
    assert "Deploy X into account 2?" in console.prompts[0] and "TrustingResources-dev/Approve" in console.prompts[0]


def test_asking_without_a_terminal_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(NotApproved, match="no terminal to ask"):
        Approver(ask=True, console=_Console("y")).decide("TrustingResources-dev/Approve", "")
