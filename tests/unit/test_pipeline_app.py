"""The app's entry point: a bad configuration stops synth with one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from project.context import cdk_json_context as default_context
from project.paths import PROJECT_ROOT


def test_invalid_configuration_exits_non_zero_with_one_line_on_stderr():
    # The real entry point, in a fresh process, with context handed over as the CDK CLI does.
    context = default_context()
    context["environments"][0]["trusted"]["account"] = "12345"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "pipeline_app.py")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent-never-written"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["invalid configuration: environments[0].trusted.account = '12345': must be a 12-digit AWS account ID"]
