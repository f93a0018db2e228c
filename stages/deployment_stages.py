"""One cdk.Stage per deployment stage, each deploying one stack into one account.

Their names, order and accounts come from ``project.deployment_order`` (why that order
is the only valid one is written there); this module only attaches a stack class to
each. ``STAGE_CLASSES`` follows ``DEPLOYMENT_ORDER``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aws_cdk import Environment, Stack, Stage
from constructs import Construct

from project.config import DeploymentEnvironment
from project.deployment_order import (
    DEPLOYMENT_ORDER,
    TRUSTED_CONFIGURATION,
    TRUSTED_RESOURCES,
    TRUSTING_RESOURCES,
    DeploymentStage,
)
from stacks.trusted_account_configuration import TrustedAccountConfiguration
from stacks.trusted_account_resources import TrustedAccountResources
from stacks.trusting_account_resources import TrustingAccountResources


class _SingleStackStage(Stage):
    deployment_stage: ClassVar[DeploymentStage]
    stack_class: ClassVar[type[Stack]]

    def __init__(self, scope: Construct, *, environment: DeploymentEnvironment, tooling_account: str, **kwargs: Any) -> None:
        super().__init__(scope, self.deployment_stage.id(environment.name), **kwargs)
        side = self.deployment_stage.side
        target = getattr(environment, side)
        name = self.stack_class.__name__
        self.stack = self.stack_class(
            self,
            name,
            environment=environment,  # type: ignore[call-arg]  # each of our three stacks takes it; stack_class is typed as their base
            tooling_account=tooling_account,
            env=Environment(account=target.account, region=target.region),
            description=f"Secret cache ({environment.name}): {name} in the {side} account",
        )


class TrustedResources(_SingleStackStage):
    deployment_stage = TRUSTED_RESOURCES
    stack_class = TrustedAccountResources


class TrustingResources(_SingleStackStage):
    deployment_stage = TRUSTING_RESOURCES
    stack_class = TrustingAccountResources


class TrustedConfiguration(_SingleStackStage):
    deployment_stage = TRUSTED_CONFIGURATION
    stack_class = TrustedAccountConfiguration


_BY_STAGE = {stage_class.deployment_stage: stage_class for stage_class in (TrustedResources, TrustingResources, TrustedConfiguration)}
STAGE_CLASSES: tuple[type[_SingleStackStage], ...] = tuple(_BY_STAGE[stage] for stage in DEPLOYMENT_ORDER)
