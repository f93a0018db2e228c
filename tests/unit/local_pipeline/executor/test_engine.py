"""Running a pipeline definition: order, artifacts, namespaces, failures, restarts, the record."""

from __future__ import annotations

import json
import re

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


def test_an_action_that_updates_the_pipeline_cancels_its_run_once_its_stage_ends(tmp_path):
    """API reference, "PipelineExecution": "Cancelled: The pipeline's definition was updated
    before the pipeline execution could be completed." The updating action itself succeeds
    and the run records which action updated the pipeline; nothing after it runs."""
    ran = []

    def mutate(context: ActionContext) -> ActionOutcome:
        ran.append(context.action.name)
        return ActionOutcome("Succeeded", "the pipeline was updated", restart=True)

    stages = [{"Name": "UpdatePipeline", "Actions": [action("SelfMutate", "Mutate")]}, {"Name": "Next", "Actions": [action("N", "Mutate")]}]
    record, _ = _run(tmp_path, stages, {"Mutate": mutate})
    assert (record.status, record.updated_pipeline, ran) == ("Cancelled", "UpdatePipeline/SelfMutate", ["SelfMutate"])
    assert record.reason.startswith("the pipeline's definition was updated by this run's UpdatePipeline/SelfMutate")
    assert record.actions[0].status == "Succeeded"


def test_a_rejected_approval_fails_the_run(tmp_path):
    """CodePipeline user guide, "Manage approval actions in CodePipeline": a rejected
    approval is "the same as an action failing, and the pipeline execution does not continue"."""
    from local_pipeline.executor.approval_action import ApprovalAction, Decision

    record, _ = _run(
        tmp_path,
        [{"Name": "S", "Actions": [action("Approve", "Manual", category="Approval"), action("After", "Manual", run_order=2)]}],
        {"Manual": ApprovalAction(lambda where, data: Decision(False, "alice", "not today"))},
    )
    assert (record.status, record.reason) == ("Failed", "S/Approve: rejected by alice: not today")
    assert [(a.action, a.status) for a in record.actions] == [("Approve", "Failed")]


def test_actions_of_one_run_order_run_side_by_side_and_all_end_before_the_stage_fails(tmp_path):
    """API reference, "ActionDeclaration": actions with the same runOrder run in parallel.
    Each of the two waits for the other to have started (they could not both start if they
    ran one after the other), one fails, and both are recorded before the stage fails;
    the next run order does not run."""
    import threading

    started = threading.Barrier(2, timeout=10)
    ran = []

    def together(context: ActionContext) -> ActionOutcome:
        started.wait()  # BrokenBarrierError if the sibling does not start meanwhile
        ran.append(context.action.name)
        return ActionOutcome("Failed" if context.action.name == "A" else "Succeeded", f"{context.action.name} ended")

    stages = [{"Name": "S", "Actions": [action("A", "T"), action("B", "T"), action("C", "T", run_order=2)]}]
    record, _ = _run(tmp_path, stages, {"T": together})
    assert sorted(ran) == ["A", "B"]
    assert (record.status, record.reason) == ("Failed", "S/A: A ended")
    assert sorted((a.action, a.status) for a in record.actions) == [("A", "Failed"), ("B", "Succeeded")]


def test_an_action_sees_the_variables_of_earlier_run_orders_only_and_the_execution_id(tmp_path):
    """CodePipeline user guide, "Variables reference": ``#{codepipeline.PipelineExecutionId}``
    resolves to the execution's id; an action's output variables can be used by an action
    in a later run order or stage, not by one of its own run order."""
    seen = {}

    def produce(context: ActionContext) -> ActionOutcome:
        return ActionOutcome("Succeeded", "made", {"Out": "value"})

    def consume(context: ActionContext) -> ActionOutcome:
        seen[context.action.name] = dict(context.configuration)
        return ActionOutcome("Succeeded")

    later = action("Later", "Consume", run_order=2) | {"Configuration": {"V": "#{P.Out}", "Id": "#{codepipeline.PipelineExecutionId}"}}
    stages = [{"Name": "S", "Actions": [action("Make", "Produce", namespace="P"), later]}]
    record, run = _run(tmp_path, stages, {"Produce": produce, "Consume": consume})
    assert record.status == "Succeeded", record.reason
    assert seen["Later"] == {"V": "value", "Id": run.execution.execution_id}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", record.execution_id)

    sibling = action("Sibling", "Consume") | {"Configuration": {"V": "#{P.Out}"}}
    record, _ = _run(
        tmp_path / "2",
        [{"Name": "S", "Actions": [action("Make", "Produce", namespace="P"), sibling]}],
        {"Produce": produce, "Consume": consume},
    )
    assert record.status == "Failed"
    assert record.reason == "S/Sibling: variable #{P.Out} does not resolve: no such variable was produced"


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
