"""The deployed pipeline's definition: what CloudFormation resolved, read back from the
emulated tooling account (the configured synth: without a source the stack refuses to deploy)."""

from __future__ import annotations

from tests.unit.local_pipeline.executor.helpers import deploy_the_pipeline


def test_the_deployed_definition_names_real_projects_and_roles(configured_app):
    from emulator import Emulator

    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, configured_app.outdir)
    tooling, deployed = setup.tooling, setup.deployed
    pipeline = deployed.pipeline
    assert pipeline.name == "SecretCachePipeline"
    assert [s.name for s in pipeline.stages] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "TrustedResources-dev",
        "TrustingResources-dev",
        "TrustedConfiguration-dev",
        "TrustedResources-prod",
        "TrustingResources-prod",
        "TrustedConfiguration-prod",
    ]
    (mutate,) = [a for a in pipeline.actions() if a.name == "SelfMutate"]
    project = deployed.projects(str(mutate.configuration["ProjectName"]))
    assert "cdk -a . deploy SecretCachePipeline" in str(project.buildspec)
    assert project.service_role_arn.startswith(f"arn:aws:iam::{tooling}:role/")
    assert deployed.role_arn.startswith(f"arn:aws:iam::{tooling}:role/")
    assert all(a.role_arn is None or a.role_arn.startswith("arn:aws:iam::") for a in pipeline.actions())


def test_a_project_a_self_mutation_added_is_found(configured_app, tmp_path):
    """The projects are read from the stack as deployed now (GetTemplate), not as it was
    first synthesized: a commit adding an environment adds its IntegrationTest project,
    and the restarted run must find it."""
    import json
    import shutil
    from pathlib import Path

    from emulator import Emulator
    from local_pipeline.executor.deployed import deployed_pipeline
    from project.assembly import read_stacks

    changed = Path(shutil.copytree(configured_app.outdir, tmp_path / "changed"))
    template_file = changed / "SecretCachePipeline.template.json"
    template = json.loads(template_file.read_text())
    resources = template["Resources"]
    (synth,) = [i for i, r in resources.items() if i.startswith("PipelineBuildSynth") and r["Type"] == "AWS::CodeBuild::Project"]
    resources["AddedProject"] = json.loads(json.dumps(resources[synth]))
    template_file.write_text(json.dumps(template))
    (changed_stack,) = [s for s in read_stacks(changed) if not s.stage]
    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, configured_app.outdir)
        emulator.deploy(changed_stack, deployer_account=setup.tooling)
        added = emulator.deployed_resources(setup.pipeline_stack)["AddedProject"].physical_resource_id
        project = deployed_pipeline(emulator, setup.pipeline_stack).projects(added)
    assert project.name == added and "make synth" in str(project.buildspec)
