"""Runs an AWS CodeBuild buildspec (version 0.2) on this machine, as CodeBuild documents it.

The local executor calls it for each CodeBuild action, in the directory of the action's
primary input. What it follows, cited below by the short name in brackets:

- [spec] "Build specification reference for CodeBuild",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
- [transitions] "Build phase transitions",
  https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
- [env-vars] "Environment variables in build environments",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
- [action] CodePipeline, "AWS CodeBuild build and test action reference",
  https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html

Where those pages are silent, the comment beside the code says that the behaviour is a guess.

A build stays in its folder. On CodeBuild the build's container is the boundary; here it is
the build's working directory, so what the buildspec names is held to it:

- a report group name, a ``base-directory``, a ``files`` pattern or an artifact ``name``
  that is absolute or has a ``..`` part is refused when the buildspec is read
  (BuildspecError, naming the key and the path);
- when the files are collected, a ``base-directory`` that resolves outside the working
  directory (a symbolic link to /etc) is refused, and so is a file that is a symbolic link
  resolving outside it (``ln -s /etc/passwd out/report.xml``): the build fails naming it,
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
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup
from local_pipeline.executor.process_groups import record as record_group

PHASES = ("install", "pre_build", "build", "post_build")

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

# One command in a bash process of its own, which first restores the state the command
# before it left (every shell variable, exported or not, and the working directory) and,
# on its way out (also through `exit`), saves its own: so `cd`, `X=1` and `export X=1`
# carry over from command to command and phase to phase, as version 0.2 promises ([spec],
# "phases": version 0.1 ran each command in a separate shell instance, 0.2 "solves this
# issue"), and a command that calls `exit` fails only itself. Bash's own read-only and
# dynamic variables are not saved. Shell functions, options (`set -e`) and traps are not
# carried over: a guess, [spec] speaks only of directories and environment variables.
_RUNNER = r"""
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

# Prints name NUL value NUL for each of the names set in the saved state.
_READER = r"""
__buildspec_state=$1
shift
. "$__buildspec_state" 2>/dev/null
for __buildspec_name; do
    if [[ -v $__buildspec_name ]]; then printf '%s\0%s\0' "$__buildspec_name" "${!__buildspec_name}"; fi
done
exit 0
"""


@dataclass(frozen=True)
class BuildResult:
    succeeded: bool
    reason: str  # "" when it succeeded; else one line: phase, command, exit code
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


def run_buildspec(
    buildspec: str | Mapping[str, Any],
    *,
    workdir: Path,
    environment: Mapping[str, str],
    log: Path,
    timeout_seconds: float = 3600,
    overrides: Mapping[str, str] | None = None,
) -> BuildResult:
    """Runs the buildspec's phases in ``workdir``; every command's output is appended to ``log``.

    ``environment`` is the build's starting environment (PATH and the like: what the build
    image holds), which ``env.variables`` replace name by name ([spec], env/variables: "Any
    environment variables you set replace existing environment variables"). ``overrides``
    are the build project's and the CodePipeline action's environment variables, which beat
    ``env.variables``: [spec] ranks the start-build call first, then the project, and the
    buildspec last. That the action's ``EnvironmentVariables`` count as the start-build
    call's is our reading of [action], which describes them with CodeBuild's
    ``EnvironmentVariable`` API type but does not name the call.
    """
    spec = parse_buildspec(buildspec)
    workdir = workdir.resolve()
    env = spec.get("env") or {}
    variables = {
        **{name: str(value) for name, value in environment.items()},
        **_plain_variables(env.get("variables")),
        **(overrides or {}),
        # [env-vars]: the build's directory, and 1 until the build is failing.
        "CODEBUILD_SRC_DIR": str(workdir),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as log_file, tempfile.TemporaryDirectory(prefix="buildspec-") as scratch:
        shell = _Shell(Path(scratch) / "state", log_file, variables, workdir, timeout_seconds, log.with_name(PROCESS_GROUP_FILE))
        try:
            reason = _run_phases(spec.get("phases") or {}, shell)
        except _Stopped as stopped:
            reason = str(stopped)
        exported = shell.values(_exportable(env))
        # [transitions]: uploading the artifacts is attempted even when the build phase
        # failed, and test reports matter most then: both are collected whatever happened.
        refused: list[str] = []
        reports: dict[str, list[Path]] = {}
        for name, group in (spec.get("reports") or {}).items():
            files, _ = _select(workdir, group, f"reports.{name}", refused, links=False)
            reports[name] = sorted(files)
        layout: dict[Path, str] = {}
        links: dict[Path, str] = {}
        if "artifacts" in spec:
            artifacts = spec["artifacts"]
            layout, links = _select(workdir, artifacts, "artifacts", refused, links=_yes(artifacts.get("enable-symlinks")))
        for line in refused:
            shell.note(line)
        reason = reason or (refused[0] if refused else "")
        if "artifacts" in spec and not layout and not reason:
            # A guess: [spec] does not say; CodeBuild is known to fail the upload with
            # "no matching artifact paths found" when `artifacts.files` matches nothing.
            reason = "artifacts: no file matches artifacts.files"
        shell.note(f"build {'failed: ' + reason if reason else 'succeeded'}")
    return BuildResult(
        succeeded=not reason,
        reason=reason,
        exported_variables=exported,
        reports=reports,
        artifacts=list(layout),
        not_honoured=_not_honoured(spec),
        artifact_layout=layout,
        artifact_links=links,
    )


def copy_within(source: Path, target: Path, within: Path | None) -> None:
    """Copies the regular file ``source`` names to ``target`` (contents, mode, times), checked
    again now that the build has ended: with ``within``, a symbolic link is followed only when
    it resolves inside that folder; without it, a source that is a link is refused. The file
    opened is the resolved one, not itself followed (O_NOFOLLOW), and must be a regular file
    (a FIFO would block). BuildspecError, naming the source, when the copy is refused."""
    real = source
    if within is not None:
        real = source.resolve()
        if not real.is_relative_to(within.resolve()):
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


class _Shell:
    """The build's one shell, as version 0.2 has it: its state lives in a file that each
    command's bash process restores and saves (``_RUNNER``). Processes start with an empty
    environment: the state file alone holds it, so a variable a command unsets stays unset."""

    def __init__(
        self, state: Path, log: TextIO, variables: Mapping[str, str], workdir: Path, timeout_seconds: float, group_file: Path
    ) -> None:
        self.state = state
        self.log = log
        self.group_file = group_file  # the running command's process group, for whoever finds it after a crash
        self.timeout_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        self.bash = shutil.which("bash", path=variables.get("PATH")) or shutil.which("bash") or "/bin/bash"
        # A name that is no shell identifier cannot be a shell variable: it is left out.
        lines = [f"export {name}={shlex.quote(value)}" for name, value in variables.items() if _NAME.fullmatch(name)]
        state.write_text("\n".join([*lines, f"cd -- {shlex.quote(str(workdir))}", ""]))

    def note(self, line: str) -> None:
        self.log.write(f"[buildspec] {line}\n")
        self.log.flush()  # before the next command's process writes to the same file

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
            [self.bash, "--noprofile", "--norc", "-c", _RUNNER, "buildspec", str(self.state), command],
            stdin=subprocess.DEVNULL,  # a command that reads its input gets none, and does not wait for it
            stdout=self.log,
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

    def values(self, names: Sequence[str]) -> dict[str, str]:
        """The values the shell holds now for those of ``names`` that are set."""
        if not names:
            return {}
        read = subprocess.run(
            [self.bash, "--noprofile", "--norc", "-c", _READER, "buildspec", str(self.state), *names],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env={},
            timeout=60,
            check=False,
        )
        fields = read.stdout.decode("utf-8", errors="replace").split("\0")[:-1]
        return dict(zip(fields[::2], fields[1::2], strict=True))


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


def _select(
    workdir: Path, section: Mapping[str, Any], where: str, refused: list[str], *, links: bool
) -> tuple[dict[Path, str], dict[Path, str]]:
    """The files a ``reports`` group or ``artifacts`` names ([spec], artifacts/files,
    base-directory, discard-paths, exclude-paths): absolute path -> its path inside the output;
    and, when ``links`` (enable-symlinks), those of them to copy as links -> the link's text.

    ``base-directory`` may itself be a pattern ('my-build*'); the matching directories are not
    part of the output, only what is under them. Only regular files are matched: a pattern that
    names a directory takes nothing from it (a guess, [spec] lists only file locations), and
    a FIFO or a link to nothing is left out. What would leave ``workdir`` (a base directory or
    a file that is a symbolic link resolving outside it) is left out, one line in ``refused``
    each: nothing is ever read through such a link (see the module's docstring)."""
    include = [_glob(pattern) for pattern in _strings(section["files"], "files")]
    exclude = [_glob(pattern) for pattern in _strings(section.get("exclude-paths", []), "exclude-paths")]
    base = section.get("base-directory")
    roots = sorted(path for path in workdir.glob(str(base)) if path.is_dir()) if base else [workdir]
    selected: dict[Path, str] = {}
    kept_as_links: dict[Path, str] = {}
    for root in roots:
        if not root.resolve().is_relative_to(workdir):
            refused.append(
                f"{where}.base-directory: {_shown(root, workdir)} resolves to {root.resolve()}, outside the build's folder: refused"
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
                    if not path.resolve().is_relative_to(workdir):
                        refused.append(
                            f"{where}: {_shown(path, workdir)} is a symbolic link to {path.resolve()}, outside the build's folder: refused"
                        )
                        continue
                    text = os.readlink(path)
                    if links and _stays_in_artifact(text, inside):
                        selected[path], kept_as_links[path] = inside, text
                        continue
                if path.is_file():
                    selected[path] = inside
    return dict(sorted(selected.items())), kept_as_links


def _stays_in_artifact(text: str, inside: str) -> bool:
    """Whether a link whose text is ``text``, put at ``inside`` in the artifact, points inside
    the artifact: a relative text that does not climb out of it."""
    where = os.path.normpath(os.path.join(os.path.dirname(inside), text))
    return not text.startswith("/") and where != ".." and not where.startswith("../")


def _shown(path: Path, workdir: Path) -> str:
    return path.relative_to(workdir).as_posix() if path.is_relative_to(workdir) else str(path)


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
    for identifier in (spec.get("artifacts") or {}).get("secondary-artifacts") or {}:
        lines.append(f"artifacts.secondary-artifacts.{identifier}: not listed (only the primary artifact is)")
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
    for key, source in (("parameter-store", "SSM Parameter Store"), ("secrets-manager", "AWS Secrets Manager")):
        if key in env:
            raise BuildspecError(
                f"env.{key}: not supported locally (it reads {source} in an AWS account): give the value as a variable instead"
            )
    if env.get("shell", "bash") != "bash":
        raise BuildspecError(f"env.shell: {env['shell']!r} is not supported locally, only bash is")
    _plain_variables(env.get("variables"))
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
