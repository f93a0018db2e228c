"""Approve a stage's waiting approval when its change set widens no permission.

    python -m pipeline.auto_approve --pipeline P --stage S --action-suffix Approve-S \
        --broadens false --region R

Run by the AutoApprove step beside the approval (``approvals: when-permissions-broaden``),
as the AWS CDK's ConfirmPermissionsBroadening does: it waits until the approval is
waiting (GetPipelineState: the action's latestExecution is InProgress and carries a
token), then calls PutApprovalResult with that token (CodePipeline API reference). When
``--broadens`` is ``true`` it does nothing: the approval waits for a person, and the
summary beside it names what widens.

An approval decided by someone else first (its latestExecution Succeeded or Failed, changed
at most ``SAME_RUN_SECONDS`` before this step started: it starts with the approval; an
earlier run's decision is older, since that run's Deploy, this run's Prepare and the
summary's build ran in between) is left as it is; so is one never seen waiting
within five minutes, said in the log. Either way the step succeeds: it can only spare a
person a question, never approve in their place what widens, nor fail a stage a person
decided.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

NOT_ASKED = "no permission broadens: not asked"
WAIT_SECONDS = 300  # the approval starts with this step (same run order): it is seen within seconds
POLL_SECONDS = 2.0
# How long before this step's start a decision may be this run's: the approval starts with
# this step (same run order), a build's start takes longer on AWS. Misjudged, the step only
# leaves the approval to a person.
SAME_RUN_SECONDS = 10.0


def approval_token(state: Mapping[str, Any], stage: str, action_suffix: str) -> tuple[str, str] | None:
    """(action name, token) of the stage's approval that waits, from GetPipelineState's answer."""
    for action in _approvals(state, stage, action_suffix):
        latest = action.get("latestExecution") or {}
        if latest.get("status") == "InProgress" and latest.get("token"):
            return str(action["actionName"]), str(latest["token"])
    return None


def decided_since(state: Mapping[str, Any], stage: str, action_suffix: str, started: datetime) -> str | None:
    """How the stage's approval was decided after ``started`` (Succeeded, Failed, ...), if it was."""
    for action in _approvals(state, stage, action_suffix):
        latest = action.get("latestExecution") or {}
        changed = latest.get("lastStatusChange")
        if isinstance(changed, (int, float)):
            changed = datetime.fromtimestamp(changed, UTC)
        if (
            latest.get("status") not in (None, "InProgress")
            and isinstance(changed, datetime)
            and changed > started - timedelta(seconds=SAME_RUN_SECONDS)
        ):
            return str(latest["status"])
    return None


def _approvals(state: Mapping[str, Any], stage: str, action_suffix: str) -> list[Mapping[str, Any]]:
    return [
        action
        for stage_state in state.get("stageStates", [])
        if stage_state.get("stageName") == stage
        for action in stage_state.get("actionStates", [])
        if str(action.get("actionName", "")).endswith(action_suffix)
    ]


def approve_when_waiting(
    codepipeline: Any,
    pipeline: str,
    stage: str,
    action_suffix: str,
    *,
    started: datetime,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = WAIT_SECONDS,
) -> str:
    """Approve the approval once it waits; what happened, in one line."""
    waited = 0.0
    while True:
        state = codepipeline.get_pipeline_state(name=pipeline)
        found = approval_token(state, stage, action_suffix)
        if found is not None:
            action, token = found
            codepipeline.put_approval_result(
                pipelineName=pipeline,
                stageName=stage,
                actionName=action,
                result={"summary": NOT_ASKED, "status": "Approved"},
                token=token,
            )
            return f"{stage}/{action}: approved ({NOT_ASKED})"
        decided = decided_since(state, stage, action_suffix, started)
        if decided is not None:
            return f"{stage}: its approval was decided meanwhile ({decided}); nothing to do"
        if waited >= wait_seconds:
            return f"{stage}: no approval ending in {action_suffix!r} was seen waiting within {wait_seconds:.0f} s; it waits for a person"
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS


def main(argv: Sequence[str] | None = None, *, codepipeline: Any = None) -> int:
    """The step's command. ``codepipeline``: a client as the build's role (default: from the environment, as in CodeBuild)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.auto_approve", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--action-suffix", required=True)
    parser.add_argument("--broadens", required=True, choices=("true", "false"))
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    if args.broadens == "true":
        print(f"{args.stage}: permissions broaden; the approval waits for a person (see the change summary)")
        return 0
    if codepipeline is None:
        import boto3  # the step installs boto3 only

        codepipeline = boto3.client("codepipeline", region_name=args.region)
    started = datetime.now(UTC)
    print(approve_when_waiting(codepipeline, args.pipeline, args.stage, args.action_suffix, started=started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
