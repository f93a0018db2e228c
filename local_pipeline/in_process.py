"""`make local`'s in-process CodeBuild work: the pipeline's Synth and IntegrationTest actions.

`git push local` runs every buildspec as it is. `make local` is the quick loop on the
working tree, so two builds are done here instead (docs/local-gitops.md, "What differs
from a push, and why"), each recognized by what its buildspec runs:

- **Synth** (``make synth`` in its commands): the working tree was synthesized before
  the run, since the pipeline to run came from that synth, and its audit started then;
  the action waits for the audit, hands that cloud assembly on as its output artifact
  (with the audit's reports under ``audit-reports/``, as the buildspec copies them) and
  keeps the report files of the buildspec's ``reports:`` groups that the audit wrote.
  The unit tests its buildspec runs first are `make test`'s business here: not run.
- **IntegrationTest** (the integration test module in its commands): the same module,
  in this process, with the action's environment as the buildspec gets it
  (``SECRET_CACHE_TARGET=aws``, the consumer's and the secret's ARNs, the test roles and
  their ExternalId) and the project's service role's credentials. The test assumes
  its roles and runs the consumer exactly as on AWS; only the process differs.
- **ChangeSummary** and **AutoApprove** (``pipeline.change_summary`` and
  ``pipeline.auto_approve`` in their commands): the same module's ``main``, with the
  arguments of its command (``$NAME`` expanded from the build's variables, the cloud
  assembly's folder the action's secondary input, ``--output`` its output artifact), as
  the project's service role; what the module writes for ``env.exported-variables`` is
  exported. Only the virtual environment the buildspec installs is skipped.
  ``tests/unit/local_pipeline/test_in_process.py`` runs both ways and compares.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from emulator.identity import Credentials
from integration_target import aws_target
from local_pipeline.executor.buildspec import BuildspecError, parse_buildspec
from local_pipeline.executor.codebuild_action import Project, action_variables, buildspec_text, keep_reports
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from local_pipeline.integration_test import INTEGRATION_TEST_MODULE, run_integration_test
from local_pipeline.report import StageFailed
from pipeline.audit import AuditReport
from pipeline.audit_tool import AuditError
from project.paths import PROJECT_ROOT


def _commands(project: Project) -> list[str]:
    try:
        spec = parse_buildspec(buildspec_text(project.buildspec, None))
    except (BuildspecError, FileNotFoundError):
        return []
    return [str(command) for phase in (spec.get("phases") or {}).values() for command in (phase or {}).get("commands") or []]


def _report_groups(project: Project) -> dict[str, list[str]]:
    spec = parse_buildspec(buildspec_text(project.buildspec, None))
    return {str(name): [str(file) for file in group.get("files") or []] for name, group in (spec.get("reports") or {}).items()}


@dataclass(frozen=True)
class InProcessSynth:
    assembly: Path  # the working tree's cloud assembly, synthesized before the run
    audited: Callable[[], AuditReport]  # the audit of it, started then; waits for its verdict
    workdir: Path  # what the buildspec's relative report paths are relative to (the project root)

    def recognizes(self, project: Project) -> bool:
        return any(command.startswith("make synth") for command in _commands(project))

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome:
        try:
            report = self.audited()
        except AuditError as error:
            return ActionOutcome("Failed", f"the audit did not run: {error}")
        # Only what this run's audit wrote: a unit-test report left by an earlier `make test` is not this run's.
        written = {
            group: [path for path in (self.workdir / file for file in files) if _written_by_this_run(path, report)]
            for group, files in _report_groups(project).items()
        }
        kept = keep_reports(context, written)
        if report.failed:
            ids = ", ".join(sorted({finding.check_id for finding in report.failed}))
            return ActionOutcome("Failed", f"the audit failed: {len(report.failed)} failed checks: {ids} (reports/checkov/)")
        (output,) = context.outputs.values()
        shutil.copytree(self.assembly, output, dirs_exist_ok=True)
        audit_reports = output / "audit-reports"
        audit_reports.mkdir(exist_ok=True)
        for file in kept:
            shutil.copy2(file, audit_reports / file.name)
        return ActionOutcome(
            "Succeeded",
            f"in process: synth (cdk-nag passed), audit: {len(report.passed)} passed, {len(report.skipped)} skipped with reasons; "
            "unit tests: `make test`",
        )


def _written_by_this_run(path: Path, report: AuditReport) -> bool:
    """A report file the audit wrote: newer than every template it audited (this run's synth)."""
    if not path.is_file():
        return False
    newest_template = max((template.stat().st_mtime for template in report.templates if template.is_file()), default=0.0)
    return path.stat().st_mtime >= newest_template


@dataclass(frozen=True)
class InProcessIntegrationTest:
    region: str  # where the build runs: CodeBuild sets AWS_REGION to the project's

    def recognizes(self, project: Project) -> bool:
        module = INTEGRATION_TEST_MODULE.relative_to(PROJECT_ROOT).as_posix()
        return any(module in command for command in _commands(project))

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome:
        environment = {
            **project.environment_variables,
            **action_variables(context.configuration.get("EnvironmentVariables")),
            **role.as_environment(),
            "AWS_REGION": self.region,
        }
        if environment.get("SECRET_CACHE_TARGET") != "aws":
            return ActionOutcome("Failed", f"project {project.name} does not set SECRET_CACHE_TARGET=aws: it would not test the deployment")
        (group,) = _report_groups(project) or {"IntegrationTest": []}
        try:
            # Polled more often than on AWS (0.05 s up to 2 s): an execution here takes ~0.1 s.
            target = dataclasses.replace(aws_target(environment), poll_seconds=0.01, max_poll_seconds=0.05)
            summary = run_integration_test(
                target,
                junit=context.log.parent / "reports" / group / "junit.xml",
                log=context.log,
                suite_name=group,
            )
        except StageFailed as failed:
            return ActionOutcome("Failed", str(failed))
        return ActionOutcome("Succeeded", f"in process, as its roles: {summary}")


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True)
class InProcessModuleStep:
    """A build whose command runs one of the project's modules (``python -m <module> ...``):
    the module's ``main`` in this process, as the project's role."""

    module: str  # "pipeline.change_summary" or "pipeline.auto_approve"
    region: str

    def _command(self, project: Project) -> str | None:
        return next((command for command in _commands(project) if f"-m {self.module} " in command), None)

    def recognizes(self, project: Project) -> bool:
        return self._command(project) is not None

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome:
        import boto3

        command = self._command(project)
        assert command is not None
        variables = {**project.environment_variables, **action_variables(context.configuration.get("EnvironmentVariables"))}
        argv = [
            _VARIABLE.sub(lambda match: variables.get(match.group(1), ""), word)
            for word in shlex.split(command.split(f"-m {self.module} ", 1)[1])
        ]
        argv = self._paths(argv, context)
        session = boto3.Session(**role.as_boto3_kwargs(), region_name=self.region)
        printed = io.StringIO()
        with redirect_stdout(printed), redirect_stderr(printed):
            if self.module == "pipeline.change_summary":
                from pipeline import change_summary

                code = change_summary.main(argv, base_session=session)
            else:
                from pipeline import auto_approve

                code = auto_approve.main(argv, codepipeline=session.client("codepipeline"))
        context.log.write_text(context.log.read_text() + printed.getvalue() if context.log.exists() else printed.getvalue())
        last = (printed.getvalue().strip().splitlines() or [""])[-1]
        if code != 0:
            return ActionOutcome("Failed", f"in process: {self.module} exited {code}: {last}")
        exported = {}
        for output in context.outputs.values():
            folder = output / "variables"
            exported = {file.name: file.read_text() for file in sorted(folder.iterdir())} if folder.is_dir() else {}
        said = exported.get("SUMMARY") or last  # a change summary's short form, as its approval shows it
        return ActionOutcome("Succeeded", f"in process: {said}", variables=exported)

    def _paths(self, argv: list[str], context: ActionContext) -> list[str]:
        """The build's relative paths, where this process finds them: the assembly is the
        secondary input (CDK Pipelines links it as ``cdk.out``), ``--output`` the output artifact."""
        primary = context.configuration.get("PrimarySource")
        secondary = [folder for name, folder in context.inputs.items() if name != primary]
        resolved = list(argv)
        for index, word in enumerate(argv[:-1]):
            value = argv[index + 1]
            if word == "--template" and secondary and "/" in value:
                resolved[index + 1] = str(secondary[0] / value.split("/", 1)[1])
            elif word == "--output":
                (output,) = context.outputs.values()
                resolved[index + 1] = str(output)
        return resolved


def module_steps(region: str) -> tuple[InProcessModuleStep, ...]:
    """The approvals' steps (pipeline/approval_steps.py), in process."""
    return (InProcessModuleStep("pipeline.change_summary", region), InProcessModuleStep("pipeline.auto_approve", region))
