"""The deployed pipeline's definition: what CloudFormation resolved, read back from the
emulated tooling account (the configured synth: without a source the stack refuses to deploy)."""

from __future__ import annotations

from emulator import Emulator
from tests.unit.local_pipeline.executor.helpers import deploy_the_pipeline


def test_the_deployed_definition_names_real_projects_and_roles(configured_app):
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
