"""Where the integration tests run: an injected target (the local pipeline run), real AWS
(SECRET_CACHE_TARGET=aws), or, by default, this session's synthesized app deployed into
a fresh emulator for this package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.target import SecretCacheTarget, aws_target, local_target

INJECTED_TARGET = "secret_cache_target"  # attribute the local pipeline sets on pytest's config


@dataclass
class LocalDeployment:
    emulator: Any
    outputs: dict[str, dict[str, str]]
    environment: str

    def target(self) -> SecretCacheTarget:
        return local_target(self.emulator, self.outputs, self.environment)


def on_aws() -> bool:
    return os.environ.get("SECRET_CACHE_TARGET", "local") == "aws"


@pytest.fixture(scope="package")
def local_deployment(synthesized_app: Any) -> Iterator[LocalDeployment]:
    from emulator import Emulator
    from pipeline.local_run import deploy_environment

    environment = synthesized_app.config.environments[0]
    with Emulator(region=environment.region) as emulator:
        outputs = deploy_environment(emulator, synthesized_app.outdir, environment.name)
        yield LocalDeployment(emulator, outputs, environment.name)


@pytest.fixture(scope="package")
def secret_cache_target(request: pytest.FixtureRequest) -> SecretCacheTarget:
    injected = getattr(request.config, INJECTED_TARGET, None)
    if injected is not None:
        return injected
    if on_aws():
        return aws_target()
    return request.getfixturevalue("local_deployment").target()
