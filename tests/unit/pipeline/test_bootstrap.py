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


def test_commands_bootstrap_with_the_policy_and_trust_the_tooling_account_each_as_its_account():
    config = load_config(copy.deepcopy(default_context()))
    lines = commands(config)
    policy = "--cloudformation-execution-policies arn:aws:iam::{}:policy/SecretCacheCfnExecution-us-east-1"
    assert not any("AdministratorAccess" in line for line in lines if not line.startswith("#"))
    assert (
        f"npx cdk bootstrap aws://111111111111/us-east-1 --trust 222222222222 {policy.format('111111111111')} "
        "--profile secret-cache-111111111111"
    ) in lines
    # The tooling account's policy passes IAM's size limit in one document: two managed policies.
    tooling = f"{policy.format('222222222222')},arn:aws:iam::222222222222:policy/SecretCacheCfnExecution-us-east-1-1"
    assert f"npx cdk bootstrap aws://222222222222/us-east-1 {tooling} --profile secret-cache-222222222222" in lines
    # Every command names the account whose credentials it needs.
    assert all("--profile secret-cache-" in line for line in lines if line and not line.startswith("#"))


def test_cleanup_destroys_without_prompting_then_removes_the_bootstrap_before_its_policies():
    """IAM's DeletePolicy refuses a policy still attached (IAM API reference, DeletePolicy:
    "you must detach the policy from all users, groups, and roles"): the bootstrap stack, whose
    execution role holds the policies, goes first. `cdk destroy` asks for confirmation
    unless --force (CDK CLI reference, "cdk destroy"). The test that runs these commands
    against the emulated accounts: tests/unit/local_pipeline/test_execution_policy.py."""
    config = load_config(copy.deepcopy(default_context()))
    lines = commands(config)
    cleanup = lines[next(i for i, line in enumerate(lines) if line.startswith("# Cleanup")) :]
    destroys = [line for line in cleanup if line.startswith("npx cdk destroy")]
    assert destroys == [
        "npx cdk destroy --force --profile secret-cache-222222222222 'SecretCachePipeline/TrustedConfiguration-dev/*'",
        "npx cdk destroy --force --profile secret-cache-222222222222 'SecretCachePipeline/TrustingResources-dev/*'",
        "npx cdk destroy --force --profile secret-cache-222222222222 'SecretCachePipeline/TrustedResources-dev/*'",
        "npx cdk destroy --force --profile secret-cache-222222222222 SecretCachePipeline",
    ]
    commands_run = [line for line in cleanup if line and not line.startswith("#")]
    first_policy_deletion = next(i for i, line in enumerate(commands_run) if line.startswith("aws iam delete-policy"))
    waits = [
        i for i, line in enumerate(commands_run) if line.startswith("aws cloudformation wait stack-delete-complete --stack-name CDKToolkit")
    ]
    assert len(waits) == 2 and max(waits) < first_policy_deletion
    assert not any("--untrust" in line for line in commands_run)


def test_an_environment_in_another_region_adds_its_support_stack_to_the_cleanup_and_keys_to_the_policy():
    context = copy.deepcopy(default_context())
    context["environments"].append(
        {
            "name": "west",
            "trusted": {"account": "333333333333", "region": "us-west-2"},
            "trusting": {"account": "444444444444", "region": "us-west-2"},
        }
    )
    lines = commands(load_config(context))
    assert "npx cdk destroy --force --profile secret-cache-222222222222 'cross-region-stack-222222222222:us-west-2'" in lines
    # The support stack goes through the pipeline region's bootstrap roles: no bootstrap of the tooling account in us-west-2.
    assert not any(line.startswith("npx cdk bootstrap aws://222222222222/us-west-2") for line in lines)
    (keys,) = [
        s
        for s in execution_policy("222222222222", "us-east-1", tooling=True, replication_regions=["us-west-2"])["Statement"]
        if s["Sid"] == "ProjectKeys"
    ]
    assert keys["Resource"] == ["arn:aws:kms:us-east-1:222222222222:key/*", "arn:aws:kms:us-west-2:222222222222:key/*"]
