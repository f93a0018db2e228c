"""The CDK context of cdk.json, for the programs that run without the CDK CLI.

The app itself gets its context from the CLI (cdk.json merged with ``-c``); the tools
that need the configuration without synthesizing (the bootstrap commands, the tests)
read the same file here, and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from project.config import CONTEXT_KEYS, ConfigError, ProjectConfig, load_config
from project.paths import CDK_JSON


def cdk_json_context(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of cdk.json, as `cdk synth` hands it to the app."""
    context: dict[str, Any] = json.loads(cdk_json.read_text())["context"]
    return context


def config_from_context(context: Mapping[str, Any]) -> ProjectConfig:
    """The project's keys of a CDK context, validated (``ConfigError`` on a bad value)."""
    return load_config({key: context.get(key) for key in CONTEXT_KEYS})


def config_from_cdk_json(cdk_json: Path = CDK_JSON) -> ProjectConfig:
    return config_from_context(cdk_json_context(cdk_json))


def keys_not_in_cdk_json(config: ProjectConfig, cdk_json: Path = CDK_JSON) -> list[str]:
    """The project's context keys on which ``config`` (built from the CLI's context, cdk.json
    merged with ``-c``) differs from the committed cdk.json. Compared as validated values,
    so a ``-c`` that only repeats cdk.json differs in nothing."""
    try:
        committed = config_from_cdk_json(cdk_json).model_dump(by_alias=True)
    except ConfigError:
        committed = {}  # cdk.json alone is invalid: whatever the run sets comes from elsewhere
    effective = config.model_dump(by_alias=True)
    return [key for key in CONTEXT_KEYS if effective.get(key) != committed.get(key)]
