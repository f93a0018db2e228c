"""A page per pipeline run, and one listing them: what CodePipeline's console shows.

``reports/runs/<id>/index.html`` draws the run from its ``run.json`` and the files its
actions left: the stages left to right, each action with its status, time and one line,
a link to its log; the approvals, by whom and when; the audit's findings (failed checks
first, then skips with their reasons, per template); the tests, failures expanded.
``reports/index.html`` lists every run. Each page is one file with its style inside: it
opens from disk, with no network. Rendered with Jinja2, every value escaped: test names,
messages and summaries come from a pushed commit's build.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from jinja2 import Environment, PackageLoader, select_autoescape

from local_pipeline.change_summaries import stage_summaries

RUN_PAGE = "index.html"
# An approval's summary, as the approval action writes it ("approved by you: comment").
_DECISION = re.compile(r"^(?P<decision>approved|rejected) by (?P<by>.+?)(?:: (?P<comment>.*))?$")
# A checkov JUnit test case's name: "[NONE][CKV_AWS_116] Ensure that ...".
_CHECK = re.compile(r"^\[[^\]]*\]\[(?P<id>[^\]]+)\]\s*(?P<name>.*)$")

_ENVIRONMENT = Environment(loader=PackageLoader("local_pipeline", "templates"), autoescape=select_autoescape(default=True))


@dataclass(frozen=True)
class ActionView:
    stage: str
    name: str
    status: str
    seconds: float
    summary: str
    category: str
    ended_at: str
    log: str | None  # relative to the run's page


@dataclass(frozen=True)
class Approval:
    where: str
    decision: str  # approved, rejected, or waiting
    by: str
    at: str
    comment: str
    summaries: tuple[dict[str, Any], ...] = ()  # what it let through: its stage's change summaries


@dataclass(frozen=True)
class Check:
    check_id: str
    name: str
    resource: str
    reason: str = ""


@dataclass
class TemplateFindings:
    template: str
    failed: list[Check] = field(default_factory=list)
    skipped: list[Check] = field(default_factory=list)
    passed: int = 0


@dataclass(frozen=True)
class TestCase:
    name: str
    outcome: str  # passed, failed, skipped
    message: str = ""


@dataclass(frozen=True)
class TestReport:
    action: str
    group: str
    cases: list[TestCase]

    @property
    def counts(self) -> Counter[str]:
        return Counter(case.outcome for case in self.cases)

    @property
    def failures(self) -> list[TestCase]:
        return [case for case in self.cases if case.outcome == "failed"]


def write_pages(run_folder: Path, *, index: bool = True) -> Path:
    """Write ``run_folder``'s page from its run.json and, if ``index``, the runs' index beside
    the runs folder (``reports/index.html``). Returns the run's page."""
    run = json.loads((run_folder / "run.json").read_text())
    actions = _action_views(run_folder, run["actions"])
    page = run_folder / RUN_PAGE
    page.write_text(
        _ENVIRONMENT.get_template("run.html.j2").render(
            run=run,
            stages=_stages(actions),
            approvals=_approvals(run_folder, actions),
            audit=_audit(run_folder, run["actions"]),
            lint=_lint(run_folder, run["actions"]),
            tests=_tests(run_folder, run["actions"]),
            failed=[action for action in actions if action.status not in ("Succeeded", "InProgress")],
            total=sum(action.seconds for action in actions),
        )
    )
    if index:
        write_index(run_folder.parent)
    return page


def write_index(runs: Path) -> Path:
    """``reports/index.html``: every run of ``runs``, newest first."""
    listed = []
    records = [record for record in runs.glob("*/run.json") if not record.parent.is_symlink()]  # not `latest`
    for record in sorted(records, key=lambda path: _run_number(path.parent.name), reverse=True):
        page = f"runs/{record.parent.name}/{RUN_PAGE}"
        try:
            run = json.loads(record.read_text())
            listed.append({**run, "seconds": sum(action["seconds"] for action in run["actions"]), "page": page})
        except (OSError, ValueError, KeyError, TypeError) as error:  # one bad record must not hide the others
            reason = f"its run.json cannot be read: {type(error).__name__}: {error}"
            listed.append(
                {
                    "id": record.parent.name,
                    "status": "Unreadable",
                    "commit": "",
                    "branch": "",
                    "seconds": 0.0,
                    "reason": reason,
                    "page": page,
                }
            )
    index = runs.parent / RUN_PAGE
    index.write_text(_ENVIRONMENT.get_template("index.html.j2").render(runs=listed))
    return index


def _run_number(name: str) -> tuple[int, str]:
    return (int(name), name) if name.isdigit() else (-1, name)


def _action_folders(run_folder: Path, actions: Sequence[dict[str, Any]]) -> list[Path | None]:
    """Each recorded action's folder, as its record names it (``actions/<stage>.<action>``,
    or under ``attempt-<n>/`` after a self-mutation). The preparation steps of `make local`
    have none."""
    folders: list[Path | None] = []
    for action in actions:
        folder = run_folder / action["folder"] if action.get("folder") else None
        folders.append(folder if folder is not None and folder.is_dir() else None)
    return folders


def _action_views(run_folder: Path, actions: Sequence[dict[str, Any]]) -> list[ActionView]:
    views = []
    for action, folder in zip(actions, _action_folders(run_folder, actions), strict=True):
        log = folder / "log.txt" if folder is not None else None
        views.append(
            ActionView(
                stage=action["stage"],
                name=action["action"],
                status=action["status"],
                seconds=action["seconds"],
                summary=action["summary"],
                category=action.get("category", ""),
                ended_at=action.get("ended_at", ""),
                log=log.relative_to(run_folder).as_posix() if log is not None and log.is_file() else None,
            )
        )
    return views


def _stages(actions: Iterable[ActionView]) -> list[tuple[str, list[ActionView]]]:
    """The stages in the order they ran, each with its actions (a stage run again after a
    self-mutation shows each run of it)."""
    stages: list[tuple[str, list[ActionView]]] = []
    for action in actions:
        if not stages or stages[-1][0] != action.stage:
            stages.append((action.stage, []))
        stages[-1][1].append(action)
    return stages


def _approvals(run_folder: Path, actions: Iterable[ActionView]) -> list[Approval]:
    approvals = []
    for action in actions:
        if action.category != "Approval":
            continue
        where = f"{action.stage}/{action.name}"
        summaries = tuple(stage_summaries(run_folder, action.stage))
        matched = _DECISION.match(action.summary)
        if action.status == "InProgress" or matched is None:
            approvals.append(Approval(where, "waiting", "", "", "", summaries))
        else:
            approvals.append(Approval(where, matched["decision"], matched["by"], action.ended_at, matched["comment"] or "", summaries))
    return approvals


def _reports(run_folder: Path, actions: Sequence[dict[str, Any]]) -> list[tuple[str, str, Path]]:
    """(action, report group, JUnit file) of every action that left reports."""
    found = []
    for action, folder in zip(actions, _action_folders(run_folder, actions), strict=True):
        if folder is None:
            continue
        for junit in sorted((folder / "reports").glob("*/*.xml")):
            found.append((f"{action['stage']}/{action['action']}", junit.parent.name, junit))
    return found


def _cases(junit: Path) -> list[Any]:
    """The test cases of a JUnit file a build wrote, or none if it cannot be read: what a
    pushed commit writes must never stop the run whose page this is."""
    try:
        root = ElementTree.parse(junit).getroot()
    except (ElementTree.ParseError, DefusedXmlException, OSError, ValueError):
        return []
    return list(root.iter("testcase")) if root is not None else []


def _audit(run_folder: Path, actions: Sequence[dict[str, Any]]) -> list[TemplateFindings]:
    """checkov's findings by template, failed checks first: from the last Checkov report."""
    reports = [junit for _, group, junit in _reports(run_folder, actions) if group == "Checkov"]
    if not reports:
        return []
    by_template: dict[str, TemplateFindings] = {}
    for case in _cases(reports[-1]):
        template = Path(case.get("file") or "?").name
        findings = by_template.setdefault(template, TemplateFindings(template))
        matched = _CHECK.match(case.get("name") or "")
        check_id, name = (matched["id"], matched["name"]) if matched else ("?", case.get("name") or "")
        resource = (case.get("classname") or "").rsplit(".json.", 1)[-1]
        failure, skipped = case.find("failure"), case.find("skipped")
        if failure is not None:
            findings.failed.append(Check(check_id, name, resource))
        elif skipped is not None:
            findings.skipped.append(Check(check_id, name, resource, skipped.get("message") or ""))
        else:
            findings.passed += 1
    return sorted(by_template.values(), key=lambda findings: (not findings.failed, findings.template))


def _lint(run_folder: Path, actions: Sequence[dict[str, Any]]) -> TestReport | None:
    reports = [(action, group, junit) for action, group, junit in _reports(run_folder, actions) if group == "CfnLint"]
    return _test_report(*reports[-1]) if reports else None


def _tests(run_folder: Path, actions: Sequence[dict[str, Any]]) -> list[TestReport]:
    """The unit and integration tests' reports (every report group but the audit's)."""
    return [
        _test_report(action, group, junit) for action, group, junit in _reports(run_folder, actions) if group not in ("Checkov", "CfnLint")
    ]


def _test_report(action: str, group: str, junit: Path) -> TestReport:
    cases = []
    for case in _cases(junit):
        name = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
        problem = next(iter([*case.iter("failure"), *case.iter("error")]), None)
        if problem is not None:
            cases.append(TestCase(name, "failed", ((problem.get("message") or "") + "\n" + (problem.text or "")).strip()))
        elif case.find("skipped") is not None:
            cases.append(TestCase(name, "skipped", case.find("skipped").get("message") or ""))
        else:
            cases.append(TestCase(name, "passed"))
    return TestReport(action, group, cases)
