"""What the audit's two tools, checkov and cfn-lint, share before they run: templates to
read, the tool where its pin installs it, and a reports directory cleared of the files a
previous run wrote, so that no stale verdict is ever read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class AuditError(Exception):
    """The audit could not run (not a failed check or a finding)."""


def prepare_run(tool: Path, install_hint: str, templates: Sequence[Path], reports: Path, report_files: Sequence[str]) -> None:
    if not templates:
        raise AuditError("no CloudFormation template to audit")
    if not tool.is_file():
        raise AuditError(f"{tool.name} not found at {tool}: {install_hint}")
    reports.mkdir(parents=True, exist_ok=True)
    for name in report_files:
        (reports / name).unlink(missing_ok=True)
