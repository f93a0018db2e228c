"""The local pipeline run (`make local`): the AWS pipeline's stages, on this machine.

    Synth -> Audit -> for each environment: TrustedResources -> TrustingResources
    -> TrustedConfiguration -> IntegrationTest

    python -m pipeline.local_run [--approve] [--keep-up [--port 5000]]

Deployment goes into an in-process emulation of the accounts (``emulator``), from the
cloud assembly that `cdk synth` wrote; the integration test is the same pytest module
the AWS pipeline runs. Reports go to reports/; the exit code is non-zero, and the last
line names the stage, when anything fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.assembly import StackArtifact, read_stacks
from stages.deployment_stages import DEPLOYMENT_ORDER

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ASSEMBLY = PROJECT_ROOT / "cdk.out"
CDK_JSON = PROJECT_ROOT / "cdk.json"
REPORTS = PROJECT_ROOT / "reports"
INTEGRATION_TEST = PROJECT_ROOT / "tests" / "integration" / "test_secret_cache.py"


# The pinned CLI (package.json), on the pinned Node 22 it finds first on PATH.
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin"


def cdk_synth(outdir: Path) -> subprocess.CompletedProcess[str]:
    """`cdk synth` into ``outdir``, exactly as `make synth` runs it (cdk-nag included)."""
    environment = {**os.environ, "PATH": f"{CDK_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(CDK_BIN / "cdk"), "synth", "--quiet", "--output", str(outdir)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


class StageFailed(Exception):
    """A stage did not pass; the message says why, in a line or a few."""


# --- deployment (used by the run below and by the tests' local deployment) ---------


def deployment_stage_ids(environment: str) -> list[str]:
    return [f"{stage.__name__}-{environment}" for stage in DEPLOYMENT_ORDER]


def environments_in(assembly: Path) -> list[str]:
    """The environments of a cloud assembly, in the order of its stages."""
    first = f"{DEPLOYMENT_ORDER[0].__name__}-"
    return [stack.stage.removeprefix(first) for stack in read_stacks(assembly) if stack.stage.startswith(first)]


def stage_stacks(assembly: Path, stage_id: str) -> list[StackArtifact]:
    stacks = [stack for stack in read_stacks(assembly) if stack.stage == stage_id]
    if not stacks:
        raise StageFailed(f"the cloud assembly {assembly} has no stage {stage_id}: synthesize it first")
    return stacks


def deploy_stage(emulator: Any, assembly: Path, stage_id: str) -> dict[str, str]:
    """Deploy one stage's stacks; their outputs."""
    outputs: dict[str, str] = {}
    for stack in stage_stacks(assembly, stage_id):
        outputs.update(emulator.deploy(stack))
    return outputs


def deploy_environment(emulator: Any, assembly: Path, environment: str) -> dict[str, dict[str, str]]:
    """Every deployment stage of one environment, in order; outputs by stage id."""
    return {stage_id: deploy_stage(emulator, assembly, stage_id) for stage_id in deployment_stage_ids(environment)}


def manual_approvals(environment: str) -> bool:
    """The environment's approval switch, from cdk.json as the pipeline reads it."""
    from pipeline.config import CONTEXT_KEYS, load_config

    context = json.loads(CDK_JSON.read_text())["context"]
    config = load_config({key: context.get(key) for key in CONTEXT_KEYS})
    return next((env.manual_approvals for env in config.environments if env.name == environment), True)


# --- the run --------------------------------------------------------------------


@dataclass
class StageResult:
    name: str
    status: str  # passed | failed | not run
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunOptions:
    approve: bool = False
    keep_up: bool = False
    port: int = 5000
    assembly: Path = ASSEMBLY
    reports: Path = REPORTS


@dataclass
class LocalRun:
    options: RunOptions
    console: Any
    results: list[StageResult] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    total_seconds: float = 0.0  # the whole run, wall clock (stages and what is between them)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageResult]:
        result = StageResult(name, "running")
        self.results.append(result)
        started = time.perf_counter()
        try:
            with self.console.status(f"[bold]{name}[/bold] ..."):
                yield result
        except Exception as error:
            result.status, result.seconds = "failed", time.perf_counter() - started
            result.detail = result.detail or (str(error) if isinstance(error, StageFailed) else f"{type(error).__name__}: {error}")
            first, *rest = result.detail.splitlines() or [""]
            self.console.print(f"[red]✗[/red] {name:<34} {result.seconds:6.1f} s  {first}")
            for line in rest:
                self.console.print(f"    {line}")
            raise StageFailed(f"{name}: {result.detail}") from error
        result.status, result.seconds = "passed", time.perf_counter() - started
        self.console.print(f"[green]✓[/green] {name:<34} {result.seconds:6.1f} s  {result.detail}")

    def approve(self, next_stage: str) -> None:
        """The pipeline's manual approval, when asked for (--approve / APPROVE=1)."""
        if not self.options.approve:
            return
        if not sys.stdin.isatty():
            raise StageFailed(f"{next_stage}: approval was asked for (--approve / APPROVE=1), but there is no terminal to ask")
        answer = self.console.input(f"  approve [bold]{next_stage}[/bold]? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise StageFailed(f"{next_stage}: not approved")

    # The stages ----------------------------------------------------------------

    def synth(self) -> None:
        with self.stage("Synth") as result:
            completed = cdk_synth(self.options.assembly)
            if completed.returncode != 0:
                raise StageFailed((completed.stderr or completed.stdout).strip()[-3000:] or f"cdk synth exited {completed.returncode}")
            result.detail = f"{len(read_stacks(self.options.assembly))} stacks in {self.options.assembly.name}/ (cdk-nag passed)"

    def audit(self, pool: ThreadPoolExecutor, stack: ExitStack) -> Any:
        """The audit gate; the emulator starts meanwhile (checkov runs in its own process),
        but nothing is deployed before the audit has passed. Returns the emulator."""
        from pipeline.audit import AuditError, audit, summary

        with self.stage("Audit") as result:
            running = pool.submit(audit, [self.options.assembly], self.options.reports / "checkov")
            emulator = stack.enter_context(_emulator())
            try:
                report = running.result()
            except AuditError as error:
                raise StageFailed(str(error)) from None
            if report.failed:
                self.console.print(summary(report, self.options.reports / "checkov"))
                raise StageFailed(f"{len(report.failed)} failed checks: {', '.join(sorted({f.check_id for f in report.failed}))}")
            result.detail = f"{len(report.passed)} passed, {len(report.skipped)} skipped with reasons"
        return emulator

    def deploy(self, emulator: Any, environment: str) -> None:
        approvals = manual_approvals(environment)
        for index, stage_id in enumerate(deployment_stage_ids(environment)):
            name = f"{environment}/{stage_id.removesuffix('-' + environment)}"
            if index and approvals:  # where the pipeline has its ManualApprovalSteps
                self.approve(name)
            with self.stage(name) as result:
                stacks = stage_stacks(self.options.assembly, stage_id)
                self.outputs[stage_id] = {key: value for stack in stacks for key, value in emulator.deploy(stack).items()}
                result.detail = ", ".join(f"{stack.stack_name.removeprefix(stage_id + '-')} -> {stack.account}" for stack in stacks)

    def integration_test(self, emulator: Any, environment: str) -> None:
        import pytest

        from tests.integration.conftest import INJECTED_TARGET
        from tests.integration.target import local_target

        target = local_target(emulator, self.outputs, environment)
        junit = self.options.reports / "integration" / f"junit-{environment}.xml"
        junit.parent.mkdir(parents=True, exist_ok=True)

        class InjectTarget:
            @staticmethod
            def pytest_configure(config: Any) -> None:
                setattr(config, INJECTED_TARGET, target)

        with self.stage(f"{environment}/IntegrationTest") as result:
            log = self.options.reports / "integration" / f"pytest-{environment}.log"
            with open(log, "w") as output, _redirect_fds(output):
                code = pytest.main(
                    [
                        str(INTEGRATION_TEST),
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        f"--junitxml={junit}",
                        "-o",
                        f"junit_suite_name=integration-{environment}",
                    ],
                    plugins=[InjectTarget()],
                )
            if code != 0:
                failures = _junit_failures(junit) if junit.is_file() else []
                reason = "\n".join(failures) or f"pytest exited {code}"
                raise StageFailed(f"{reason}\n(full output: {log.relative_to(PROJECT_ROOT)})")
            result.detail = f"{_count_tests(junit)} tests passed; {junit.relative_to(PROJECT_ROOT)}"

    # The whole run ---------------------------------------------------------------

    def run(self) -> int:
        self.options.reports.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        failure = ""
        emulator = None
        with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool:
            try:
                self.synth()
                emulator = self.audit(pool, stack)
                for environment in environments_in(self.options.assembly):
                    self.deploy(emulator, environment)
                    self.integration_test(emulator, environment)
            except StageFailed as error:
                failure = str(error)
            except KeyboardInterrupt:
                failure = "interrupted"
            total = self.total_seconds = time.perf_counter() - started
            self._write_summary(total, failure)
            if failure:
                stage, _, why = failure.partition(": ")
                self.console.print(
                    f"[red bold]local pipeline FAILED[/red bold] at stage {stage}: {_shorten(why.splitlines()[0] if why else '')}"
                )
                return 1
            reports = self.options.reports.relative_to(PROJECT_ROOT)
            self.console.print(f"[green bold]local pipeline passed[/green bold] in {total:.1f} s; reports in {reports}/")
            if self.options.keep_up and emulator is not None:
                serve(emulator, self.options.port, self.outputs, self.console)
        return 0

    def _write_summary(self, total: float, failure: str) -> None:
        ran = {result.name for result in self.results}
        lines = ["# Local pipeline run", "", "| stage | result | seconds | detail |", "|---|---|---:|---|"]
        for result in self.results:
            lines.append(
                f"| {result.name} | {result.status} | {result.seconds:.1f} | {result.detail.splitlines()[0] if result.detail else ''} |"
            )
        for name in _planned_stages(self.options.assembly):
            if name not in ran:
                lines.append(f"| {name} | not run | | |")
        lines += ["", f"Total: {total:.1f} s. Result: {'FAILED at ' + failure.splitlines()[0] if failure else 'passed'}."]
        (self.options.reports / "summary.md").write_text("\n".join(lines) + "\n")
        table_rows = [(r.name, r.status, f"{r.seconds:.1f}") for r in self.results]
        self.console.print(_summary_table(table_rows, total))


def _planned_stages(assembly: Path) -> list[str]:
    names = ["Synth", "Audit"]
    try:
        environments = environments_in(assembly)
    except Exception:  # no assembly: the run stopped at Synth
        return names
    for environment in environments:
        names += [f"{environment}/{stage.__name__}" for stage in DEPLOYMENT_ORDER] + [f"{environment}/IntegrationTest"]
    return names


def _summary_table(rows: list[tuple[str, str, str]], total: float) -> Any:
    from rich.table import Table

    table = Table(title="local pipeline", show_footer=True)
    table.add_column("stage", footer="total")
    table.add_column("result")
    table.add_column("s", justify="right", footer=f"{total:.1f}")
    for name, status, seconds in rows:
        table.add_row(name, "[green]passed[/green]" if status == "passed" else f"[red]{status}[/red]", seconds)
    return table


@contextmanager
def _emulator() -> Iterator[Any]:
    from emulator import Emulator

    with Emulator() as emulator:
        yield emulator


@contextmanager
def _redirect_fds(output: Any) -> Iterator[None]:
    """pytest prints to the process's stdout/stderr: send that to the log, keep the display clean."""
    saved = os.dup(1), os.dup(2)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(output.fileno(), 1), os.dup2(output.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])


def _shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count_tests(junit: Path) -> int:
    import xml.etree.ElementTree as ElementTree

    return sum(1 for _ in ElementTree.parse(junit).getroot().iter("testcase"))  # noqa: S314  (our own report)


def _junit_failures(junit: Path) -> list[str]:
    """'test name: first line of its failure message' for each failed test."""
    import xml.etree.ElementTree as ElementTree

    failures = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):  # noqa: S314  (our own report)
        for problem in [*case.iter("failure"), *case.iter("error")]:
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            failures.append(f"{case.get('name')}: {message[0] if message else 'failed'}")
    return failures


def serve(emulator: Any, port: int, outputs: dict[str, dict[str, str]], console: Any, *, until: Callable[[], bool] | None = None) -> None:
    """Keep the emulated accounts up on 127.0.0.1 for the AWS CLI, until Ctrl-C."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request under the instructions
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        console.print(f"\nThe emulated accounts are up on http://127.0.0.1:{port} (Ctrl-C stops them). For the AWS CLI:\n")
        accounts = sorted({arn.split(":")[4] for stage in outputs.values() for arn in stage.values() if arn.startswith("arn:")})
        for account in accounts:
            credentials = emulator.credentials(account)
            console.print(
                f"  # account {account}\n"
                f"  export AWS_ACCESS_KEY_ID={credentials.access_key_id} AWS_SECRET_ACCESS_KEY={credentials.secret_access_key} "
                f"AWS_DEFAULT_REGION={emulator.region}",
                highlight=False,
                soft_wrap=True,  # commands to copy: never broken across lines
            )
        consumers = [stage["ConsumerStateMachineArn"] for name, stage in outputs.items() if name.startswith("TrustedResources-")]
        for consumer in consumers:
            console.print(
                f"\n  aws --endpoint-url http://127.0.0.1:{port} stepfunctions start-execution --state-machine-arn {consumer}\n"
                f"  aws --endpoint-url http://127.0.0.1:{port} stepfunctions describe-execution --execution-arn <executionArn>",
                highlight=False,
                soft_wrap=True,  # commands to copy: never broken across lines
            )
        stop = threading.Event()
        while not stop.is_set() and not (until and until()):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


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
