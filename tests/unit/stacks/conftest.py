from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from project.config import DeploymentEnvironment
from project.deployment_order import TRUSTED_CONFIGURATION, TRUSTED_RESOURCES, TRUSTING_RESOURCES

if TYPE_CHECKING:
    from stacks.naming import SecretCacheNames


@pytest.fixture(scope="session")
def names(dev: DeploymentEnvironment) -> SecretCacheNames:
    from stacks.naming import SecretCacheNames

    return SecretCacheNames(dev.name)


@pytest.fixture(scope="session")
def expected_arns(dev: DeploymentEnvironment, names: SecretCacheNames) -> dict[str, str]:
    """The ARNs as AWS will see them, written out by hand (not via the naming module)."""
    trusted, trusting, region = dev.trusted.account, dev.trusting.account, dev.region
    return {
        "consumer_role": f"arn:aws:iam::{trusted}:role/{names.consumer_role}",
        "consumer_workflow": f"arn:aws:states:{region}:{trusted}:stateMachine:{names.consumer_workflow}",
        "parameter": f"arn:aws:ssm:{region}:{trusted}:parameter{names.consumer_configuration_parameter}",
        "cross_account_role": f"arn:aws:iam::{trusting}:role/{names.cross_account_role}",
        "cache_workflow": f"arn:aws:states:{region}:{trusting}:stateMachine:{names.cache_workflow}",
        "secret": f"arn:aws:secretsmanager:{region}:{trusting}:secret:{names.secret}",
    }


@pytest.fixture(scope="session")
def trusted_resources(synthesized_app: Any, dev: DeploymentEnvironment) -> dict[str, Any]:
    return synthesized_app.templates[TRUSTED_RESOURCES.id(dev.name)]


@pytest.fixture(scope="session")
def trusting_resources(synthesized_app: Any, dev: DeploymentEnvironment) -> dict[str, Any]:
    return synthesized_app.templates[TRUSTING_RESOURCES.id(dev.name)]


@pytest.fixture(scope="session")
def trusted_configuration(synthesized_app: Any, dev: DeploymentEnvironment) -> dict[str, Any]:
    return synthesized_app.templates[TRUSTED_CONFIGURATION.id(dev.name)]
