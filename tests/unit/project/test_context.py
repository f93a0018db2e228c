"""project/context.py: which project keys of the CLI's context the committed cdk.json lacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from project.context import cdk_json_context, config_from_context, keys_not_in_cdk_json

SOURCE = {"repository": "acme/secret-cache", "connection-arn": "arn:aws:codeconnections:us-east-1:222222222222:connection/0a1b2c3d"}


def _cdk_json(tmp_path: Path, context: dict[str, Any]) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "true", "context": context}))
    return path


def test_cdk_json_alone_differs_in_nothing():
    assert keys_not_in_cdk_json(config_from_context(cdk_json_context())) == []


def test_values_are_compared_as_validated_not_as_written(tmp_path):
    committed = {**cdk_json_context(), **SOURCE}
    cdk_json = _cdk_json(tmp_path, committed)
    # -c hands over strings: the same environments as JSON text, with other spacing, are no change.
    given = {**committed, "environments": json.dumps(committed["environments"], indent=4)}
    assert keys_not_in_cdk_json(config_from_context(given), cdk_json) == []
    given["environments"] = json.dumps([{**committed["environments"][0], "cacheTtlSeconds": 60}])
    assert keys_not_in_cdk_json(config_from_context(given), cdk_json) == ["environments"]


def test_against_an_invalid_cdk_json_every_key_the_run_sets_differs(tmp_path):
    cdk_json = _cdk_json(tmp_path, {"environments": "not a list"})
    given = {**cdk_json_context(), **SOURCE}
    assert keys_not_in_cdk_json(config_from_context(given), cdk_json) == ["environments", "repository", "branch", "connection-arn"]
