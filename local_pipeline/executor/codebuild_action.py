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

Each build runs as CodeBuild runs one (CodeBuild user guide, "Environment variables in
build environments" and "Build caching in AWS CodeBuild"):

- in a new source directory, ``<builds>/src<random digits>/src``, as CodeBuild's
  ``/codebuild/output/src<digits>/src``, removed when the build ends;
- the top-level directories of its ``cache: paths`` restored as the local custom cache
  (``LOCAL_CUSTOM_CACHE``) restores them: "Only directories can be specified for caching
  [...]. Symlinks are used to reference cached directories. Cached directories are linked
  to your build before it downloads its project sources. Cached items are overridden if a
  source item has the same name." The cache of a project is ``<builds>/cache/<project>``,
  and, unlike CodeBuild's best-effort local cache, it is always there (a choice: CodeBuild
  keeps it only on a host that served the project recently). A cache path outside the
  source directory (absolute, ``~``) is not honoured, and the build's log says so;
- in an environment of its own: the documented ``CODEBUILD_*`` variables, ``AWS_REGION``
  and ``AWS_DEFAULT_REGION``, a ``HOME`` of its own (``<builds>/src<digits>/root``, as the
  image's ``/root``), the project's and the action's variables, the service role's
  credentials and the emulated accounts' endpoint, and of this machine's environment only
  ``PATH`` (the tools the build image would hold). CodeBuild hands the role's credentials
  through its container credentials endpoint; here they are ``AWS_ACCESS_KEY_ID`` and
  friends, which every SDK reads first;
- ``npm install -g`` installs into the build's own prefix (``<builds>/src<digits>/npm``,
  first on PATH) from the registry of the project's pinned packages
  (``npm_registry.py``), set in the build's ``$HOME/.npmrc``; this machine's global npm is
  never touched.

What the build image and ``runtime-versions`` would give cannot be honoured here: the build
runs with this machine's tools, and says so.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    image: str = "aws/codebuild/standard:7.0"
    encryption_key: str = ""  # the key CodeBuild encrypts the build's output with (CODEBUILD_KMS_KEY_ID)


class NpmSource(Protocol):
    """Where a build's npm installs from (``npm_registry.NpmRegistry``)."""

    def npmrc(self, prefix: Path, cache: Path) -> str: ...


# Prepares a build's source directory before its buildspec runs (the project, the
# directory); what it did, for the build's log, or "".
PrepareSource = Callable[[Project, Path], str]


@dataclass(frozen=True)
class CodeBuildAction:
    projects: Callable[[str], Project]  # a project by name
    credentials: Callable[[str], Credentials]  # a service role's credentials, as CodeBuild assumes it
    host_path: str  # this machine's PATH: the tools the build image would hold
    endpoint: str | None  # the emulated accounts' endpoint, None against AWS itself
    builds: Path  # the builds' source directories and the projects' caches
    region: str = "us-east-1"  # where the project is: CodeBuild sets AWS_REGION and AWS_DEFAULT_REGION to it
    pipeline_name: str = ""  # who starts the builds (CODEBUILD_INITIATOR: codepipeline/<name>)
    npm: NpmSource | None = None  # the registry `npm install` reads; None: npm is not set up
    prepare_source: PrepareSource | None = None
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
        build = self._new_build(project, spec, source, context)
        try:
            return self._run(context, project, spec, build)
        finally:
            shutil.rmtree(build.root, ignore_errors=True)  # CodeBuild's container goes with its build

    def _run(self, context: ActionContext, project: Project, spec: Mapping[str, Any], build: _Build) -> ActionOutcome:
        configuration = context.configuration
        workdir = build.source
        if self.prepare_source is not None:
            note = self.prepare_source(project, workdir)
            if note:
                with context.log.open("a") as log:
                    log.write(f"[local] {note}\n")
        result = run_buildspec(
            spec,
            workdir=workdir,
            environment=self._environment(project, build, context),
            overrides={**project.environment_variables, **action_variables(configuration.get("EnvironmentVariables"))},
            log=context.log,
            timeout_seconds=project.timeout_minutes * 60,
        )
        for line in result.not_honoured:
            self._say_once(context, line)
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

    def _environment(self, project: Project, build: _Build, context: ActionContext) -> dict[str, str]:
        account = project.service_role_arn.split(":")[4]
        build_id = f"{project.name}:{build.uuid}"
        environment = {
            # Of this machine, only the tools; the build's own npm prefix first.
            "PATH": f"{build.npm_prefix / 'bin'}:{self.host_path}",
            "HOME": str(build.home),
            # CodeBuild user guide, "Environment variables in build environments".
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{self.region}:{account}:build/{build_id}",
            "CODEBUILD_BUILD_ID": build_id,
            "CODEBUILD_BUILD_IMAGE": project.image,
            "CODEBUILD_BUILD_NUMBER": str(build.number),
            "CODEBUILD_INITIATOR": f"codepipeline/{self.pipeline_name}",
            "CODEBUILD_LOG_PATH": build.uuid,
            "CODEBUILD_PROJECT_ARN": f"arn:aws:codebuild:{self.region}:{account}:project/{project.name}",
            "CODEBUILD_START_TIME": str(int(time.time() * 1000)),
            **self.credentials(project.service_role_arn).as_environment(),
        }
        if project.encryption_key:
            environment["CODEBUILD_KMS_KEY_ID"] = project.encryption_key
        commit = _source_commit(context)
        if commit:
            # "For CodePipeline, the source revision passed by CodePipeline": the commit.
            environment["CODEBUILD_RESOLVED_SOURCE_VERSION"] = commit
        if self.endpoint:
            # Every SDK and the AWS CLI read these; StartSyncExecution's "sync-" host prefix would
            # otherwise miss the endpoint (botocore).
            environment |= {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
        return environment

    def _new_build(self, project: Project, spec: Mapping[str, Any], source: Path | None, context: ActionContext) -> _Build:
        """A new source directory under a new random path, the project's cached directories
        linked into it, then the source copied in (a source item beats a cached one of its name)."""
        self.builds.mkdir(parents=True, exist_ok=True)
        while True:
            root = self.builds / f"src{secrets.randbelow(10**9):09d}"
            try:
                root.mkdir()
                break
            except FileExistsError:
                continue
        build = _Build(root=root, uuid=str(uuid.uuid4()), number=self._next_number(project))
        for folder in (build.source, build.home, build.npm_prefix):
            folder.mkdir(parents=True)
        # A project's name can hold what the path of its cache should not ("...SecretCache...-WIZ23H5NUFAX"
        # made checkov's secret detection flag the templates under it): named by its digest.
        cache = self.builds / "cache" / hashlib.sha256(project.name.encode()).hexdigest()[:10]
        for path in (spec.get("cache") or {}).get("paths", []):
            top = str(path).split("/", 1)[0]
            if str(path).startswith(("/", "~")) or top in ("", ".", ".."):
                self._say_once(context, f"cache.paths: {path} (a directory outside the source directory is not cached here)")
                continue
            (cache / top).mkdir(parents=True, exist_ok=True)
            link = build.source / top
            if not link.is_symlink():
                link.symlink_to(cache / top, target_is_directory=True)
        if source is not None:
            for entry in source.iterdir():
                target = build.source / entry.name
                if target.is_symlink():  # "Cached items are overridden if a source item has the same name."
                    target.unlink()
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(entry, target, follow_symlinks=False)
        if self.npm is not None:
            (build.home / ".npmrc").write_text(self.npm.npmrc(prefix=build.npm_prefix, cache=build.home / ".npm"))
        return build

    def _next_number(self, project: Project) -> int:
        """The project's build number: one more than its last (CODEBUILD_BUILD_NUMBER)."""
        counter = self.builds / "numbers" / hashlib.sha256(project.name.encode()).hexdigest()[:10]
        counter.parent.mkdir(parents=True, exist_ok=True)
        number = int(counter.read_text()) + 1 if counter.is_file() else 1
        counter.write_text(str(number))
        return number

    def _say_once(self, context: ActionContext, line: str) -> None:
        if line not in self.said:
            self.said.add(line)
            with context.log.open("a") as log:
                log.write(f"[not honoured locally] {line}\n")


@dataclass(frozen=True)
class _Build:
    root: Path  # <builds>/src<digits>: removed when the build ends
    uuid: str
    number: int

    @property
    def source(self) -> Path:
        return self.root / "src"

    @property
    def home(self) -> Path:
        return self.root / "root"

    @property
    def npm_prefix(self) -> Path:
        return self.root / "npm"


def _source_commit(context: ActionContext) -> str:
    """The commit of the run's source action (its ``CommitId`` variable), if one ran."""
    for values in context.variables.values():
        if "CommitId" in values:
            return str(values["CommitId"])
    return ""


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
