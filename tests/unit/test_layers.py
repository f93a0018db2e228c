"""The one-way layers of .importlinter hold, and bite: a planted back-import breaks them.

`make lint` runs import-linter over the real tree; here it runs over copies of the
product packages with one import planted, and must name the broken contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from project.paths import PROJECT_ROOT

# import-linter's command, run by this interpreter (not its console script, which names the
# interpreter by the path it was installed at: a build's cached .venv comes back elsewhere).
LINT_IMPORTS = (sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())")
PACKAGES = (
    "local_pipeline",
    "pipeline",
    "emulator",
    "integration_target",
    "stages",
    "stacks",
    "project",
    "lambda_src",
    "policy_checks",
    "tests",
)


def test_importing_the_local_run_does_not_start_the_cdk():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, local_pipeline.run, local_pipeline.bench, pipeline.bootstrap, pipeline.audit; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'jsii', 'constructs', 'cdk_nag'}))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def _copy_of_the_tree(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "fixtures", "*.json")
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, destination / package, ignore=ignore)
    shutil.copy(PROJECT_ROOT / "pipeline_app.py", destination)
    shutil.copy(PROJECT_ROOT / ".importlinter", destination)
    return destination


LAYERS = "Layers: the local run on top"
NO_CDK = "never load the CDK"
NO_TESTS = "No product module imports the tests"
ELSEWHERE = "Code that runs elsewhere"
APP_ON_TOP = "Nothing imports the CDK app"


def _verdicts(report: str) -> dict[str, str]:
    """{contract name: KEPT | BROKEN}, from lint-imports' listing."""
    listing = report.split("dependencies.", 1)[1].split("Contracts:", 1)[0].strip(" -")
    parts = re.split(r"\s(KEPT|BROKEN)\b", listing)
    return {name.strip(" -"): verdict for name, verdict in zip(parts[0::2], parts[1::2], strict=False)}


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("stacks/naming.py", "import local_pipeline.run", {LAYERS}),
        ("emulator/policy_evaluation.py", "import pipeline.audit", {LAYERS}),
        ("project/config.py", "import aws_cdk", {NO_CDK}),
        ("local_pipeline/report.py", "import stacks.naming", {NO_CDK}),
        # tests.helpers synthesizes the app: the emulator would reach the app and the CDK too.
        ("emulator/core.py", "from tests.helpers import SynthesizedApp", {NO_TESTS, NO_CDK, APP_ON_TOP}),
        ("lambda_src/cache_secret/logic.py", "import project.config", {ELSEWHERE}),
        ("pipeline/pipeline_stack.py", "import pipeline_app", {APP_ON_TOP}),
    ],
)
def test_a_planted_back_import_breaks_its_contract(tmp_path, module, planted, broken):
    tree = _copy_of_the_tree(tmp_path)
    source = tree / module
    source.write_text(source.read_text() + f"\n{planted}  # planted\n")
    result = subprocess.run(
        [*LINT_IMPORTS, "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    report = " ".join(result.stdout.split())  # import-linter wraps long contract names
    assert result.returncode == 1, report
    verdicts = _verdicts(report)
    assert len(verdicts) == 5, verdicts
    assert {name for name, verdict in verdicts.items() if verdict == "BROKEN"} == {
        name for name in verdicts if any(part in name for part in broken)
    }
