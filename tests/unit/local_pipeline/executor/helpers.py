"""Small pipeline definitions of the executor's own tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from project.assembly import StackArtifact, read_stacks

if TYPE_CHECKING:
    from emulator import Emulator
    from local_pipeline.executor.deployed import DeployedPipeline


def action(
    name: str,
    provider: str,
    *,
    run_order: int = 1,
    inputs: tuple[str, ...] | list[str] = (),
    outputs: tuple[str, ...] | list[str] = (),
    namespace: str | None = None,
    category: str = "Build",
) -> dict[str, Any]:
    """An ActionDeclaration as CloudFormation holds it."""
    declared = {
        "Name": name,
        "ActionTypeId": {"Category": category, "Owner": "AWS", "Provider": provider, "Version": "1"},
        "RunOrder": run_order,
        "InputArtifacts": [{"Name": n} for n in inputs],
        "OutputArtifacts": [{"Name": n} for n in outputs],
    }
    return declared | ({"Namespace": namespace} if namespace else {})


@dataclass(frozen=True)
class DeployedConfiguredPipeline:
    stacks: list[StackArtifact]
    pipeline_stack: StackArtifact
    tooling: str
    deployed: DeployedPipeline


def deploy_the_pipeline(emulator: Emulator, assembly: Path) -> DeployedConfiguredPipeline:
    """Every account of ``assembly`` bootstrapped, and its pipeline stack deployed once, as
    `cdk deploy SecretCachePipeline` does it by hand; the deployed pipeline read back."""
    from local_pipeline.deployment import bootstrap_accounts
    from local_pipeline.executor.deployed import deployed_pipeline

    stacks = read_stacks(assembly)
    (pipeline_stack,) = [s for s in stacks if not s.stage]
    tooling = bootstrap_accounts(emulator, stacks)
    emulator.deploy(pipeline_stack, deployer_account=tooling)
    return DeployedConfiguredPipeline(stacks, pipeline_stack, tooling, deployed_pipeline(emulator, pipeline_stack))


class SynthOf:
    """A Synth action done in process that hands on ``assembly``, whatever the source says."""

    def __init__(self, assembly: Path) -> None:
        self.assembly = assembly

    def recognizes(self, project: Any) -> bool:
        return "make synth" in str(project.buildspec)

    def __call__(self, context: Any, project: Any, role: Any) -> Any:
        import shutil

        from local_pipeline.executor.engine import ActionOutcome

        (output,) = context.outputs.values()
        shutil.copytree(self.assembly, output, dirs_exist_ok=True)
        return ActionOutcome("Succeeded", "synthesized")


def restarts_in(folder: Path):
    """``PipelineRunner.run_restarting``'s ``new_run`` for a test: restarts numbered on from
    the cancelled run's id, each in ``folder/<id>``, the restart recorded in the cancelled run."""

    def new_run(cancelled, cancelled_folder: Path) -> tuple[str, Path]:
        run_id = str(int(cancelled.id) + 1)
        cancelled.restarted_as = run_id
        cancelled.write(cancelled_folder / "run.json")
        return run_id, folder / run_id

    return new_run
