"""What a run shows: a line per action as it ends (`make local` and `git push local`
alike), a table at the end, and JUnit read back for a failed test's reason."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class StageFailed(Exception):
    """A step did not pass; the message says why, in a line or a few."""


def action_line(entry: Mapping[str, Any]) -> str:
    """One ended action of a run (an ``ActionRecord`` as a mapping), as `make local` and
    `git push local` print it."""
    mark = "✓" if entry["status"] == "Succeeded" else "✗"
    name = f"{entry['stage']}/{entry['action']}"
    return f"{mark} {name:<62} {entry['seconds']:6.1f} s  {entry['summary']}"


def run_table(actions: Sequence[Mapping[str, Any]], total: float) -> Any:
    from rich.table import Table

    table = Table(title="local pipeline", show_footer=True)
    table.add_column("stage", footer="total")
    table.add_column("action")
    table.add_column("result")
    table.add_column("s", justify="right", footer=f"{total:.1f}")
    for entry in actions:
        status = f"[green]{entry['status']}[/green]" if entry["status"] == "Succeeded" else f"[red]{entry['status']}[/red]"
        table.add_row(entry["stage"], entry["action"], status, f"{entry['seconds']:.1f}")
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
