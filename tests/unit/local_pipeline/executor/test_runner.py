"""Which CodeBuild actions of the synthesized pipeline the runner does in process: the
self-mutation and the asset publishing, recognized by what their buildspecs run."""

from __future__ import annotations

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
