"""`make local`'s approvals: granted without asking, or asked on the terminal (yes only)."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
import uuid

import pytest

from local_pipeline.approvals import Approver, NotApproved
from local_pipeline.executor.approval_action import ApprovalAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import PipelineRun, RunRecord
from tests.unit.local_pipeline.executor.helpers import action


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


# --- approvals answered through CodePipeline's API (emulator.patches.codepipeline_approvals) ---

_ACCOUNT, _REGION, _PIPELINE = "111111111111", "us-east-1", "LocalPipeline"
_TWO_APPROVALS = [
    {"Name": "Source", "Actions": [action("Approve", "Manual", category="Approval")]},
    {"Name": "Deploy", "Actions": [action("Approve", "Manual", category="Approval")]},
]


class _SlowTerminal:
    """A console whose user answers only when the test says what (``lines``)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.prompts: list[str] = []
        self.printed: list[str] = []

    def input(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.lines.get(timeout=30)

    def print(self, text: str, end: str = "\n") -> None:
        self.printed.append(text)


@pytest.fixture
def deployed():
    """The emulated accounts holding ``_PIPELINE`` (``_TWO_APPROVALS``' stages), as `make local`
    deploys it; a codepipeline client of a build's role allowed codepipeline:*."""
    from emulator import Emulator, clients
    from emulator.identity import assume_role_as_service
    from tests.unit.emulator.helpers import service_trust

    with Emulator() as emulator:
        iam = emulator.client("iam", _ACCOUNT, _REGION)
        role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=service_trust("codepipeline.amazonaws.com", _ACCOUNT))
        manual = {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
        stages = [{"name": stage["Name"], "actions": [{"name": "Approve", "actionTypeId": manual}]} for stage in _TWO_APPROVALS]
        emulator.client("codepipeline", _ACCOUNT, _REGION).create_pipeline(
            pipeline={
                "name": _PIPELINE,
                "roleArn": role["Role"]["Arn"],
                "artifactStore": {"type": "S3", "location": "artifacts"},
                "stages": stages,
            }
        )
        iam.create_role(RoleName="approver", AssumeRolePolicyDocument=service_trust("codebuild.amazonaws.com", _ACCOUNT))
        allowed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"}]}
        iam.put_role_policy(RoleName="approver", PolicyName="approvals", PolicyDocument=json.dumps(allowed))
        credentials = assume_role_as_service(
            f"arn:aws:iam::{_ACCOUNT}:role/approver",
            service="codebuild.amazonaws.com",
            source_arn=f"arn:aws:codebuild:{_REGION}:{_ACCOUNT}:project/*",
            region=_REGION,
        )
        yield clients.client("codepipeline", region=_REGION, credentials=credentials)


def _run(approver: Approver, directory, stages=_TWO_APPROVALS, name: str = _PIPELINE) -> PipelineRun:
    pipeline = read_pipeline({"Stages": stages}, name=name)
    return PipelineRun(pipeline, {"Manual": ApprovalAction(approver.decide)}, directory=directory, record=RunRecord("1", "c", "main"))


def test_a_put_approval_result_while_the_terminal_asks_ends_the_wait_and_the_next_line_answers_the_next_approval(
    monkeypatch, tmp_path, deployed
):
    """CodePipeline API reference, "GetPipelineState" (the waiting approval's token) and
    "PutApprovalResult" (decided with it, in the caller's name): `make local --approve`'s
    wait ends without an answer on the terminal, which says so; the line the terminal was
    reading answers the next approval."""
    monkeypatch.setattr("sys.stdin", _Terminal())
    console = _SlowTerminal()
    run = _run(Approver(ask=True, console=console), tmp_path)
    ran = threading.Thread(target=run.execute)
    ran.start()
    latest: dict = {}
    for _ in range(200):
        latest = deployed.get_pipeline_state(name=_PIPELINE)["stageStates"][0]["actionStates"][0].get("latestExecution") or {}
        if latest.get("token"):
            break
        time.sleep(0.02)
    assert latest["status"] == "InProgress" and latest["token"]
    deployed.put_approval_result(
        pipelineName=_PIPELINE,
        stageName="Source",
        actionName="Approve",
        result={"summary": "no permission broadens", "status": "Approved"},
        token=latest["token"],
    )
    for _ in range(200):  # the run goes on to the next approval, which the terminal asks about
        if len(console.printed) >= 2:
            break
        time.sleep(0.02)
    console.lines.put("y")
    ran.join(timeout=10)
    by = f"arn:aws:sts::{_ACCOUNT}:assumed-role/approver/codebuild"
    assert run.record.status == "Succeeded", run.record.reason
    assert [entry.summary for entry in run.record.actions] == [
        f"approved by {by}: no permission broadens",
        "approved by you at the terminal",
    ]
    assert len(console.prompts) == 1, "one line read, for both"
    assert console.printed[0] == f"  Source/Approve approved by {by} (PutApprovalResult): no answer needed"
    assert "Deploy/Approve" in console.printed[1]


def test_approvals_granted_without_asking_show_as_succeeded_with_no_token(monkeypatch, tmp_path, deployed):
    """CodePipeline API reference, "GetPipelineState" ("ActionExecution": status, summary; the
    token is that of an approval that waits): `make local` without APPROVE=1 grants at once,
    and shows it; no token answers an approval already granted ("PutApprovalResult", Errors:
    InvalidApprovalTokenException)."""
    from botocore.exceptions import ClientError

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    record = _run(Approver(ask=False, console=_Console("n")), tmp_path).execute()
    assert record.status == "Succeeded"
    for stage in deployed.get_pipeline_state(name=_PIPELINE)["stageStates"]:
        latest = stage["actionStates"][0]["latestExecution"]
        assert (latest["status"], latest["summary"]) == ("Succeeded", "approved by make local: granted without asking (APPROVE=1 asks)")
        assert "token" not in latest
    with pytest.raises(ClientError) as refused:
        deployed.put_approval_result(
            pipelineName=_PIPELINE,
            stageName="Deploy",
            actionName="Approve",
            result={"summary": "", "status": "Approved"},
            token=str(uuid.uuid4()),
        )
    assert refused.value.response["Error"]["Code"] == "InvalidApprovalTokenException"


def test_a_runs_approval_asked_on_the_terminal_is_still_decided_by_the_answer(monkeypatch, tmp_path):
    """No emulated account holds the pipeline (nothing can answer through the API): the
    terminal's answer decides, as before."""
    monkeypatch.setattr("sys.stdin", _Terminal())
    console = _SlowTerminal()
    console.lines.put("n")
    stages = [{"Name": "Gate", "Actions": [action("Approve", "Manual", category="Approval")]}]
    record = _run(Approver(ask=True, console=console), tmp_path, stages, name="nowhere").execute()
    assert (record.status, record.reason) == ("Failed", "Gate/Approve: rejected by you at the terminal")
    assert console.prompts == ["  Gate/Approve approve [bold]Gate/Approve[/bold]? [y/N] "] and console.printed == []
