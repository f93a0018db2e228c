"""The source action (``Source/AWS/CodeStarSourceConnection/1``), fed by a local git repository.

On AWS the connection reads the pushed commit from the repository host. Here the
pushed commit is read from a git repository on this machine (``SourceAction``), or,
for `make local`, the working tree stands in for it (``WorkingTreeSource``). The output
artifact holds the commit's files (``OutputArtifactFormat`` ``CODE_ZIP``, the default:
the tree without ``.git``). The action's variables are those the CodePipeline user guide
documents for this action ("Variables reference", CodeStarSourceConnection):
``AuthorDate``, ``BranchName``, ``CommitId``, ``CommitMessage``, ``ConnectionArn``,
``FullRepositoryName``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from local_pipeline.executor.engine import ActionContext, ActionOutcome


@dataclass(frozen=True)
class PushedCommit:
    repository: Path  # a git repository (bare or not) holding the commit
    commit: str
    branch: str


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout  # noqa: S607


@dataclass(frozen=True)
class SourceAction:
    pushed: PushedCommit

    def __call__(self, context: ActionContext) -> ActionOutcome:
        configuration = context.configuration
        if configuration.get("OutputArtifactFormat", "CODE_ZIP") != "CODE_ZIP":
            return ActionOutcome("Failed", f"OutputArtifactFormat {configuration['OutputArtifactFormat']} is not run by the local executor")
        (output,) = context.outputs.values()
        archive = subprocess.run(
            ["git", "-C", str(self.pushed.repository), "archive", "--format=tar", self.pushed.commit],  # noqa: S607
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            return ActionOutcome(
                "Failed", f"commit {self.pushed.commit} is not in {self.pushed.repository}: {archive.stderr.decode().strip()}"
            )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(output, filter="data")
        variables = _commit_variables(self.pushed.repository, self.pushed.commit, self.pushed.branch, configuration)
        files = sum(1 for path in Path(output).rglob("*") if path.is_file())
        return ActionOutcome("Succeeded", f"{variables['CommitId'][:12]} on {self.pushed.branch}: {files} files", variables)


def _commit_variables(repository: Path, commit: str, branch: str, configuration: Mapping[str, object]) -> dict[str, str]:
    author_date, message = _git(repository, "log", "-1", "--format=%aI%n%B", commit).split("\n", 1)
    return {
        "AuthorDate": author_date,
        "BranchName": branch,
        "CommitId": _git(repository, "rev-parse", commit).strip(),
        "CommitMessage": message.strip(),
        "ConnectionArn": str(configuration.get("ConnectionArn", "")),
        "FullRepositoryName": str(configuration.get("FullRepositoryId", "")),
    }


def head_of(root: Path) -> tuple[str, str]:
    """(commit, branch) of a working tree's HEAD; empty strings where there is none, or where
    ``root`` is only a folder inside another repository (a build's working directory under
    the project's ignored .local-aws/)."""
    try:
        if Path(_git(root, "rev-parse", "--show-toplevel").strip()).resolve() != root.resolve():
            return "", ""
        commit = _git(root, "rev-parse", "HEAD").strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "", ""
    return commit, _git(root, "branch", "--show-current").strip()


@dataclass(frozen=True)
class WorkingTreeSource:
    """`make local`'s source: the working tree as it is, uncommitted changes included. The
    artifact holds the files git would take (tracked, and untracked ones not ignored), so
    no virtual environment or node_modules; the variables are those of HEAD, the branch
    the one checked out. A tree without git (a CodeBuild source, which is unpacked without
    ``.git``) gives its files but those matching a ``.gitignore`` line at its root, and no
    commit variables."""

    root: Path

    def __call__(self, context: ActionContext) -> ActionOutcome:
        (output,) = context.outputs.values()
        commit, branch = head_of(self.root)
        files = _git_files(self.root) if commit else _unignored_files(self.root)
        for name in files:
            (output / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.root / name, output / name, follow_symlinks=False)
        if not commit:
            return ActionOutcome("Succeeded", f"the working tree, not a git repository: {len(files)} files")
        variables = _commit_variables(self.root, "HEAD", branch or "(detached)", context.configuration)
        changed = _git(self.root, "status", "--porcelain").strip()
        said = " with uncommitted changes" if changed else ""
        summary = f"the working tree at {variables['CommitId'][:12]}{said} on {branch or '(detached)'}: {len(files)} files"
        return ActionOutcome("Succeeded", summary, variables)


def _git_files(root: Path) -> list[str]:
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return [name for name in listed if name and (root / name).is_file()]  # a deleted, uncommitted file is listed


def _unignored_files(root: Path) -> list[str]:
    """Every file under ``root`` but those a line of its .gitignore matches, by path or by
    one of its folders' names (the simple patterns this project's .gitignore uses)."""
    ignore = root / ".gitignore"
    patterns = [line.strip().rstrip("/") for line in (ignore.read_text().splitlines() if ignore.is_file() else [])]
    patterns = [pattern for pattern in patterns if pattern and not pattern.startswith(("#", "!"))] + [".git"]

    def ignored(relative: Path) -> bool:
        return any(fnmatchcase(part, pattern) for part in relative.parts for pattern in patterns) or any(
            fnmatchcase(relative.as_posix(), pattern) for pattern in patterns
        )

    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file() and not ignored(path.relative_to(root)))
