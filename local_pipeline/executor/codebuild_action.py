"""The CodeBuild action (``Build/AWS/CodeBuild/1`` and ``Test/AWS/CodeBuild/1``), run here.

As the CodePipeline user guide's "AWS CodeBuild build and test action reference" and
CodeBuild's "Build specification reference" describe it:

- the project's buildspec runs (``buildspec.run_buildspec``) in a working directory
  holding the action's primary input artifact;
- its environment: the project's environment variables, then the action's
  (``EnvironmentVariables``, a JSON list, ``#{...}`` already resolved), over what the
  build machine has; the credentials of the project's service role; the endpoint of the
  emulated accounts (``AWS_ENDPOINT_URL``);
- the primary output artifact holds the files ``artifacts:`` selects; ``exported-variables``
  become the action's variables; ``reports:`` files are kept with the run, in the action's
  folder (``actions/<stage>.<action>/reports/<report group>/``), as CodeBuild keeps each
  build's report;
- a failed build names the failed test cases its JUnit reports hold, as the report's page
  in the console lists them ("Working with test reports");
- a build stays in its folder (``buildspec``'s docstring): what it hands on or keeps is
  copied from its working directory only, checked again as it is copied (``copy_within``),
  a symbolic link it made kept as a link only with ``enable-symlinks: yes`` and only when it
  points inside the artifact; and the buildspec file it names is read from its source only.

The working directory of a project stays at one path from build to build, and the
paths its buildspec lists under ``cache: paths`` stay in it (CodeBuild user guide, "Build
caching", local caching): installs made by one build serve the next. What the build
image and ``runtime-versions`` would give cannot be honoured here: the build runs with
this machine's tools, and says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from emulator.identity import Credentials
from local_pipeline.executor.buildspec import BuildspecError, copy_within, leaves_folder, parse_buildspec, run_buildspec
from local_pipeline.executor.engine import ActionContext, ActionOutcome

_FAILED_TESTS_SHOWN = 5  # the rest are in the action's reports


@dataclass(frozen=True)
class Project:
    """What the executor needs of an ``AWS::CodeBuild::Project``."""

    name: str
    buildspec: str | Mapping[str, Any]
    service_role_arn: str
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    timeout_minutes: int = 60


@dataclass(frozen=True)
class CodeBuildAction:
    projects: Callable[[str], Project]  # a project by name
    credentials: Callable[[str], Credentials]  # a service role's credentials, as CodeBuild assumes it
    machine_environment: Mapping[str, str]  # PATH, HOME, ...: what the build machine has
    endpoint: str | None  # the emulated accounts' endpoint, None against AWS itself
    builds: Path  # one working directory per project, kept between builds
    region: str = "us-east-1"  # where the project is: CodeBuild sets AWS_REGION and AWS_DEFAULT_REGION to it
    said: set[str] = field(default_factory=set)  # what could not be honoured, said once per run

    def __call__(self, context: ActionContext) -> ActionOutcome:
        configuration = context.configuration
        project = self.projects(str(configuration["ProjectName"]))
        primary = configuration.get("PrimarySource") or (context.action.input_artifacts[0] if context.action.input_artifacts else None)
        source = context.inputs.get(primary) if primary else None
        try:
            spec = parse_buildspec(buildspec_text(project.buildspec, source))
        except (BuildspecError, FileNotFoundError) as error:
            return ActionOutcome("Failed", f"project {project.name}: {error}")
        workdir = self._workdir(project.name, spec, source)
        result = run_buildspec(
            spec,
            workdir=workdir,
            environment=self._environment(project),
            overrides={**project.environment_variables, **action_variables(configuration.get("EnvironmentVariables"))},
            log=context.log,
            timeout_seconds=project.timeout_minutes * 60,
        )
        for line in result.not_honoured:
            if line not in self.said:
                self.said.add(line)
                with context.log.open("a") as log:
                    log.write(f"[not honoured locally] {line}\n")
        kept = keep_reports(context, result.reports, within=workdir)
        if not result.succeeded:
            failed = failed_test_cases(kept)
            if failed:
                more = len(failed) - _FAILED_TESTS_SHOWN
                shown = ", ".join(failed[:_FAILED_TESTS_SHOWN]) + (f" (+{more} more)" if more > 0 else "")
                return ActionOutcome("Failed", f"{result.reason}; failed tests: {shown}")
            return ActionOutcome("Failed", result.reason)
        if context.outputs:
            output = next(iter(context.outputs.values()))
            for source, inside in result.artifact_layout.items():
                target = output / inside
                target.parent.mkdir(parents=True, exist_ok=True)
                if source in result.artifact_links:  # enable-symlinks: a link that stays inside the artifact
                    target.unlink(missing_ok=True)
                    target.symlink_to(result.artifact_links[source])
                    continue
                try:
                    copy_within(source, target, workdir)
                except BuildspecError as error:
                    return ActionOutcome("Failed", f"{project.name}: artifacts: {error}")
        reports = sum(len(files) for files in result.reports.values())
        return ActionOutcome("Succeeded", f"{project.name}: build succeeded, {reports} report files", dict(result.exported_variables))

    def _environment(self, project: Project) -> dict[str, str]:
        environment = {
            **self.machine_environment,
            **self.credentials(project.service_role_arn).as_environment(),
            # CodeBuild user guide, "Environment variables in build environments".
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{self.region}:{project.service_role_arn.split(':')[4]}:build/{project.name}:local",
        }
        if self.endpoint:
            # Every SDK and the AWS CLI read these; StartSyncExecution's "sync-" host prefix would
            # otherwise miss the endpoint (botocore).
            environment |= {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
        return environment

    def _workdir(self, project: str, spec: Mapping[str, Any], source: Path | None) -> Path:
        """The project's working directory: the cached paths kept, the rest replaced by the source."""
        # A neutral folder name, as CodeBuild's /codebuild/output/src<digits>/src: the project's
        # generated name ("...SecretCache...-WIZ23H5NUFAX") in the path made checkov's
        # secret detection flag the templates under it.
        workdir = self.builds / f"src{hashlib.sha256(project.encode()).hexdigest()[:10]}" / "src"
        workdir.mkdir(parents=True, exist_ok=True)
        cached = {str(path).split("/", 1)[0] for path in (spec.get("cache") or {}).get("paths", [])}
        for entry in workdir.iterdir():
            if entry.name not in cached:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        if source is not None:
            shutil.copytree(source, workdir, dirs_exist_ok=True, symlinks=True)
        return workdir


def keep_reports(context: ActionContext, reports: Mapping[str, list[Path]], within: Path | None = None) -> list[Path]:
    """Copy each report group's files next to the action's log; the copies.

    Each stays in its folder: a group whose name would leave ``reports/`` is not kept, and
    a file is copied only from ``within`` (the build's working directory: a symbolic link
    that resolves outside it is not followed) or, without it, only when it is no link at all
    (``copy_within``). What is not kept is said in the action's log, one line each."""
    kept: list[Path] = []
    root = context.log.parent / "reports"
    for group, files in reports.items():
        if not files:  # a group the build wrote nothing for (the audit after a failed test)
            continue
        folder = root / group
        if leaves_folder(group) or not folder.resolve().is_relative_to(root.resolve()):
            _say(context, f"reports.{group}: the report group name leaves the build's folder: not kept")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            try:
                copy_within(file, folder / file.name, within)
            except BuildspecError as error:
                _say(context, f"reports.{group}: {error}")
                continue
            kept.append(folder / file.name)
    return kept


def _say(context: ActionContext, line: str) -> None:
    with context.log.open("a") as log:
        log.write(f"[reports] {line}\n")


def failed_test_cases(report_files: list[Path]) -> list[str]:
    """``classname::name`` of each JUnit test case with a <failure> or an <error>, in file
    order. A report that is not XML, or has no <testcase> (coverage), adds nothing: the
    build's own failure is said already."""
    failed: list[str] = []
    for file in report_files:
        try:
            root = ElementTree.parse(file).getroot()
        except (ElementTree.ParseError, DefusedXmlException):
            continue
        if root is None:
            continue
        for case in root.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                classname = case.get("classname")
                failed.append(f"{classname}::{case.get('name')}" if classname else str(case.get("name")))
    return failed


def buildspec_text(buildspec: str | Mapping[str, Any], source: Path | None) -> str | Mapping[str, Any]:
    """The project's buildspec: inline, or a file of the source when it names one (CodeBuild
    user guide, "Buildspec file name and storage location": a path relative to the source root)."""
    if isinstance(buildspec, str) and "\n" not in buildspec and buildspec.strip().endswith((".yml", ".yaml", ".json")):
        name = buildspec.strip()
        # Read from the source only: not '../x.yml', nor a link to a host file (whose text
        # would come back in the reason the buildspec is refused for).
        if leaves_folder(name):
            raise FileNotFoundError(f"the buildspec file {name} is not in the source (it leaves it)")
        if source is None or not (source / name).is_file():
            raise FileNotFoundError(f"the buildspec file {name} is not in the source")
        if not (source / name).resolve().is_relative_to(source.resolve()):
            raise FileNotFoundError(f"the buildspec file {name} is a symbolic link out of the source: not read")
        return (source / name).read_text()
    return buildspec


def action_variables(value: Any) -> dict[str, str]:
    """The action's ``EnvironmentVariables``: a JSON list of {name, value, type}; only
    PLAINTEXT ones are set here (PARAMETER_STORE and SECRETS_MANAGER would be read from the
    accounts: not yet)."""
    if not value:
        return {}
    declared = json.loads(value) if isinstance(value, str) else value
    unsupported = [v["name"] for v in declared if v.get("type", "PLAINTEXT") != "PLAINTEXT"]
    if unsupported:
        raise ValueError(f"environment variables {', '.join(unsupported)} are not PLAINTEXT: the local executor sets only those")
    return {str(v["name"]): str(v["value"]) for v in declared}
