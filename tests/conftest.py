"""Session fixtures. The CDK app is synthesized once per test session (Node/jsii is slow),
and once more with the configured variant (tests/helpers.py) for the tests that need it."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from project.config import DeploymentEnvironment
from project.paths import PROJECT_ROOT
from tests.helpers import SynthesizedApp, configured_context, suite_context, synthesize, without_source

# The suite emulates AWS in process. Run as a build of the pipeline (its Synth step, on
# this machine against the emulated accounts, or on AWS), the environment may hold an
# endpoint: the suite must never reach an account through it. Only the integration test
# run against real accounts (SECRET_CACHE_TARGET=aws) uses it.
if os.environ.get("SECRET_CACHE_TARGET") != "aws":
    # Only where calls go: the credentials may be moto's own, set by an emulator this very
    # process runs (`make local` runs the integration test module in process).
    for _name in ("AWS_ENDPOINT_URL", "AWS_DISABLE_HOST_PREFIX_INJECTION"):
        os.environ.pop(_name, None)

# The pinned Node (package.json) runs jsii here as under `make`: no end-of-life noise,
# same runtime as `npx cdk synth`.
_PINNED_NODE_BIN = PROJECT_ROOT / "node_modules" / ".bin"
if _PINNED_NODE_BIN.is_dir():
    os.environ["PATH"] = f"{_PINNED_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


_WANTS_AUDIT = False
_BACKGROUND = ThreadPoolExecutor(max_workers=1)
_AUDIT_RUNS: list[Future[Any]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The shared audit (checkov, ~5 s) starts in the background right after synth, while
    # other tests run, but only in a session that has a test for it.
    global _WANTS_AUDIT
    _WANTS_AUDIT = any("audit_run" in getattr(item, "fixturenames", ()) for item in items)


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The app as `make synth` builds it from cdk.json, with the suite's environments
    (tests/helpers.py) and without a source whatever cdk.json says (the tests of the
    refusal to deploy need it; ``configured_app`` has one)."""
    synthesized = synthesize(tmp_path_factory.mktemp("cdk.out"), without_source(suite_context()))
    if _WANTS_AUDIT:
        from tests.audit_run import run_shared_audit

        _AUDIT_RUNS.append(_BACKGROUND.submit(run_shared_audit, synthesized.outdir, tmp_path_factory.mktemp("audit")))
    return synthesized


@pytest.fixture(scope="session")
def configured_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The second synth: the source configured, two environments in eu-west-1 (tests/helpers.py)."""
    return synthesize(tmp_path_factory.mktemp("configured"), configured_context(suite_context()))


@pytest.fixture(scope="session")
def audit_run(synthesized_app: SynthesizedApp) -> Any:
    """The shared audit run (tests/audit_run.py), started when the app was synthesized."""
    (running,) = _AUDIT_RUNS
    return running.result(timeout=600)


@pytest.fixture(scope="session")
def dev(synthesized_app: SynthesizedApp) -> DeploymentEnvironment:
    """The default configuration's one environment."""
    return synthesized_app.config.environments[0]
