"""Approve a stage's waiting approval when its change set widens no permission.

    python -m pipeline.auto_approve --pipeline P --stage S --action-suffix Approve-S \
        --broadens false --region R

Run by the AutoApprove step beside the approval (``approvals: when-permissions-broaden``),
as the AWS CDK's ConfirmPermissionsBroadening does: it waits until the approval is
waiting (GetPipelineState: the action's latestExecution is InProgress and carries a
token), then calls PutApprovalResult with that token (CodePipeline API reference). When
``--broadens`` is ``true`` it does nothing: the approval waits for a person, and the
summary beside it names what widens.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

NOT_ASKED = "no permission broadens: not asked"
WAIT_SECONDS = 300  # the approval starts with this step (same run order): it is seen within seconds
POLL_SECONDS = 2.0


class NoApproval(Exception):
    """The approval never started waiting."""


def approval_token(state: Mapping[str, Any], stage: str, action_suffix: str) -> tuple[str, str] | None:
    """(action name, token) of the stage's approval that waits, from GetPipelineState's answer."""
    for stage_state in state.get("stageStates", []):
        if stage_state.get("stageName") != stage:
            continue
        for action in stage_state.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if str(action.get("actionName", "")).endswith(action_suffix) and latest.get("status") == "InProgress" and latest.get("token"):
                return str(action["actionName"]), str(latest["token"])
    return None


def approve_when_waiting(
    codepipeline: Any,
    pipeline: str,
    stage: str,
    action_suffix: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = WAIT_SECONDS,
) -> str:
    """Approve the approval once it waits; the action's name."""
    waited = 0.0
    while True:
        found = approval_token(codepipeline.get_pipeline_state(name=pipeline), stage, action_suffix)
        if found is not None:
            action, token = found
            codepipeline.put_approval_result(
                pipelineName=pipeline,
                stageName=stage,
                actionName=action,
                result={"summary": NOT_ASKED, "status": "Approved"},
                token=token,
            )
            return action
        if waited >= wait_seconds:
            raise NoApproval(f"no approval ending in {action_suffix!r} waited in stage {stage} of {pipeline} within {wait_seconds:.0f} s")
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
    try:
        action = approve_when_waiting(codepipeline, args.pipeline, args.stage, args.action_suffix)
    except NoApproval as error:
        print(f"auto-approve: {error}", file=sys.stderr)
        return 1
    print(f"{args.stage}/{action}: approved ({NOT_ASKED})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
