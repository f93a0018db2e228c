"""The change summary an approver sees, on small templates of the project's own shape.

Change sets follow the CloudFormation API reference (DescribeChangeSet, ResourceChange:
Action Add | Modify | Remove, Replacement True | False | Conditional, Details[].Target);
an empty change set is FAILED with "The submitted information didn't contain changes"
(CloudFormation User Guide, "Update CloudFormation stacks using change sets")."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.auto_approve import NOT_ASKED, approval_token, approve_when_waiting
from pipeline.change_summary import CUSTOM_DATA_LIMIT, SummaryError, summarize, widenings

TABLE_ARN = {"Fn::GetAtt": ["CacheTable", "Arn"]}


def _template(*statements: dict[str, Any], trust: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Resources": {
            "CacheTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "cache"}},
            "WorkflowRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": trust
                    or {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
                },
            },
            "WorkflowPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                    "Roles": [{"Ref": "WorkflowRole"}],
                },
            },
        }
    }


READ = {"Sid": "ReadCache", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": TABLE_ARN}


def _change_set(*changes: dict[str, Any], status: str = "CREATE_COMPLETE", reason: str = "") -> dict[str, Any]:
    return {"Status": status, "StatusReason": reason, "Changes": [{"Type": "Resource", "ResourceChange": change} for change in changes]}


def _modify(logical_id: str, resource_type: str, replacement: str, *properties: str) -> dict[str, Any]:
    details = [{"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": "Never"}} for name in properties]
    return {
        "Action": "Modify",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Replacement": replacement,
        "Details": details,
    }


def _summary(old: dict[str, Any], new: dict[str, Any], *changes: dict[str, Any]):
    return summarize(
        "TrustingResources-dev-TrustingAccountResources",
        "PipelineChange",
        "account 222222222222 (us-east-1)",
        _change_set(*changes),
        old,
        new,
    )


def test_an_added_statement_that_widens_a_role_is_named_with_its_action_and_resource():
    old = _template(READ)
    new = _template(READ, {"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": TABLE_ARN})
    summary = _summary(old, new, _modify("WorkflowPolicy", "AWS::IAM::Policy", "False", "PolicyDocument"))
    assert summary.broadens
    (widening,) = summary.widenings
    assert (widening.owner, widening.kind, widening.action, widening.resource) == (
        "WorkflowPolicy",
        "identity policy",
        "dynamodb:DeleteItem",
        "${CacheTable.Arn}",
    )
    assert "WorkflowPolicy (identity policy) allows dynamodb:DeleteItem on ${CacheTable.Arn}" in summary.text()
    assert "Permissions broaden: WorkflowPolicy (identity policy) allows dynamodb:DeleteItem" in summary.custom_data()


def test_a_narrowed_statement_does_not_widen():
    old = _template({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    new = _template(READ)
    summary = _summary(old, new, _modify("WorkflowPolicy", "AWS::IAM::Policy", "False", "PolicyDocument"))
    assert not summary.broadens
    assert summary.custom_data().endswith("No permission broadens.")


def test_a_statement_that_loses_a_condition_widens_and_one_that_gains_one_does_not():
    scoped = {**READ, "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}
    assert widenings(_template(scoped), _template(READ))
    assert not widenings(_template(READ), _template(scoped))


def test_wider_trust_a_removed_deny_and_a_new_managed_policy_widen():
    old_trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    new_trust = {
        "Statement": [
            *old_trust["Statement"],
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "sts:AssumeRole"},
        ]
    }
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    old, new = _template(READ, deny, trust=old_trust), _template(READ, trust=new_trust)
    new["Resources"]["WorkflowRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    lines = [widening.line() for widening in widenings(old, new)]
    assert any("WorkflowRole (trust policy) allows sts:AssumeRole" in line and "333333333333" in line for line in lines)
    assert any("no longer denies dynamodb:DeleteTable" in line for line in lines)
    assert "WorkflowRole attaches the managed policy arn:aws:iam::aws:policy/ReadOnlyAccess" in lines


def test_key_and_lambda_permission_grants_are_security_changes():
    old = _template(READ)
    new = copy.deepcopy(old)
    new["Resources"]["DataKey"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]}
        },
    }
    new["Resources"]["Invoke"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "Fn"}, "Principal": "s3.amazonaws.com"},
    }
    kinds = {(widening.owner, widening.kind) for widening in widenings(old, new)}
    assert kinds == {("DataKey", "key policy"), ("Invoke", "function policy")}


def test_a_replacement_is_marked():
    old = _template(READ)
    summary = _summary(old, old, _modify("CacheTable", "AWS::DynamoDB::Table", "True", "TableName"))
    assert "CacheTable  [TableName]  REPLACEMENT" in summary.text()
    assert "1 change (0 Add, 1 Modify, 0 Remove; 1 replacement)" in summary.custom_data()


def test_a_stage_with_no_changes_says_so_and_widens_nothing():
    empty = _change_set(
        status="FAILED", reason="The submitted information didn't contain changes. Submit different information to create a change set."
    )
    summary = summarize("S", "PipelineChange", "account 2 (us-east-1)", empty, _template(READ), _template(READ))
    assert (summary.no_changes, summary.broadens) == (True, False)
    assert summary.custom_data() == "S in account 2 (us-east-1): no changes. No permission broadens."


def test_an_unreadable_change_set_fails_never_passing_silently():
    failed = _change_set(status="FAILED", reason="Template format error: Unresolved resource dependencies [Missing]")
    with pytest.raises(SummaryError, match="is FAILED: Template format error"):
        summarize("S", "PipelineChange", "account 2 (us-east-1)", failed, {}, {})
    with pytest.raises(SummaryError, match="is CREATE_PENDING"):
        summarize("S", "PipelineChange", "account 2 (us-east-1)", _change_set(status="CREATE_PENDING"), {}, {})


def test_custom_data_stays_within_the_approval_limit():
    """CodePipeline API reference, ApprovalResult / the manual approval action's CustomData: 500 characters."""
    many = [
        {"Effect": "Allow", "Action": f"dynamodb:Action{index:03}", "Resource": "arn:aws:dynamodb:us-east-1:2:table/" + "x" * 300}
        for index in range(40)
    ]
    changes = [{"Action": "Add", "LogicalResourceId": f"Resource{index}", "ResourceType": "AWS::IAM::Policy"} for index in range(40)]
    summary = _summary(_template(), _template(*many), *changes)
    assert len(summary.widenings) == 40
    assert len(summary.custom_data()) == CUSTOM_DATA_LIMIT
    assert summary.custom_data().endswith("…")
    assert "dynamodb:Action000" in summary.custom_data()  # the first widening, as far as it fits
    assert len(summary.text()) > 10_000  # the whole summary is in the step's report and output


# --- the auto-approver (approvals: when-permissions-broaden) ---------------------------


APPROVAL_TOKEN = "t-1"  # an approval token, as GetPipelineState hands one out (not a secret)


STARTED = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _state(status: str, *, with_token: bool = True, changed: datetime | None = None) -> dict[str, Any]:
    latest = {"status": status, "lastStatusChange": changed or STARTED} | ({"token": APPROVAL_TOKEN} if with_token else {})
    return {
        "stageStates": [
            {
                "stageName": "TrustingResources-dev",
                "actionStates": [{"actionName": "Approve-TrustingResources-dev", "latestExecution": latest}],
            }
        ]
    }


def test_the_auto_approver_finds_only_a_waiting_approvals_token():
    """CodePipeline API reference, GetPipelineState: an approval's latestExecution carries
    its token while it is InProgress."""
    assert approval_token(_state("InProgress"), "TrustingResources-dev", "Approve-TrustingResources-dev") == (
        "Approve-TrustingResources-dev",
        "t-1",
    )
    assert approval_token(_state("Succeeded"), "TrustingResources-dev", "Approve-TrustingResources-dev") is None
    assert approval_token(_state("InProgress"), "TrustedConfiguration-dev", "Approve-TrustingResources-dev") is None


class _FakeCodePipeline:
    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states, self.results = states, []

    def get_pipeline_state(self, name: str) -> dict[str, Any]:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def put_approval_result(self, **kwargs: Any) -> dict[str, Any]:
        self.results.append(kwargs)
        return {}


def test_the_auto_approver_waits_for_the_approval_then_approves_it_saying_why():
    codepipeline = _FakeCodePipeline([_state("InProgress", with_token=False), _state("InProgress")])
    said = approve_when_waiting(
        codepipeline, "SecretCachePipeline", "TrustingResources-dev", "Approve-TrustingResources-dev", started=STARTED, sleep=lambda _: None
    )
    (result,) = codepipeline.results
    assert result["token"] == APPROVAL_TOKEN and result["result"] == {"summary": NOT_ASKED, "status": "Approved"}
    assert said == f"TrustingResources-dev/Approve-TrustingResources-dev: approved ({NOT_ASKED})"


def test_the_auto_approver_leaves_an_approval_decided_meanwhile_and_ignores_an_earlier_runs_decision():
    """A person approved first (lastStatusChange after the step started): nothing to do. An
    earlier run's Succeeded (before it started) is not this run's: it keeps waiting."""
    earlier, later = STARTED - timedelta(minutes=5), STARTED + timedelta(seconds=3)
    decided = _FakeCodePipeline([_state("Succeeded", with_token=False, changed=later)])
    said = approve_when_waiting(
        decided, "P", "TrustingResources-dev", "Approve-TrustingResources-dev", started=STARTED, sleep=lambda _: None
    )
    assert said == "TrustingResources-dev: its approval was decided meanwhile (Succeeded); nothing to do" and not decided.results
    stale = _FakeCodePipeline([_state("Succeeded", with_token=False, changed=earlier), _state("InProgress")])
    approve_when_waiting(stale, "P", "TrustingResources-dev", "Approve-TrustingResources-dev", started=STARTED, sleep=lambda _: None)
    assert len(stale.results) == 1


def test_an_approval_never_seen_waiting_is_left_for_a_person():
    never = _FakeCodePipeline([_state("Succeeded", with_token=False, changed=STARTED - timedelta(hours=1))])
    said = approve_when_waiting(
        never, "P", "TrustingResources-dev", "Approve-TrustingResources-dev", started=STARTED, sleep=lambda _: None, wait_seconds=4
    )
    assert said.endswith("it waits for a person") and not never.results


def test_a_grant_a_wider_one_of_the_same_policy_already_says_is_not_listed_again():
    root = {"AWS": "arn:aws:iam::222222222222:root"}
    new = _template(READ)
    new["Resources"]["DataKey"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Statement": [
                    {"Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"},
                    {"Effect": "Allow", "Principal": root, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
                ]
            }
        },
    }
    (widening,) = widenings(_template(READ), new)
    assert (widening.owner, widening.action) == ("DataKey", "kms:*")
