"""The local pipeline run (`make local`): the AWS pipeline's stages, on this machine.

    Synth -> Audit -> for each environment: TrustedResources -> TrustingResources
    -> TrustedConfiguration -> IntegrationTest

Deployment goes into an in-process emulation of the accounts (``emulator``), from the
cloud assembly that `cdk synth` wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.assembly import read_stacks
from stages.deployment_stages import DEPLOYMENT_ORDER


def deployment_stage_ids(environment: str) -> list[str]:
    return [f"{stage.__name__}-{environment}" for stage in DEPLOYMENT_ORDER]


def deploy_stage(emulator: Any, assembly: Path, stage_id: str) -> dict[str, str]:
    """Deploy one stage's stacks; their outputs."""
    stacks = [stack for stack in read_stacks(assembly) if stack.stage == stage_id]
    if not stacks:
        raise LookupError(f"the cloud assembly {assembly} has no stage {stage_id}: synthesize it first")
    outputs: dict[str, str] = {}
    for stack in stacks:
        outputs.update(emulator.deploy(stack))
    return outputs


def deploy_environment(emulator: Any, assembly: Path, environment: str) -> dict[str, dict[str, str]]:
    """Every deployment stage of one environment, in order; outputs by stage id."""
    return {stage_id: deploy_stage(emulator, assembly, stage_id) for stage_id in deployment_stage_ids(environment)}
