#!/usr/bin/env python3
"""The CDK app: load the configuration once, build the pipeline stack, synthesize.

The pipeline stack (tooling account) holds every environment's stages; `cdk synth`
writes them as nested cloud assemblies, which the audit and the local run read too.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from pipeline.pipeline_stack import PipelineStack
from project.config import CONTEXT_KEYS, ConfigError, ProjectConfig, load_config
from project.context import keys_not_in_cdk_json
from project.deployment_order import PIPELINE_NAME


def app_config(app: cdk.App) -> ProjectConfig:
    """The configuration from the app's context; raises ConfigError."""
    return load_config({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})


def build_app(app: cdk.App, config: ProjectConfig | None = None) -> ProjectConfig:
    """Everything but synth; raises ConfigError before any construct exists."""
    config = config or app_config(app)
    tooling = config.tooling_environment
    PipelineStack(
        app,
        PIPELINE_NAME,
        config=config,
        env=cdk.Environment(account=tooling.account, region=tooling.region),
        description="Secret cache: the self-mutating pipeline that deploys every environment",
    )
    # Every finding fails synth unless acknowledged, one by one, with a reason, where it occurs.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return config


# The CDK CLI tells the app to leave validation reports to it, and then reports a
# cdk-nag violation nowhere and exits 0. After the CLI's context (post-CLI) we make
# the app itself fail: in-memory mode makes app.synth() raise with the report.
FAIL_ON_VALIDATION = {"@aws-cdk/core:failSynthOnValidationErrors": True, "@aws-cdk/core:appMode": "inmemory"}


def uncommitted_context(config: ProjectConfig) -> str | None:
    """Why this run must stop, if a deployable pipeline would carry context that cdk.json lacks.

    The pipeline's Synth runs `make synth` on the committed cdk.json: a key given only with
    ``-c`` at `cdk deploy` would be gone at the first self-mutation, which would then redeploy
    the pipeline without it. A pipeline without a source refuses to deploy anyway, so there
    ``-c`` stays free for local experiments."""
    keys = keys_not_in_cdk_json(config)
    if not keys or config.missing_source_keys():
        return None
    return (
        f"context key(s) {', '.join(keys)} given with -c differ from cdk.json: the pipeline's Synth reads only the "
        "committed cdk.json, so a self-mutation would drop them; commit them to cdk.json instead"
    )


def main() -> int:
    app = cdk.App(post_cli_context=FAIL_ON_VALIDATION)
    try:
        config = app_config(app)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    refusal = uncommitted_context(config)
    if refusal:  # before any construct: nothing is bundled or written for a refused run
        print(refusal, file=sys.stderr)
        return 2
    build_app(app, config)
    try:
        app.synth()
    except RuntimeError as error:  # jsii re-raises the CDK's ValidationError as RuntimeError
        if "ValidationFailed" not in str(error) and "Validation failed" not in str(error):
            raise
        print(str(error), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
