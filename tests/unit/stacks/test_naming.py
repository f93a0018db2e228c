"""Physical names: unique per environment, within AWS's length limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.naming import SecretCacheNames


def _all_names(names: SecretCacheNames) -> dict[str, str]:
    from stacks.naming import SecretCacheNames

    return {name: getattr(names, name) for name in dir(SecretCacheNames) if isinstance(getattr(SecretCacheNames, name), property)}


def test_two_environments_share_no_physical_name():
    from stacks.naming import SecretCacheNames

    dev, prod = _all_names(SecretCacheNames("dev")), _all_names(SecretCacheNames("prod"))
    assert set(dev.values()).isdisjoint(prod.values())


def test_names_fit_aws_limits_for_the_longest_environment_name():
    from stacks.naming import SecretCacheNames

    names = SecretCacheNames("a" * 16)  # the longest name the config accepts
    assert len(names.consumer_role) <= 64 and len(names.cross_account_role) <= 64  # IAM role names
    assert len(names.cache_workflow_role) <= 64 and len(names.cache_function_role) <= 64
    assert len(names.consumer_workflow) <= 80 and len(names.cache_workflow) <= 80  # state machines
    assert len(names.cache_function) <= 64


def test_blog_names_are_kept_as_prefixes():
    from stacks.naming import SecretCacheNames

    names = SecretCacheNames("dev")
    assert names.consumer_workflow.startswith("SecretCacheConsumerWfw")
    assert names.cache_workflow.startswith("SecretCacheWfw")
    assert names.consumer_role.startswith("TrustedAccountRl")
    assert names.cross_account_role.startswith("TrustingAccountRl")
    assert names.cache_workflow_role.startswith("SecretCacheWfwRl")
