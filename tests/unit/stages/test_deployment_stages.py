"""One CDK stage per deployment stage, in the order of ``project.deployment_order``."""

from __future__ import annotations

from project.deployment_order import DEPLOYMENT_ORDER, deployment_stage_ids


def test_the_stage_classes_follow_the_deployment_order():
    from stages.deployment_stages import STAGE_CLASSES

    assert [stage_class.deployment_stage for stage_class in STAGE_CLASSES] == list(DEPLOYMENT_ORDER)
    assert [stage_class.__name__ for stage_class in STAGE_CLASSES] == [stage.name for stage in DEPLOYMENT_ORDER]


def test_every_configured_environment_gets_every_stage(synthesized_app, configured_app):
    for app in (synthesized_app, configured_app):
        expected = {stage_id for env in app.config.environments for stage_id in deployment_stage_ids(env.name)}
        assert set(app.application_templates) == expected
