"""Which CodeBuild actions of the synthesized pipeline `make local` does in process (the
self-mutation and the asset publishing, recognized by what their buildspecs run; the
push path runs every buildspec), and the restart after a self-mutation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.unit.local_pipeline.executor.helpers import SynthOf, restarts_in

if TYPE_CHECKING:
    from local_pipeline.executor.codebuild_action import Project


def _projects(configured_app) -> dict[str, Project]:
    from local_pipeline.executor.codebuild_action import Project

    template = configured_app.templates["SecretCachePipeline"]["Resources"]
    return {
        logical_id: Project(logical_id, resource["Properties"]["Source"]["BuildSpec"], "role")
        for logical_id, resource in template.items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }


def test_make_local_stands_in_for_self_mutation_and_assets_only(configured_app):
    from local_pipeline.executor.asset_action import is_asset_publishing
    from local_pipeline.executor.self_mutation_action import is_self_mutation

    projects = _projects(configured_app)
    mutation = [name for name, project in projects.items() if is_self_mutation(project, "SecretCachePipeline")]
    assets = [name for name, project in projects.items() if is_asset_publishing(project)]
    assert [name.startswith("PipelineUpdatePipelineSelfMutation") for name in mutation] == [True]
    assert [name.startswith("PipelineAssetsFileAsset") for name in assets] == [True]
    buildspec = {name for name in projects if name not in mutation + assets}
    assert any(name.startswith("PipelineBuildSynth") for name in buildspec)
    assert any("IntegrationTest" in name for name in buildspec)


def test_make_local_recognizes_the_synth_and_the_integration_tests(synthesized_app, configured_app):
    from local_pipeline.in_process import InProcessIntegrationTest, InProcessSynth, module_steps
    from pipeline.audit import AuditReport

    synth = InProcessSynth(synthesized_app.outdir, lambda: AuditReport(templates=[]), workdir=synthesized_app.outdir)
    integration = InProcessIntegrationTest(region="us-east-1")
    projects = _projects(configured_app)
    assert [name.startswith("PipelineBuildSynth") for name, project in projects.items() if synth.recognizes(project)] == [True]
    recognized = sorted(name for name, project in projects.items() if integration.recognizes(project))
    assert len(recognized) == 2 and all("IntegrationTest" in name for name in recognized)  # dev and prod
    summary, auto_approve = module_steps("us-east-1")
    # dev's two approved stages have a summary each; prod asks for no approval (approvals: never).
    assert sorted(name.split("ChangeSummary")[1][:1] != "" for name, project in projects.items() if summary.recognizes(project)) == [
        True,
        True,
    ]
    assert not [name for name, project in projects.items() if auto_approve.recognizes(project)]


def _with_an_added_action(assembly: Path, copy: Path) -> Path:
    """A copy of ``assembly`` whose pipeline has an approval added to its Assets stage, the
    template published under the hash of its new content, as a synth would name it (`cdk
    deploy` skips an object key it finds)."""
    import hashlib
    import json
    import shutil

    changed = Path(shutil.copytree(assembly, copy))
    template_file = changed / "SecretCachePipeline.template.json"
    template = json.loads(template_file.read_text())
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (assets,) = [stage for stage in pipeline["Properties"]["Stages"] if stage["Name"] == "Assets"]
    assets["Actions"].append(
        {"Name": "Added", "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}, "RunOrder": 2}
    )
    text = json.dumps(template)
    manifest_file = changed / "SecretCachePipeline.assets.json"
    manifest = json.loads(manifest_file.read_text())
    (old,) = [asset_id for asset_id, asset in manifest["files"].items() if asset["source"]["path"] == template_file.name]
    new = hashlib.sha256(text.encode()).hexdigest()
    template_file.write_text(text)
    for file in (manifest_file, changed / "manifest.json"):
        file.write_text(file.read_text().replace(old, new))
    return changed


def test_a_commit_that_adds_an_action_cancels_the_run_and_restarts_the_new_pipeline_as_a_new_run(configured_app, tmp_path):
    """aws-cdk-lib/pipelines README, "Self-mutation": the pipeline's UpdatePipeline action
    updates the pipeline with the new structure and restarts it. API reference,
    "PipelineExecution": the updated execution ends Cancelled; CloudFormation,
    "AWS::CodePipeline::Pipeline" (RestartExecutionOnUpdate, which CDK Pipelines sets):
    the restart is a new execution, a run with its own id and record, where the added
    action runs."""
    import dataclasses
    import json

    from emulator import Emulator
    from local_pipeline.executor.approval_action import Decision
    from local_pipeline.executor.asset_action import AssetPublishingAction
    from local_pipeline.executor.engine import ActionOutcome
    from local_pipeline.executor.runner import PipelineRunner
    from local_pipeline.executor.self_mutation_action import SelfMutationAction
    from local_pipeline.in_process import InProcessIntegrationTest, module_steps
    from tests.unit.local_pipeline.executor.helpers import deploy_the_pipeline

    changed = _with_an_added_action(configured_app.outdir, tmp_path / "changed")

    def source(context):
        return ActionOutcome("Succeeded", "the commit")

    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, configured_app.outdir)
        runner = PipelineRunner(
            emulator,
            setup.pipeline_stack,
            endpoint=lambda: pytest.fail("no buildspec runs in this test"),
            host_path="",
            workspace=tmp_path / "workspace",
            decide=lambda where, data: Decision(True, "test"),
            in_process=(
                SynthOf(changed),
                SelfMutationAction(emulator, setup.pipeline_stack.stack_name),
                AssetPublishingAction(emulator),
                InProcessIntegrationTest(region=setup.pipeline_stack.region),
                *module_steps(setup.pipeline_stack.region),
            ),
        )
        record = runner.run_restarting(source, "abc", "release", "7", tmp_path / "7", new_run=restarts_in(tmp_path))
    assert record.status == "Succeeded", record.reason
    assert (record.id, record.trigger) == ("8", "the pipeline's update by run 7 (UpdatePipeline/SelfMutate)")
    cancelled = json.loads((tmp_path / "7" / "run.json").read_text())
    assert (cancelled["status"], cancelled["restarted_as"]) == ("Cancelled", "8")
    assert [f"{a['stage']}/{a['action']}" for a in cancelled["actions"]] == [
        "Source/acme_secret-cache",
        "Build/Synth",
        "UpdatePipeline/SelfMutate",
    ]
    assert cancelled["actions"][2]["summary"] == "SecretCachePipeline deployed in process: the pipeline was updated"
    ran = [f"{a.stage}/{a.action}" for a in record.actions]
    assert ran[:3] == ["Source/acme_secret-cache", "Build/Synth", "UpdatePipeline/SelfMutate"]
    assert ran.count("Assets/Added") == 1 and record.execution_id != cancelled["execution_id"]
    assert ran[-1] == "TrustedConfiguration-prod/IntegrationTest-prod"
    assert json.loads((tmp_path / "8" / "run.json").read_text())["actions"] == [dataclasses.asdict(a) for a in record.actions]


def _zip_entries(body: bytes) -> dict[str, str]:
    import hashlib
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: hashlib.sha256(archive.read(name)).hexdigest() for name in sorted(archive.namelist()) if not name.endswith("/")}


def _accounts(emulator, stacks) -> dict:
    """What the accounts hold after a run: each stack's status and template, each bootstrap
    bucket's objects (a zip by its entries: cdk-assets and Python zip the same files into
    different bytes), and the deployed pipeline's definition."""
    import hashlib
    import json

    from local_pipeline.executor.deployed import deployed_pipeline

    held: dict = {"stacks": {}, "objects": {}}
    for stack in stacks:
        cloudformation = emulator.client("cloudformation", stack.account, stack.region)
        (described,) = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"]
        body = cloudformation.get_template(StackName=stack.stack_name)["TemplateBody"]
        held["stacks"][stack.stack_name] = (described["StackStatus"], json.loads(body) if isinstance(body, str) else body)
    for account, region in sorted({(stack.account, stack.region) for stack in stacks}):
        s3 = emulator.client("s3", account, region)
        bucket = f"cdk-hnb659fds-assets-{account}-{region}"
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            held["objects"][f"{bucket}/{item['Key']}"] = _zip_entries(body) if body[:2] == b"PK" else hashlib.sha256(body).hexdigest()
    (pipeline_stack,) = [stack for stack in stacks if not stack.stage]
    # Physical names differ from one account to the next (moto's random suffixes): a
    # deployed resource's name is read as its logical ID.
    logical = {str(r.physical_resource_id): logical_id for logical_id, r in emulator.deployed_resources(pipeline_stack).items()}
    logical |= {
        arn: logical_id for logical_id, r in emulator.deployed_resources(pipeline_stack).items() for arn in [getattr(r, "arn", None)] if arn
    }
    held["pipeline"] = [
        (a.stage, a.name, str(a.type), a.run_order, a.input_artifacts, a.output_artifacts, logical.get(a.role_arn or "", a.role_arn),
         {key: logical.get(str(value), value) for key, value in a.configuration.items()})
        for a in deployed_pipeline(emulator, pipeline_stack).pipeline.actions()
    ]  # fmt: skip
    return held


def test_make_locals_stand_ins_leave_the_accounts_as_the_real_cdk_cli_and_cdk_assets_do(synthesized_app, tmp_path):
    """The push path runs the SelfMutate and FileAssets buildspecs as written: the pinned CDK
    CLI's `cdk -a . deploy` and the pinned cdk-assets, installed with `npm install -g` from
    the registry of the pinned packages, against the emulated endpoint. `make local` does
    both in process. Run on the same assembly (cdk.json's, whose placeholder source the
    local one replaces, with an action added so that the self-mutation updates the
    pipeline and the run restarts), both leave the same stacks, templates, bucket objects
    and pipeline definition, and the real builds' logs hold the tools' own output."""
    import os

    from emulator import Emulator
    from local_pipeline.executor.approval_action import Decision
    from local_pipeline.executor.asset_action import AssetPublishingAction
    from local_pipeline.executor.engine import ActionOutcome
    from local_pipeline.executor.local_source import with_local_source
    from local_pipeline.executor.npm_registry import RegistryOnUse
    from local_pipeline.executor.runner import PipelineRunner
    from local_pipeline.executor.self_mutation_action import SelfMutationAction
    from local_pipeline.in_process import InProcessIntegrationTest, module_steps
    from local_pipeline.keep_up import served
    from project.assembly import read_stacks
    from project.paths import PROJECT_ROOT

    changed = _with_an_added_action(synthesized_app.outdir, tmp_path / "changed")
    stacks = read_stacks(synthesized_app.outdir)

    def run(name: str, stand_ins: bool) -> tuple[dict, object]:
        from local_pipeline.deployment import bootstrap_accounts

        npm = RegistryOnUse(PROJECT_ROOT)
        with Emulator() as emulator, served() as endpoint:
            (pipeline_stack,) = [s for s in stacks if not s.stage]
            tooling = bootstrap_accounts(emulator, stacks)
            deployed, _ = with_local_source(pipeline_stack, tmp_path / name / "local-source")
            emulator.deploy(deployed, deployer_account=tooling)
            in_process = [SynthOf(changed), InProcessIntegrationTest(region=pipeline_stack.region), *module_steps(pipeline_stack.region)]
            if stand_ins:
                in_process[1:1] = [SelfMutationAction(emulator, pipeline_stack.stack_name), AssetPublishingAction(emulator)]
            runner = PipelineRunner(
                emulator,
                pipeline_stack,
                endpoint=lambda: endpoint,
                host_path=os.environ["PATH"],
                workspace=tmp_path / name / "workspace",
                decide=lambda where, data: Decision(True, "test"),
                in_process=in_process,
                npm=npm,
            )
            try:
                record = runner.run_restarting(
                    lambda context: ActionOutcome("Succeeded", "the commit"),
                    "abc",
                    "main",
                    "1",
                    tmp_path / name / "1",
                    new_run=restarts_in(tmp_path / name),
                )
            finally:
                npm.stop()
            assert record.status == "Succeeded", record.reason
            return _accounts(emulator, read_stacks(changed)), record

    real, real_record = run("real", stand_ins=False)
    stand_in, _ = run("stand-in", stand_ins=True)
    assert real["stacks"] == stand_in["stacks"]
    assert real["objects"] == stand_in["objects"]
    assert real["pipeline"] == stand_in["pipeline"]
    assert "Added" in [name for _, name, *_ in real["pipeline"]]
    assert all(status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") for status, _ in real["stacks"].values())

    assert real_record.id == "2", "the self-mutation updated the pipeline: run 1 was cancelled, run 2 restarted"
    mutate_log = (tmp_path / "real" / "1" / "actions" / "UpdatePipeline.SelfMutate" / "log.txt").read_text()
    assert "SecretCachePipeline: deploying..." in mutate_log and "UPDATE_COMPLETE" in mutate_log, mutate_log[-3000:]
    assert "rule SourceConfigured left out" in mutate_log  # the build's copy of the assembly, said
    assets_log = (tmp_path / "real" / "2" / "actions" / "Assets.FileAssets" / "log.txt").read_text()
    assert "cdk-assets" in assets_log and "upload" in assets_log.lower(), assets_log[-3000:]
