"""GetPipelineState and PutApprovalResult answer as the CodePipeline API reference documents
them ("GetPipelineState", "PutApprovalResult": response syntax and errors), through the
provider the local executor registers for a pipeline; who may call them is IAM's decision on
the pipeline's and the action's ARN."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import REGION, client_as_role, service_trust


def _pipeline(account: Any, name: str) -> str:
    """A pipeline in moto: Source, then Deploy (an approval, then a build after it)."""
    role = account.role(f"{name}-pipeline", trust=service_trust("codepipeline.amazonaws.com", account.id))

    def declared(action: str, category: str, provider: str, run_order: int = 1) -> dict[str, Any]:
        kind = {"category": category, "owner": "AWS", "provider": provider, "version": "1"}
        return {"name": action, "actionTypeId": kind, "runOrder": run_order}

    account.client("codepipeline").create_pipeline(
        pipeline={
            "name": name,
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [
                {"name": "Source", "actions": [declared("Src", "Source", "CodeStarSourceConnection")]},
                {"name": "Deploy", "actions": [declared("Approve", "Approval", "Manual"), declared("Build", "Build", "CodeBuild", 2)]},
            ],
        }
    )
    return f"arn:aws:codepipeline:{REGION}:{account.id}:{name}"


class _Provider:
    """A run that waits at Deploy/Approve with ``token``, as the executor would show it."""

    def __init__(self, execution_id: str, token: str) -> None:
        self.execution_id = execution_id
        self.token = token
        self.decided: list[tuple[str, str, str, str, str, str]] = []

    def state(self) -> dict[str, Any]:
        waiting = {"status": "InProgress", "token": self.token, "lastStatusChange": 1_700_000_000.0}
        return {
            "stageStates": [
                {
                    "stageName": "Deploy",
                    "latestExecution": {"pipelineExecutionId": self.execution_id, "status": "InProgress"},
                    "actionStates": [{"actionName": "Approve", "latestExecution": waiting}],
                }
            ]
        }

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        from emulator.patches import codepipeline_approvals

        if self.decided:
            raise codepipeline_approvals.ApprovalAlreadyCompleted("decided")
        if token != self.token:
            raise codepipeline_approvals.InvalidApprovalToken("not the waiting approval's")
        self.decided.append((stage, action, token, status, summary, by))


@pytest.fixture
def waiting(patched, unique):
    """A pipeline whose run waits at Deploy/Approve: (its name, ARN, the provider)."""
    from emulator.patches import codepipeline_approvals

    arn = _pipeline(patched, unique)
    provider = _Provider(str(uuid.uuid4()), str(uuid.uuid4()))
    codepipeline_approvals.register(patched.id, REGION, unique, provider)
    yield unique, arn, provider
    codepipeline_approvals.unregister(patched.id, REGION, unique, provider)


def _error(call, **kwargs) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return str(refused.value.response["Error"]["Code"])


def test_moto_still_has_neither_operation(vanilla):
    from moto.codepipeline.responses import CodePipelineResponse

    from emulator.patches import codepipeline_approvals

    assert codepipeline_approvals.REASON
    assert "get_pipeline_state" not in vars(CodePipelineResponse)
    assert "put_approval_result" not in vars(CodePipelineResponse)
    with pytest.raises(NotImplementedError):
        vanilla.client("codepipeline").get_pipeline_state(name="any")


def test_a_pipeline_no_run_reached_shows_its_declaration(patched, unique):
    """API reference, "GetPipelineState" (response syntax): pipelineName, pipelineVersion,
    created, updated, a StageState per stage with stageName, inboundTransitionState and
    actionStates; no latestExecution where nothing ran (a guess: the docs say nothing of it)."""
    _pipeline(patched, unique)
    state = patched.client("codepipeline").get_pipeline_state(name=unique)
    assert (state["pipelineName"], state["pipelineVersion"]) == (unique, 1)
    assert isinstance(state["created"], datetime) and isinstance(state["updated"], datetime)
    assert state["stageStates"] == [
        {"stageName": "Source", "inboundTransitionState": {"enabled": True}, "actionStates": [{"actionName": "Src"}]},
        {
            "stageName": "Deploy",
            "inboundTransitionState": {"enabled": True},
            "actionStates": [{"actionName": "Approve"}, {"actionName": "Build"}],
        },
    ]


def test_get_pipeline_state_shows_the_waiting_approvals_token(patched, waiting):
    """API reference, "GetPipelineState" and "ActionExecution": the approval that waits is
    InProgress and carries its token; the stage's latestExecution names the execution."""
    name, _, provider = waiting
    state = patched.client("codepipeline").get_pipeline_state(name=name)
    (deploy,) = [stage for stage in state["stageStates"] if stage["stageName"] == "Deploy"]
    assert deploy["latestExecution"] == {"pipelineExecutionId": provider.execution_id, "status": "InProgress"}
    approve, build = deploy["actionStates"]
    assert approve["latestExecution"]["status"] == "InProgress" and approve["latestExecution"]["token"] == provider.token
    assert build == {"actionName": "Build"}


def test_put_approval_result_with_the_token_decides_it_in_the_callers_name(patched, waiting):
    """API reference, "PutApprovalResult": the token from GetPipelineState, result
    {summary, status}; the answer is approvedAt. The caller is named as AWS names it: the
    assumed role's session."""
    name, arn, provider = waiting
    approver = patched.role(f"{name}-approver", trust=json.dumps(_trusting(patched.id)), permissions=_allowed(f"{arn}/Deploy/Approve"))
    codepipeline = client_as_role(patched, approver, "codepipeline")
    answer = codepipeline.put_approval_result(
        pipelineName=name,
        stageName="Deploy",
        actionName="Approve",
        result={"summary": "no permission broadens", "status": "Approved"},
        token=provider.token,
    )
    assert isinstance(answer["approvedAt"], datetime)
    by = f"arn:aws:sts::{patched.id}:assumed-role/{name}-approver/test"
    assert provider.decided == [("Deploy", "Approve", provider.token, "Approved", "no permission broadens", by)]


def test_a_wrong_or_spent_token_is_refused(patched, waiting):
    """API reference, "PutApprovalResult", Errors: InvalidApprovalTokenException ("The
    approval request already received a response or has expired"),
    ApprovalAlreadyCompletedException ("The approval action has already been approved or
    rejected"); which case answers which is the provider's."""
    name, _, provider = waiting
    put = patched.client("codepipeline").put_approval_result
    decision = {"pipelineName": name, "stageName": "Deploy", "actionName": "Approve", "result": {"summary": "", "status": "Rejected"}}
    assert _error(put, **decision, token=str(uuid.uuid4())) == "InvalidApprovalTokenException"
    assert provider.decided == []
    put(**decision, token=provider.token)
    assert _error(put, **decision, token=provider.token) == "ApprovalAlreadyCompletedException"


def test_no_such_pipeline_stage_or_action_and_invalid_requests_are_refused(patched, waiting):
    """API reference, "PutApprovalResult", Errors (PipelineNotFoundException,
    StageNotFoundException, ActionNotFoundException, ValidationException: summary "Maximum
    length of 512", status "Approved | Rejected", token's pattern); "GetPipelineState",
    Errors (PipelineNotFoundException)."""
    name, _, provider = waiting
    codepipeline = patched.client("codepipeline")
    put = codepipeline.put_approval_result
    approved = {"summary": "fine", "status": "Approved"}
    at = {"pipelineName": name, "stageName": "Deploy", "actionName": "Approve", "token": provider.token}
    assert _error(codepipeline.get_pipeline_state, name=f"{name}-none") == "PipelineNotFoundException"
    assert _error(put, **(at | {"pipelineName": f"{name}-none"}), result=approved) == "PipelineNotFoundException"
    assert _error(put, **(at | {"stageName": "Nowhere"}), result=approved) == "StageNotFoundException"
    assert _error(put, **(at | {"actionName": "Nothing"}), result=approved) == "ActionNotFoundException"
    assert _error(put, **at, result={"summary": "x" * 513, "status": "Approved"}) == "ValidationException"
    assert _error(put, **at, result={"summary": "", "status": "Maybe"}) == "ValidationException"
    assert _error(put, **(at | {"token": "not-a-token"}), result=approved) == "ValidationException"
    assert provider.decided == []
    put(**at, result={"summary": "x" * 512, "status": "Approved"})
    assert provider.decided[0][4] == "x" * 512


def test_without_a_run_no_token_is_valid(patched, unique):
    """No run of the pipeline here: no approval waits, so no token answers one (a guess)."""
    _pipeline(patched, unique)
    put = patched.client("codepipeline").put_approval_result
    result = {"summary": "", "status": "Approved"}
    token = str(uuid.uuid4())
    assert (
        _error(put, pipelineName=unique, stageName="Deploy", actionName="Approve", result=result, token=token)
        == "InvalidApprovalTokenException"
    )


def test_a_role_not_allowed_on_the_actions_arn_is_denied(patched, waiting):
    """Attack: a role allowed codepipeline:PutApprovalResult on another action (and
    GetPipelineState on the pipeline) learns the token, but cannot approve Deploy/Approve
    (Service Authorization Reference, CodePipeline: PutApprovalResult's resource is the
    action, ``arn:...:<pipeline>/<stage>/<action>``); one without GetPipelineState cannot read
    the token."""
    name, arn, provider = waiting
    elsewhere = patched.role(f"{name}-elsewhere", trust=json.dumps(_trusting(patched.id)), permissions=_allowed(f"{arn}/Deploy/Build"))
    codepipeline = client_as_role(patched, elsewhere, "codepipeline")
    assert codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]["token"] == provider.token
    with pytest.raises(ClientError) as denied:
        codepipeline.put_approval_result(
            pipelineName=name, stageName="Deploy", actionName="Approve", result={"summary": "", "status": "Approved"}, token=provider.token
        )
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"codepipeline:PutApprovalResult on resource: {arn}/Deploy/Approve" in denied.value.response["Error"]["Message"]
    assert provider.decided == []
    blind = patched.role(f"{name}-blind", trust=json.dumps(_trusting(patched.id)), permissions=_put_only(f"{arn}/Deploy/Approve"))
    with pytest.raises(ClientError) as unseen:
        client_as_role(patched, blind, "codepipeline").get_pipeline_state(name=name)
    assert unseen.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"codepipeline:GetPipelineState on resource: {arn} " in unseen.value.response["Error"]["Message"]


def test_a_pipeline_of_the_same_name_in_two_accounts_gets_no_provider(patched, other, unique):
    """Attack: another account's pipeline of the same name must not reach a run's approvals:
    ``publish`` registers only where one emulated account holds the pipeline."""
    from emulator.patches import codepipeline_approvals

    _pipeline(patched, unique)
    provider = _Provider(str(uuid.uuid4()), str(uuid.uuid4()))
    assert codepipeline_approvals.homes(unique) == [(patched.id, REGION)]
    assert codepipeline_approvals.publish(unique, provider) == (patched.id, REGION, unique)
    codepipeline_approvals.unregister(patched.id, REGION, unique, provider)
    _pipeline(other, unique)
    assert codepipeline_approvals.publish(unique, provider) is None
    assert codepipeline_approvals.provider_of(other.id, REGION, unique) is None
    assert codepipeline_approvals.provider_of(patched.id, REGION, unique) is None


def _trusting(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}],
    }


def _allowed(action_arn: str) -> dict[str, Any]:
    """GetPipelineState on the pipeline, PutApprovalResult on ``action_arn`` only."""
    pipeline_arn = action_arn.split("/", 1)[0]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "codepipeline:GetPipelineState", "Resource": pipeline_arn},
            {"Effect": "Allow", "Action": "codepipeline:PutApprovalResult", "Resource": action_arn},
        ],
    }


def _put_only(action_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codepipeline:PutApprovalResult", "Resource": action_arn}]}


def test_the_providers_end_with_the_emulated_accounts():
    """moto forgets the accounts' pipelines when the emulator ends: no provider outlives them
    (a later emulator's pipeline of the same name must not reach an earlier run)."""
    from emulator.patches import codepipeline_approvals

    provider = _Provider(str(uuid.uuid4()), str(uuid.uuid4()))
    with codepipeline_approvals.patch():
        codepipeline_approvals.register("333333333333", REGION, "ended", provider)
        assert codepipeline_approvals.provider_of("333333333333", REGION, "ended") is provider
    assert codepipeline_approvals.provider_of("333333333333", REGION, "ended") is None
