"""The deployed pipeline's definition: what CloudFormation resolved, read back from the
emulated tooling account (the configured synth: without a source the stack refuses to deploy)."""

from __future__ import annotations

from emulator import Emulator
from local_pipeline.deployment import bootstrap_accounts
from local_pipeline.executor.deployed import deployed_pipeline
from project.assembly import read_stacks


def test_the_deployed_definition_names_real_projects_and_roles(configured_app):
    stacks = read_stacks(configured_app.outdir)
    (pipeline_stack,) = [s for s in stacks if not s.stage]
    with Emulator() as emulator:
        tooling = bootstrap_accounts(emulator, stacks)
        emulator.deploy(pipeline_stack, deployer_account=tooling)
        deployed = deployed_pipeline(emulator, pipeline_stack)
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
