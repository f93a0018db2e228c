"""The deployment stages of an environment, in the only order that works, and their ids.

The blog's order: TrustedAccountRl must exist before TrustingAccountRl's trust policy
names it (IAM rejects a principal that does not exist), and the consumer is switched
on only once the trusting side exists. The integration test runs after the last stage.

This is the one place that spells stage names and ids: the CDK stages
(``stages.deployment_stages``), the pipeline, the bootstrap commands and the local
run all read them from here. It imports nothing of the CDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["trusted", "trusting"]

# The pipeline's stack, and the pipeline in it, in the tooling account.
PIPELINE_NAME = "SecretCachePipeline"
# While cdk.json names no source, the pipeline reads these placeholders, and its stack holds
# a rule that refuses any deployment. `make local`, whose source is the working tree, puts
# a local connection in place of this one and deploys the pipeline without the rule. The
# placeholder repository is named for what stands in for it here, the local repository: its
# name shows in the source artifact's name, which every build's input folder carries.
UNSET_REPOSITORY = "local/repository"
UNSET_CONNECTION = "arn:aws:codeconnections:us-east-1:000000000000:connection/unset"
SOURCE_RULE = "SourceConfigured"
# The Source action of such a pipeline is named for what stands in for the repository here.
UNSET_SOURCE_ACTION = "local"


@dataclass(frozen=True)
class DeploymentStage:
    name: str  # the cdk.Stage's class name and the pipeline stage's name, without the environment
    side: Side  # which account of the environment it deploys into

    def id(self, environment_name: str) -> str:
        """``TrustedResources-dev``: the pipeline's stage name and the nested assembly's id."""
        return f"{self.name}-{environment_name}"


TRUSTED_RESOURCES = DeploymentStage("TrustedResources", "trusted")
TRUSTING_RESOURCES = DeploymentStage("TrustingResources", "trusting")
TRUSTED_CONFIGURATION = DeploymentStage("TrustedConfiguration", "trusted")

DEPLOYMENT_ORDER: tuple[DeploymentStage, ...] = (TRUSTED_RESOURCES, TRUSTING_RESOURCES, TRUSTED_CONFIGURATION)

# The post-deployment step of the last stage.
INTEGRATION_TEST = "IntegrationTest"


def deployment_stage_ids(environment_name: str) -> list[str]:
    return [stage.id(environment_name) for stage in DEPLOYMENT_ORDER]


def integration_test_id(environment_name: str) -> str:
    return f"{INTEGRATION_TEST}-{environment_name}"


def environment_of_stage_id(stage_id: str) -> str | None:
    """``dev`` for ``TrustedResources-dev``; None if the id is no deployment stage's."""
    for stage in DEPLOYMENT_ORDER:
        if stage_id.startswith(f"{stage.name}-"):
            return stage_id.removeprefix(f"{stage.name}-")
    return None
