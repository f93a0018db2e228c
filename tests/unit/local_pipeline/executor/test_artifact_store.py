"""Artifacts go through the pipeline's artifact bucket, encrypted with its key, and each is
read back as the role that reads it on AWS (CodePipeline user guide, "Input and output
artifacts" and "Create a pipeline in CodePipeline that uses resources from another AWS
account": the other account's deploy role must read the bucket and decrypt with the key).
Taking either away from a deploy role fails the run at that stage, naming what was denied
and to whom."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_pipeline.executor.approval_action import Decision
from local_pipeline.executor.engine import ActionOutcome
from local_pipeline.executor.local_source import with_local_source
from project.assembly import read_stacks
from tests.unit.local_pipeline.executor.helpers import SynthOf


def _run(assembly: Path, tmp_path: Path, deny: dict | None = None):
    """The pipeline run on ``assembly`` with `make local`'s stand-ins; ``deny``, if given, an
    inline policy put on the deploy role of the account that is not the tooling one."""
    from emulator import Emulator
    from local_pipeline.deployment import bootstrap_accounts
    from local_pipeline.executor.asset_action import AssetPublishingAction
    from local_pipeline.executor.deployed import deployed_pipeline
    from local_pipeline.executor.runner import PipelineRunner
    from local_pipeline.executor.self_mutation_action import SelfMutationAction
    from local_pipeline.in_process import InProcessIntegrationTest, module_steps

    stacks = read_stacks(assembly)
    (pipeline_stack,) = [s for s in stacks if not s.stage]
    with Emulator() as emulator:
        tooling = bootstrap_accounts(emulator, stacks)
        deployed, _ = with_local_source(pipeline_stack, tmp_path / "local-source")
        emulator.deploy(deployed, deployer_account=tooling)
        (other,) = sorted({s.account for s in stacks} - {tooling})
        role = f"cdk-hnb659fds-deploy-role-{other}-{pipeline_stack.region}"
        if deny:
            iam = emulator.client("iam", other, pipeline_stack.region)
            iam.put_role_policy(RoleName=role, PolicyName="TakenAway", PolicyDocument=json.dumps(deny))
        runner = PipelineRunner(
            emulator,
            pipeline_stack,
            endpoint=lambda: pytest.fail("no buildspec runs here"),
            host_path="",
            workspace=tmp_path / "workspace",
            decide=lambda where, data: Decision(True, "test"),
            in_process=(
                SynthOf(assembly),
                SelfMutationAction(emulator, pipeline_stack.stack_name),
                AssetPublishingAction(emulator),
                InProcessIntegrationTest(region=pipeline_stack.region),
                *module_steps(pipeline_stack.region),
            ),
        )
        record = runner.run(lambda context: ActionOutcome("Succeeded", "the commit"), "abc", "main", "1", tmp_path / "run")
        store = deployed_pipeline(emulator, pipeline_stack)
        s3 = emulator.client("s3", tooling, pipeline_stack.region)
        objects = [
            s3.head_object(Bucket=store.artifact_bucket, Key=item["Key"])
            for item in s3.list_objects_v2(Bucket=store.artifact_bucket).get("Contents", [])
        ]
        return record, role, store, objects


def _deny(action: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": action, "Resource": "*"}]}


def test_every_artifact_is_a_zip_in_the_bucket_encrypted_with_the_artifact_key(synthesized_app, tmp_path):
    record, _, store, objects = _run(synthesized_app.outdir, tmp_path)
    assert record.status == "Succeeded", record.reason
    assert store.artifact_bucket and store.artifact_key.startswith("arn:aws:kms:")
    assert len(objects) >= 2  # the source's and the Synth's, at least
    assert {(o["ServerSideEncryption"], o["SSEKMSKeyId"]) for o in objects} == {("aws:kms", store.artifact_key)}


@pytest.mark.parametrize("taken", ["kms:Decrypt", "s3:GetObject"])
def test_a_deploy_role_that_cannot_read_the_artifacts_fails_its_stage_naming_what_and_whom(synthesized_app, tmp_path, taken):
    record, role, _, _ = _run(synthesized_app.outdir, tmp_path, deny=_deny(taken))
    assert record.status == "Failed"
    failed = record.actions[-1]
    assert failed.status == "Failed" and failed.category == "Deploy", record.reason
    assert taken in record.reason and role in record.reason and "input artifact" in record.reason, record.reason


def test_an_artifact_keeps_its_files_and_no_link_out_of_its_folder(tmp_path):
    from local_pipeline.executor.artifact_store import unzipped, zipped

    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    (tmp_path / "host-secret").write_text("not for the artifact")
    (folder / "leak").symlink_to(tmp_path / "host-secret")
    unzipped(zipped(folder), tmp_path / "back")
    assert sorted(p.relative_to(tmp_path / "back").as_posix() for p in (tmp_path / "back").rglob("*")) == ["sub", "sub/a.txt"]
