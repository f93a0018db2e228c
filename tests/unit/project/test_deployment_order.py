"""The deployment order, and the ids every other package takes from it."""

from __future__ import annotations

from project.deployment_order import (
    DEPLOYMENT_ORDER,
    deployment_stage_ids,
    environment_of_stage_id,
    integration_test_id,
)


def test_stages_follow_the_blog_order():
    # TrustingAccountRl's trust policy names TrustedAccountRl, which IAM requires to
    # exist; the consumer is switched on last.
    assert [stage.name for stage in DEPLOYMENT_ORDER] == ["TrustedResources", "TrustingResources", "TrustedConfiguration"]
    assert [stage.side for stage in DEPLOYMENT_ORDER] == ["trusted", "trusting", "trusted"]


def test_ids_name_the_environment():
    assert deployment_stage_ids("dev") == ["TrustedResources-dev", "TrustingResources-dev", "TrustedConfiguration-dev"]
    assert integration_test_id("dev") == "IntegrationTest-dev"
    assert environment_of_stage_id("TrustingResources-eu-prod") == "eu-prod"
    assert environment_of_stage_id("Assets") is None
