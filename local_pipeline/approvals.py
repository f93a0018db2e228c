"""`make local`'s manual approvals: granted, or asked for on the terminal.

Which actions are approvals is the pipeline's business: the run waits wherever the
deployed pipeline has an ``Approval`` action (``executor/approval_action.py``), so an
environment with ``manualApprovals: false`` asks for none. Whether to ask is the
user's: ``--approve`` (``APPROVE=1``) asks on the terminal, otherwise every approval is
granted, and the run's record says so.
"""

from __future__ import annotations

import sys
from typing import Any

from local_pipeline.executor.approval_action import Decision


class NotApproved(Exception):
    """An approval could not be asked for."""


class Approver:
    """Grants every approval, or asks on the terminal (``ask``)."""

    def __init__(self, *, ask: bool, console: Any) -> None:
        self.ask = ask
        self.console = console

    def decide(self, where: str, custom_data: str) -> Decision:
        if not self.ask:
            return Decision(True, "make local", "granted without asking (APPROVE=1 asks)")
        if not sys.stdin.isatty():
            raise NotApproved("approval was asked for (--approve / APPROVE=1), but there is no terminal to ask")
        answer = self.console.input(f"  {custom_data or where} approve [bold]{where}[/bold]? [y/N] ").strip().lower()
        return Decision(answer in ("y", "yes"), "you at the terminal")
