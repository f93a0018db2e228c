"""The local pipeline run (`make local`): the synthesized pipeline, run on the working tree.

    synth the working tree -> deploy the pipeline into fresh emulated accounts -> run it:
    Source -> Build/Synth -> UpdatePipeline -> Assets -> each stage's change sets, with the
    approvals between them -> the integration test

The stages, the actions and their order are the deployed pipeline's, run by the executor
that runs `git push local` (``executor/``), through the same roles and change sets. What
differs, and why (docs/local-gitops.md, "What differs from a push, and why"): the source is the working tree;
the accounts are fresh and live in this process; approvals are granted unless asked for
(``APPROVE=1``); the Synth and integration-test builds are done in process
(``in_process.py``). The record is a push's: ``reports/runs/<id>/run.json``, a log per
action, the JUnit reports; the exit code is non-zero, and the last line names the action,
when anything fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emulator import DeployError, Emulator
from local_pipeline.approvals import Approver
from local_pipeline.change_summaries import summary_text
from local_pipeline.deployment import LocalDeployment, bootstrap_accounts, bootstrap_each, deployed_environment, environments_in
from local_pipeline.executor.asset_action import AssetPublishingAction
from local_pipeline.executor.engine import ActionRecord, RunRecord, replace_json, utc_now
from local_pipeline.executor.local_source import with_local_source
from local_pipeline.executor.npm_registry import RegistryOnUse
from local_pipeline.executor.process_groups import ProcessGroup
from local_pipeline.executor.run_folders import new_run_folder, recover_abandoned
from local_pipeline.executor.runner import PipelineRunner
from local_pipeline.executor.self_mutation_action import SelfMutationAction
from local_pipeline.executor.source_action import WorkingTreeSource, head_of
from local_pipeline.in_process import InProcessIntegrationTest, InProcessSynth, module_steps
from local_pipeline.integration_test import warm_imports
from local_pipeline.keep_up import serve, served
from local_pipeline.report import StageFailed, action_line, run_table, shorten
from local_pipeline.report_page import RUN_PAGE, write_pages
from local_pipeline.synth import AssemblyInUse, StartedSynth, start_synth
from pipeline.audit import audit, start_checkov
from pipeline.bootstrap import accounts_to_bootstrap, replication_regions
from pipeline.cfn_lint import start_cfn_lint
from project.assembly import AssemblyError, StackArtifact, read_stacks
from project.config import ConfigError
from project.context import config_from_cdk_json
from project.paths import ASSEMBLY, PROJECT_ROOT, REPORTS

# The steps before the pipeline runs, named in the output as the pipeline's actions are.
PREPARATION = "make local"


@dataclass
class RunOptions:
    approve: bool = False
    keep_up: bool = False
    port: int = 5000
    assembly: Path = ASSEMBLY
    reports: Path = REPORTS  # a folder named "reports": the buildspecs' report paths start with it


class _BuildEndpoint:
    """The emulated accounts on 127.0.0.1, for a buildspec run as a process of its own;
    started only if one runs (the pipeline's own builds are done in process)."""

    def __init__(self) -> None:
        self._server = ExitStack()
        self.url = ""

    def __call__(self) -> str:
        if not self.url:
            self.url = self._server.enter_context(served())
        return self.url

    def stop(self) -> None:
        self._server.close()


@dataclass
class LocalRun:
    options: RunOptions
    console: Any
    # Every step shown, as run.json's actions: the preparation's, then the pipeline's.
    steps: list[dict[str, Any]] = field(default_factory=list)
    record: RunRecord | None = None
    deployments: list[LocalDeployment] = field(default_factory=list)
    total_seconds: float = 0.0  # the whole run, wall clock

    def _show(self, entry: ActionRecord) -> None:
        shown = asdict(entry)
        self.steps.append(shown)
        self.console.print(action_line(shown), markup=False, highlight=False, soft_wrap=True)

    def _prepare(self, name: str, started: float, summary: str) -> None:
        self._show(ActionRecord(PREPARATION, name, "Succeeded", time.perf_counter() - started, summary, ended_at=utc_now()))

    # --- before the run: what `cdk deploy SecretCachePipeline` does on AWS ----------------------

    def _synth(self, synthesis: StartedSynth) -> list[StackArtifact]:
        completed = synthesis.wait()
        if completed.returncode != 0:
            reason = (completed.stderr or completed.stdout).strip()[-3000:] or f"cdk synth exited {completed.returncode}"
            raise StageFailed(f"{PREPARATION}/synth the working tree: {reason}")
        stacks = read_stacks(self.options.assembly)
        self._prepare(
            "synth the working tree", synthesis.started, f"{len(stacks)} stacks in {self.options.assembly.name}/ (cdk-nag passed)"
        )
        return stacks

    @staticmethod
    def _bootstrap_ahead(emulator: Emulator, synthesis: StartedSynth) -> str | None:
        """While Node synthesizes: `cdk bootstrap` of the accounts named in the cdk.json it
        synthesizes from, which the assembly deploys to. Their tooling account; None if
        there is no such file to read, or it does not load (the synth then says why)."""
        if synthesis.cdk_json is None:
            return None
        try:
            config = config_from_cdk_json(synthesis.cdk_json)
        except ConfigError:
            return None
        tooling = config.tooling_environment.account
        bootstrap_each(emulator, accounts_to_bootstrap(config), tooling=tooling, replication_regions=replication_regions(config))
        return tooling

    def _deploy_pipeline(self, emulator: Emulator, stacks: list[StackArtifact], scratch: Path, ahead: str | None) -> StackArtifact:
        """Bootstrap every account not bootstrapped ahead, and deploy the pipeline stack as its
        administrator does."""
        started = time.perf_counter()
        tooling = bootstrap_accounts(emulator, stacks)
        if ahead is not None and ahead != tooling:  # both come from cdk.json: never, unless the app changes it
            raise StageFailed(f"{PREPARATION}/deploy the pipeline: cdk.json's tooling account is {ahead}, the assembly's {tooling}")
        (pipeline_stack,) = [stack for stack in stacks if not stack.stage]
        deployed, note = with_local_source(pipeline_stack, scratch)
        try:
            emulator.deploy(deployed, deployer_account=tooling)
        except DeployError as error:
            raise StageFailed(f"{PREPARATION}/deploy the pipeline: {error}") from None
        said = f"; {note}" if note else ""
        self._prepare("deploy the pipeline", started, f"{pipeline_stack.stack_name} into fresh emulated accounts, tooling {tooling}{said}")
        return pipeline_stack

    # --- the run --------------------------------------------------------------------------------

    def run(self, synthesis: StartedSynth | None = None) -> int:
        """The run; ``synthesis``, if given, is `cdk synth` of ``options.assembly`` already started
        (``__main__`` starts it before loading the rest): the run counts from its start."""
        if synthesis is None or synthesis.outdir != self.options.assembly:
            try:
                synthesis = start_synth(self.options.assembly)
            except AssemblyInUse as error:
                self.console.print(f"make local: {error}", markup=False, highlight=False, soft_wrap=True)
                return 2
        started = synthesis.started
        runs = self.options.reports / "runs"
        # What a `make local` or a service that was killed left behind: said, then dealt with.
        for line in [*synthesis.claim.found, *recover_abandoned(runs)]:
            self.console.print(f"found left behind: {line}", markup=False, highlight=False, soft_wrap=True)
        claim = new_run_folder(runs, owner="`make local`")
        run_id, folder = claim.run_id, claim.path
        commit, branch = head_of(PROJECT_ROOT)
        # The approval's stage's change summaries, from the run's folder (a restart's new one too).
        approver = Approver(
            ask=self.options.approve, console=self.console, explain=lambda where: summary_text(folder, where.split("/", 1)[0])
        )
        endpoint = _BuildEndpoint()
        npm = RegistryOnUse(PROJECT_ROOT)
        emulator: Emulator | None = None
        with ExitStack() as contexts:
            # Undone last to first: the run's folder and the assembly are let go once nothing runs.
            contexts.callback(synthesis.claim.release)
            contexts.callback(claim.release)
            pool = contexts.enter_context(ThreadPoolExecutor(max_workers=2))
            contexts.callback(endpoint.stop)
            contexts.callback(npm.stop)
            contexts.callback(synthesis.end)  # an interrupted run leaves no synth behind
            # checkov loads while Node synthesizes; it is handed the templates after.
            checkov = start_checkov()
            # cfn-lint likewise (its imports, ~1 CPU-s, while Node synthesizes).
            cfn_lint = start_cfn_lint()
            for name, process in (("checkov", checkov), ("cfn-lint", cfn_lint)):
                if process is not None:
                    group = ProcessGroup.of(process, name)
                    synthesis.claim.add(group)
                    contexts.callback(group.end, grace_seconds=1)
            try:
                emulator = contexts.enter_context(Emulator())
                bootstrapping = pool.submit(self._bootstrap_ahead, emulator, synthesis)  # while Node synthesizes
                pool.submit(warm_imports)  # likewise: pytest, for the IntegrationTest step
                stacks = self._synth(synthesis)
                # The audit runs (in processes of its own) while the pipeline is deployed; the
                # Synth action waits for its verdict, and nothing is deployed past it unless it passes.
                auditing = pool.submit(
                    audit, [self.options.assembly], self.options.reports / "checkov", started_checkov=checkov, started_cfn_lint=cfn_lint
                )
                scratch = Path(contexts.enter_context(tempfile.TemporaryDirectory(prefix="local-run-")))
                pipeline_stack = self._deploy_pipeline(emulator, stacks, scratch / "local-source", bootstrapping.result())
                runner = PipelineRunner(
                    emulator,
                    pipeline_stack,
                    endpoint=endpoint,
                    host_path=os.environ.get("PATH", ""),
                    workspace=scratch / "workspace",
                    decide=approver.decide,
                    on_action=self._show,
                    in_process=(
                        InProcessSynth(self.options.assembly, auditing.result, workdir=self.options.reports.parent),
                        SelfMutationAction(emulator, pipeline_stack.stack_name),
                        AssetPublishingAction(emulator),
                        InProcessIntegrationTest(region=pipeline_stack.region),
                        *module_steps(pipeline_stack.region),
                    ),
                    npm=npm,
                )

                def restart(cancelled: RunRecord, cancelled_folder: Path) -> tuple[str, Path]:
                    # Its self-mutation updated the pipeline: a new run on the working tree, as
                    # RestartExecutionOnUpdate starts one; the preparation led to both.
                    nonlocal folder
                    claimed = new_run_folder(runs, owner="`make local`")
                    contexts.callback(claimed.release)
                    cancelled.restarted_as = claimed.run_id
                    self.record = cancelled
                    self._write(cancelled_folder)
                    self.steps = [step for step in self.steps if step["stage"] == PREPARATION]
                    folder = claimed.path
                    return claimed.run_id, claimed.path

                self.record = runner.run_restarting(
                    WorkingTreeSource(PROJECT_ROOT), commit, branch, run_id, folder, new_run=restart, trigger="make local"
                )
                if self.record.status == "Succeeded":
                    self.deployments = [deployed_environment(emulator, stacks, name) for name in environments_in(stacks)]
            except (StageFailed, AssemblyError) as error:
                self.record = RunRecord(run_id, commit, branch, "Failed", reason=str(error))
            except KeyboardInterrupt:
                self.record = RunRecord(run_id, commit, branch, "Stopped", reason="interrupted")
            self._write(folder)
            self.total_seconds = time.perf_counter() - started
            return self._verdict(folder, emulator)

    def _write(self, folder: Path) -> None:
        """run.json with the preparation's steps first: what the pipeline ran follows them."""
        assert self.record is not None
        recorded = asdict(self.record)
        recorded["actions"] = self.steps
        replace_json(folder / "run.json", recorded)
        write_pages(folder)

    def _verdict(self, folder: Path, emulator: Emulator | None) -> int:
        assert self.record is not None
        self.console.print(run_table(self.steps, self.total_seconds))
        shown = _shown(folder)
        if self.record.status != "Succeeded":
            why = self.record.reason.splitlines()[0] if self.record.reason else self.record.status
            self.console.print(f"[red bold]local pipeline {self.record.status.upper()}[/red bold] at {shorten(why)}", markup=True)
            self.console.print(f"the run's record: {shown}/run.json; its page: {shown}/{RUN_PAGE}", markup=False)
            return 1
        self.console.print(
            f"[green bold]local pipeline passed[/green bold] in {self.total_seconds:.1f} s; its record: {shown}/ (its page: {RUN_PAGE})"
        )
        if self.options.keep_up and emulator is not None:
            serve(emulator, self.deployments, self.options.port, self.console)
        return 0


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(PROJECT_ROOT)
    except ValueError:
        return path


def main(argv: list[str] | None = None, *, synthesis: StartedSynth | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(description="Run the synthesized pipeline on the working tree, in emulated AWS accounts.")
    parser.add_argument("--approve", action="store_true", default=os.environ.get("APPROVE") == "1", help="ask at each approval")
    parser.add_argument(
        "--keep-up", action="store_true", default=os.environ.get("KEEP_UP") == "1", help="keep the emulator up on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help, or a bad argument: no run, so no synth left running either
        if synthesis is not None:
            synthesis.end()
        raise
    # A log, not a terminal (CI): wide enough that an action stays on one line.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    return LocalRun(RunOptions(approve=args.approve, keep_up=args.keep_up, port=args.port), console).run(synthesis)


if __name__ == "__main__":
    sys.exit(main())
