"""The source action from a local git repository, and the manual approval action."""

from __future__ import annotations

import subprocess
from pathlib import Path

from local_pipeline.executor.approval_action import ApprovalAction, Decision
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from local_pipeline.executor.source_action import PushedCommit, SourceAction, WorkingTreeSource, head_of
from tests.unit.local_pipeline.executor.helpers import action


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout  # noqa: S607


def _repository(tmp_path: Path) -> tuple[Path, str]:
    repository = tmp_path / "repo"
    repository.mkdir()
    _git(repository, "init", "-q", "-b", "main")
    _git(repository, "config", "user.email", "dev@example.com")
    _git(repository, "config", "user.name", "Dev")
    (repository / "app.txt").write_text("v1")
    (repository / "sub").mkdir()
    (repository / "sub" / "more.txt").write_text("more")
    _git(repository, "add", ".")
    _git(repository, "commit", "-q", "-m", "the first commit")
    return repository, _git(repository, "rev-parse", "HEAD").strip()


def test_the_pushed_commit_becomes_the_artifact_with_the_documented_variables(tmp_path):
    repository, commit = _repository(tmp_path)
    (repository / "app.txt").write_text("uncommitted change")  # not part of the commit
    seen = {}

    def build(context: ActionContext) -> ActionOutcome:
        seen["files"] = sorted(str(p.relative_to(context.inputs["Src"])) for p in context.inputs["Src"].rglob("*") if p.is_file())
        seen["app"] = (context.inputs["Src"] / "app.txt").read_text()
        seen["commit"] = context.configuration["Commit"]
        return ActionOutcome("Succeeded")

    source = action("Fetch", "CodeStarSourceConnection", outputs=["Src"], namespace="SourceVariables", category="Source") | {
        "Configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:222222222222:connection/x", "FullRepositoryId": "acme/app"}
    }
    use = action("Use", "Build", inputs=["Src"]) | {
        "Configuration": {"Commit": "#{SourceVariables.CommitId} #{SourceVariables.BranchName}"}
    }
    pipeline = read_pipeline({"Stages": [{"Name": "Source", "Actions": [source]}, {"Name": "Build", "Actions": [use]}]})
    handlers = {"CodeStarSourceConnection": SourceAction(PushedCommit(repository, commit, "main")), "Build": build}
    record = PipelineRun(pipeline, handlers, directory=tmp_path / "run", record=RunRecord("1", commit, "main")).execute()
    assert record.status == "Succeeded", record.reason
    assert seen == {"files": ["app.txt", "sub/more.txt"], "app": "v1", "commit": f"{commit} main"}
    assert record.actions[0].summary == f"{commit[:12]} on main: 2 files"


def test_a_commit_that_is_not_there_fails_the_source_naming_it(tmp_path):
    repository, _ = _repository(tmp_path)
    source = action("Fetch", "CodeStarSourceConnection", outputs=["Src"], category="Source")
    pipeline = read_pipeline({"Stages": [{"Name": "Source", "Actions": [source]}]})
    handlers = {"CodeStarSourceConnection": SourceAction(PushedCommit(repository, "0" * 40, "main"))}
    record = PipelineRun(pipeline, handlers, directory=tmp_path / "run", record=RunRecord("1", "0", "main")).execute()
    assert record.status == "Failed" and f"commit {'0' * 40} is not in {repository}" in record.reason


def test_approval_lets_the_run_go_on_and_rejection_fails_it(tmp_path):
    asked = []

    def decide(approve: bool):
        def decision(where: str, custom_data: str) -> Decision:
            asked.append((where, custom_data))
            return Decision(approve, "alice", "looks fine" if approve else "not today")

        return decision

    approve = action("Approve", "Manual", category="Approval") | {"Configuration": {"CustomData": "Deploy X into 111111111111?"}}
    after = action("After", "Echo", run_order=2)
    pipeline = read_pipeline({"Stages": [{"Name": "Gate", "Actions": [approve, after]}]})
    ran = []
    echo = {"Echo": lambda context: ran.append(1) or ActionOutcome("Succeeded")}

    approved = PipelineRun(
        pipeline, {"Manual": ApprovalAction(decide(True)), **echo}, directory=tmp_path / "a", record=RunRecord("1", "c", "main")
    ).execute()
    assert (approved.status, approved.actions[0].summary, ran) == ("Succeeded", "approved by alice: looks fine", [1])
    rejected = PipelineRun(
        pipeline, {"Manual": ApprovalAction(decide(False)), **echo}, directory=tmp_path / "r", record=RunRecord("2", "c", "main")
    ).execute()
    assert (rejected.status, rejected.reason, ran) == ("Failed", "Gate/Approve: rejected by alice: not today", [1])
    assert asked == [("Gate/Approve", "Deploy X into 111111111111?")] * 2


def test_the_working_tree_is_the_artifact_uncommitted_changes_included_and_ignored_files_left_out(tmp_path):
    repository, commit = _repository(tmp_path)
    (repository / ".gitignore").write_text(".venv/\n")
    (repository / ".venv").mkdir()
    (repository / ".venv" / "big.bin").write_text("an installed package")
    (repository / "app.txt").write_text("uncommitted change")
    (repository / "new.txt").write_text("untracked, not ignored")
    (repository / "sub" / "more.txt").unlink()  # deleted, not committed
    seen = {}

    def build(context: ActionContext) -> ActionOutcome:
        seen["files"] = sorted(str(p.relative_to(context.inputs["Src"])) for p in context.inputs["Src"].rglob("*") if p.is_file())
        seen["app"] = (context.inputs["Src"] / "app.txt").read_text()
        return ActionOutcome("Succeeded")

    pipeline = read_pipeline(
        {
            "Stages": [
                {"Name": "Source", "Actions": [action("Tree", "Tree", outputs=["Src"], namespace="SourceVariables", category="Source")]},
                {"Name": "Build", "Actions": [action("Build", "Build", inputs=["Src"])]},
            ]
        }
    )
    record = PipelineRun(
        pipeline, {"Tree": WorkingTreeSource(repository), "Build": build}, directory=tmp_path / "run", record=RunRecord("1", commit, "main")
    ).execute()
    assert record.status == "Succeeded", record.reason
    assert seen == {"files": [".gitignore", "app.txt", "new.txt"], "app": "uncommitted change"}
    assert record.actions[0].summary == f"the working tree at {commit[:12]} with uncommitted changes on main: 3 files"
    assert head_of(repository) == (commit, "main")


def test_a_tree_without_git_gives_its_files_but_the_ignored_ones(tmp_path):
    """As in a CodeBuild build, whose source is unpacked without .git: `make test` runs
    `make local`'s tests there."""
    tree = tmp_path / "tree"
    (tree / ".venv" / "lib").mkdir(parents=True)
    (tree / ".venv" / "lib" / "x.py").write_text("installed")
    (tree / "pkg" / "__pycache__").mkdir(parents=True)
    (tree / "pkg" / "__pycache__" / "m.pyc").write_text("cache")
    (tree / "pkg" / "m.py").write_text("code")
    (tree / ".gitignore").write_text("# build output\n.venv/\n__pycache__/\n*.log\n")
    (tree / "run.log").write_text("log")
    seen = {}

    def build(context: ActionContext) -> ActionOutcome:
        seen["files"] = sorted(str(p.relative_to(context.inputs["Src"])) for p in context.inputs["Src"].rglob("*") if p.is_file())
        return ActionOutcome("Succeeded")

    pipeline = read_pipeline(
        {
            "Stages": [
                {"Name": "Source", "Actions": [action("Tree", "Tree", outputs=["Src"], category="Source")]},
                {"Name": "Build", "Actions": [action("Build", "Build", inputs=["Src"])]},
            ]
        }
    )
    handlers = {"Tree": WorkingTreeSource(tree), "Build": build}
    record = PipelineRun(pipeline, handlers, directory=tmp_path / "run", record=RunRecord("1", "", "")).execute()
    assert record.status == "Succeeded", record.reason
    assert seen["files"] == [".gitignore", "pkg/m.py"]
    assert record.actions[0].summary == "the working tree, not a git repository: 2 files"
    assert head_of(tree) == ("", "")


def test_a_folder_inside_another_repository_is_not_that_repository(tmp_path):
    repository, _ = _repository(tmp_path)
    inside = repository / "sub"
    assert head_of(inside) == ("", "")
