"""Runs for pushes: ignored refs said so, approvals waited for and decided, runs listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from local_pipeline.executor.approval_action import ApprovalAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionOutcome, PipelineRun, RunRecord
from local_pipeline.executor.service import RunService
from local_pipeline.executor.source_action import PushedCommit
from tests.unit.local_pipeline.executor.helpers import action

TRIGGER = [
    {
        "ProviderType": "CodeStarSourceConnection",
        "GitConfiguration": {"SourceActionName": "Src", "Push": [{"Branches": {"Includes": ["main"]}}]},
    }
]


def _pipeline(deployed: list[str]):
    stages = [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
        {"Name": "Deploy", "Actions": [action("Approve", "Manual", category="Approval"), action("Deploy", "Deploy", run_order=2)]},
    ]
    pipeline = read_pipeline({"Stages": stages, "Triggers": TRIGGER}, name="demo")

    def start_run(pushed, run_id, folder, decide):
        handlers = {
            "Echo": lambda context: ActionOutcome("Succeeded", "echo"),
            "Manual": ApprovalAction(decide),
            "Deploy": lambda context: deployed.append(run_id) or ActionOutcome("Succeeded", "deployed"),
        }
        return PipelineRun(pipeline, handlers, directory=folder, record=RunRecord(run_id, pushed.commit, pushed.branch)).execute()

    return pipeline, start_run


def test_a_push_outside_the_filter_starts_nothing_and_says_why(tmp_path: Path):
    pipeline, start_run = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    for ref in ("refs/heads/feature/x", "refs/tags/v1"):
        answer = service.push(ref, PushedCommit(tmp_path, "c0ffee", "x"))
        assert not answer.started and answer.message.startswith(f"push of {ref} ignored: {ref} is a")
    assert service.listing() == []


def test_a_run_waits_at_the_approval_then_goes_on_or_stops(tmp_path: Path):
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)

    first = service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert first.started and first.run_id == "1"
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    assert service.waiting() == ("1", "Deploy/Approve", "")
    assert _approvals_on_the_page(tmp_path / "runs" / "1") == [["Deploy/Approve", "waiting", "", "", ""]]
    started = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")  # written when the run started
    assert [cell.get_text(strip=True) for cell in started.select("#runs tr td")][:2] == ["1", "InProgress"]
    assert service.decide(True, "alice") == "run 1: Deploy/Approve approved by alice"
    assert service.follow("1", timeout_seconds=10) == "Succeeded"
    assert [row[:3] for row in _approvals_on_the_page(tmp_path / "runs" / "1")] == [["Deploy/Approve", "approved", "alice"]]
    assert deployed == ["1"]

    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert service.follow("2", timeout_seconds=10) == "Waiting"
    service.decide(False, "bob", "not today")
    assert service.follow("2", timeout_seconds=10) == "Stopped"
    assert deployed == ["1"]  # nothing after a rejected approval
    assert json.loads((tmp_path / "runs" / "latest" / "run.json").read_text())["reason"] == "Deploy/Approve: rejected by bob: not today"
    assert [(r["id"], r["commit"], r["branch"], r["status"]) for r in service.listing()] == [
        ("1", "a" * 12, "main", "Succeeded"),
        ("2", "b" * 12, "main", "Stopped"),
    ]
    with pytest.raises(LookupError, match="no run waits for an approval"):
        service.decide(True, "alice")
    index = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    assert [row.find("a").get_text() for row in index.select("#runs tr") if row.find("a")] == ["2", "1"]


def _approvals_on_the_page(run: Path) -> list[list[str]]:
    """The approvals table of a run's page, as a push's run writes it while it goes."""
    page = BeautifulSoup((run / "index.html").read_text(), "html.parser")
    return [[cell.get_text(" ", strip=True) for cell in row.find_all("td")] for row in page.select("#approvals tr") if row.find("td")]


def test_a_crashing_run_fails_with_its_reason_and_the_service_goes_on(tmp_path: Path):
    pipeline, _ = _pipeline([])

    def crash(pushed, run_id, folder, decide):
        raise RuntimeError("the runner broke")

    service = RunService(tmp_path / "runs", lambda: pipeline, crash)
    service.push("refs/heads/main", PushedCommit(tmp_path, "c" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Failed"
    assert json.loads((tmp_path / "runs" / "1" / "run.json").read_text())["reason"] == "RuntimeError: the runner broke"
