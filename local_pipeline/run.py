"""The local pipeline run (`make local`): the AWS pipeline's stages, on this machine.

    Synth -> Audit -> for each environment: TrustedResources -> [approve] -> TrustingResources
    -> [approve] -> TrustedConfiguration -> IntegrationTest

Deployment goes into an in-process emulation of the accounts (``emulator``), from the
cloud assembly that `cdk synth` wrote; the integration test is the same pytest module
the AWS pipeline runs. Reports go to reports/; the exit code is non-zero, and the last
line names the stage, when anything fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator import Emulator
from local_pipeline.approvals import Approver, NotApproved, stages_awaiting_approval
from local_pipeline.deployment import LocalDeployment, MissingStage, bootstrap_accounts, deploy_stage, environments_in, stage_stacks
from local_pipeline.integration_test import run_integration_test
from local_pipeline.keep_up import serve
from local_pipeline.report import StageFailed, StageResult, shorten, stage_line, summary_table, write_summary
from local_pipeline.synth import bootstrap_template, cdk_synth
from pipeline.audit import AuditError, AuditReport, audit, summary
from project.assembly import AssemblyError, StackArtifact, read_stacks
from project.deployment_order import DEPLOYMENT_ORDER, INTEGRATION_TEST
from project.paths import ASSEMBLY, PROJECT_ROOT, REPORTS


@dataclass
class RunOptions:
    approve: bool = False
    keep_up: bool = False
    port: int = 5000
    assembly: Path = ASSEMBLY
    reports: Path = REPORTS


def display_name(environment_name: str, step: str) -> str:
    """``dev/TrustingResources``: how the run names a stage of an environment."""
    return f"{environment_name}/{step}"


@dataclass
class LocalRun:
    options: RunOptions
    console: Any
    results: list[StageResult] = field(default_factory=list)
    deployments: list[LocalDeployment] = field(default_factory=list)
    # Read from the cloud assembly once, by the Synth stage.
    stacks: list[StackArtifact] = field(default_factory=list)
    awaiting_approval: set[str] = field(default_factory=set)
    tooling_account: str = ""  # set when the accounts are bootstrapped
    total_seconds: float = 0.0  # the whole run, wall clock (stages and what is between them)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageResult]:
        result = StageResult(name)
        self.results.append(result)
        started = time.perf_counter()
        try:
            with self.console.status(f"[bold]{name}[/bold] ..."):
                yield result
        except Exception as error:
            result.status, result.seconds = "failed", time.perf_counter() - started
            known = (StageFailed, NotApproved, MissingStage, AuditError, AssemblyError)
            result.detail = result.detail or (str(error) if isinstance(error, known) else f"{type(error).__name__}: {error}")
            self._show(result)
            raise StageFailed(f"{name}: {result.detail}") from error
        result.status, result.seconds = "passed", time.perf_counter() - started
        self._show(result)

    def _show(self, result: StageResult) -> None:
        line, below = stage_line(result)
        self.console.print(line)
        for detail in below:
            self.console.print(detail)

    # The stages ----------------------------------------------------------------

    def synth(self, pool: ThreadPoolExecutor) -> None:
        with self.stage("Synth") as result:
            # The emulated accounts' bootstrap template, fetched while Node synthesizes.
            pool.submit(bootstrap_template)
            completed = cdk_synth(self.options.assembly)
            if completed.returncode != 0:
                raise StageFailed((completed.stderr or completed.stdout).strip()[-3000:] or f"cdk synth exited {completed.returncode}")
            self.stacks = read_stacks(self.options.assembly)
            self.awaiting_approval = stages_awaiting_approval(self.stacks)
            result.detail = f"{len(self.stacks)} stacks in {self.options.assembly.name}/ (cdk-nag passed)"

    def audit(self, contexts: ExitStack, pool: ThreadPoolExecutor) -> Emulator:
        """The audit gate. The emulated accounts start meanwhile (checkov runs in its own
        process), but nothing is deployed unless the audit passes."""
        with self.stage("Audit") as result:
            checking = pool.submit(audit, [self.options.assembly], self.options.reports / "checkov")
            emulator = contexts.enter_context(Emulator())
            self.tooling_account = bootstrap_accounts(emulator, self.stacks)
            result.detail = self._audit_verdict(checking.result())
        return emulator

    def _audit_verdict(self, report: AuditReport) -> str:
        if report.failed:
            self.console.print(summary(report, self.options.reports / "checkov"))
            raise StageFailed(f"{len(report.failed)} failed checks: {', '.join(sorted({f.check_id for f in report.failed}))}")
        return f"{len(report.passed)} passed, {len(report.skipped)} skipped with reasons"

    def deploy(self, emulator: Emulator, environment_name: str, approver: Approver) -> LocalDeployment:
        outputs: dict[str, dict[str, str]] = {}
        for step in DEPLOYMENT_ORDER:
            stage_id = step.id(environment_name)
            name = display_name(environment_name, step.name)
            if stage_id in self.awaiting_approval:
                try:
                    approver.approve(name)
                except NotApproved as refused:
                    raise StageFailed(f"{name}: {refused}") from None
            with self.stage(name) as result:
                deployed = stage_stacks(self.stacks, stage_id)
                outputs[stage_id] = deploy_stage(emulator, deployed, deployer_account=self.tooling_account)
                result.detail = ", ".join(f"{stack.stack_name.removeprefix(stage_id + '-')} -> {stack.account}" for stack in deployed)
        deployment = LocalDeployment(emulator, environment_name, outputs)
        self.deployments.append(deployment)
        return deployment

    def integration_test(self, deployment: LocalDeployment) -> None:
        environment_name = deployment.environment_name
        with self.stage(display_name(environment_name, INTEGRATION_TEST)) as result:
            reports = self.options.reports / "integration"
            result.detail = run_integration_test(
                deployment.target(),
                junit=reports / f"junit-{environment_name}.xml",
                log=reports / f"pytest-{environment_name}.log",
                suite_name=f"integration-{environment_name}",
            )

    # The whole run ---------------------------------------------------------------

    def run(self) -> int:
        self.options.reports.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        failure = ""
        approver = Approver(ask=self.options.approve, console=self.console)
        emulator = None
        with ExitStack() as contexts, ThreadPoolExecutor(max_workers=2) as pool:
            try:
                self.synth(pool)
                emulator = self.audit(contexts, pool)
                for environment_name in environments_in(self.stacks):
                    self.integration_test(self.deploy(emulator, environment_name, approver))
            except StageFailed as error:
                failure = str(error)
            except KeyboardInterrupt:
                failure = "interrupted"
            total = self.total_seconds = time.perf_counter() - started
            write_summary(self.options.reports / "summary.md", self.results, self._planned_stages(), total, failure)
            self.console.print(summary_table(self.results, total))
            if failure:
                stage, _, why = failure.partition(": ")
                self.console.print(
                    f"[red bold]local pipeline FAILED[/red bold] at stage {stage}: {shorten(why.splitlines()[0] if why else '')}"
                )
                return 1
            self.console.print(f"[green bold]local pipeline passed[/green bold] in {total:.1f} s; reports in {self._shown_reports()}/")
            if self.options.keep_up and emulator is not None:
                serve(emulator, self.deployments, self.options.port, self.console)
        return 0

    def _planned_stages(self) -> list[str]:
        names = ["Synth", "Audit"]
        for environment_name in environments_in(self.stacks):  # none if the run stopped at Synth
            names += [display_name(environment_name, step.name) for step in DEPLOYMENT_ORDER]
            names.append(display_name(environment_name, INTEGRATION_TEST))
        return names

    def _shown_reports(self) -> Path:
        try:
            return self.options.reports.relative_to(PROJECT_ROOT)
        except ValueError:
            return self.options.reports


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(description="Run the pipeline's stages locally, against emulated AWS accounts.")
    parser.add_argument("--approve", action="store_true", default=os.environ.get("APPROVE") == "1", help="ask before each deployment stage")
    parser.add_argument(
        "--keep-up", action="store_true", default=os.environ.get("KEEP_UP") == "1", help="keep the emulator up on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)
    # A log, not a terminal (CI): wide enough that a stage stays on one line.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    return LocalRun(RunOptions(approve=args.approve, keep_up=args.keep_up, port=args.port), console).run()


if __name__ == "__main__":
    sys.exit(main())
