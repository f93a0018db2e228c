"""Helpers shared across the test tree (fixtures live in the conftest files, helpers here)."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project.assembly import read_stacks
from project.config import ProjectConfig
from project.context import cdk_json_context
from project.paths import PROJECT_ROOT

# The environments the suite synthesizes, whatever cdk.json lists. The product's tests
# must not depend on a team's own environments: adding one to cdk.json broke 62 tests in
# the pipeline's Synth build. A team's environments are checked where they are built:
# `make synth` (cdk-nag) and the audit, in that same Synth build.
SUITE_ENVIRONMENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "dev",
        "trusted": {"account": "111111111111", "region": "us-east-1"},
        "trusting": {"account": "222222222222", "region": "us-east-1"},
    },
)


def suite_context() -> dict[str, Any]:
    """cdk.json's context (its feature flags, branch, source) with the suite's environments
    and the default tooling account."""
    return {**cdk_json_context(), "environments": copy.deepcopy(list(SUITE_ENVIRONMENTS)), "tooling": None}


# The second synth's configuration: the source set, and a second environment without
# approvals. Both environments, and so the tooling account, are in eu-west-1: the local
# run must deploy and run an environment in its own region, not in a default one.
CONFIGURED_REGION = "eu-west-1"
CONFIGURED_SOURCE = {
    "repository": "acme/secret-cache",
    "branch": "release",
    "connection-arn": f"arn:aws:codeconnections:{CONFIGURED_REGION}:222222222222:connection/0a1b2c3d",
}


def without_source(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` with no pipeline source, whatever cdk.json sets (a team commits its own)."""
    return {key: value for key, value in context.items() if key not in ("repository", "connection-arn")}


def configured_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` (cdk.json's) with CONFIGURED_SOURCE, every environment moved to
    CONFIGURED_REGION, and the environment ``prod`` (accounts 333.../444..., no approvals)."""
    environments = [
        {**env, "trusted": {**env["trusted"], "region": CONFIGURED_REGION}, "trusting": {**env["trusting"], "region": CONFIGURED_REGION}}
        for env in context["environments"]
    ]
    environments.append(
        {
            "name": "prod",
            "trusted": {"account": "333333333333", "region": CONFIGURED_REGION},
            "trusting": {"account": "444444444444", "region": CONFIGURED_REGION},
            "approvals": "never",
        }
    )
    return {**context, **CONFIGURED_SOURCE, "environments": environments}


# Every option docs/configuration.md documents, in one configuration: a source, a notification
# address, and two environments, the second in another region than the tooling account
# (the first environment's trusting account), serving several secrets, some under
# customer managed keys, with its own cache TTL, no approvals and a consumer secret of its own.
VARIANT_REGION = "us-west-2"
VARIANT_KEY = f"arn:aws:kms:{VARIANT_REGION}:444444444444:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def documented_variants_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` (the suite's) with every documented option set (see VARIANT_REGION)."""
    prod = {
        "name": "prod",
        "trusted": {"account": "333333333333", "region": VARIANT_REGION},
        "trusting": {"account": "444444444444", "region": VARIANT_REGION},
        "cacheTtlSeconds": 900,
        "approvals": "never",
        "secrets": [
            {"name": "secret-cache/prod/secret"},
            {"name": "team/payments/api-key", "kmsKeyArn": VARIANT_KEY},
            {"name": "team/payments/db-password", "kmsKeyArn": VARIANT_KEY},
            {"name": "team/shared/token"},
        ],
        "consumerSecret": "team/payments/api-key",
    }
    return {
        **context,
        **CONFIGURED_SOURCE,
        "connection-arn": CONFIGURED_SOURCE["connection-arn"].replace(CONFIGURED_REGION, "us-east-1"),
        "notification-email": "platform-team@example.com",
        "environments": [*copy.deepcopy(context["environments"]), prod],
    }


@dataclass(frozen=True)
class SynthesizedApp:
    """Templates of one synth, keyed by stage id (``TrustedResources-dev``) or, for the
    pipeline stack, by its id (``SecretCachePipeline``)."""

    outdir: Path
    templates: Mapping[str, dict[str, Any]]
    config: ProjectConfig

    @property
    def application_templates(self) -> dict[str, dict[str, Any]]:
        """The stage stacks only (what deploys into the two accounts), not the pipeline."""
        stages = {stack.stage for stack in read_stacks(self.outdir) if stack.stage}
        return {name: template for name, template in self.templates.items() if name in stages}


# What the CDK CLI adds to the context of every `cdk synth`: resource path and asset
# metadata and the CDKMetadata resource. With them the templates under test are those that
# `make synth` and the pipeline write (cfn-lint, for one, tells a CDK template by them).
CLI_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True, "aws:cdk:version-reporting": True}


def synthesize(outdir: Path, context: Mapping[str, Any]) -> SynthesizedApp:
    """The app, synthesized in process (cdk-nag included) with ``context``, as the CLI would."""
    import aws_cdk as cdk

    from pipeline_app import build_app

    app = cdk.App(outdir=str(outdir), context={**CLI_CONTEXT, **context})
    config = build_app(app)
    app.synth()
    # Stage stacks by stage id ("TrustedResources-dev"), top-level stacks by their id.
    templates = {stack.stage or stack.artifact_id: stack.template() for stack in read_stacks(outdir)}
    return SynthesizedApp(outdir=outdir, templates=templates, config=config)


def process_that_says_a_pid(script: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    """``script`` in a Python process of its own, from the project's root; with the process
    id its first line of output names (what it started, for the test to watch)."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())
