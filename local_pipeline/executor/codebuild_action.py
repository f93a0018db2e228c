"""The CodeBuild action (``Build/AWS/CodeBuild/1`` and ``Test/AWS/CodeBuild/1``), run here.

As the CodePipeline user guide's "AWS CodeBuild build and test action reference" ([action],
https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html)
and CodeBuild's "Build specification reference for CodeBuild" ([spec],
https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html) describe it:

- the project's buildspec runs (``buildspec.run_buildspec``) in a working directory
  holding the action's primary input artifact: ``PrimarySource``, or the only input.
  "This parameter is required if multiple input artifacts are specified for a CodeBuild
  action": an action with several inputs and no ``PrimarySource`` fails, saying so, and so
  does one whose ``PrimarySource`` is not among its inputs ("must be the name of one of
  the input artifacts to the action");
- every other input is a directory of its own, named by ``CODEBUILD_SRC_DIR_<its artifact
  name>`` ("Each input artifact is extracted to its own directory [...]. The directories for
  all other input artifacts are made available with $CODEBUILD_SRC_DIR_yourInputArtifactName"):
  ``<builds>/src<digits>/inputs/<name>`` here (where CodeBuild puts them is not said);
- its environment: the project's environment variables, then the action's
  (``EnvironmentVariables``, a JSON list, ``#{...}`` already resolved), over what the
  build machine has; the credentials of the project's service role; the endpoint of the
  emulated accounts (``AWS_ENDPOINT_URL``). A ``PARAMETER_STORE`` or ``SECRETS_MANAGER``
  variable, of the project, of the action or of the buildspec (``env.parameter-store``,
  ``env.secrets-manager``), is read before the build starts, from the emulated accounts,
  as the project's service role: ``ssm:GetParameters`` and ``secretsmanager:GetSecretValue``
  (and the secret's key, ``kms:Decrypt``) are checked for that role as for any call, and a
  denial fails the build naming the variable, the parameter or secret, the role and what
  was denied ([spec], env/parameter-store: "you must add the ssm:GetParameters action to
  your CodeBuild service role"). The values read are never written to the build's log
  (``***`` there, as CodeBuild's logs show them), the action's summary or the run's record.
  The role's own credentials are hidden in the log too ([spec], env: "the following are
  hidden in CodeBuild logs: AWS access key IDs"; the secret key and the session token with
  them, a choice);
- one output artifact holds the files ``artifacts:`` selects; with several, each holds the
  files of the ``artifacts.secondary-artifacts`` section named as it is, and one with no
  such section fails the build naming it ([action], "Output artifacts");
  ``exported-variables`` become the action's variables; ``reports:`` files are kept with the
  run, in the action's folder (``actions/<stage>.<action>/reports/<report group>/``), as
  CodeBuild keeps each build's report;
- a failed build names the failed test cases its JUnit reports hold, as the report's page
  in the console lists them ("Working with test reports");
- a build stays in its folders (``buildspec``'s docstring): what it hands on or keeps is
  copied from them only, checked again as it is copied (``copy_within``), a symbolic link it
  made kept as a link only with ``enable-symlinks: yes`` and only when it points inside the
  artifact; and the buildspec file it names is read from its primary source only.

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
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from botocore.config import Config
from botocore.exceptions import ClientError
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from emulator import clients
from emulator.identity import Credentials
from local_pipeline.executor.buildspec import (
    BuildResult,
    BuildspecError,
    Collected,
    StoredReference,
    StoredValue,
    StoreReadError,
    copy_within,
    leaves_folder,
    mask,
    parse_buildspec,
    parse_secret_reference,
    run_buildspec,
)
from local_pipeline.executor.engine import ActionContext, ActionOutcome

_FAILED_TESTS_SHOWN = 5  # the rest are in the action's reports
_CONFIG = Config(retries={"max_attempts": 1})
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")
# CodeBuild's EnvironmentVariable types (API reference, "EnvironmentVariable"; [action], "EnvironmentVariables").
VariableType = Literal["PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"]
VARIABLE_TYPES: tuple[VariableType, ...] = ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER")


@dataclass(frozen=True)
class EnvironmentVariable:
    """A project's or an action's environment variable: its value, or for ``PARAMETER_STORE``
    the parameter's name, for ``SECRETS_MANAGER`` the secret's reference
    (``secret-id:json-key:version-stage:version-id``)."""

    name: str
    value: str
    type: VariableType = "PLAINTEXT"


@dataclass(frozen=True)
class Project:
    """What the executor needs of an ``AWS::CodeBuild::Project``."""

    name: str
    buildspec: str | Mapping[str, Any]
    service_role_arn: str
    environment_variables: Mapping[str, str] = field(default_factory=dict)  # the PLAINTEXT ones
    timeout_minutes: int = 60
    image: str = "aws/codebuild/standard:7.0"
    encryption_key: str = ""  # the key CodeBuild encrypts the build's output with (CODEBUILD_KMS_KEY_ID)
    # The PARAMETER_STORE and SECRETS_MANAGER ones: read as the service role when a build starts.
    stored_variables: tuple[EnvironmentVariable, ...] = ()


def project_variables(declared: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], tuple[EnvironmentVariable, ...]]:
    """A project's ``Environment.EnvironmentVariables`` as CloudFormation holds them
    (``Name``, ``Value``, ``Type``, PLAINTEXT when left out): the PLAINTEXT ones by name, and
    the others (``Project.environment_variables``, ``Project.stored_variables``). ValueError
    naming a variable of none of the three types.

    For whoever builds a ``Project`` from a deployed template (``deployed.py``)."""
    variables = [_variable(item.get("Name"), item.get("Value"), item.get("Type"), "project") for item in declared]
    plain = {variable.name: variable.value for variable in variables if variable.type == "PLAINTEXT"}
    return plain, tuple(variable for variable in variables if variable.type != "PLAINTEXT")


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
        try:
            primary, others = input_layout(context.action.input_artifacts, configuration.get("PrimarySource"))
            action_declared = declared_variables(configuration.get("EnvironmentVariables"))
        except ValueError as error:
            return ActionOutcome("Failed", f"project {project.name}: {error}")
        source = context.inputs.get(primary) if primary else None
        try:
            spec = parse_buildspec(buildspec_text(project.buildspec, source))
        except (BuildspecError, FileNotFoundError) as error:
            return ActionOutcome("Failed", f"project {project.name}: {error}")
        build = self._new_build(project, spec, source, {name: context.inputs[name] for name in others}, context)
        try:
            return self._run(context, project, spec, build, action_declared)
        finally:
            shutil.rmtree(build.root, ignore_errors=True)  # CodeBuild's container goes with its build

    def _run(
        self, context: ActionContext, project: Project, spec: Mapping[str, Any], build: _Build, action_declared: list[EnvironmentVariable]
    ) -> ActionOutcome:
        workdir = build.source
        if self.prepare_source is not None:
            note = self.prepare_source(project, workdir)
            if note:
                with context.log.open("a") as log:
                    log.write(f"[local] {note}\n")
        credentials = self.credentials(project.service_role_arn)
        stores = _Stores(credentials, self.region, project.service_role_arn)
        try:
            # [spec], env/variables: the start-build call's values beat the project's.
            overrides = {
                **project.environment_variables,
                **{v.name: stores.value_of(v, f"project {project.name} environment variable {v.name}") for v in project.stored_variables},
                **{v.name: stores.value_of(v, f"action EnvironmentVariables {v.name}") for v in action_declared},
            }
        except StoreReadError as error:
            with context.log.open("a") as log:
                log.write(f"[local] build failed: {error}\n")
            return ActionOutcome("Failed", str(error))
        outputs = context.outputs
        result = run_buildspec(
            spec,
            workdir=workdir,
            environment=self._environment(project, build, context, credentials),
            overrides=overrides,
            read_stored=stores.read,
            masked=[value for value in credentials.as_environment().values() if value],
            secondary_sources=build.inputs,
            secondary_artifacts=tuple(outputs) if len(outputs) > 1 else (),
            log=context.log,
            timeout_seconds=project.timeout_minutes * 60,
        )
        hidden = [*stores.values, *credentials.as_environment().values()]
        for line in result.not_honoured:
            self._say_once(context, line)
        kept = keep_reports(context, result.reports, within=result.folders)
        if not result.succeeded:
            failed = failed_test_cases(kept)
            if failed:
                more = len(failed) - _FAILED_TESTS_SHOWN
                shown = ", ".join(failed[:_FAILED_TESTS_SHOWN]) + (f" (+{more} more)" if more > 0 else "")
                return ActionOutcome("Failed", mask(f"{result.reason}; failed tests: {shown}", hidden))
            return ActionOutcome("Failed", mask(result.reason, hidden))
        for name, files in _handed_on(result, outputs).items():
            try:
                _fill(outputs[name], files, result.folders)
            except BuildspecError as error:
                where = "artifacts" if len(outputs) == 1 else f"artifacts.secondary-artifacts.{name}"
                return ActionOutcome("Failed", mask(f"{project.name}: {where}: {error}", hidden))
        reports = sum(len(files) for files in result.reports.values())
        return ActionOutcome("Succeeded", f"{project.name}: build succeeded, {reports} report files", dict(result.exported_variables))

    def _environment(self, project: Project, build: _Build, context: ActionContext, credentials: Credentials) -> dict[str, str]:
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
            **credentials.as_environment(),
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

    def _new_build(
        self, project: Project, spec: Mapping[str, Any], source: Path | None, others: Mapping[str, Path], context: ActionContext
    ) -> _Build:
        """A new source directory under a new random path, the project's cached directories
        linked into it, then the source copied in (a source item beats a cached one of its name);
        each other input copied into a directory of its own."""
        self.builds.mkdir(parents=True, exist_ok=True)
        while True:
            root = self.builds / f"src{secrets.randbelow(10**9):09d}"
            try:
                root.mkdir()
                break
            except FileExistsError:
                continue
        inputs = {name: root / "inputs" / name for name in others}
        build = _Build(root=root, uuid=str(uuid.uuid4()), number=self._next_number(project), inputs=inputs)
        for folder in (build.source, build.home, build.npm_prefix, *inputs.values()):
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
            _copy_input(source, build.source)
        for name, folder in others.items():
            _copy_input(folder, inputs[name])
        if self.npm is not None:
            # It carries the registry's token: the build's user only, as an npm user's own .npmrc.
            npmrc = os.open(build.home / ".npmrc", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(npmrc, "w") as file:
                file.write(self.npm.npmrc(prefix=build.npm_prefix, cache=build.home / ".npm"))
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
    inputs: Mapping[str, Path] = field(default_factory=dict)  # the other input artifacts' directories, by name

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


def keep_reports(context: ActionContext, reports: Mapping[str, list[Path]], within: Path | Sequence[Path] | None = None) -> list[Path]:
    """Copy each report group's files next to the action's log; the copies.

    Each stays in its folder: a group whose name would leave ``reports/`` is not kept, and
    a file is copied only from ``within`` (the build's folders: a symbolic link that resolves
    outside them is not followed) or, without it, only when it is no link at all
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
    """The action's ``EnvironmentVariables``, for a caller that sets only PLAINTEXT ones (the
    in-process stand-ins): by name. ValueError naming any of another type."""
    declared = declared_variables(value)
    unsupported = [variable.name for variable in declared if variable.type != "PLAINTEXT"]
    if unsupported:
        raise ValueError(f"environment variables {', '.join(unsupported)} are not PLAINTEXT: this step sets only those")
    return {variable.name: variable.value for variable in declared}


def declared_variables(value: Any) -> list[EnvironmentVariable]:
    """The action's ``EnvironmentVariables``: [action], "a JSON array of environment variable
    objects", each with ``name``, ``value`` and ``type`` ("Valid values are PARAMETER_STORE,
    SECRETS_MANAGER, or PLAINTEXT. When not specified, this defaults to PLAINTEXT").
    ValueError naming what is not so."""
    if not value:
        return []
    declared = json.loads(value) if isinstance(value, str) else value
    if not isinstance(declared, list) or not all(isinstance(item, Mapping) for item in declared):
        raise ValueError("EnvironmentVariables: not a JSON array of environment variable objects")
    return [_variable(item.get("name"), item.get("value"), item.get("type"), "EnvironmentVariables") for item in declared]


def _variable(name: Any, value: Any, kind: Any, where: str) -> EnvironmentVariable:
    if not isinstance(name, str) or not name or value is None:
        raise ValueError(f"{where}: a variable without a name or a value ({name!r})")
    kind = kind or "PLAINTEXT"
    if kind not in VARIABLE_TYPES:
        raise ValueError(f"{where}: {name}: type {kind!r} is not one of {', '.join(VARIABLE_TYPES)}")
    return EnvironmentVariable(name, str(value), kind)


def input_layout(inputs: Sequence[str], primary_source: Any) -> tuple[str | None, list[str]]:
    """The action's primary input and its others ([action], PrimarySource: "This parameter is
    required if multiple input artifacts are specified for a CodeBuild action. When there is
    only one source artifact for the action, the PrimarySource artifact defaults to that
    artifact"). ValueError, in the page's words, when it is missing or names no input; and
    for an artifact name that is not of CodePipeline's form (API reference, "InputArtifact":
    ``[a-zA-Z0-9_\\-]+``), as each other input becomes a directory of that name."""
    for name in inputs:
        if not _ARTIFACT_NAME.fullmatch(name):
            raise ValueError(f"input artifact {name!r}: not an artifact name ([a-zA-Z0-9_\\-]+)")
    if not primary_source:
        if len(inputs) > 1:
            raise ValueError(
                f"PrimarySource: the action has {len(inputs)} input artifacts ({', '.join(inputs)}) and no PrimarySource: "
                '"This parameter is required if multiple input artifacts are specified for a CodeBuild action"'
            )
        return (inputs[0] if inputs else None), []
    if primary_source not in inputs:
        raise ValueError(
            f"PrimarySource: {primary_source} is not an input artifact of the action ({', '.join(inputs) or 'none'}): "
            '"The value of the PrimarySource parameter must be the name of one of the input artifacts to the action"'
        )
    return str(primary_source), [name for name in inputs if name != primary_source]


@dataclass
class _Stores:
    """Parameter Store and Secrets Manager as the project's service role reads them: through
    the emulated accounts, which authorize each call as IAM would (``emulator.authorization``:
    the role's policies, the secret's resource policy, its key's policy). Keeps what it read,
    for the caller to hide."""

    credentials: Credentials
    region: str
    role_arn: str
    values: list[str] = field(default_factory=list)

    def value_of(self, variable: EnvironmentVariable, where: str) -> str:
        if variable.type == "PLAINTEXT":
            return variable.value
        return self.read(StoredReference(variable.name, variable.type, variable.value, where))

    def read(self, reference: StoredReference) -> StoredValue:
        value = self._parameter(reference) if reference.store == "PARAMETER_STORE" else self._secret(reference)
        self.values.append(value)
        return StoredValue(value)

    def _parameter(self, reference: StoredReference) -> str:
        what = f"{reference.where}: parameter {reference.reference}"
        ssm = clients.client("ssm", region=self.region, credentials=self.credentials, config=_CONFIG)
        try:
            # One name a call, so a denial names its parameter; CodeBuild asks for them with
            # GetParameters, which is what its service role must be allowed ([spec]).
            answer = ssm.get_parameters(Names=[reference.reference], WithDecryption=True)
        except ClientError as error:
            raise StoreReadError(f"{what} not read as {self.role_arn}: {_error(error)}") from None
        found = [
            item
            for item in answer.get("Parameters", [])
            if item.get("Name") == reference.reference or item.get("ARN") == reference.reference
        ]
        if not found:
            raise StoreReadError(f"{what} not read as {self.role_arn}: no such parameter (GetParameters: InvalidParameters)")
        return str(found[0]["Value"])

    def _secret(self, reference: StoredReference) -> str:
        try:
            parsed = parse_secret_reference(reference.reference)
        except ValueError as error:
            raise StoreReadError(f"{reference.where}: {error}") from None
        what = f"{reference.where}: secret {parsed.secret_id}"
        version = {"VersionStage": parsed.version_stage} if parsed.version_stage else {}
        version |= {"VersionId": parsed.version_id} if parsed.version_id else {}
        manager = clients.client("secretsmanager", region=self.region, credentials=self.credentials, config=_CONFIG)
        try:
            answer = manager.get_secret_value(SecretId=parsed.secret_id, **version)
        except ClientError as error:
            raise StoreReadError(f"{what} not read as {self.role_arn}: {_error(error)}") from None
        if "SecretString" not in answer:
            raise StoreReadError(f"{what}: a binary secret, which no environment variable holds (a guess: [spec] speaks of text)")
        text = str(answer["SecretString"])
        if not parsed.json_key:
            return text  # "If you do not specify a json-key, CodeBuild retrieves the entire secret text"
        try:
            document = json.loads(text)
        except ValueError:
            document = None  # what it holds is not said: it may be the secret
        if not isinstance(document, dict) or parsed.json_key not in document:
            raise StoreReadError(f"{what}: json-key {parsed.json_key}: the secret is no JSON object with that key")
        selected = document[parsed.json_key]
        # A non-string value as its JSON text: a guess, [spec] does not say.
        return selected if isinstance(selected, str) else json.dumps(selected)


def _error(error: ClientError) -> str:
    return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"


def _handed_on(result: BuildResult, outputs: Mapping[str, Path]) -> dict[str, Collected]:
    """What fills each output artifact: the primary ``artifacts`` section the only one, the
    secondary section of its name each of several ([action], "Output artifacts")."""
    if len(outputs) == 1:
        (name,) = outputs
        return {name: Collected(result.artifact_layout, result.artifact_links)}
    return {name: result.secondary[name] for name in outputs if name in result.secondary}


def _fill(output: Path, files: Collected, folders: Sequence[Path]) -> None:
    for source, inside in files.layout.items():
        target = output / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        if source in files.links:  # enable-symlinks: a link that stays inside the artifact
            target.unlink(missing_ok=True)
            target.symlink_to(files.links[source])
            continue
        copy_within(source, target, folders)


def _copy_input(source: Path, into: Path) -> None:
    for entry in source.iterdir():
        target = into / entry.name
        if target.is_symlink():  # "Cached items are overridden if a source item has the same name."
            target.unlink()
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, target, follow_symlinks=False)
