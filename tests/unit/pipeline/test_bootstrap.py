"""The least-privilege bootstrap: a scoped execution policy, and the exact commands."""

from __future__ import annotations

import copy

from pipeline.bootstrap import NAME_PREFIXES, UNSCOPABLE, commands, execution_policy
from project.config import load_config
from tests.helpers import suite_context as default_context


def _statements(tooling: bool) -> list[dict]:
    return execution_policy("111111111111", "us-east-1", tooling=tooling)["Statement"]


def test_every_action_is_named_and_only_unscopable_ones_use_a_wildcard_resource():
    for tooling in (False, True):
        for statement in _statements(tooling):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), statement["Sid"]
            if statement["Resource"] == "*":
                assert statement["Sid"] == "NoResourceLevelPermissions" and actions == UNSCOPABLE


def test_roles_and_pass_role_are_limited_to_the_projects_names():
    (roles,) = [s for s in _statements(False) if s["Sid"] == "ProjectRoles"]
    assert "iam:PassRole" in roles["Action"]
    assert roles["Resource"] == [f"arn:aws:iam::111111111111:role/{prefix}*" for prefix in NAME_PREFIXES]


def test_only_the_tooling_account_may_create_the_pipeline():
    assert not any(s["Sid"].startswith("Pipeline") for s in _statements(False))
    assert any(s["Sid"] == "PipelineItself" for s in _statements(True))


def test_commands_bootstrap_with_the_policy_trust_the_tooling_account_and_untrust_at_cleanup():
    config = load_config(copy.deepcopy(default_context()))
    lines = commands(config)
    policy = "--cloudformation-execution-policies arn:aws:iam::{}:policy/SecretCacheCfnExecution"
    assert not any("AdministratorAccess" in line for line in lines if not line.startswith("#"))
    assert f"npx cdk bootstrap aws://111111111111/us-east-1 --trust 222222222222 {policy.format('111111111111')}" in lines
    # The tooling account's policy passes IAM's size limit in one document: two managed policies.
    tooling = f"{policy.format('222222222222')},arn:aws:iam::222222222222:policy/SecretCacheCfnExecution1"
    assert f"npx cdk bootstrap aws://222222222222/us-east-1 {tooling}" in lines
    assert "npx cdk bootstrap aws://111111111111/us-east-1 --untrust 222222222222" in lines
    destroys = [line for line in lines if line.startswith("npx cdk destroy")]
    assert destroys == [
        "npx cdk destroy 'SecretCachePipeline/TrustedConfiguration-dev/*'",
        "npx cdk destroy 'SecretCachePipeline/TrustingResources-dev/*'",
        "npx cdk destroy 'SecretCachePipeline/TrustedResources-dev/*'",
        "npx cdk destroy SecretCachePipeline",
    ]
