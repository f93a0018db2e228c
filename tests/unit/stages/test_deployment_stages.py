"""The deployment order, and where each stage deploys."""

from __future__ import annotations

from stages.deployment_stages import DEPLOYMENT_ORDER, TrustedConfiguration, TrustedResources, TrustingResources, stage_id


def test_stages_follow_the_blog_order():
    # TrustingAccountRl's trust policy names TrustedAccountRl, which IAM requires to
    # exist; the consumer is switched on last.
    assert DEPLOYMENT_ORDER == (TrustedResources, TrustingResources, TrustedConfiguration)
    assert [stage.account for stage in DEPLOYMENT_ORDER] == ["trusted", "trusting", "trusted"]


def test_every_configured_environment_gets_every_stage(synthesized_app):
    expected = {stage_id(stage, env) for env in synthesized_app.config.environments for stage in DEPLOYMENT_ORDER}
    assert set(synthesized_app.application_templates) == expected
