"""Which CodeBuild actions of the synthesized pipeline the runner does in process: the
self-mutation and the asset publishing, recognized by what their buildspecs run."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_pipeline.executor.codebuild_action import Project
from local_pipeline.executor.runner import is_asset_publishing, is_self_mutation


def _projects(configured_app) -> dict[str, Project]:
    template = configured_app.templates["SecretCachePipeline"]["Resources"]
    return {
        logical_id: Project(logical_id, resource["Properties"]["Source"]["BuildSpec"], "role")
        for logical_id, resource in template.items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }


def test_only_self_mutation_and_assets_are_done_in_process(configured_app):
    projects = _projects(configured_app)
    mutation = [name for name, project in projects.items() if is_self_mutation(project, "SecretCachePipeline")]
    assets = [name for name, project in projects.items() if is_asset_publishing(project)]
    assert [name.startswith("PipelineUpdatePipelineSelfMutation") for name in mutation] == [True]
    assert [name.startswith("PipelineAssetsFileAsset") for name in assets] == [True]
    buildspec = {name for name in projects if name not in mutation + assets}
    assert any(name.startswith("PipelineBuildSynth") for name in buildspec)
    assert any("IntegrationTest" in name for name in buildspec)


def test_make_local_recognizes_the_synth_and_the_integration_tests(synthesized_app, configured_app):
    from local_pipeline.in_process import InProcessIntegrationTest, InProcessSynth
    from pipeline.audit import AuditReport

    synth = InProcessSynth(synthesized_app.outdir, lambda: AuditReport(templates=[]), workdir=synthesized_app.outdir)
    integration = InProcessIntegrationTest(region="us-east-1")
    projects = _projects(configured_app)
    assert [name.startswith("PipelineBuildSynth") for name, project in projects.items() if synth.recognizes(project)] == [True]
    recognized = sorted(name for name, project in projects.items() if integration.recognizes(project))
    assert len(recognized) == 2 and all("IntegrationTest" in name for name in recognized)  # dev and prod


class _SynthOf:
    """A Synth done in process that hands on ``assembly``, whatever the source says."""

    def __init__(self, assembly) -> None:
        self.assembly = assembly

    def recognizes(self, project: Project) -> bool:
        return "make synth" in str(project.buildspec)

    def __call__(self, context, project, role):
        import shutil

        from local_pipeline.executor.engine import ActionOutcome

        (output,) = context.outputs.values()
        shutil.copytree(self.assembly, output, dirs_exist_ok=True)
        return ActionOutcome("Succeeded", "synthesized")


def test_a_commit_that_adds_an_action_restarts_the_run_on_the_new_pipeline_under_one_record(configured_app, tmp_path):
    """aws-cdk-lib/pipelines README, "Self-mutation": the pipeline's UpdatePipeline action
    updates the pipeline with the new structure and restarts it. That the restart keeps
    the run's id and one run.json, with both attempts' actions in order, is the
    emulator's choice (README, "the emulator guesses"; on AWS the restart is a new
    execution): the added action runs in the second attempt only."""
    import dataclasses
    import json
    import shutil

    from emulator import Emulator
    from local_pipeline.executor.approval_action import Decision
    from local_pipeline.executor.engine import ActionOutcome
    from local_pipeline.executor.runner import PipelineRunner
    from local_pipeline.in_process import InProcessIntegrationTest
    from tests.unit.local_pipeline.executor.helpers import deploy_the_pipeline

    changed = Path(shutil.copytree(configured_app.outdir, tmp_path / "changed"))
    template_file = changed / "SecretCachePipeline.template.json"
    template = json.loads(template_file.read_text())
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (assets,) = [stage for stage in pipeline["Properties"]["Stages"] if stage["Name"] == "Assets"]
    assets["Actions"].append(
        {"Name": "Added", "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}, "RunOrder": 2}
    )
    template_file.write_text(json.dumps(template))

    def source(context):
        return ActionOutcome("Succeeded", "the commit")

    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, configured_app.outdir)
        runner = PipelineRunner(
            emulator,
            setup.pipeline_stack,
            endpoint=lambda: pytest.fail("no buildspec runs in this test"),
            machine_environment={},
            workspace=tmp_path / "workspace",
            decide=lambda where, data: Decision(True, "test"),
            in_process=(_SynthOf(changed), InProcessIntegrationTest(region=setup.pipeline_stack.region)),
        )
        record = runner.run(source, "abc", "release", "7", tmp_path / "run")
    assert record.status == "Succeeded", record.reason
    assert record.id == "7"
    ran = [f"{a.stage}/{a.action}" for a in record.actions]
    assert ran[:4] == ["Source/acme_secret-cache", "Build/Synth", "UpdatePipeline/SelfMutate", "Source/acme_secret-cache"]
    assert record.actions[2].summary == "SecretCachePipeline updated: the pipeline changed, the run starts again on it"
    assert "Assets/Added" not in ran[:3] and ran.count("Assets/Added") == 1
    assert ran[-1] == "TrustedConfiguration-prod/IntegrationTest-prod"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["actions"] == [dataclasses.asdict(a) for a in record.actions]
    assert (tmp_path / "run" / "attempt-2" / "actions").is_dir()
