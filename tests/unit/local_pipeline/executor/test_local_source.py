"""A local source stands in for one cdk.json does not name: only on this machine, only then."""

from __future__ import annotations

import json

from local_pipeline.executor.local_source import local_connection, local_source_in_assembly, with_local_source
from project.assembly import read_stacks
from project.deployment_order import SOURCE_RULE, UNSET_CONNECTION, UNSET_REPOSITORY


def _pipeline_stack(app):
    (stack,) = [s for s in read_stacks(app.outdir) if not s.stage]
    return stack


def test_without_a_source_the_pipeline_is_refused_as_synthesized_and_deploys_with_the_stand_in(synthesized_app, tmp_path):
    from emulator import DeployError, Emulator
    from local_pipeline.deployment import bootstrap_accounts

    stack = _pipeline_stack(synthesized_app)
    synthesized = stack.template_file.read_text()
    standing_in, note = with_local_source(stack, tmp_path)
    assert note == f"cdk.json names no source: {local_connection(stack)} stands in, rule {SOURCE_RULE} left out"
    assert stack.template_file.read_text() == synthesized  # the assembly is left as it is
    template = standing_in.template()
    assert SOURCE_RULE not in template.get("Rules", {})
    text = json.dumps(template)
    assert UNSET_CONNECTION not in text and local_connection(stack) in text
    assert UNSET_REPOSITORY == "local/repository" and UNSET_REPOSITORY in text  # the placeholder is named for the stand-in
    with Emulator() as emulator:
        tooling = bootstrap_accounts(emulator, read_stacks(synthesized_app.outdir))
        try:
            emulator.deploy(stack, deployer_account=tooling)
        except DeployError as refused:
            assert "The pipeline has no source" in str(refused)
        else:
            raise AssertionError("the synthesized pipeline without a source deployed")
        emulator.deploy(standing_in, deployer_account=tooling)


def test_a_configured_source_is_left_alone(configured_app, tmp_path):
    stack = _pipeline_stack(configured_app)
    assert with_local_source(stack, tmp_path) == (stack, "")
    assert not list(tmp_path.iterdir())


def test_the_stand_in_is_published_as_the_template_asset_cdk_deploy_hands_cloudformation(synthesized_app, tmp_path):
    """`cdk deploy` skips an object key it finds published: the key of the pipeline's template
    asset must hold the stand-in, or a later push's real CLI deploys the placeholders."""
    stack = _pipeline_stack(synthesized_app)
    standing_in, _ = with_local_source(stack, tmp_path)
    (template_asset,) = [asset for asset in standing_in.assets if asset.object_key.endswith(".json")]
    assert template_asset.source == standing_in.template_file


def test_a_builds_copy_of_the_assembly_gets_the_stand_in_and_says_so(synthesized_app, configured_app, tmp_path):
    import shutil

    copy = shutil.copytree(synthesized_app.outdir, tmp_path / "build" / "src")
    note = local_source_in_assembly(copy, "SecretCachePipeline")
    assert note.startswith("cdk.json names no source") and "the build's copy of the assembly" in note
    (stack,) = [s for s in read_stacks(copy) if not s.stage]
    assert SOURCE_RULE not in stack.template().get("Rules", {}) and local_connection(stack) in stack.template_file.read_text()
    assert not (copy / ".local-source").exists()
    configured = shutil.copytree(configured_app.outdir, tmp_path / "configured")
    assert local_source_in_assembly(configured, "SecretCachePipeline") == ""
    assert local_source_in_assembly(tmp_path, "SecretCachePipeline") == ""  # not an assembly: the build says what it is
