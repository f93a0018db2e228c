"""Reading the environments and stages of a cloud assembly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.bootstrap import commands
from project.assembly import StackArtifact, read_stacks
from project.config import load_config


def test_environments_come_from_the_assembly_in_order(synthesized_app, configured_app):
    from local_pipeline.deployment import environments_in

    assert environments_in(read_stacks(synthesized_app.outdir)) == ["dev"]
    assert environments_in(read_stacks(configured_app.outdir)) == [env.name for env in configured_app.config.environments]


def test_a_stage_missing_from_the_assembly_is_named(synthesized_app):
    from local_pipeline.deployment import MissingStage, stage_stacks

    with pytest.raises(MissingStage, match="no stage TrustedResources-qa: synthesize it first"):
        stage_stacks(read_stacks(synthesized_app.outdir), "TrustedResources-qa")


class _RecordingAccounts:
    """Stands in for the emulator: what each `cdk bootstrap` was given."""

    def __init__(self) -> None:
        self.bootstrapped: dict[tuple[str, str], tuple[list[str], int]] = {}

    def bootstrap(self, account, region, *, template, trusted_accounts, execution_policies) -> None:
        self.bootstrapped[(account, region)] = (list(trusted_accounts), len(json.dumps(execution_policies)))


def _stack(stage: str, account: str, region: str) -> StackArtifact:
    return StackArtifact(f"{stage or 'Pipeline'}-{region}", f"{stage or 'Pipeline'}", account, region, Path("t.json"), (), stage)


def test_the_accounts_are_bootstrapped_as_make_bootstrap_commands_prints_them():
    """An environment in the tooling account's other region is a target like any other:
    it trusts the tooling account and gets the targets' policy, as `make bootstrap-commands`
    prints it; the pipeline's own account and region get the tooling policy and trust none.
    A bootstrap is per account and region, `--trust` naming the accounts that may deploy
    into it (AWS CDK Developer Guide, "AWS CDK bootstrapping", and the CDK Pipelines
    README, "CDK Environment Bootstrapping")."""
    from local_pipeline.deployment import bootstrap_accounts

    stacks = [
        _stack("", "222222222222", "us-east-1"),
        _stack("TrustedResources-dev", "111111111111", "eu-west-1"),
        _stack("TrustingResources-dev", "222222222222", "eu-west-1"),
    ]
    recording = _RecordingAccounts()
    assert bootstrap_accounts(recording, stacks) == "222222222222"
    config = load_config(
        {
            "environments": [
                {
                    "name": "dev",
                    "trusted": {"account": "111111111111", "region": "eu-west-1"},
                    "trusting": {"account": "222222222222", "region": "eu-west-1"},
                }
            ],
            "tooling": {"account": "222222222222", "region": "us-east-1"},
        }
    )
    printed = "\n".join(commands(config))
    for (account, region), (trusted, _) in recording.bootstrapped.items():
        line = next(line for line in printed.splitlines() if line.startswith(f"npx cdk bootstrap aws://{account}/{region} "))
        assert ("--trust 222222222222" in line) == (trusted == ["222222222222"]), line
    assert recording.bootstrapped[("222222222222", "eu-west-1")][0] == ["222222222222"]
    assert recording.bootstrapped[("222222222222", "us-east-1")][0] == []
    tooling_policy = recording.bootstrapped[("222222222222", "us-east-1")][1]
    assert recording.bootstrapped[("222222222222", "eu-west-1")][1] != tooling_policy
