"""A local source stands in for one cdk.json does not name: only on this machine, only then."""

from __future__ import annotations

import json

from emulator import DeployError, Emulator
from local_pipeline.deployment import bootstrap_accounts
from local_pipeline.executor.local_source import LOCAL_REPOSITORY, local_connection, with_local_source
from project.assembly import read_stacks
from project.deployment_order import SOURCE_RULE, UNSET_CONNECTION, UNSET_REPOSITORY


def _pipeline_stack(app):
    (stack,) = [s for s in read_stacks(app.outdir) if not s.stage]
    return stack


def test_without_a_source_the_pipeline_is_refused_as_synthesized_and_deploys_with_the_stand_in(synthesized_app, tmp_path):
    stack = _pipeline_stack(synthesized_app)
    synthesized = stack.template_file.read_text()
    standing_in, note = with_local_source(stack, tmp_path)
    assert note == f"cdk.json names no source: {local_connection(stack)} stands in, rule {SOURCE_RULE} left out"
    assert stack.template_file.read_text() == synthesized  # the assembly is left as it is
    template = standing_in.template()
    assert SOURCE_RULE not in template.get("Rules", {})
    text = json.dumps(template)
    assert UNSET_CONNECTION not in text and UNSET_REPOSITORY not in text
    assert local_connection(stack) in text and LOCAL_REPOSITORY in text
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
