"""The IntegrationTest step installs requirements-integration.txt, which holds exactly what the
integration test imports, pinned as everywhere else."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata

from project.paths import PROJECT_ROOT
from tests.unit.stacks.template_helpers import render, resources

OTHER_REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
TEST_MODULE = "tests/integration/test_secret_cache.py"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(file_name: str) -> dict[str, str]:
    """``{package: version}`` of the ``name[extras]==version`` lines of a requirements file."""
    pins = {}
    for line in (PROJECT_ROOT / file_name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            pins[_canonical(match.group(1))] = match.group(3)
    return pins


def test_the_integration_requirements_pin_what_the_other_files_pin():
    from pipeline.steps import INTEGRATION_REQUIREMENTS

    ours = _pins(INTEGRATION_REQUIREMENTS)
    elsewhere = {package: version for file_name in OTHER_REQUIREMENTS for package, version in _pins(file_name).items()}
    assert ours, f"{INTEGRATION_REQUIREMENTS} pins nothing"
    assert {package: elsewhere.get(package) for package in ours} == ours


def test_the_integration_test_step_installs_only_the_integration_requirements(synthesized_app):
    from pipeline.steps import INTEGRATION_REQUIREMENTS

    (project,) = [
        p
        for logical_id, p in resources(synthesized_app.templates["SecretCachePipeline"], "AWS::CodeBuild::Project").items()
        if "IntegrationTest" in logical_id
    ]
    install = json.loads(render(project["Properties"]["Source"]["BuildSpec"]))["phases"]["install"]["commands"]
    assert [command for command in install if "pip install" in command] == [
        f".venv/bin/python -m pip install --quiet -r {INTEGRATION_REQUIREMENTS}"
    ]


def _with_dependencies(packages: set[str]) -> set[str]:
    """The packages and, from their installed metadata, everything they may pull in."""
    found, pending = set(), list(packages)
    while pending:
        package = pending.pop()
        if package in found:
            continue
        try:
            requirements = metadata.requires(package) or []
        except metadata.PackageNotFoundError:
            continue  # only for other Pythons (a marker), so not importable here either
        found.add(package)
        for requirement in requirements:
            if "extra ==" not in requirement:
                pending.append(_canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group(0)))
    return found


# Run in a fresh interpreter: any module of an installed distribution outside the allowed
# set fails to import, as it would in the step's venv, where it is not installed.
_COLLECT_WITH_ONLY = """
import importlib.metadata, json, re, sys
allowed = set(json.loads(sys.argv[1]))
owners = importlib.metadata.packages_distributions()
class OnlyAllowed:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in owners and not {re.sub(r"[-_.]+", "-", d).lower() for d in owners[top]} & allowed:
            raise ModuleNotFoundError(f"{top} is not installed by the IntegrationTest step ({owners[top]})")
sys.meta_path.insert(0, OnlyAllowed())
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[2]]))
"""


def test_the_integration_requirements_are_all_the_test_imports():
    from pipeline.steps import INTEGRATION_REQUIREMENTS

    # What `make test` cannot see: tests/conftest.py, tests/helpers.py and the packages they
    # load must not import the CDK, moto or anything else the step does not install.
    allowed = _with_dependencies(set(_pins(INTEGRATION_REQUIREMENTS)))
    collected = subprocess.run(
        [sys.executable, "-c", _COLLECT_WITH_ONLY, json.dumps(sorted(allowed)), TEST_MODULE],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SECRET_CACHE_TARGET": "aws", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]
    assert "2 tests collected" in collected.stdout


def test_the_synth_and_integration_builds_keep_their_installs(synthesized_app):
    """CodeBuild's local custom cache keeps the paths the buildspec lists from build to build:
    the virtual environments and node_modules are installed once, on AWS and on this machine;
    the audit's results by content (pipeline/audit_cache.py) are kept by the Synth build."""
    pipeline = synthesized_app.templates["SecretCachePipeline"]
    projects = [r["Properties"] for r in pipeline["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    cached = {}
    for project in projects:
        spec = json.loads(project["Source"]["BuildSpec"]) if project["Source"]["BuildSpec"].lstrip().startswith("{") else {}
        if "cache" in spec:
            assert project["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_CUSTOM_CACHE"]}
            cached[project["Description"].rsplit("/", 1)[-1]] = spec["cache"]["paths"]
    assert cached == {
        "Synth": [".venv/**/*", ".venv-audit/**/*", "node_modules/**/*", ".audit-cache/**/*"],
        "IntegrationTest-dev": [".venv/**/*"],
        "ChangeSummary-TrustingResources-dev": [".venv/**/*"],
        "TrustedAccountConfiguration.ChangeSummary-TrustedConfiguration-dev": [".venv/**/*"],
    }
