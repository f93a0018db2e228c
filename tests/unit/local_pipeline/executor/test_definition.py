"""Reading the pipeline as CodePipeline runs it: stages, run orders, artifacts, the push
filter (CodePipeline API reference: PipelineDeclaration, ActionDeclaration, GitConfiguration)."""

from __future__ import annotations

import pytest

from local_pipeline.executor.definition import DefinitionError, read_pipeline, resolve_variables
from local_pipeline.executor.deployed import PIPELINE_TYPE
from tests.unit.local_pipeline.executor.helpers import action


def test_stages_and_run_orders_of_the_synthesized_pipeline(configured_app):
    (properties,) = [
        r["Properties"] for r in configured_app.templates["SecretCachePipeline"]["Resources"].values() if r["Type"] == PIPELINE_TYPE
    ]
    pipeline = read_pipeline(properties)
    assert [stage.name for stage in pipeline.stages][:4] == ["Source", "Build", "UpdatePipeline", "Assets"]
    (trusting,) = [stage for stage in pipeline.stages if stage.name == "TrustingResources-dev"]
    assert [[a.name for a in group] for group in trusting.action_groups()] == [
        ["Approve-TrustingResources-dev"],
        ["TrustingAccountResources.Prepare"],
        ["TrustingAccountResources.Deploy"],
    ]
    assert pipeline.source_action is not None
    assert pipeline.triggered_by("refs/heads/release")[0]
    ignored, why = pipeline.triggered_by("refs/heads/feature/x")
    assert not ignored and why == "refs/heads/feature/x is a branch the trigger's push filter does not include (release)"
    assert pipeline.triggered_by("refs/tags/v1.0") == (False, "refs/tags/v1.0 is a tag the trigger's push filter does not include (none)")


def test_groups_follow_run_order_not_declaration_order():
    pipeline = read_pipeline(
        {"Stages": [{"Name": "S", "Actions": [action("late", "X", run_order=2), action("first", "X"), action("also-first", "X")]}]}
    )
    assert [[a.name for a in group] for group in pipeline.stages[0].action_groups()] == [["first", "also-first"], ["late"]]


def test_an_input_artifact_no_earlier_action_produces_is_refused():
    stages = [{"Name": "S", "Actions": [action("build", "CodeBuild", inputs=["Src"]), action("source", "X", run_order=2, outputs=["Src"])]}]
    with pytest.raises(DefinitionError, match="stage S: action build reads Src, which no earlier action produces"):
        read_pipeline({"Stages": stages})


def test_a_malformed_action_is_named():
    with pytest.raises(DefinitionError, match="stage S: action broken"):
        read_pipeline({"Stages": [{"Name": "S", "Actions": [{"Name": "broken"}]}]})


def test_variables_resolve_in_nested_configuration_and_an_unknown_one_fails():
    variables = {"Source": {"CommitId": "abc123"}, "variables": {"Env": "dev"}}
    resolved = resolve_variables({"A": "#{Source.CommitId}-#{variables.Env}", "B": ["#{Source.CommitId}"], "C": 3}, variables)
    assert resolved == {"A": "abc123-dev", "B": ["abc123"], "C": 3}
    with pytest.raises(DefinitionError, match=r"variable #\{Source.BranchName\} does not resolve"):
        resolve_variables("#{Source.BranchName}", variables)
