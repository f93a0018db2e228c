"""Runs an AWS CodeBuild buildspec (version 0.2) on this machine, as CodeBuild documents it.

The local executor calls it for each CodeBuild action, in the directory of the action's
primary input. What it follows, cited below by the short name in brackets:

- [spec] "Build specification reference for CodeBuild",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
- [transitions] "Build phase transitions",
  https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
- [env-vars] "Environment variables in build environments",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
- [shells] "Shells and commands in build environments",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-cmd.html
- [action] CodePipeline, "AWS CodeBuild build and test action reference",
  https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html
- [multi] "CodePipeline integration with CodeBuild and multiple input sources and output
  artifacts sample",
  https://docs.aws.amazon.com/codebuild/latest/userguide/sample-pipeline-multi-input-output.html

Where those pages are silent, the comment beside the code says that the behaviour is a guess.

The shell. [spec], env/shell: "For Linux operating systems, supported shell tags are:
``bash``, ``/bin/sh``" (``powershell.exe`` and ``cmd.exe`` are Windows': refused here). No
page says in so many words which shell runs the commands when ``env.shell`` is left out;
the nearest is [shells]: "You can specify any Shell Command Language (sh) command", a
sentence AWS put there (awsdocs/aws-codebuild-user-guide#65, answering #5) to say that
``sh`` is what runs them. So a buildspec without ``env.shell`` runs under ``/bin/sh``
(``DEFAULT_SHELL``): this machine's, which on Debian and Ubuntu, as on CodeBuild's Ubuntu
standard images, is dash, so a bashism (``[[``, ``source``, arrays) fails here as it fails
there. A choice made on that reading, not on a sentence that names the binary.

Parameter Store and Secrets Manager. ``env.parameter-store`` and ``env.secrets-manager``
([spec]) are read before the first command runs, by the caller's ``read_stored`` (the
CodeBuild action reads them as the project's service role). A reference the caller cannot
read fails the build with the caller's reason, and nothing runs. Every value read so (the
buildspec's and, given as ``StoredValue``, the project's and the action's) is hidden in the
build's log as CodeBuild hides it ([spec], env: "To protect sensitive information, the
following are hidden in CodeBuild logs: [...] Strings specified using the Parameter Store
[...] Strings specified using AWS Secrets Manager"): each occurrence, wherever it appears in
a line (the command line included), is written ``***``, what CodeBuild's logs show; such a
variable is never exported ([spec], env/exported-variables: "The following cannot be
exported: Amazon EC2 Systems Manager Parameter Store secrets specified in the build project
[...] Secrets Manager secrets specified in the build project"), and an exported value that
holds one is masked too (a choice: CodeBuild would export it as it is).

Several inputs and outputs ([action], "Input artifacts" and "Output artifacts"; [multi]):
the primary input is ``workdir`` (``CODEBUILD_SRC_DIR``); each other input is a directory of
its own, ``CODEBUILD_SRC_DIR_<its artifact name>`` ("The directories for all other input
artifacts are made available with $CODEBUILD_SRC_DIR_yourInputArtifactName"). With several
output artifacts, each is filled from the ``artifacts.secondary-artifacts`` section whose
identifier is its name ("When more than one output artifact is specified, all artifacts
referenced must be defined as secondary artifacts in the build spec file. The names of the
output artifacts in CodePipeline must match the artifact identifiers in the build spec
file"), and the primary ``artifacts`` section fills none of them. A ``base-directory`` may
start with ``$CODEBUILD_SRC_DIR`` or ``$CODEBUILD_SRC_DIR_<name>`` as [multi]'s buildspec
does (``base-directory: $CODEBUILD_SRC_DIR_source2``); no other ``$`` is expanded there (a
guess: the pages show only those).

A build stays in its folders (``workdir`` and the other inputs' directories). On CodeBuild
the build's container is the boundary; here it is those folders, so what the buildspec
names is held to them:

- a report group name, a ``base-directory``, a ``files`` pattern or an artifact ``name``
  that is absolute or has a ``..`` part is refused when the buildspec is read
  (BuildspecError, naming the key and the path);
- when the files are collected, a ``base-directory`` that resolves outside the build's
  folders (a symbolic link to /etc) is refused, and so is a file that is a symbolic link
  resolving outside them (``ln -s /etc/passwd out/report.xml``): the build fails naming it,
  and nothing of it is kept. [spec], artifacts/enable-symlinks: "If the output type is ZIP,
  specifies if internal symbolic links are preserved in the ZIP file. If this contains
  yes, all internal symbolic links in the source will be preserved" (the default is no).
  So a link that stays inside is followed by default (the file it names is copied), and
  with ``enable-symlinks: yes`` is copied as a link when, where the artifact puts it, it
  still points inside the artifact; one that leaves is refused either way, as a link to the
  host (unlike one inside CodeBuild's container) would hand a host file on. Reports have
  no such key: their links are followed, inside only;
- ``copy_within`` copies a collected file checking it again, at copy time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import yaml

from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup
from local_pipeline.executor.process_groups import record as record_group

PHASES = ("install", "pre_build", "build", "post_build")

# [spec], env/shell: the Linux tags, and the Windows ones (refused: the build runs on Linux here).
LINUX_SHELLS = ("bash", "/bin/sh")
_WINDOWS_SHELLS = ("powershell.exe", "cmd.exe")
# What runs the commands when env.shell is left out: see the module's docstring.
DEFAULT_SHELL = "/bin/sh"
# What a hidden value is written as in the log (CodeBuild's logs show "***").
MASK = "***"

# The keys [spec] lists; any other key is refused, named, rather than silently skipped.
_TOP_KEYS = frozenset({"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"})
_ENV_KEYS = frozenset({"shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"})
_PHASE_KEYS = frozenset({"run-as", "on-failure", "commands", "finally"})
_REPORT_KEYS = frozenset({"files", "base-directory", "discard-paths", "file-format"})
_ARTIFACT_KEYS = frozenset(
    {"files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix", "secondary-artifacts"}
)
_CACHE_KEYS = frozenset({"key", "fallback-keys", "action", "paths"})
# [spec], reports/<report-group>/file-format: not case sensitive.
_REPORT_FORMATS = frozenset(
    {
        "CUCUMBERJSON",
        "JUNITXML",
        "NUNITXML",
        "NUNIT3XML",
        "TESTNGXML",
        "VISUALSTUDIOTRX",
        "CLOVERXML",
        "COBERTURAXML",
        "JACOCOXML",
        "SIMPLECOV",
    }
)
# [spec], phases/*/on-failure: ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex>, RETRY-<count>-<regex>.
_RETRY = re.compile(r"RETRY(-.+)?", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A base-directory that starts with one of the build's source variables ([multi]).
_SOURCE_VARIABLE = re.compile(r"\$(?:\{(CODEBUILD_SRC_DIR\w*)\}|(CODEBUILD_SRC_DIR\w*))(.*)", re.DOTALL)

# One command in a shell process of its own, which first restores the state the command
# before it left (every shell variable, exported or not, and the working directory) and,
# on its way out (also through `exit`), saves its own: so `cd`, `X=1` and `export X=1`
# carry over from command to command and phase to phase, as version 0.2 promises ([spec],
# "phases": version 0.1 ran each command in a separate shell instance, 0.2 "solves this
# issue"), and a command that calls `exit` fails only itself. Shell functions, options
# (`set -e`) and traps are not carried over: a guess, [spec] speaks only of directories
# and environment variables.
#
# bash: every variable by `declare -p`, less bash's own read-only and dynamic ones.
_BASH_RUNNER = r"""
__buildspec_state=$1 __buildspec_command=$2
set --
__buildspec_save() {
    local __buildspec_name __buildspec_names
    mapfile -t __buildspec_names < <(compgen -v)
    for __buildspec_name in "${__buildspec_names[@]}"; do
        case $__buildspec_name in
            __buildspec_*|BASH|BASH_*|BASHOPTS|BASHPID|EUID|PPID|UID|SHELLOPTS|SHLVL|PIPESTATUS|FUNCNAME|GROUPS) ;;
            RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCHREALTIME|EPOCHSECONDS|DIRSTACK|COMP_WORDBREAKS|OPTIND|OPTARG|PWD|OLDPWD|_) ;;
            *) declare -p "$__buildspec_name" 2>/dev/null ;;
        esac
    done
    printf 'cd -- %q\n' "$PWD"
}
trap '__buildspec_status=$?; set +eu; __buildspec_save >"$__buildspec_state"; exit "$__buildspec_status"' EXIT
. "$__buildspec_state"
eval "$__buildspec_command"
"""

# /bin/sh (dash on Debian and Ubuntu): POSIX only. `set` writes every variable "with
# appropriate quoting [...] suitable for reinput to the shell" (POSIX, "set"), `export -p`
# and `readonly -p` which of them are exported or read-only; PWD is among them, and the
# state ends by going there. The shell's own PPID is kept over the saved one.
_SH_RUNNER = r"""
__buildspec_state=$1 __buildspec_command=$2 __buildspec_ppid=$PPID
set --
__buildspec_save() {
    unset __buildspec_state __buildspec_command __buildspec_status __buildspec_ppid
    { set; export -p; readonly -p; echo 'cd -- "$PWD"'; } >"$1"
    exit "$2"
}
trap '__buildspec_status=$?; set +eu; __buildspec_save "$__buildspec_state" "$__buildspec_status"' EXIT
. "$__buildspec_state"
PPID=$__buildspec_ppid
eval "$__buildspec_command"
"""

# Prints name NUL value NUL for each of the names set in the saved state (the names are
# checked to be shell names when the buildspec is read).
_BASH_READER = r"""
__buildspec_state=$1
shift
. "$__buildspec_state" 2>/dev/null
for __buildspec_name; do
    if [[ -v $__buildspec_name ]]; then printf '%s\0%s\0' "$__buildspec_name" "${!__buildspec_name}"; fi
done
exit 0
"""

_SH_READER = r"""
__buildspec_state=$1
shift
. "$__buildspec_state" 2>/dev/null
for __buildspec_name do
    eval "__buildspec_set=\${$__buildspec_name+x} __buildspec_value=\${$__buildspec_name-}"
    if [ -n "$__buildspec_set" ]; then printf '%s\0%s\0' "$__buildspec_name" "$__buildspec_value"; fi
done
exit 0
"""


class StoredValue(str):
    """A value read from Parameter Store or Secrets Manager: hidden in the build's log and
    never exported. Its repr does not show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"StoredValue({MASK})"


Store = Literal["PARAMETER_STORE", "SECRETS_MANAGER"]


@dataclass(frozen=True)
class StoredReference:
    """A variable whose value is read from Parameter Store or Secrets Manager."""

    variable: str
    store: Store
    reference: str  # a parameter's name; for Secrets Manager, secret-id:json-key:version-stage:version-id
    where: str  # how the build names it, for a reason: "env.parameter-store.DB_HOST"


@dataclass(frozen=True)
class SecretReference:
    """[spec], env/secrets-manager: ``secret-id:json-key:version-stage:version-id``; an
    empty part is one not given."""

    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


class StoreReadError(Exception):
    """A stored variable could not be read: names the variable, the parameter or secret, and
    why (a denial names the role and what was denied). Never holds the value."""


@dataclass(frozen=True)
class Collected:
    """The files of one ``artifacts`` section: absolute path -> its path inside the artifact
    (what ``base-directory`` and ``discard-paths`` make of it, relative, POSIX), and those of
    them to copy as links (``enable-symlinks: yes``) -> the link's text."""

    layout: dict[Path, str] = field(default_factory=dict)
    links: dict[Path, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildResult:
    succeeded: bool
    reason: str  # "" when it succeeded; else one line: phase, command, exit code (values read from stores masked)
    exported_variables: dict[str, str]
    reports: dict[str, list[Path]]  # report group name -> report files found (absolute paths)
    artifacts: list[Path]  # files of the primary artifact (absolute), per `artifacts:`
    not_honoured: list[str]  # what the buildspec asks that cannot be honoured locally (runtime-versions, ...), one line each
    # Where each file of `artifacts` goes inside the artifact (relative, POSIX): what
    # `base-directory` and `discard-paths` make of it, for the caller who copies them.
    artifact_layout: dict[Path, str] = field(default_factory=dict)
    # The files of `artifacts` that are symbolic links to be copied as links
    # (`enable-symlinks: yes`), each with its link's text; the others are copied with
    # ``copy_within``.
    artifact_links: dict[Path, str] = field(default_factory=dict)
    # The secondary artifacts asked for (``secondary_artifacts``), by identifier.
    secondary: dict[str, Collected] = field(default_factory=dict)
    # The build's folders: what it collected is in them, and ``copy_within`` holds a copy to them.
    folders: tuple[Path, ...] = ()


class BuildspecError(Exception):
    """A buildspec this runner cannot run (bad version, unsupported key): names the key."""


class _Stopped(Exception):
    """The build ran out of time: nothing more runs."""


def parse_buildspec(source: str | Mapping[str, Any]) -> dict[str, Any]:
    """The buildspec as a dict, from YAML or JSON text or an already parsed mapping, checked
    against [spec]: version 0.2, known keys, and nothing this runner cannot do locally."""
    spec = _load(source) if isinstance(source, str) else dict(source)
    _check(spec)
    return spec


def parse_secret_reference(text: str) -> SecretReference:
    """[spec], env/secrets-manager: ``secret-id:json-key:version-stage:version-id``, where
    ``secret-id`` is "The name or Amazon Resource Name (ARN)" of the secret (an ARN's own
    colons are its first seven parts). ValueError when it is not of that form, or names both
    a version stage and a version ID ("If you use version-stage, don't specify version-id")."""
    parts = str(text).split(":")
    cut = 7 if text.startswith("arn:") else 1
    secret_id, rest = ":".join(parts[:cut]), parts[cut:]
    if not secret_id or len(rest) > 3 or (cut == 7 and len(parts) < 7):
        raise ValueError(f"{text!r} is not of the form secret-id:json-key:version-stage:version-id")
    json_key, version_stage, version_id = [*rest, "", "", ""][:3]
    if version_stage and version_id:
        raise ValueError(f'{text!r} names both a version stage and a version ID ("If you use version-stage, don\'t specify version-id")')
    return SecretReference(secret_id, json_key, version_stage, version_id)


def stored_references(spec: Mapping[str, Any]) -> list[StoredReference]:
    """The buildspec's ``env.parameter-store`` and then its ``env.secrets-manager``
    variables: read in that order, so a name in both takes the Secrets Manager value (a
    guess: [spec] does not rank them; both "replace existing environment variables")."""
    env = spec.get("env") or {}
    references: list[StoredReference] = []
    for key, store in (("parameter-store", "PARAMETER_STORE"), ("secrets-manager", "SECRETS_MANAGER")):
        for name, value in (env.get(key) or {}).items():
            references.append(StoredReference(str(name), store, str(value), f"env.{key}.{name}"))  # type: ignore[arg-type]
    return references


def mask(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``values`` written ``***``, longest first."""
    pattern = _alternatives([value.encode() for value in values])
    if pattern is None:
        return text
    return pattern.sub(MASK.encode(), text.encode()).decode(errors="replace")


def run_buildspec(
    buildspec: str | Mapping[str, Any],
    *,
    workdir: Path,
    environment: Mapping[str, str],
    log: Path,
    timeout_seconds: float = 3600,
    overrides: Mapping[str, str] | None = None,
    read_stored: Callable[[StoredReference], str] | None = None,
    masked: Collection[str] = (),
    secondary_sources: Mapping[str, Path] | None = None,
    secondary_artifacts: Sequence[str] = (),
) -> BuildResult:
    """Runs the buildspec's phases in ``workdir``; every command's output is appended to ``log``.

    ``environment`` is the build's starting environment (PATH and the like: what the build
    image holds), which ``env.variables`` replace name by name ([spec], env/variables: "Any
    environment variables you set replace existing environment variables"), and then the
    values ``read_stored`` reads for ``env.parameter-store`` and ``env.secrets-manager``
    ("Any environment variables you retrieve from Amazon EC2 Systems Manager Parameter Store
    replace existing environment variables"). ``overrides`` are the build project's and the
    CodePipeline action's environment variables, which beat the buildspec's: [spec] ranks
    the start-build call first, then the project, and the buildspec last. That the action's
    ``EnvironmentVariables`` count as the start-build call's is our reading of [action],
    which describes them with CodeBuild's ``EnvironmentVariable`` API type but does not name
    the call. An override given as a ``StoredValue`` was read from a store.

    ``read_stored`` raises StoreReadError for a reference it cannot read: the build fails
    with that reason before any command runs. Every value read from a store, and each of
    ``masked`` (the build's credentials), is written ``***`` in the log and in the reason.

    ``secondary_sources`` are the action's other input artifacts' directories, by name
    (``CODEBUILD_SRC_DIR_<name>``); ``secondary_artifacts`` the identifiers of the
    ``artifacts.secondary-artifacts`` sections to collect, the action's output artifacts when
    it has several: then the primary ``artifacts`` section is not collected, and a name
    with no section of its own fails the build, naming it.
    """
    spec = parse_buildspec(buildspec)
    workdir = workdir.resolve()
    sources = {name: path.resolve() for name, path in (secondary_sources or {}).items()}
    folders = _Folders(workdir, sources)
    env = spec.get("env") or {}
    shell_name = str(env.get("shell", DEFAULT_SHELL))
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="buildspec-") as scratch:
        try:
            stored = {ref.variable: StoredValue(_read(ref, read_stored)) for ref in stored_references(spec)}
        except StoreReadError as error:
            reason = mask(str(error), masked)
            with _Log(log, Path(scratch) / "output", masked) as early:
                early.note(f"build failed: {reason}")
            return BuildResult(False, reason, {}, {}, [], _not_honoured(spec), folders=folders.all())
        variables: dict[str, str] = {
            **{name: str(value) for name, value in environment.items()},
            **_plain_variables(env.get("variables")),
            **stored,
            **(overrides or {}),
            # [env-vars]: the build's directory, the other inputs' ([action]), and 1 until the build is failing.
            "CODEBUILD_SRC_DIR": str(workdir),
            **{f"CODEBUILD_SRC_DIR_{name}": str(path) for name, path in sources.items()},
            "CODEBUILD_BUILD_SUCCEEDING": "1",
        }
        from_stores = {name for name, value in variables.items() if isinstance(value, StoredValue)}
        hidden = [*masked, *(variables[name] for name in from_stores)]
        with _Log(log, Path(scratch) / "output", hidden) as build_log:
            shell = _Shell(
                shell_name, Path(scratch) / "state", build_log, variables, workdir, timeout_seconds, log.with_name(PROCESS_GROUP_FILE)
            )
            build_log.note(f"shell: {shell.command[0]}" + ("" if "shell" in env else " (env.shell not given: sh, [shells])"))
            for name, path in sources.items():
                if not _NAME.fullmatch(name):
                    # An artifact name may hold '-' (CodePipeline allows it); what CodeBuild names
                    # such an input's variable is not said: here it is not set.
                    build_log.note(f"input artifact {name} is in {path}: CODEBUILD_SRC_DIR_{name} is no shell variable name: not set")
            try:
                reason = _run_phases(spec.get("phases") or {}, shell)
            except _Stopped as stopped:
                reason = str(stopped)
            exported = _exported(shell, env, from_stores, hidden, build_log)
            # [transitions]: uploading the artifacts is attempted even when the build phase
            # failed, and test reports matter most then: both are collected whatever happened.
            refused: list[str] = []
            reports: dict[str, list[Path]] = {}
            for name, group in (spec.get("reports") or {}).items():
                files = _select(folders, group, f"reports.{name}", refused, links=False)
                reports[name] = sorted(files.layout)
            primary = Collected()
            secondary: dict[str, Collected] = {}
            unmatched: list[str] = []
            artifacts = spec.get("artifacts") or {}
            sections = artifacts.get("secondary-artifacts") or {}
            if secondary_artifacts:
                for name in secondary_artifacts:
                    if name in sections:
                        secondary[name] = _select(
                            folders,
                            sections[name],
                            f"artifacts.secondary-artifacts.{name}",
                            refused,
                            links=_yes(sections[name].get("enable-symlinks")),
                        )
                        if not secondary[name].layout:
                            unmatched.append(f"artifacts.secondary-artifacts.{name}")
                for name in sections:
                    if name not in secondary_artifacts:
                        build_log.note(f"artifacts.secondary-artifacts.{name}: the action has no output artifact {name}: not handed on")
            elif "artifacts" in spec:
                primary = _select(folders, artifacts, "artifacts", refused, links=_yes(artifacts.get("enable-symlinks")))
                if not primary.layout:
                    unmatched.append("artifacts")
                for name in sections:
                    build_log.note(
                        f"artifacts.secondary-artifacts.{name}: not handed on (the action has fewer than two output artifacts: "
                        "its output is the primary artifacts section, [action])"
                    )
            for line in refused:
                build_log.note(line)
            missing = [name for name in secondary_artifacts if name not in sections]
            reason = reason or (refused[0] if refused else "")
            if missing and not reason:
                sections_missing = ", ".join(f"artifacts.secondary-artifacts.{name}" for name in missing)
                reason = (
                    f"output artifact{'s' if len(missing) > 1 else ''} {', '.join(missing)}: no {sections_missing} in the buildspec "
                    '(the action has several output artifacts: [action], "all artifacts referenced must be defined as secondary '
                    'artifacts in the build spec file", each under its own name)'
                )
            if unmatched and not reason:
                # A guess: [spec] does not say; CodeBuild is known to fail the upload with
                # "no matching artifact paths found" when `artifacts.files` matches nothing.
                reason = f"{unmatched[0]}: no file matches {unmatched[0]}.files"
            reason = mask(reason, hidden)
            build_log.note(f"build {'failed: ' + reason if reason else 'succeeded'}")
    return BuildResult(
        succeeded=not reason,
        reason=reason,
        exported_variables=exported,
        reports=reports,
        artifacts=list(primary.layout),
        not_honoured=_not_honoured(spec),
        artifact_layout=primary.layout,
        artifact_links=primary.links,
        secondary=secondary,
        folders=folders.all(),
    )


def _read(reference: StoredReference, read_stored: Callable[[StoredReference], str] | None) -> str:
    if read_stored is None:
        raise StoreReadError(
            f"{reference.where}: nothing here reads {'Parameter Store' if reference.store == 'PARAMETER_STORE' else 'Secrets Manager'}"
        )
    return read_stored(reference)


def _exported(shell: _Shell, env: Mapping[str, Any], from_stores: Set[str], hidden: Sequence[str], log: _Log) -> dict[str, str]:
    """[spec], env/exported-variables, read when post_build has ended; a variable read from a
    store is not exported ("cannot be exported"), and a value that holds one is masked."""
    names = _exportable(env)
    for name in names:
        if name in from_stores:
            log.note(f"env.exported-variables: {name} was read from Parameter Store or Secrets Manager: not exported ([spec])")
    values = shell.values([name for name in names if name not in from_stores])
    return {name: mask(value, hidden) for name, value in values.items()}


def copy_within(source: Path, target: Path, within: Path | Sequence[Path] | None) -> None:
    """Copies the regular file ``source`` names to ``target`` (contents, mode, times), checked
    again now that the build has ended: with ``within`` (a folder, or the build's folders), a
    symbolic link is followed only when it resolves inside one of them; without it, a source
    that is a link is refused. The file opened is the resolved one, not itself followed
    (O_NOFOLLOW), and must be a regular file (a FIFO would block). BuildspecError, naming the
    source, when the copy is refused."""
    real = source
    if within is not None:
        folders = [within] if isinstance(within, Path) else list(within)
        real = source.resolve()
        if not any(real.is_relative_to(folder.resolve()) for folder in folders):
            raise BuildspecError(f"{source}: a symbolic link to {real}, outside the build's folder: not copied")
    try:
        descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise BuildspecError(f"{source}: {'a symbolic link' if source.is_symlink() else error.strerror}: not copied") from error
    with os.fdopen(descriptor, "rb") as reader:
        status = os.fstat(reader.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise BuildspecError(f"{source}: not a regular file: not copied")
        target.unlink(missing_ok=True)  # and "x": a link already there is never written through
        with target.open("xb") as writer:
            shutil.copyfileobj(reader, writer)
    os.chmod(target, stat.S_IMODE(status.st_mode))
    os.utime(target, ns=(status.st_atime_ns, status.st_mtime_ns))


def leaves_folder(path: str) -> bool:
    """Whether ``path``, joined to a folder, may name something outside it: absolute, with a
    ``..`` part, or with a NUL (which no path holds)."""
    return path.startswith("/") or ".." in path.split("/") or "\0" in path


def _alternatives(values: Iterable[bytes]) -> re.Pattern[bytes] | None:
    """One pattern matching any of ``values``, the longest first where two start alike."""
    distinct = sorted({value for value in values if value}, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(value) for value in distinct)) if distinct else None


class _Log:
    """The build's log as CodeBuild writes it: each of ``hidden`` written ``***``.

    Commands write to ``output`` (a file of the build's scratch folder, so a process they
    leave running in the background writes on, and nothing waits for it); what they wrote
    is copied to the log, masked, as it comes (every 0.1 s) and before each of the runner's
    own lines. A tail that could be the start of a hidden value is held back until the rest
    has come, or the command has ended, so no value is split across two copies unmasked."""

    _EVERY = 0.1

    def __init__(self, log: Path, output: Path, hidden: Iterable[str]) -> None:
        self._pattern = _alternatives(value.encode() for value in hidden)
        self._values = sorted({value.encode() for value in hidden if value}, key=len)
        self._starts = {value[:1] for value in self._values}
        self._log: BinaryIO = log.open("ab")
        self.output: BinaryIO = output.open("ab")  # what commands write to
        self._reader: BinaryIO = output.open("rb")
        self._held = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._copier = threading.Thread(target=self._copy_as_it_comes, name="build log", daemon=True)
        self._copier.start()

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._copier.join()
        self.drain()
        for file in (self.output, self._reader, self._log):
            file.close()

    def note(self, line: str) -> None:
        """One line of the runner's own, after all that the commands wrote until now."""
        with self._lock:
            self._copy(held_back=False)
            self._write(f"[buildspec] {line}\n".encode())

    def drain(self) -> None:
        """Everything the commands wrote, the held tail too (a command has ended)."""
        with self._lock:
            self._copy(held_back=False)

    def _copy_as_it_comes(self) -> None:
        while not self._stop.wait(self._EVERY):
            with self._lock:
                self._copy(held_back=True)

    def _copy(self, *, held_back: bool) -> None:
        self.output.flush()
        data = self._held + self._reader.read()
        if not data:
            return
        end = self._unfinished(data) if held_back else len(data)
        self._held = data[end:]
        self._write(data[:end])

    def _write(self, data: bytes) -> None:
        if data:
            self._log.write(self._pattern.sub(MASK.encode(), data) if self._pattern is not None else data)
            self._log.flush()

    def _unfinished(self, data: bytes) -> int:
        """Where the tail of ``data`` that could begin a hidden value starts (``len(data)``
        when none could): positions inside a whole value already there do not count."""
        if self._pattern is None:
            return len(data)
        whole_until = max((match.end() for match in self._pattern.finditer(data)), default=0)
        longest = len(self._values[-1])
        for start in range(max(whole_until, len(data) - longest + 1), len(data)):
            if data[start : start + 1] in self._starts and any(value.startswith(data[start:]) for value in self._values):
                return start
        return len(data)


class _Shell:
    """The build's one shell, as version 0.2 has it: its state lives in a file that each
    command's shell process restores and saves (``_BASH_RUNNER``, ``_SH_RUNNER``). Processes
    start with an empty environment: the state file alone holds it, so a variable a command
    unsets stays unset."""

    def __init__(
        self,
        shell: str,
        state: Path,
        log: _Log,
        variables: Mapping[str, str],
        workdir: Path,
        timeout_seconds: float,
        group_file: Path,
    ) -> None:
        self.state = state
        self.log = log
        self.group_file = group_file  # the running command's process group, for whoever finds it after a crash
        self.timeout_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        if shell == "bash":
            bash = shutil.which("bash", path=variables.get("PATH")) or shutil.which("bash") or "/bin/bash"
            self.command, self.runner, self.reader = [bash, "--noprofile", "--norc", "-c"], _BASH_RUNNER, _BASH_READER
        else:  # "/bin/sh", named by its path ([spec])
            self.command, self.runner, self.reader = ["/bin/sh", "-c"], _SH_RUNNER, _SH_READER
        # A name that is no shell identifier cannot be a shell variable: it is left out.
        lines = [f"export {name}={shlex.quote(value)}" for name, value in variables.items() if _NAME.fullmatch(name)]
        state.write_text("\n".join([*lines, f"cd -- {shlex.quote(str(workdir))}", ""]))

    def note(self, line: str) -> None:
        self.log.note(line)

    def set(self, name: str, value: str) -> None:
        with self.state.open("a") as state:
            state.write(f"export {name}={shlex.quote(value)}\n")

    def run(self, command: str) -> int | None:
        """The command's exit status, or None when the build's time ran out (the command is killed)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.note(f"running command: {command}")
        process = subprocess.Popen(
            [*self.command, self.runner, "buildspec", str(self.state), command],
            stdin=subprocess.DEVNULL,  # a command that reads its input gets none, and does not wait for it
            stdout=self.log.output,
            stderr=subprocess.STDOUT,
            env={},
            start_new_session=True,  # its own process group: a timeout ends what it started, too
        )
        record_group(self.group_file, ProcessGroup.of(process, f"build command {command[:60]!r}"))
        try:
            return process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None
        finally:
            self.group_file.unlink(missing_ok=True)
            self.log.drain()

    def values(self, names: Sequence[str]) -> dict[str, str]:
        """The values the shell holds now for those of ``names`` that are set."""
        if not names:
            return {}
        read = subprocess.run(
            [*self.command, self.reader, "buildspec", str(self.state), *names],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env={},
            timeout=60,
            check=False,
        )
        fields = read.stdout.decode("utf-8", errors="replace").split("\0")[:-1]
        return dict(zip(fields[::2], fields[1::2], strict=True))


@dataclass(frozen=True)
class _Folders:
    """The build's folders: its primary source (``CODEBUILD_SRC_DIR``) and each other input's
    (``CODEBUILD_SRC_DIR_<name>``), resolved."""

    primary: Path
    secondary: Mapping[str, Path]

    def all(self) -> tuple[Path, ...]:
        return (self.primary, *self.secondary.values())

    def hold(self, path: Path) -> bool:
        """Whether ``path``, links resolved, is in one of the build's folders."""
        real = path.resolve()
        return any(real.is_relative_to(folder) for folder in self.all())

    def shown(self, path: Path) -> str:
        """``path`` as the build knows it: relative to its source, or from $CODEBUILD_SRC_DIR_<name>."""
        if path.is_relative_to(self.primary):
            return path.relative_to(self.primary).as_posix()
        for name, folder in self.secondary.items():
            if path.is_relative_to(folder):
                return f"$CODEBUILD_SRC_DIR_{name}/{path.relative_to(folder).as_posix()}".rstrip("/.")
        return str(path)

    def roots(self, base: Any, where: str, refused: list[str]) -> list[Path]:
        """The directories a ``base-directory`` names ([spec]: "one or more top-level
        directories"; 'my-directory*' matches several), or the primary source without one.
        ``$CODEBUILD_SRC_DIR`` or ``$CODEBUILD_SRC_DIR_<name>`` at its start stands for that
        folder ([multi])."""
        if base is None or str(base) == "":
            return [self.primary]
        text = str(base)
        variable = _SOURCE_VARIABLE.fullmatch(text)
        if variable is None:
            return sorted(path for path in self.primary.glob(text) if path.is_dir())
        name, rest = variable[1] or variable[2], variable[3]
        folder = self.primary if name == "CODEBUILD_SRC_DIR" else self.secondary.get(name.removeprefix("CODEBUILD_SRC_DIR_"))
        if folder is None or (rest and not rest.startswith("/")):
            refused.append(
                f"{where}.base-directory: {text!r} names no directory of this build's inputs "
                "($CODEBUILD_SRC_DIR or $CODEBUILD_SRC_DIR_<input artifact>, then /...): refused"
            )
            return []
        pattern = rest.strip("/")
        return [folder] if not pattern else sorted(path for path in folder.glob(pattern) if path.is_dir())


def _run_phases(phases: Mapping[str, Any], shell: _Shell) -> str:
    """Runs the phases in their order; the first failure's reason, or "" if none failed.

    After a failed phase, ``on-failure`` decides ([spec], phases/*/on-failure): ABORT ends
    the build, CONTINUE goes on to the next phase. Without it, the build follows
    [transitions]: a failed install or pre_build ends the build ([spec]: "if a command fails
    during the install phase, none of the commands in the pre_build, build, and post_build
    phases are run"); a failed build goes on to post_build (the transitions diagram, and
    CODEBUILD_BUILD_SUCCEEDING exists for post_build to tell, [env-vars]). RETRY is not
    honoured here (``not_honoured`` says so): such a phase fails as without on-failure.
    A build whose phase failed fails, whatever on-failure says: a guess, as [spec] says only
    that CONTINUE goes on to the next phase.
    """
    first_failure = ""
    for name in PHASES:
        if name not in phases:
            continue
        phase = phases[name] or {}
        failure = _run_phase(name, phase, shell)
        if not failure:
            continue
        first_failure = first_failure or failure
        on_failure = str(phase.get("on-failure", "")).upper()
        if on_failure == "CONTINUE":
            continue
        if on_failure == "ABORT" or name != "build":
            break
    return first_failure


def _run_phase(name: str, phase: Mapping[str, Any], shell: _Shell) -> str:
    """[spec], phases/*/finally: a failed command skips the rest of ``commands``; ``finally``
    runs anyway, and the phase fails if any command of either failed. A failed ``finally``
    command skips the ones after it, as in ``commands``: a guess, [spec] does not say."""
    shell.note(f"entering phase {name}")
    failure = _run_block(name, phase, "commands", shell)
    if failure:
        shell.set("CODEBUILD_BUILD_SUCCEEDING", "0")  # [env-vars]: 0 once the build is failing
    late = _run_block(name, phase, "finally", shell)
    if late and not failure:
        shell.set("CODEBUILD_BUILD_SUCCEEDING", "0")
    failure = failure or late
    shell.note(f"phase {name} {'failed: ' + failure if failure else 'succeeded'}")
    return failure


def _run_block(name: str, phase: Mapping[str, Any], block: str, shell: _Shell) -> str:
    where = f"phase {name}" if block == "commands" else f"phase {name} ({block})"
    for command in _commands(phase.get(block), f"phases.{name}.{block}"):
        status = shell.run(command)
        if status is None:
            # What CodeBuild runs after a timeout is not said: a guess, nothing (not even `finally`).
            raise _Stopped(f"timed out after {shell.timeout_seconds:g} s: {where}: command `{_one_line(command)}` was stopped")
        if status != 0:
            ended = f"was killed by signal {-status}" if status < 0 else f"exited {status}"
            return f"{where}: command `{_one_line(command)}` {ended}"
    return ""


def _exportable(env: Mapping[str, Any]) -> list[str]:
    """[spec], env/exported-variables: the names to read when post_build has ended; those
    that start with ``AWS_`` cannot be exported. A name the shell holds without exporting it
    is read too, and a name that is not set is left out: both guesses, [spec] says only that
    the variable "must be available in your container during the build"."""
    return [name for name in _strings(env.get("exported-variables", []), "env.exported-variables") if not name.startswith("AWS_")]


def _select(folders: _Folders, section: Mapping[str, Any], where: str, refused: list[str], *, links: bool) -> Collected:
    """The files a ``reports`` group or an ``artifacts`` section names ([spec], artifacts/files,
    base-directory, discard-paths, exclude-paths); with ``links`` (enable-symlinks), those of
    them to copy as links.

    ``base-directory`` may itself be a pattern ('my-build*'); the matching directories are not
    part of the output, only what is under them. Only regular files are matched: a pattern that
    names a directory takes nothing from it (a guess, [spec] lists only file locations), and
    a FIFO or a link to nothing is left out. What would leave the build's folders (a base
    directory or a file that is a symbolic link resolving outside them) is left out, one line
    in ``refused`` each: nothing is ever read through such a link (see the module's docstring)."""
    include = [_glob(pattern) for pattern in _strings(section["files"], "files")]
    exclude = [_glob(pattern) for pattern in _strings(section.get("exclude-paths", []), "exclude-paths")]
    selected: dict[Path, str] = {}
    kept_as_links: dict[Path, str] = {}
    for root in folders.roots(section.get("base-directory"), where, refused):
        if not folders.hold(root):
            refused.append(
                f"{where}.base-directory: {folders.shown(root)} resolves to {root.resolve()}, outside the build's folder: refused"
            )
            continue
        for directory, _, files in os.walk(root):  # links to directories are not walked into
            for file in files:
                path = Path(directory, file)
                relative = path.relative_to(root).as_posix()
                if not any(p.fullmatch(relative) for p in include) or any(p.fullmatch(relative) for p in exclude):
                    continue
                inside = path.name if _yes(section.get("discard-paths")) else relative
                if path.is_symlink():
                    if not folders.hold(path):
                        refused.append(
                            f"{where}: {folders.shown(path)} is a symbolic link to {path.resolve()}, outside the build's folder: refused"
                        )
                        continue
                    text = os.readlink(path)
                    if links and _stays_in_artifact(text, inside):
                        selected[path], kept_as_links[path] = inside, text
                        continue
                if path.is_file():
                    selected[path] = inside
    return Collected(dict(sorted(selected.items())), kept_as_links)


def _stays_in_artifact(text: str, inside: str) -> bool:
    """Whether a link whose text is ``text``, put at ``inside`` in the artifact, points inside
    the artifact: a relative text that does not climb out of it."""
    where = os.path.normpath(os.path.join(os.path.dirname(inside), text))
    return not text.startswith("/") and where != ".." and not where.startswith("../")


def _glob(pattern: str) -> re.Pattern[str]:
    """A location pattern of [spec] over a relative path: ``*`` within one directory, ``**``
    across directories ('**/*' is every file, 'dir/**/*' every file under dir)."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.removeprefix("./"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def _not_honoured(spec: Mapping[str, Any]) -> list[str]:
    """What the buildspec asks that this machine cannot give, one line each."""
    lines = [f"{key}: not honoured locally" for key in ("proxy", "batch") if key in spec]
    if "run-as" in spec:
        lines.append(f"run-as: {spec['run-as']} (commands run as this machine's user)")
    if _yes((spec.get("env") or {}).get("git-credential-helper")):
        lines.append("env.git-credential-helper: not honoured locally (git uses this machine's credentials)")
    phases = spec.get("phases") or {}
    for name in PHASES:
        phase = phases.get(name) or {}
        for runtime, version in (phase.get("runtime-versions") or {}).items():
            lines.append(f"phases.{name}.runtime-versions.{runtime}: {version} (the build uses this machine's {runtime})")
        if "run-as" in phase:
            lines.append(f"phases.{name}.run-as: {phase['run-as']} (commands run as this machine's user)")
        if _RETRY.fullmatch(str(phase.get("on-failure", ""))):
            lines.append(f"phases.{name}.on-failure: {phase['on-failure']} (no retry here: the phase fails as without on-failure)")
    return lines


def _load(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise BuildspecError(f"the buildspec is neither JSON nor YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(loaded, Mapping):
        raise BuildspecError("the buildspec is not a mapping of keys (version, phases, ...)")
    return dict(loaded)


def _check(spec: Mapping[str, Any]) -> None:
    _known(spec, _TOP_KEYS, "")
    if "version" not in spec:
        raise BuildspecError("version: missing (this runner runs version 0.2)")
    if str(spec["version"]) != "0.2":
        raise BuildspecError(f"version: {spec['version']} is not run here, only 0.2 is (0.1 runs each command in a shell of its own)")
    _check_env(_mapping(spec.get("env"), "env"))
    if "phases" not in spec:
        raise BuildspecError("phases: missing ([spec]: a required sequence)")
    for name, phase in _mapping(spec["phases"], "phases").items():
        _check_phase(name, _mapping(phase, f"phases.{name}"))
    for name, group in _mapping(spec.get("reports"), "reports").items():
        where = f"reports.{name}"
        # Its reports are kept in a folder of that name ("a name or an ARN": an ARN's '/' and ':' stay inside).
        if leaves_folder(str(name)) or not str(name).strip():
            raise BuildspecError(f"{where}: the report group name leaves the build's folder")
        _check_files(_mapping(group, where), _REPORT_KEYS, where)
        report_format = str(group.get("file-format", "JUNITXML"))
        if report_format.upper() not in _REPORT_FORMATS:
            raise BuildspecError(f"{where}.file-format: {report_format!r} is not one of {', '.join(sorted(_REPORT_FORMATS))}")
    if "artifacts" in spec:
        artifacts = _mapping(spec["artifacts"], "artifacts")
        _check_files(artifacts, _ARTIFACT_KEYS, "artifacts")
        for identifier, secondary in _mapping(artifacts.get("secondary-artifacts"), "artifacts.secondary-artifacts").items():
            _check_files(
                _mapping(secondary, f"artifacts.secondary-artifacts.{identifier}"),
                _ARTIFACT_KEYS,
                f"artifacts.secondary-artifacts.{identifier}",
            )
    _known(_mapping(spec.get("cache"), "cache"), _CACHE_KEYS, "cache")  # accepted, not acted on: caching is the caller's


def _check_env(env: Mapping[str, Any]) -> None:
    _known(env, _ENV_KEYS, "env")
    shell = env.get("shell", DEFAULT_SHELL)
    if shell in _WINDOWS_SHELLS:
        raise BuildspecError(f"env.shell: {shell!r} is a Windows shell ([spec]); builds run on Linux here: {', '.join(LINUX_SHELLS)}")
    if shell not in LINUX_SHELLS:
        raise BuildspecError(f"env.shell: {shell!r} is not a supported shell tag for Linux ([spec]: {', '.join(LINUX_SHELLS)})")
    _plain_variables(env.get("variables"))
    for key in ("parameter-store", "secrets-manager"):
        for name, value in _mapping(env.get(key), f"env.{key}").items():
            if not _NAME.fullmatch(str(name)) or not isinstance(value, str) or not value:
                what = "parameter name" if key == "parameter-store" else "secret reference"
                raise BuildspecError(f"env.{key}.{name}: must be a variable name with a {what}")
            if key == "secrets-manager":
                try:
                    parse_secret_reference(value)
                except ValueError as error:
                    raise BuildspecError(f"env.{key}.{name}: {error}") from None
    for name in _strings(env.get("exported-variables", []), "env.exported-variables"):
        if not _NAME.fullmatch(name):
            raise BuildspecError(f"env.exported-variables: {name!r} is not a variable name")


def _check_phase(name: str, phase: Mapping[str, Any]) -> None:
    where = f"phases.{name}"
    if name not in PHASES:
        raise BuildspecError(f"{where}: not a phase ({', '.join(PHASES)})")
    _known(phase, _PHASE_KEYS | ({"runtime-versions"} if name == "install" else set()), where)
    _commands(phase.get("commands"), f"{where}.commands")
    _commands(phase.get("finally"), f"{where}.finally")
    _mapping(phase.get("runtime-versions"), f"{where}.runtime-versions")
    on_failure = str(phase.get("on-failure", "ABORT"))
    if on_failure.upper() not in ("ABORT", "CONTINUE") and not _RETRY.fullmatch(on_failure):
        raise BuildspecError(f"{where}.on-failure: {on_failure!r} is not ABORT, CONTINUE or RETRY[-count][-regex]")


def _check_files(section: Mapping[str, Any], keys: frozenset[str], where: str) -> None:
    _known(section, keys, where)
    if "files" not in section:
        raise BuildspecError(f"{where}.files: missing ([spec]: a required sequence)")
    _strings(section.get("exclude-paths", []), f"{where}.exclude-paths")
    # Lexically, here; a link among them is found when the files are collected (``_select``).
    # The artifact's name is not used locally, but is checked alike: [spec] lets it hold
    # directories ("builds/$CODEBUILD_BUILD_NUMBER/my-artifacts"), not climb out.
    for key in ("base-directory", "name"):
        if key in section and leaves_folder(str(section[key])):
            raise BuildspecError(f"{where}.{key}: {str(section[key])!r} leaves the build's folder")
    for pattern in _strings(section["files"], f"{where}.files"):
        if leaves_folder(pattern):
            raise BuildspecError(f"{where}.files: {pattern!r} leaves the build's folder")


def _known(section: Mapping[str, Any], keys: Set[str], where: str) -> None:
    for key in section:
        if key not in keys:
            raise BuildspecError(f"{where + '.' if where else ''}{key}: not a key of a version 0.2 buildspec")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:  # `install:` with nothing under it, in YAML
        return {}
    if not isinstance(value, Mapping):
        raise BuildspecError(f"{where}: must be a mapping, not {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    """A sequence of strings; a single string is a sequence of one (the CDK writes
    ``commands: 'export MY_VAR=...'`` so)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise BuildspecError(f"{where}: must be a sequence of strings")
    return items


def _commands(value: Any, where: str) -> list[str]:
    return [] if value is None else _strings(value, where)


def _plain_variables(value: Any) -> dict[str, str]:
    """[spec], env/variables, taken literally: "$PATH:/usr/share/ant/bin" is that string, not
    PATH extended. YAML's true and false read as "true" and "false": a guess."""
    variables = _mapping(value, "env.variables")
    for name, item in variables.items():
        if not _NAME.fullmatch(str(name)) or isinstance(item, Mapping | list) or item is None:
            raise BuildspecError(f"env.variables.{name}: must be a variable name with a scalar value")
    return {str(name): str(item).lower() if isinstance(item, bool) else str(item) for name, item in variables.items()}


def _yes(value: Any) -> bool:
    """``yes``/``no`` ([spec]), read by YAML as booleans, or as strings when quoted."""
    return value is True or str(value).lower() in ("yes", "true")


def _one_line(command: str) -> str:
    lines = command.strip().splitlines() or [""]
    return lines[0] + (" …" if len(lines) > 1 else "")
