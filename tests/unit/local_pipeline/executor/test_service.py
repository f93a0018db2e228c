"""Runs for pushes: ignored refs said so, approvals waited for and decided, runs listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from bs4 import BeautifulSoup

from local_pipeline.executor.approval_action import ApprovalAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionOutcome, PipelineRun, RunRecord
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup, record
from local_pipeline.executor.service import RunService, RunStart
from local_pipeline.executor.source_action import PushedCommit
from tests.unit.local_pipeline.executor.helpers import action

TRIGGER = [
    {
        "ProviderType": "CodeStarSourceConnection",
        "GitConfiguration": {"SourceActionName": "Src", "Push": [{"Branches": {"Includes": ["main"]}}]},
    }
]


def _pipeline(deployed: list[str], *, stages=None, updates: tuple[str, ...] = ()):
    """A pipeline whose Deploy actions record which run deployed where, and whose Mutate
    action updates the pipeline when the run's commit is one of ``updates``."""
    stages = stages or [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
        {"Name": "Deploy", "Actions": [action("Approve", "Manual", category="Approval"), action("Deploy", "Deploy", run_order=2)]},
    ]
    pipeline = read_pipeline({"Stages": stages, "Triggers": TRIGGER, "RestartExecutionOnUpdate": True}, name="demo")

    def start_run(start: RunStart):
        run_id = start.run_id
        handlers = {
            "Echo": lambda context: ActionOutcome("Succeeded", "echo"),
            "Manual": ApprovalAction(start.decide),
            "Deploy": lambda context: deployed.append(f"{context.action.stage}:{run_id}") or ActionOutcome("Succeeded", "deployed"),
            "Mutate": lambda context: ActionOutcome("Succeeded", "deployed the pipeline", restart=start.pushed.commit in updates),
        }
        return PipelineRun(
            pipeline,
            handlers,
            directory=start.folder,
            record=RunRecord(run_id, start.pushed.commit, start.pushed.branch, trigger=start.trigger),
            executions=start.executions,
            execution=start.execution,
        ).execute()

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
    assert service.waiting() == [("1", "Deploy/Approve", "")]
    assert _approvals_on_the_page(tmp_path / "runs" / "1") == [["Deploy/Approve", "waiting", "", "", ""]]
    started = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")  # written when the run started
    assert [cell.get_text(strip=True) for cell in started.select("#runs tr td")][:2] == ["1", "InProgress"]
    assert service.decide(True, "alice") == "run 1: Deploy/Approve approved by alice"
    assert service.follow("1", timeout_seconds=10) == "Succeeded"
    assert [row[:3] for row in _approvals_on_the_page(tmp_path / "runs" / "1")] == [["Deploy/Approve", "approved", "alice"]]
    assert deployed == ["Deploy:1"]

    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert service.follow("2", timeout_seconds=10) == "Waiting"
    service.decide(False, "bob", "not today")
    assert service.follow("2", timeout_seconds=10) == "Failed"  # "the same as an action failing"
    assert deployed == ["Deploy:1"]  # nothing after a rejected approval
    assert json.loads((tmp_path / "runs" / "latest" / "run.json").read_text())["reason"] == "Deploy/Approve: rejected by bob: not today"
    assert [(r["id"], r["commit"], r["branch"], r["status"]) for r in service.listing()] == [
        ("1", "a" * 12, "main", "Succeeded"),
        ("2", "b" * 12, "main", "Failed"),
    ]
    with pytest.raises(LookupError, match="no run waits for an approval"):
        service.decide(True, "alice")
    index = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    assert [row.find("a").get_text() for row in index.select("#runs tr") if row.find("a")] == ["2", "1"]


def _approvals_on_the_page(run: Path) -> list[list[str]]:
    """The approvals of a run's page, as a push's run writes it while it goes: where, the
    decision, by whom, when, the comment."""
    page = BeautifulSoup((run / "index.html").read_text(), "html.parser")

    def text(block: Any, selector: str) -> str:
        found = block.select_one(selector)
        return found.get_text(" ", strip=True) if found is not None else ""

    return [
        [block["data-where"], *(text(block, f".decision {part}") for part in (".status", ".by", ".at", ".comment"))]
        for block in page.select("#approvals .approval")
    ]


def test_a_crashing_run_fails_with_its_reason_and_the_service_goes_on(tmp_path: Path):
    pipeline, _ = _pipeline([])

    def crash(start):
        raise RuntimeError("the runner broke")

    service = RunService(tmp_path / "runs", lambda: pipeline, crash)
    service.push("refs/heads/main", PushedCommit(tmp_path, "c" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Failed"
    assert json.loads((tmp_path / "runs" / "1" / "run.json").read_text())["reason"] == "RuntimeError: the runner broke"


def test_redeploying_keeps_the_runs_and_the_next_push_runs_the_new_pipeline_behind_the_waiting_one(tmp_path: Path):
    """`make remote` while a run waits at its approval: the run stays listed and approvable;
    the next push goes through Source, waits to enter the stage the first run holds (Rules
    1 and 2 of "How pipeline executions work"), then runs the new pipeline (issue 19)."""
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"

    redeployed: list[str] = []
    new_pipeline, new_start_run = _pipeline(redeployed)
    service.redeploy(lambda: new_pipeline, new_start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    _until(lambda: _row(service, "2")["why"] == "waits to enter Deploy, held by run 1")
    assert _row(service, "1")["status"] == "Waiting"
    assert not (tmp_path / "runs" / "2" / "actions" / "Deploy.Approve").exists(), "run 2 entered the stage run 1 holds"

    assert service.decide(True, "alice") == "run 1: Deploy/Approve approved by alice"
    assert service.follow("1", timeout_seconds=10) == "Succeeded"
    assert service.follow("2", timeout_seconds=10) == "Waiting"
    assert deployed == ["Deploy:1"]
    service.decide(True, "alice")
    assert service.follow("2", timeout_seconds=10) == "Succeeded"
    assert redeployed == ["Deploy:2"], "the run after the redeploy runs the new pipeline"


def test_a_redeployment_that_updates_the_pipeline_cancels_the_runs_in_progress_and_restarts_on_the_source_branch(tmp_path: Path):
    """`make remote` deploys the pipeline stack by hand: if that updates the pipeline, the
    runs in progress end Cancelled (API reference, "PipelineExecution"), and, with
    RestartExecutionOnUpdate (CloudFormation, "AWS::CodePipeline::Pipeline"), a new run
    starts on the head of the branch the source action names."""
    stages = [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source") | {"Configuration": {"BranchName": "main"}}]},
        {"Name": "Deploy", "Actions": [action("Approve", "Manual", category="Approval")]},
    ]
    pipeline, start_run = _pipeline([], stages=stages)
    head = PushedCommit(tmp_path, "c" * 40, "main")
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run, branch_head=lambda branch: head)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    assert service.redeploy(lambda: pipeline, start_run, updated="`make remote`") == "2"
    _until(lambda: _row(service, "1")["status"] == "Cancelled")
    assert _row(service, "1")["why"] == "the pipeline's definition was updated by `make remote` before this run could complete"
    assert service.follow("2", timeout_seconds=10) == "Waiting"
    assert json.loads((tmp_path / "runs" / "2" / "run.json").read_text())["commit"] == "c" * 40


def _row(service: RunService, run_id: str) -> dict:
    (row,) = [row for row in service.listing() if row["id"] == run_id]
    return row


def _until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come about in time"
        time.sleep(0.02)


_TWO_ENVIRONMENTS = [
    {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
    {"Name": "Trusted", "Actions": [action("Deploy", "Deploy")]},
    {"Name": "Trusting", "Actions": [action("Approve", "Manual", category="Approval"), action("Deploy", "Deploy", run_order=2)]},
]


def test_a_push_while_a_run_waits_at_an_approval_deploys_the_stages_before_it_and_a_third_push_supersedes_the_second(tmp_path):
    """CodePipeline user guide, "How pipeline executions work": a stage with an approval
    stays locked while it waits (Rule 1), a later execution runs the stages before it and
    waits between the stages (Rule 2), and a more recent one supersedes it there (Rule 3;
    API reference, "PipelineExecution": Superseded)."""
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed, stages=_TWO_ENVIRONMENTS)
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    _until(lambda: _row(service, "2")["why"] == "waits to enter Trusting, held by run 1")
    assert deployed == ["Trusted:1", "Trusted:2"], "run 2 deployed Trusted while run 1 waits at its approval"
    on_disk = json.loads((tmp_path / "runs" / "2" / "run.json").read_text())  # what the pusher's terminal and the page read
    assert [(a["stage"], a["status"]) for a in on_disk["actions"]] == [("Source", "Succeeded"), ("Trusted", "Succeeded")]
    service.push("refs/heads/main", PushedCommit(tmp_path, "c" * 40, "main"))
    assert service.follow("2", timeout_seconds=10) == "Superseded"
    assert _row(service, "2")["why"] == "while it waited to enter Trusting, run 3, more recent, went on instead"
    assert _row(service, "3")["why"] == "waits to enter Trusting, held by run 1"

    service.decide(True, "alice", run_id="1")
    assert service.follow("1", timeout_seconds=10) == "Succeeded"
    assert service.follow("3", timeout_seconds=10) == "Waiting"
    service.decide(True, "alice", run_id="3")
    assert service.follow("3", timeout_seconds=10) == "Succeeded"
    assert deployed == ["Trusted:1", "Trusted:2", "Trusted:3", "Trusting:1", "Trusting:3"]


def test_with_several_runs_at_approvals_a_decision_names_its_run(tmp_path):
    """Two runs wait at approvals of two stages: deciding without naming the run is
    refused, naming both; ``run_id`` decides the one named."""
    stages = [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
        {"Name": "Dev", "Actions": [action("Approve", "Manual", category="Approval")]},
        {"Name": "Prod", "Actions": [action("Approve", "Manual", category="Approval")]},
    ]
    pipeline, start_run = _pipeline([], stages=stages)
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    service.decide(True, "alice")
    _until(lambda: service.waiting() == [("1", "Prod/Approve", "")])
    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    _until(lambda: len(service.waiting()) == 2)
    with pytest.raises(LookupError, match=r"2 runs wait for an approval \(run 1 at Prod/Approve, run 2 at Dev/Approve\): say which"):
        service.decide(True, "alice")
    with pytest.raises(LookupError, match="run 7 waits for no approval"):
        service.decide(True, "alice", run_id="7")
    assert service.decide(False, "bob", run_id="2") == "run 2: Dev/Approve rejected by bob"
    assert service.follow("2", timeout_seconds=10) == "Failed"
    assert service.waiting() == [("1", "Prod/Approve", "")]


def test_an_approval_no_one_decides_within_seven_days_fails_the_run(tmp_path):
    """CodePipeline user guide, "Manage approval actions in CodePipeline": if no one
    approves or rejects the action within seven days, "the result is the same as an
    action failing". The service's clock is moved past the seven days."""
    now = [1000.0]
    pipeline, start_run = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run, clock=lambda: now[0])
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    now[0] += 7 * 24 * 3600 - 1
    time.sleep(0.2)
    assert service.waiting() == [("1", "Deploy/Approve", "")], "still within the seven days"
    now[0] += 1
    _until(lambda: service.waiting() == [])
    assert service.follow("1", timeout_seconds=10) == "Failed"
    recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert recorded["reason"] == "Deploy/Approve: not approved: no one approved or rejected it within seven days"


def test_a_run_that_updates_the_pipeline_cancels_the_waiting_run_and_restarts_on_the_branch_head(tmp_path):
    """API reference, "PipelineExecution": "Cancelled: The pipeline's definition was updated
    before the pipeline execution could be completed"; CloudFormation,
    "AWS::CodePipeline::Pipeline": RestartExecutionOnUpdate reruns the pipeline after it is
    updated: a new execution, with its own id, of the branch's head."""
    stages = [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
        {"Name": "UpdatePipeline", "Actions": [action("SelfMutate", "Mutate")]},
        {"Name": "Deploy", "Actions": [action("Approve", "Manual", category="Approval"), action("Deploy", "Deploy", run_order=2)]},
    ]
    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed, stages=stages, updates=("b" * 40,))
    head = PushedCommit(tmp_path, "c" * 40, "main")
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run, branch_head=lambda branch: head)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert service.follow("2", timeout_seconds=10) == "Cancelled"
    _until(lambda: _row(service, "1")["status"] == "Cancelled")
    first = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert first["reason"] == "the pipeline's definition was updated by run 2's UpdatePipeline/SelfMutate before this run could complete"
    assert [(a["action"], a["status"]) for a in first["actions"]][-1] == ("Approve", "Abandoned")
    second = json.loads((tmp_path / "runs" / "2" / "run.json").read_text())
    assert (second["updated_pipeline"], second["restarted_as"]) == ("UpdatePipeline/SelfMutate", "3")
    assert service.follow("3", timeout_seconds=10) == "Waiting"
    third = json.loads((tmp_path / "runs" / "3" / "run.json").read_text())
    assert (third["commit"], third["trigger"]) == ("c" * 40, "the pipeline's update by run 2 (UpdatePipeline/SelfMutate)")
    assert len({first["execution_id"], second["execution_id"], third["execution_id"]}) == 3
    assert deployed == []


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
    assert second.waiting() == []
    second.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert second.follow("2", timeout_seconds=10) == "Waiting", "ids go on from the earlier service's"


def _sleeping_build(pipeline):
    """A run whose Deploy action is a build command: a process group of its own, recorded
    beside the action's log as buildspec.py records it, that runs until it is ended."""

    def start_run(start):
        folder = start.folder

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
        run = RunRecord(start.run_id, start.pushed.commit, start.pushed.branch)
        return PipelineRun(
            pipeline, handlers, directory=folder, record=run, executions=start.executions, execution=start.execution
        ).execute()

    return start_run


def test_a_service_that_stops_ends_its_builds_and_says_why_the_run_failed(tmp_path: Path):
    pipeline, _ = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, _sleeping_build(pipeline))
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    pid_file = tmp_path / "runs" / "1" / "build.pid"
    deadline = time.monotonic() + 120  # as long as a loaded machine needs; the loop ends at the file
    while not pid_file.is_file():
        assert time.monotonic() < deadline, "the build did not start"
        time.sleep(0.02)
    build = int(pid_file.read_text())

    # Time for the run to record its build's end: on a loaded machine (a push's Synth runs this
    # suite beside the service) 10 s was not always enough, and the reason lacked the build's.
    service.stop(join_seconds=120)
    recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert recorded["status"] == "Failed"
    assert recorded["reason"] == "the push service stopped during this run: Deploy/Deploy: command exited -15"
    assert not psutil.pid_exists(build) or psutil.Process(build).status() == psutil.STATUS_ZOMBIE
    answer = service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
    assert (answer.started, answer.message) == (False, "push of refs/heads/main not run: the service is stopping")


def test_a_service_that_stops_while_a_run_waits_at_an_approval_records_it_failed_once_and_ends_it(tmp_path: Path):
    """The run at the approval ends with the service (its execution ended), its record
    written by its own thread once, with the reason said once; nothing writes it after."""
    pipeline, start_run = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    service.stop()
    assert not service._runs["1"].thread.is_alive()
    recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert (recorded["status"], recorded["reason"]) == ("Failed", "the push service stopped during this run")
    time.sleep(0.2)
    assert json.loads((tmp_path / "runs" / "1" / "run.json").read_text()) == recorded


def test_a_restart_that_cannot_start_is_said_and_the_run_still_ends(tmp_path: Path):
    """The head of the branch cannot be read (git fails): the updating run ends, its record
    says why no restart came, and its folder is let go."""
    stages = [
        {"Name": "Source", "Actions": [action("Src", "Echo", category="Source")]},
        {"Name": "UpdatePipeline", "Actions": [action("SelfMutate", "Mutate")]},
    ]
    pipeline, start_run = _pipeline([], stages=stages, updates=("a" * 40,))

    def broken(branch):
        raise OSError("git is gone")

    service = RunService(tmp_path / "runs", lambda: pipeline, start_run, branch_head=broken)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Cancelled"
    recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert recorded["reason"].endswith("; not restarted: OSError: git is gone")
    assert service._runs["1"].claim._lock == -1, "its folder is let go"


# --- approvals answered through CodePipeline's API (emulator.patches.codepipeline_approvals) ---

_ACCOUNT, _REGION = "111111111111", "us-east-1"
# What the AWS CDK's ConfirmPermissionsBroadening approver does, as a build's own process: poll
# GetPipelineState for the waiting approval's token, then PutApprovalResult with it.
_AUTO_APPROVER = """
import sys, time, boto3
codepipeline = boto3.client("codepipeline")
for _ in range(300):
    state = codepipeline.get_pipeline_state(name="demo")
    (deploy,) = [stage for stage in state["stageStates"] if stage["stageName"] == "Deploy"]
    latest = deploy["actionStates"][0].get("latestExecution") or {}
    if latest.get("status") == "InProgress" and latest.get("token"):
        codepipeline.put_approval_result(
            pipelineName="demo", stageName="Deploy", actionName="Approve",
            result={"summary": "no permission broadens", "status": "Approved"}, token=latest["token"],
        )
        sys.exit(0)
    time.sleep(0.1)
sys.exit("no approval waited")
"""


@pytest.fixture
def aws():
    """The emulated accounts, holding the pipeline ``_pipeline`` runs ("demo") as CloudFormation
    would have created it (its stages and actions)."""
    from emulator import Emulator
    from tests.unit.emulator.helpers import service_trust

    with Emulator() as emulator:
        iam = emulator.client("iam", _ACCOUNT, _REGION)
        trust = service_trust("codepipeline.amazonaws.com", _ACCOUNT)
        role = iam.create_role(RoleName="demo-pipeline", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

        def declared(name: str, category: str, provider: str, run_order: int = 1) -> dict:
            kind = {"category": category, "owner": "AWS", "provider": provider, "version": "1"}
            return {"name": name, "actionTypeId": kind, "runOrder": run_order}

        stages = [
            {"name": "Source", "actions": [declared("Src", "Source", "Echo")]},
            {"name": "Deploy", "actions": [declared("Approve", "Approval", "Manual"), declared("Deploy", "Build", "Deploy", 2)]},
        ]
        emulator.client("codepipeline", _ACCOUNT, _REGION).create_pipeline(
            pipeline={"name": "demo", "roleArn": role, "artifactStore": {"type": "S3", "location": "artifacts"}, "stages": stages}
        )
        yield emulator


def _build_role(emulator, name: str, *, approve_on: str = "Deploy/Approve"):
    """A CodeBuild project's service role allowed GetPipelineState on the pipeline and
    PutApprovalResult on the action ``approve_on``; its credentials, as CodeBuild assumes it."""
    from emulator.identity import assume_role_as_service
    from tests.unit.emulator.helpers import service_trust

    pipeline_arn = f"arn:aws:codepipeline:{_REGION}:{_ACCOUNT}:demo"
    permissions = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "codepipeline:GetPipelineState", "Resource": pipeline_arn},
            {"Effect": "Allow", "Action": "codepipeline:PutApprovalResult", "Resource": f"{pipeline_arn}/{approve_on}"},
        ],
    }
    iam = emulator.client("iam", _ACCOUNT, _REGION)
    trust = service_trust("codebuild.amazonaws.com", _ACCOUNT)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="approvals", PolicyDocument=json.dumps(permissions))
    source = f"arn:aws:codebuild:{_REGION}:{_ACCOUNT}:project/*"
    return assume_role_as_service(role, service="codebuild.amazonaws.com", source_arn=source, region=_REGION)


def _codepipeline(credentials):
    from emulator import clients

    return clients.client("codepipeline", region=_REGION, credentials=credentials)


def _waiting_token(codepipeline) -> str:
    (deploy,) = [stage for stage in codepipeline.get_pipeline_state(name="demo")["stageStates"] if stage["stageName"] == "Deploy"]
    return str(deploy["actionStates"][0]["latestExecution"]["token"])


def _approval_error(codepipeline, token: str, status: str = "Approved") -> str:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        codepipeline.put_approval_result(
            pipelineName="demo", stageName="Deploy", actionName="Approve", result={"summary": "", "status": status}, token=token
        )
    return str(refused.value.response["Error"]["Code"])


def test_get_pipeline_state_shows_the_runs_stages_and_the_waiting_approvals_token(tmp_path: Path, aws):
    """CodePipeline API reference, "GetPipelineState": each stage's latestExecution
    (pipelineExecutionId, status), each action's (status, summary, lastStatusChange), and the
    token of the approval that waits, InProgress ("ActionExecution": token)."""
    pipeline, start_run = _pipeline([])
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    try:
        service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
        assert service.follow("1", timeout_seconds=10) == "Waiting"
        execution_id = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())["execution_id"]
        state = _codepipeline(_build_role(aws, "reader")).get_pipeline_state(name="demo")
        source, deploy = state["stageStates"]
        assert source["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "Succeeded"}
        assert source["actionStates"][0]["latestExecution"]["status"] == "Succeeded"
        assert deploy["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "InProgress"}
        approve, deploy_action = deploy["actionStates"]
        assert approve["latestExecution"]["status"] == "InProgress"
        assert uuid.UUID(approve["latestExecution"]["token"]).version == 4
        assert deploy_action == {"actionName": "Deploy"}  # not reached yet
        assert source["actionStates"][0]["latestExecution"].get("token") is None
    finally:
        service.stop()


def test_a_build_approves_the_waiting_approval_through_the_api_and_the_run_goes_on(tmp_path: Path, aws):
    """CodePipeline API reference, "PutApprovalResult": a build's own process (its project's
    role's credentials, the emulated endpoint, as CodeBuild hands them) finds the token with
    GetPipelineState and approves with it; the run goes on, and the decision names the caller
    as AWS does: the role's session."""
    from local_pipeline.keep_up import served

    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    credentials = _build_role(aws, "auto-approver")
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    try:
        service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
        with served() as endpoint:
            environment = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(tmp_path),
                "AWS_REGION": _REGION,
                "AWS_DEFAULT_REGION": _REGION,  # CodeBuild sets both
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
                **credentials.as_environment(),
            }
            build = subprocess.run([sys.executable, "-c", _AUTO_APPROVER], env=environment, capture_output=True, text=True, timeout=60)
        assert build.returncode == 0, build.stderr
        assert service.follow("1", timeout_seconds=10) == "Succeeded"
        assert deployed == ["Deploy:1"]
        recorded = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
        (approve,) = [entry for entry in recorded["actions"] if entry["action"] == "Approve"]
        by = f"arn:aws:sts::{_ACCOUNT}:assumed-role/auto-approver/codebuild"
        assert (approve["status"], approve["summary"]) == ("Succeeded", f"approved by {by}: no permission broadens")
    finally:
        service.stop()


def _waiting_at_the_approval(tmp_path: Path, aws: Any) -> tuple[RunService, Any]:
    """A service whose run 1 waits at its approval, and a CodePipeline client as a role allowed to decide it."""
    pipeline, start_run = _pipeline([])
    codepipeline = _codepipeline(_build_role(aws, "approver"))
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
    assert service.follow("1", timeout_seconds=10) == "Waiting"
    return service, codepipeline


def test_a_wrong_token_is_refused_and_the_run_still_waits_then_the_right_one_rejects(tmp_path: Path, aws):
    """CodePipeline API reference, "PutApprovalResult", Errors: InvalidApprovalTokenException
    for a token that is not the waiting approval's; nothing is decided. A rejection then fails
    the run, "the same as an action failing" (user guide, "Manage approval actions")."""
    service, codepipeline = _waiting_at_the_approval(tmp_path, aws)
    try:
        assert _approval_error(codepipeline, str(uuid.uuid4())) == "InvalidApprovalTokenException"
        assert service.waiting() == [("1", "Deploy/Approve", "")]
        assert service.follow("1", timeout_seconds=1) == "Waiting"
        codepipeline.put_approval_result(
            pipelineName="demo",
            stageName="Deploy",
            actionName="Approve",
            result={"summary": "not today", "status": "Rejected"},
            token=_waiting_token(codepipeline),
        )
        assert service.follow("1", timeout_seconds=10) == "Failed"
        by = f"arn:aws:sts::{_ACCOUNT}:assumed-role/approver/codebuild"
        assert json.loads((tmp_path / "runs" / "1" / "run.json").read_text())["reason"] == f"Deploy/Approve: rejected by {by}: not today"
    finally:
        service.stop()


def test_a_role_without_put_approval_result_on_the_actions_arn_is_denied_and_the_run_still_waits(tmp_path: Path, aws):
    """Attack: a build whose role may read the pipeline's state (and so the token) but holds
    codepipeline:PutApprovalResult only on another action's ARN cannot approve this one
    (Service Authorization Reference, CodePipeline: PutApprovalResult is authorized on the
    action, arn:aws:codepipeline:<region>:<account>:<pipeline>/<stage>/<action>)."""
    from botocore.exceptions import ClientError

    deployed: list[str] = []
    pipeline, start_run = _pipeline(deployed)
    codepipeline = _codepipeline(_build_role(aws, "intruder", approve_on="Deploy/Deploy"))
    service = RunService(tmp_path / "runs", lambda: pipeline, start_run)
    try:
        service.push("refs/heads/main", PushedCommit(tmp_path, "a" * 40, "main"))
        assert service.follow("1", timeout_seconds=10) == "Waiting"
        token = _waiting_token(codepipeline)
        with pytest.raises(ClientError) as denied:
            codepipeline.put_approval_result(
                pipelineName="demo", stageName="Deploy", actionName="Approve", result={"summary": "", "status": "Approved"}, token=token
            )
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
        action_arn = f"arn:aws:codepipeline:{_REGION}:{_ACCOUNT}:demo/Deploy/Approve"
        assert f"codepipeline:PutApprovalResult on resource: {action_arn}" in denied.value.response["Error"]["Message"]
        assert service.waiting() == [("1", "Deploy/Approve", "")]
        assert service.follow("1", timeout_seconds=1) == "Waiting" and deployed == []
    finally:
        service.stop()


def test_a_second_put_approval_result_is_refused_as_already_completed(tmp_path: Path, aws):
    """CodePipeline API reference, "PutApprovalResult", Errors: ApprovalAlreadyCompletedException,
    "The approval action has already been approved or rejected"; whoever decided it (here
    `make approve`, through ``decide``)."""
    service, codepipeline = _waiting_at_the_approval(tmp_path, aws)
    try:
        token = _waiting_token(codepipeline)
        codepipeline.put_approval_result(
            pipelineName="demo", stageName="Deploy", actionName="Approve", result={"summary": "", "status": "Approved"}, token=token
        )
        assert service.follow("1", timeout_seconds=10) == "Succeeded"
        assert _approval_error(codepipeline, token, "Rejected") == "ApprovalAlreadyCompletedException"

        service.push("refs/heads/main", PushedCommit(tmp_path, "b" * 40, "main"))
        assert service.follow("2", timeout_seconds=10) == "Waiting"
        token = _waiting_token(codepipeline)
        service.decide(True, "alice")
        assert service.follow("2", timeout_seconds=10) == "Succeeded"
        assert _approval_error(codepipeline, token) == "ApprovalAlreadyCompletedException"
    finally:
        service.stop()
