"""Running a pipeline definition: order, artifacts, namespaces, failures, restarts, the record."""

from __future__ import annotations

import json

import pytest

from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from tests.unit.local_pipeline.executor.helpers import action


def _run(tmp_path, stages, handlers, variables=None):
    run = PipelineRun(
        read_pipeline({"Stages": stages}),
        handlers,
        directory=tmp_path / "run",
        record=RunRecord(id="1", commit="c0ffee", branch="main"),
        variables=variables,
    )
    return run.execute(), run


def test_actions_run_in_order_and_hand_on_artifacts_and_variables(tmp_path):
    seen = []

    def source(context: ActionContext) -> ActionOutcome:
        (context.outputs["Src"] / "file.txt").write_text("from source")
        seen.append(context.action.name)
        return ActionOutcome("Succeeded", "fetched", {"CommitId": "abc"})

    def build(context: ActionContext) -> ActionOutcome:
        seen.append(context.action.name)
        assert (context.inputs["Src"] / "file.txt").read_text() == "from source"
        assert context.configuration["Commit"] == "abc"
        return ActionOutcome("Succeeded", "built")

    stages = [
        {"Name": "Source", "Actions": [action("Fetch", "Src", outputs=["Src"], namespace="SourceVariables", category="Source")]},
        {
            "Name": "Build",
            "Actions": [action("Compile", "Make", inputs=["Src"]) | {"Configuration": {"Commit": "#{SourceVariables.CommitId}"}}],
        },
    ]
    record, run = _run(tmp_path, stages, {"Src": source, "Make": build})
    assert record.status == "Succeeded" and seen == ["Fetch", "Compile"]
    written = json.loads((tmp_path / "run" / "run.json").read_text())
    assert written["status"] == "Succeeded"
    assert [(a["stage"], a["action"], a["status"], a["summary"]) for a in written["actions"]] == [
        ("Source", "Fetch", "Succeeded", "fetched"),
        ("Build", "Compile", "Succeeded", "built"),
    ]


def test_a_failed_action_stops_the_run_and_nothing_after_it_runs(tmp_path):
    ran = []

    def fail(context: ActionContext) -> ActionOutcome:
        ran.append(context.action.name)
        return ActionOutcome("Failed", "phase build: command `make test` exited 2\nmore")

    def ok(context: ActionContext) -> ActionOutcome:
        ran.append(context.action.name)
        return ActionOutcome("Succeeded")

    stages = [
        {"Name": "Build", "Actions": [action("Synth", "Fail"), action("After", "Ok", run_order=2)]},
        {"Name": "Deploy", "Actions": [action("D", "Ok")]},
    ]
    record, _ = _run(tmp_path, stages, {"Fail": fail, "Ok": ok})
    assert ran == ["Synth"]
    assert (record.status, record.reason) == ("Failed", "Build/Synth: phase build: command `make test` exited 2\nmore")
    assert record.actions[0].summary == "phase build: command `make test` exited 2"


def test_an_unknown_action_type_fails_the_run_naming_it(tmp_path):
    record, _ = _run(tmp_path, [{"Name": "S", "Actions": [action("Deploy", "ElasticBeanstalk", category="Deploy")]}], {})
    assert record.status == "Failed"
    assert record.reason == "S/Deploy: action type Deploy/AWS/ElasticBeanstalk/1 is not supported by the local executor"


def test_a_handler_crash_fails_its_action_not_the_executor(tmp_path):
    def crash(context: ActionContext) -> ActionOutcome:
        raise RuntimeError("boom")

    record, _ = _run(tmp_path, [{"Name": "S", "Actions": [action("A", "Crash")]}], {"Crash": crash})
    assert (record.status, record.reason) == ("Failed", "S/A: RuntimeError: boom")


def test_a_changed_definition_supersedes_the_run(tmp_path):
    ran = []

    def mutate(context: ActionContext) -> ActionOutcome:
        ran.append(context.action.name)
        return ActionOutcome("Succeeded", "the pipeline changed", restart=True)

    stages = [{"Name": "UpdatePipeline", "Actions": [action("SelfMutate", "Mutate")]}, {"Name": "Next", "Actions": [action("N", "Mutate")]}]
    record, _ = _run(tmp_path, stages, {"Mutate": mutate})
    assert record.status == "Superseded" and ran == ["SelfMutate"]


def test_a_rejected_approval_stops_the_run(tmp_path):
    def reject(context: ActionContext) -> ActionOutcome:
        return ActionOutcome("Stopped", "rejected by alice")

    record, _ = _run(
        tmp_path,
        [{"Name": "S", "Actions": [action("Approve", "Manual", category="Approval"), action("After", "Manual", run_order=2)]}],
        {"Manual": reject},
    )
    assert (record.status, [a.action for a in record.actions]) == ("Stopped", ["Approve"])


def test_run_json_is_replaced_whole_never_seen_half_written(tmp_path, monkeypatch):
    """The service reads run.json while the run rewrites it: the new record is written
    beside it and moved over it, so a reader sees the old record or the new, not a part."""
    path = tmp_path / "run.json"
    RunRecord(id="1", commit="c0ffee", branch="main", status="InProgress").write(path)

    def interrupted(*_):
        raise OSError("interrupted before the move")

    monkeypatch.setattr("local_pipeline.executor.engine.os.replace", interrupted)
    with pytest.raises(OSError, match="interrupted"):
        RunRecord(id="1", commit="c0ffee", branch="main", status="Succeeded").write(path)
    assert json.loads(path.read_text())["status"] == "InProgress"
