"""Reading the environments and stages of a cloud assembly."""

from __future__ import annotations

import pytest

from local_pipeline.deployment import MissingStage, environments_in, stage_stacks
from project.assembly import read_stacks


def test_environments_come_from_the_assembly_in_order(synthesized_app, configured_app):
    assert environments_in(read_stacks(synthesized_app.outdir)) == ["dev"]
    assert environments_in(read_stacks(configured_app.outdir)) == [env.name for env in configured_app.config.environments]


def test_a_stage_missing_from_the_assembly_is_named(synthesized_app):
    with pytest.raises(MissingStage, match="no stage TrustedResources-qa: synthesize it first"):
        stage_stacks(read_stacks(synthesized_app.outdir), "TrustedResources-qa")
