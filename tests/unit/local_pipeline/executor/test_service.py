"""Runs for pushes: ignored refs said so, approvals waited for and decided, runs listed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from bs4 import BeautifulSoup

from local_pipeline.executor.approval_action import ApprovalAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionOutcome, PipelineRun, RunRecord
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup, record
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


def test_redeploying_keeps_the_runs_and_runs_them_one_at_a_time(tmp_path: Path):
    """`make remote` while a run waits at its approval: the run stays listed and approvable,
    and the next push waits for it, then runs the new pipeline (issue 19)."""
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"

    redeployed: list[str] = []
    new_pipeline, new_start_run = _pipeline(redeployed)
    service.redeploy(lambda: new_pipeline, new_start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    time.sleep(0.3)
    assert [(row["id"], row["status"]) for row in service.listing()] == [("1", "Waiting"), ("2", "InProgress")]
    assert not (tmp_path / "runs" / "2" / "actions").exists(), "run 2 started while run 1 held the pipeline"

    assert service.decide(True, "alice") == "run 1: Deploy/Approve approved by alice"
    assert service.follow("1", timeout_seconds=10) == "Succeeded"
    assert service.follow("2", timeout_seconds=10) == "Waiting"
    assert deployed == ["1"]
    service.decide(True, "alice")
    assert service.follow("2", timeout_seconds=10) == "Succeeded"
    assert redeployed == ["2"], "the run after the redeploy runs the new pipeline"


def test_a_new_service_lists_the_earlier_runs_and_fails_the_abandoned_one(tmp_path: Path):
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    first = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    first.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert first.follow("1", timeout_seconds=10) == "Waiting"
    first._runs["1"].claim.release()  # as the kernel does when the service's process is killed

    second = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    assert second.recovered == ["run 1: the push service stopped during this run: marked Failed"]
    assert [(row["id"], row["commit"], row["status"]) for row in second.listing()] == [("1", "a" * 12, "Failed")]
    assert second.waiting() is None
    second.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert second.follow("2", timeout_seconds=10) == "Waiting", "ids go on from the earlier service's"


def _sleeping_build(pipeline):
    """A run whose Deploy action is a build command: a process group of its own, recorded
    beside the action's log as buildspec.py records it, that runs until it is ended."""

    def start_run(pushed, run_id, folder, decide):
        def build(context):
            process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
            record(context.log.with_name(PROCESS_GROUP_FILE), ProcessGroup.of(process, "build command 'sleep 120'"))
            (folder / "build.pid").write_text(str(process.pid))
            return ActionOutcome("Failed", f"command exited {process.wait()}")

        handlers = {
            "Echo": lambda context: ActionOutcome("Succeeded", "echo"),
            "Manual": lambda context: ActionOutcome("Succeeded"),
            "Deploy": build,
        }
        return PipelineRun(pipeline, handlers, directory=folder, record=RunRecord(run_id, pushed.commit, pushed.branch)).execute()

    return start_run


def test_a_service_that_stops_ends_its_builds_and_says_why_the_run_failed(tmp_path: Path):
    pipeline, _ = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, _sleeping_build(pipeline))
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    pid_file = tmp_path / "runs" / "1" / "build.pid"
    deadline = time.monotonic() + 10
    while not pid_file.is_file():
        assert time.monotonic() < deadline, "the build did not start"
        time.sleep(0.02)
    build = int(pid_file.read_text())

    service.stop()
    recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert recorded["status"] == "Failed"
    assert recorded["reason"] == "the push service stopped during this run: Deploy/Deploy: command exited -15"
    assert not psutil.pid_exists(build) or psutil.Process(build).status() == psutil.STATUS_ZOMBIE
    answer = service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert (answer.started, answer.message) == (False, "push of refs/heads/main not run: the service is stopping")
