"""The app's entry point: a bad configuration, or a deployable pipeline whose configuration
is not all in the committed cdk.json, stops synth with one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from project.context import cdk_json_context as default_context
from project.context import config_from_context
from project.paths import PROJECT_ROOT
from tests.helpers import without_source

SOURCE = {"repository": "acme/secret-cache", "connection-arn": "arn:aws:codeconnections:us-east-1:222222222222:connection/0a1b2c3d"}


def _run_app(context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    # The real entry point, in a fresh process, with context handed over as the CDK CLI does
    # (cdk.json merged with -c); it must stop before writing anything.
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "pipeline_app.py")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent-never-written"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_invalid_configuration_exits_non_zero_with_one_line_on_stderr():
    context = default_context()
    context["environments"][0]["trusted"]["account"] = "12345"
    result = _run_app(context)
    assert result.returncode == 2
    assert _stderr_lines(result) == ["invalid configuration: environments[0].trusted.account = '12345': must be a 12-digit AWS account ID"]


def test_a_deployable_pipeline_configured_with_c_only_is_refused_naming_the_keys():
    # `cdk deploy -c repository=... -c connection-arn=...`: the first self-mutation would
    # synthesize from cdk.json, which has no source, and redeploy a pipeline without one.
    result = _run_app({**default_context(), **SOURCE})
    assert result.returncode == 2
    assert _stderr_lines(result) == [
        "context key(s) repository, connection-arn given with -c differ from cdk.json: the pipeline's Synth reads only "
        "the committed cdk.json, so a self-mutation would drop them; commit them to cdk.json instead"
    ]


def test_without_a_source_c_stays_free_for_local_experiments():
    from pipeline_app import uncommitted_context

    # Such a pipeline refuses to deploy anyway (its template carries a rule that cannot hold).
    context = {**without_source(default_context()), "notification-email": "ops@example.com"}
    context["environments"] = [{**context["environments"][0], "name": "qa"}]
    assert uncommitted_context(config_from_context(context)) is None


def test_with_a_source_every_key_given_with_c_is_named():
    from pipeline_app import uncommitted_context

    context = {**default_context(), **SOURCE, "branch": "release", "tooling": {"account": "555555555555", "region": "us-east-1"}}
    refusal = uncommitted_context(config_from_context(context))
    assert refusal is not None
    assert refusal.startswith("context key(s) tooling, repository, branch, connection-arn given with -c differ from cdk.json")
