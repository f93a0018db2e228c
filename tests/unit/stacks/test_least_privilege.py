"""Invariants over every synthesized template of every stage: least privilege, no secret."""

from __future__ import annotations

import copy
import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from policy_checks.sensitive_actions import SENSITIVE_ACTIONS
from project.assembly import read_stacks
from tests.unit.stacks.template_helpers import as_list, identity_statements, resources


def _is_sensitive(action: str) -> bool:
    # IAM matches actions case-insensitively, with wildcards (an Allow of "dynamodb:*" grants GetItem).
    return any(fnmatchcase(sensitive.lower(), action.lower()) for sensitive in SENSITIVE_ACTIONS)


def wildcard_grants(template: dict[str, Any]) -> list[tuple[str, Any]]:
    """(action, resource) pairs where a sensitive action is allowed on a wildcard resource."""
    found = []
    for statement in identity_statements(template):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            for resource in as_list(statement.get("Resource", [])):
                if _is_sensitive(action) and isinstance(resource, str) and (resource == "*" or resource.endswith(":*")):
                    found.append((action, resource))
        if "NotAction" in statement or "NotResource" in statement:
            found.append(("NotAction/NotResource", statement))
    return found


def test_no_sensitive_action_on_a_wildcard_resource_in_any_template(synthesized_app):
    assert len(synthesized_app.application_templates) == 3
    for stage, template in synthesized_app.application_templates.items():
        assert wildcard_grants(template) == [], stage


def test_only_log_delivery_and_tracing_use_a_wildcard_resource(synthesized_app):
    for template in synthesized_app.application_templates.values():
        for statement in identity_statements(template):
            if "*" in as_list(statement["Resource"]):
                assert {action.split(":")[0] for action in as_list(statement["Action"])} <= {"logs", "xray"}


def test_the_wildcard_check_catches_a_planted_violation(trusting_resources):
    planted = copy.deepcopy(trusting_resources)
    policy = next(iter(resources(planted, "AWS::IAM::Policy").values()))
    policy["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "SecretsManager:GetSecretValue", "Resource": "*"}
    )
    assert wildcard_grants(planted) == [("SecretsManager:GetSecretValue", "*")]


def test_no_secret_value_in_any_template(synthesized_app):
    assert "SecretCachePipeline" in synthesized_app.templates  # the pipeline's template is searched too
    for template in synthesized_app.templates.values():
        for secret in resources(template, "AWS::SecretsManager::Secret").values():
            assert "SecretString" not in secret["Properties"]
            assert "GenerateSecretString" in secret["Properties"]
        # No SecretString anywhere, not even nested in another resource's properties.
        assert '"SecretString"' not in json.dumps(template)
        for function in resources(template, "AWS::Lambda::Function").values():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            assert not any("SECRET" in name or "PASSWORD" in name for name in variables)


@pytest.mark.parametrize("stage_prefix", ["TrustedResources", "TrustingResources", "TrustedConfiguration"])
def test_every_stage_deploys_exactly_one_stack_into_its_account(synthesized_app, dev, stage_prefix):
    (stack,) = [stack for stack in read_stacks(synthesized_app.outdir) if stack.stage == f"{stage_prefix}-{dev.name}"]
    expected = dev.trusting if stage_prefix == "TrustingResources" else dev.trusted
    assert (stack.account, stack.region) == (expected.account, expected.region)
