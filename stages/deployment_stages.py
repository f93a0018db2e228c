"""One cdk.Stage per deployment step, each deploying one stack into one account.

``DEPLOYMENT_ORDER`` is the blog's order, and the only valid one:
TrustedAccountRl must exist before TrustingAccountRl's trust policy names it,
and the consumer is switched on only once the trusting side exists.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from aws_cdk import Environment, Stack, Stage
from constructs import Construct

from pipeline.config import DeploymentEnvironment
from stacks.trusted_account_configuration import TrustedAccountConfiguration
from stacks.trusted_account_resources import TrustedAccountResources
from stacks.trusting_account_resources import TrustingAccountResources


class _SingleStackStage(Stage):
    stack_class: ClassVar[type[Stack]]
    account: ClassVar[Literal["trusted", "trusting"]]

    def __init__(
        self, scope: Construct, construct_id: str, *, environment: DeploymentEnvironment, tooling_account: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        target = getattr(environment, self.account)
        name = self.stack_class.__name__
        self.stack = self.stack_class(
            self,
            name,
            environment=environment,  # type: ignore[call-arg]
            tooling_account=tooling_account,
            env=Environment(account=target.account, region=target.region),
            description=f"Secret cache ({environment.name}): {name} in the {self.account} account",
        )


class TrustedResources(_SingleStackStage):
    stack_class = TrustedAccountResources
    account = "trusted"


class TrustingResources(_SingleStackStage):
    stack_class = TrustingAccountResources
    account = "trusting"


class TrustedConfiguration(_SingleStackStage):
    stack_class = TrustedAccountConfiguration
    account = "trusted"


DEPLOYMENT_ORDER: tuple[type[_SingleStackStage], ...] = (TrustedResources, TrustingResources, TrustedConfiguration)


def stage_id(stage_class: type[Stage], environment: DeploymentEnvironment) -> str:
    """``TrustedResources-dev``: the pipeline's stage name and the assembly's directory."""
    return f"{stage_class.__name__}-{environment.name}"
