"""Where the integration tests run: a target handed in by a plugin (the local pipeline
run), real AWS (SECRET_CACHE_TARGET=aws), or, by default, this session's synthesized app
deployed into fresh emulated accounts for this package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from integration_target import SecretCacheTarget, aws_target, injected_target, on_aws
from tests.helpers import SynthesizedApp

if TYPE_CHECKING:  # the emulator (moto) loads only where the tests deploy locally
    from local_pipeline.deployment import LocalDeployment


@pytest.fixture(scope="package")
def local_deployment(synthesized_app: SynthesizedApp) -> Iterator[LocalDeployment]:
    from emulator import Emulator
    from local_pipeline.deployment import deploy_environment
    from project.assembly import read_stacks

    with Emulator() as emulator:
        yield deploy_environment(emulator, read_stacks(synthesized_app.outdir), synthesized_app.config.environments[0].name)


@pytest.fixture(scope="package")
def secret_cache_target(request: pytest.FixtureRequest) -> SecretCacheTarget:
    injected = injected_target(request.config)
    if injected is not None:
        return injected
    if on_aws():
        return aws_target()
    deployment: LocalDeployment = request.getfixturevalue("local_deployment")
    return deployment.target()
