"""The source action (``Source/AWS/CodeStarSourceConnection/1``), fed by a local git repository.

On AWS the connection reads the pushed commit from the repository host. Here the
pushed commit is read from a git repository on this machine. The output artifact holds
the commit's files (``OutputArtifactFormat`` ``CODE_ZIP``, the default: the tree without
``.git``). The action's variables are those the CodePipeline user guide documents for
this action ("Variables reference", CodeStarSourceConnection): ``AuthorDate``,
``BranchName``, ``CommitId``, ``CommitMessage``, ``ConnectionArn``, ``FullRepositoryName``.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
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
        author_date, message = _git(self.pushed.repository, "log", "-1", "--format=%aI%n%B", self.pushed.commit).split("\n", 1)
        variables = {
            "AuthorDate": author_date,
            "BranchName": self.pushed.branch,
            "CommitId": _git(self.pushed.repository, "rev-parse", self.pushed.commit).strip(),
            "CommitMessage": message.strip(),
            "ConnectionArn": str(configuration.get("ConnectionArn", "")),
            "FullRepositoryName": str(configuration.get("FullRepositoryId", "")),
        }
        files = sum(1 for path in Path(output).rglob("*") if path.is_file())
        return ActionOutcome("Succeeded", f"{variables['CommitId'][:12]} on {self.pushed.branch}: {files} files", variables)
