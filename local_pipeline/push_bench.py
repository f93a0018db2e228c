"""What a `git push local` run costs: from the push to ``Succeeded``, approvals granted as
soon as they are asked for, through a service of its own (fresh state, a free port); and
the fresh clones and the one stack-file change the whole bench measures with.

The first push fills the builds' caches (the virtual environments and node_modules that
the buildspecs' ``cache: paths`` keep): it is timed, but it is not what a developer waits
for day to day. Then, the caches warm, come ``repeat`` pushes of a commit that changes one
stack file (``STACK_FILE_CHANGE``, changed and changed back in turn: each push changes a
template that the previous one deployed) and ``repeat`` pushes of an empty commit (nothing
changed), one of each in turn, so that the machine's load at a given moment weighs on both
alike. The pushed commits are the commit this repository's HEAD named when the bench
started, cloned, and commits on top of it: uncommitted changes are not measured.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from project.paths import PROJECT_ROOT

# How a run ends; one cancelled by its own update is followed on into its restart, whose end counts.
_ENDED = re.compile(r"run (\d+) (Succeeded|Failed|Stopped|Superseded)\b")

# What a fresh clone links to, from this checkout, rather than installs: the bench measures
# the commands, not the installs. The Makefile's stamps are files inside them, so `make`
# finds them through the links and installs nothing.
LINKED_INSTALLS = (".venv", ".venv-audit", "node_modules")


class PushBenchError(Exception):
    """The push run did not succeed; says how it ended."""


class CloneError(Exception):
    """A fresh clone could not be made, or the stack file could not be changed in it."""


@dataclass(frozen=True)
class StackFileChange:
    """A change to one stack file that changes a synthesized template and no test's
    expectation: ``original`` (as committed) becomes ``changed``, and back."""

    path: str  # relative to the clone's root
    original: str
    changed: str

    def toggle(self, root: Path) -> bool:
        """Writes ``changed`` where ``original`` is in ``root``'s copy of the file, or the
        other way round; True when the file now holds ``changed``. CloneError, naming the
        file and the text, when the file holds neither exactly once (the stack was edited:
        this change must follow it)."""
        file = root / self.path
        try:
            text = file.read_text()
        except OSError as error:
            raise CloneError(f"make bench changes {self.path}, which cannot be read in {root}: {error}") from None
        # Quoted, as the file has them: the two texts may start alike.
        original, changed = _quoted(self.original), _quoted(self.changed)
        found = {original: text.count(original), changed: text.count(changed)}
        if sorted(found.values()) != [0, 1]:
            raise CloneError(
                f"make bench changes {self.path}: it expects exactly one of {original} and {changed} in it, "
                f"and found them {found[original]} and {found[changed]} times; update STACK_FILE_CHANGE "
                "in local_pipeline/push_bench.py to a text that file has"
            )
        now_changed = found[original] == 1
        file.write_text(text.replace(original, changed) if now_changed else text.replace(changed, original))
        return now_changed


def _quoted(text: str) -> str:
    return f'"{text}"'


# The description of the integration test's role in TrustedAccountConfiguration: one
# property of one resource in that stack's template (AWS::IAM::Role's Description, an
# update without interruption on AWS, UpdateRole in the emulator), which no test, policy
# check or audit pins: the whole suite passes with either text. A comment would change
# no template, and the bench would measure a change that deploys nothing.
STACK_FILE_CHANGE = StackFileChange(
    path="stacks/trusted_account_configuration.py",
    original="Lets the pipeline's IntegrationTest step run the consumer and read how it ended.",
    changed="Lets the pipeline's IntegrationTest step run the consumer and read how it ended (changed by make bench).",
)


@dataclass(frozen=True)
class Commit:
    """The commit every clone of one bench is made at: HEAD when the bench started, even if
    HEAD moves on meanwhile (others commit while the bench runs for half an hour)."""

    sha: str
    summary: str  # its short hash and subject, for the report


def head_commit() -> Commit:
    """The commit this checkout's HEAD names now."""
    shown = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "log", "-1", "--format=%H%n%h %s"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise CloneError(f"git cannot name the HEAD of {PROJECT_ROOT}: {shown.stderr.strip()[-1500:]}")
    sha, summary = shown.stdout.strip().split("\n", 1)
    return Commit(sha, summary)


def fresh_clone(destination: Path, commit: Commit) -> Path:
    """A clone of this repository at ``commit`` (on the branch checked out here), at
    ``destination``, its installs linked from this checkout: no cdk.out, no audit cache,
    no pytest cache, no bytecode of its own."""
    for name, command in (
        ("git clone", ["git", "clone", "--quiet", str(PROJECT_ROOT), str(destination)]),
        ("git reset --hard", ["git", "-C", str(destination), "reset", "--quiet", "--hard", commit.sha]),
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CloneError(
                f"{name} failed, making a clone of {PROJECT_ROOT} at {commit.sha} in {destination}: {done.stderr.strip()[-1500:]}"
            )
    for name in LINKED_INSTALLS:
        if not (PROJECT_ROOT / name).is_dir():
            raise CloneError(f"{PROJECT_ROOT / name} is missing: run `make install` first (the bench measures no install)")
        (destination / name).symlink_to(PROJECT_ROOT / name)
    # .gitignore's "node_modules/" matches a folder, not a link to one: unlisted, the links
    # would count as uncommitted changes (the local run's source says so).
    with (destination / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.writelines(f"/{name}\n" for name in LINKED_INSTALLS)
    return destination


def commit_all(clone: Path, message: str, *, allow_empty: bool = False) -> None:
    """Commits the changes to ``clone``'s tracked files (none, with ``allow_empty``)."""
    committed = subprocess.run(
        ["git", "-C", str(clone), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]  # noqa: S607
        + ["commit", "--quiet", "--all", "-m", message]
        + (["--allow-empty"] if allow_empty else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if committed.returncode != 0:
        raise CloneError(f"git commit in {clone} failed: {(committed.stderr or committed.stdout).strip()[-1500:]}")


def _free_port_pair() -> int:
    """A port whose next one is free too (the service's control API listens there)."""
    for _ in range(20):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise PushBenchError("no two free neighbouring ports on 127.0.0.1")


class _Service:
    def __init__(self, state: Path, port: int) -> None:
        self.environment = {**os.environ, "LOCAL_AWS_STATE": str(state)}
        self.port = port
        self.repository = state / "repo.git"

    def gitops(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "local_pipeline.gitops", *command, "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )

    def timed_push(self, clone: Path, what: str) -> float:
        """Seconds from `git push` to the run's end, approving each approval at once;
        PushBenchError, saying ``what`` was pushed, if the run does not succeed."""
        started = time.perf_counter()
        pushed = subprocess.run(
            ["git", "-C", str(clone), "push", "--quiet", "--force", str(self.repository), "HEAD:main"],  # noqa: S607
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        said = pushed.stdout + pushed.stderr
        while not _ENDED.search(said):
            approved = self.gitops("approve")
            said += approved.stdout + approved.stderr
            if approved.returncode == 2:  # nothing waits, and no end was seen: say what was
                raise PushBenchError(f"{what}: the run neither ended nor waited: {said.strip()[-1500:]}")
        seconds = time.perf_counter() - started
        *_, ended = _ENDED.finditer(said)
        if ended.group(2) != "Succeeded":
            raise PushBenchError(f"{what}: run {ended.group(1)} ended {ended.group(2)}: {said.strip()[-1500:]}")
        return seconds


@dataclass(frozen=True)
class PushFigures:
    """Seconds from push to Succeeded: the first push (cold build caches), then, warm, each
    push of a one-stack-file change and each push of an empty commit."""

    first: float
    stack_file_changed: list[float] = field(default_factory=list)
    nothing_changed: list[float] = field(default_factory=list)


def push_seconds(repeat: int, commit: Commit) -> PushFigures:
    """One cold push of ``commit``, then ``repeat`` pushes of a one-stack-file change and
    ``repeat`` of an empty commit, in turn."""
    with tempfile.TemporaryDirectory(prefix="push-bench-") as scratch:
        service = _Service(Path(scratch) / "state", _free_port_pair())
        clone = fresh_clone(Path(scratch) / "clone", commit)
        remote = service.gitops("remote", "--no-git-remote")
        try:
            if remote.returncode != 0:
                raise PushBenchError(f"make remote failed: {(remote.stderr or remote.stdout).strip()[-1500:]}")
            figures = PushFigures(service.timed_push(clone, f"the first push ({commit.summary})"))
            for turn in range(1, repeat + 1):
                changed = STACK_FILE_CHANGE.toggle(clone)
                what = f"{STACK_FILE_CHANGE.path} {'changed' if changed else 'changed back'} ({turn} of {repeat})"
                commit_all(clone, f"bench: {what}")
                figures.stack_file_changed.append(service.timed_push(clone, f"the push of {what}"))
                what = f"an empty commit ({turn} of {repeat})"
                commit_all(clone, f"bench: {what}", allow_empty=True)
                figures.nothing_changed.append(service.timed_push(clone, f"the push of {what}"))
        finally:
            service.gitops("down")
    return figures
