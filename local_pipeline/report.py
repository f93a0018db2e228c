"""What a local run shows and leaves behind: a line per stage while it runs, a table
and ``reports/summary.md`` at the end, and JUnit read back for a failure's reason."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["running", "passed", "failed", "not run"]


class StageFailed(Exception):
    """A stage did not pass; the message says why, in a line or a few."""


@dataclass
class StageResult:
    name: str
    status: Status = "running"
    seconds: float = 0.0
    detail: str = ""

    @property
    def first_line(self) -> str:
        return self.detail.splitlines()[0] if self.detail else ""


def stage_line(result: StageResult) -> tuple[str, list[str]]:
    """The progress line of a finished stage (rich markup), and the lines of detail below it."""
    mark = "[green]✓[/green]" if result.status == "passed" else "[red]✗[/red]"
    first, *rest = result.detail.splitlines() or [""]
    return f"{mark} {result.name:<34} {result.seconds:6.1f} s  {first}", [f"    {line}" for line in rest]


def write_summary(path: Path, results: Sequence[StageResult], planned: Sequence[str], total: float, failure: str) -> None:
    """``summary.md``: every stage that ran, then every planned stage that did not."""
    lines = ["# Local pipeline run", "", "| stage | result | seconds | detail |", "|---|---|---:|---|"]
    lines += [f"| {r.name} | {r.status} | {r.seconds:.1f} | {r.first_line} |" for r in results]
    ran = {result.name for result in results}
    lines += [f"| {name} | not run | | |" for name in planned if name not in ran]
    verdict = f"FAILED at {failure.splitlines()[0]}" if failure else "passed"
    lines += ["", f"Total: {total:.1f} s. Result: {verdict}."]
    path.write_text("\n".join(lines) + "\n")


def summary_table(results: Sequence[StageResult], total: float) -> Any:
    from rich.table import Table

    table = Table(title="local pipeline", show_footer=True)
    table.add_column("stage", footer="total")
    table.add_column("result")
    table.add_column("s", justify="right", footer=f"{total:.1f}")
    for result in results:
        status = "[green]passed[/green]" if result.status == "passed" else f"[red]{result.status}[/red]"
        table.add_row(result.name, status, f"{result.seconds:.1f}")
    return table


def shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cases(junit: Path) -> list[ElementTree.Element]:
    return list(ElementTree.parse(junit).getroot().iter("testcase"))  # noqa: S314  (our own report)


def count_tests(junit: Path) -> int:
    return len(_cases(junit))


def junit_failures(junit: Path) -> list[str]:
    """'test name: first line of its failure message' for each failed test."""
    failures = []
    for case in _cases(junit):
        for problem in [*case.iter("failure"), *case.iter("error")]:
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            failures.append(f"{case.get('name')}: {message[0] if message else 'failed'}")
    return failures
