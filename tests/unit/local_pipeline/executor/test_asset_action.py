"""Asset publishing in process: what the FileAssets buildspec names, through the asset
project's role and each destination's file-publishing role, nothing more."""

from __future__ import annotations

import shutil
from pathlib import Path

from emulator import Emulator
from emulator.identity import assume_role_as_service
from local_pipeline.executor.asset_action import AssetPublishingAction
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from tests.unit.local_pipeline.executor.helpers import action, deploy_the_pipeline


def test_the_assets_the_buildspec_names_are_published_through_their_roles(configured_app, tmp_path: Path):
    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, configured_app.outdir)
        stacks, pipeline_stack, tooling, deployed = setup.stacks, setup.pipeline_stack, setup.tooling, setup.deployed
        (assets,) = [a for a in deployed.pipeline.actions() if a.stage == "Assets"]

        def credentials(role_arn: str):
            source = f"arn:aws:codebuild:{pipeline_stack.region}:{tooling}:project/assets"
            return assume_role_as_service(role_arn, service="codebuild.amazonaws.com", source_arn=source, region=pipeline_stack.region)

        def synth(context: ActionContext) -> ActionOutcome:
            shutil.copytree(configured_app.outdir, context.outputs["Synth_Output"], dirs_exist_ok=True)
            return ActionOutcome("Succeeded")

        stages = [
            {"Name": "Build", "Actions": [action("Synth", "Copy", outputs=["Synth_Output"])]},
            {
                "Name": "Assets",
                "Actions": [action("FileAssets", "Assets", inputs=["Synth_Output"]) | {"Configuration": dict(assets.configuration)}],
            },
        ]
        handlers = {"Copy": synth, "Assets": AssetPublishingAction(emulator, deployed.projects, credentials)}
        record = PipelineRun(
            read_pipeline({"Stages": stages}), handlers, directory=tmp_path / "run", record=RunRecord("1", "c", "release")
        ).execute()
        assert record.status == "Succeeded", record.reason
        lambdas = [asset for stack in stacks for asset in stack.assets if asset.packaging == "zip"]
        assert record.actions[1].summary == f"{len(lambdas)} file assets published"
        for asset in lambdas:
            account = asset.bucket_name.split("-")[-4]
            objects = emulator.client("s3", account, pipeline_stack.region).list_objects_v2(Bucket=asset.bucket_name)
            assert asset.object_key in [o["Key"] for o in objects.get("Contents", [])]
