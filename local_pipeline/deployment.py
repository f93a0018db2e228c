"""Deploying a cloud assembly's stages into the emulated accounts, and what a deployed
environment offers: its names from the stack outputs, clients in its accounts, the
integration test's target.

The region is the deployed stacks': an environment in eu-west-1 is deployed, run and
read in eu-west-1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator import Emulator
from integration_target import SecretCacheTarget
from local_pipeline.synth import bootstrap_template
from pipeline.bootstrap import SUPPORT_STACK_PREFIX, named_execution_policies
from project.arns import account_of_arn, region_of_arn
from project.assembly import StackArtifact
from project.deployment_order import (
    DEPLOYMENT_ORDER,
    TRUSTED_CONFIGURATION,
    TRUSTED_RESOURCES,
    TRUSTING_RESOURCES,
    DeploymentStage,
    deployment_stage_ids,
)


class MissingStage(Exception):
    """The cloud assembly lacks a stage the run needs."""


def environments_in(stacks: Sequence[StackArtifact]) -> list[str]:
    """The environment names of a cloud assembly's stacks, in the order of their stages."""
    first = f"{DEPLOYMENT_ORDER[0].name}-"
    return [stack.stage.removeprefix(first) for stack in stacks if stack.stage.startswith(first)]


def stage_stacks(stacks: Sequence[StackArtifact], stage_id: str) -> list[StackArtifact]:
    found = [stack for stack in stacks if stack.stage == stage_id]
    if not found:
        raise MissingStage(f"the cloud assembly has no stage {stage_id}: synthesize it first")
    return found


def tooling_account(stacks: Sequence[StackArtifact]) -> str:
    """The pipeline's account: where the top-level stack (the pipeline) deploys."""
    accounts = {stack.account for stack in stacks if not stack.stage}
    if len(accounts) != 1:
        raise MissingStage(f"the cloud assembly has {len(accounts)} top-level stacks' accounts, not one pipeline account")
    return accounts.pop()


def bootstrap_accounts(emulator: Emulator, stacks: Sequence[StackArtifact]) -> str:
    """`cdk bootstrap` in every account and region the assembly deploys to, as
    `make bootstrap-commands` prints it: the project's scoped execution policies, the
    deployment accounts trusting the tooling account. Returns the tooling account."""
    tooling = tooling_account(stacks)
    # The pipeline's own account and region: the top-level stack that is not a support stack.
    home = next((s.account, s.region) for s in stacks if not s.stage and not s.artifact_id.startswith(SUPPORT_STACK_PREFIX))
    # The pipeline's support stacks in other regions deploy through the pipeline region's roles.
    targets = sorted({(s.account, s.region) for s in stacks if s.stage} | {home})
    others = sorted({s.region for s in stacks if s.stage} - {home[1]})
    bootstrap_each(emulator, {target: target == home for target in targets}, tooling=tooling, replication_regions=others)
    return tooling


def bootstrap_each(
    emulator: Emulator, targets: Mapping[tuple[str, str], bool], *, tooling: str, replication_regions: Sequence[str] = ()
) -> None:
    """`cdk bootstrap` of each (account, region): is it the pipeline's own (``targets``' flag)?
    Every other one trusts the ``tooling`` account and gets its deployment policies, as
    `make bootstrap-commands` prints it, the tooling account's other regions included."""
    template = bootstrap_template()
    for (account, region), is_tooling in targets.items():
        emulator.bootstrap(
            account,
            region,
            template=template,
            trusted_accounts=[] if is_tooling else [tooling],
            execution_policies=named_execution_policies(
                account, region, tooling=is_tooling, replication_regions=replication_regions if is_tooling else ()
            ),
        )


def deploy_stage(emulator: Emulator, stacks: Sequence[StackArtifact], *, deployer_account: str) -> dict[str, str]:
    """Deploy one stage's stacks, in order, as the pipeline does from ``deployer_account``; their outputs."""
    outputs: dict[str, str] = {}
    for stack in stacks:
        outputs.update(emulator.deploy(stack, deployer_account=deployer_account))
    return outputs


@dataclass(frozen=True)
class LocalDeployment:
    """One environment, deployed into the emulated accounts."""

    emulator: Emulator
    environment_name: str
    outputs: Mapping[str, Mapping[str, str]]  # by stage id

    def _output(self, stage: DeploymentStage, key: str) -> str:
        return self.outputs[stage.id(self.environment_name)][key]

    @property
    def consumer_arn(self) -> str:
        return self._output(TRUSTED_RESOURCES, "ConsumerStateMachineArn")

    @property
    def secret_arn(self) -> str:
        return self._output(TRUSTING_RESOURCES, "SecretArn")

    @property
    def cache_table(self) -> str:
        return self._output(TRUSTING_RESOURCES, "CacheTableName")

    @property
    def configuration_parameter(self) -> str:
        return self._output(TRUSTED_CONFIGURATION, "ConfigurationParameterName")

    @property
    def trusted_account(self) -> str:
        return account_of_arn(self.consumer_arn)

    @property
    def trusting_account(self) -> str:
        return account_of_arn(self.secret_arn)

    @property
    def region(self) -> str:
        return region_of_arn(self.consumer_arn)

    def trusted(self, service: str) -> Any:
        """A client of the trusted account's administrator."""
        return self.emulator.client(service, self.trusted_account, self.region)

    def trusting(self, service: str) -> Any:
        """A client of the trusting account's administrator."""
        return self.emulator.client(service, self.trusting_account, self.region)

    def clear_cache(self) -> None:
        dynamodb = self.trusting("dynamodb")
        for item in dynamodb.scan(TableName=self.cache_table)["Items"]:
            dynamodb.delete_item(TableName=self.cache_table, Key={"SecretArn": item["SecretArn"]})

    def target(self) -> SecretCacheTarget:
        """The integration test's target: the consumer, and the secret read as the trusting
        account's administrator, by name, as the workflow asks for it (still right after
        the secret is re-created)."""
        secrets = self.trusting("secretsmanager")
        # SecretArn is a full ARN (the sample secret: name and Secrets Manager's "-XXXXXX"),
        # or a partial one (an existing secret, by name); names never end like the suffix.
        secret_name = re.sub(r"-[A-Za-z0-9]{6}$", "", self.secret_arn.split(":secret:", 1)[1])
        return SecretCacheTarget(
            name="local",
            consumer_arn=self.consumer_arn,
            stepfunctions=self.trusted("stepfunctions"),
            read_secret_value=lambda: secrets.get_secret_value(SecretId=secret_name)["SecretString"],
            deadline_seconds=30.0,
            poll_seconds=0.01,
            max_poll_seconds=0.05,
        )


def deployed_environment(emulator: Emulator, stacks: Sequence[StackArtifact], environment_name: str) -> LocalDeployment:
    """An environment the pipeline has deployed, read back: its stacks' outputs, by stage."""
    outputs: dict[str, dict[str, str]] = {}
    for stage_id in deployment_stage_ids(environment_name):
        outputs[stage_id] = {}
        for stack in stage_stacks(stacks, stage_id):
            outputs[stage_id] |= emulator.stack_outputs(stack)
    return LocalDeployment(emulator, environment_name, outputs)


def deploy_environment(emulator: Emulator, stacks: Sequence[StackArtifact], environment_name: str) -> LocalDeployment:
    """Every deployment stage of one environment, in order, without approvals."""
    tooling = bootstrap_accounts(emulator, stacks)
    outputs = {
        stage_id: deploy_stage(emulator, stage_stacks(stacks, stage_id), deployer_account=tooling)
        for stage_id in deployment_stage_ids(environment_name)
    }
    return LocalDeployment(emulator, environment_name, outputs)
