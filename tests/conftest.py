"""Shared fixtures. The CDK app is synthesized once per test session (Node/jsii is slow)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# The pinned Node (package.json) runs jsii here as under `make`: no end-of-life noise,
# same runtime as `npx cdk synth`.
_PINNED_NODE_BIN = PROJECT_ROOT / "node_modules" / ".bin"
if _PINNED_NODE_BIN.is_dir():
    os.environ["PATH"] = f"{_PINNED_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def default_context() -> dict[str, Any]:
    """The context of cdk.json, as `cdk synth` hands it to the app."""
    return json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]


@dataclass(frozen=True)
class SynthesizedApp:
    """Templates of one synth, keyed by stage id (``TrustedResources-dev``) or, for the
    pipeline stack, by its id (``SecretCachePipeline``)."""

    outdir: Path
    templates: Mapping[str, dict[str, Any]]
    config: Any

    @property
    def application_templates(self) -> dict[str, dict[str, Any]]:
        """The stage stacks only (what deploys into the two accounts), not the pipeline."""
        from pipeline.assembly import read_stacks

        stages = {stack.stage for stack in read_stacks(self.outdir) if stack.stage}
        return {name: template for name, template in self.templates.items() if name in stages}


_WANTS_AUDIT = False
_BACKGROUND = ThreadPoolExecutor(max_workers=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The shared audit (checkov, ~5 s) starts in the background right after synth, while
    # other tests run, but only in a session that has a test for it.
    global _WANTS_AUDIT
    _WANTS_AUDIT = any("audit_run" in getattr(item, "fixturenames", ()) for item in items)


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    import aws_cdk as cdk

    from pipeline_app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context=default_context())
    config = build_app(app)
    app.synth()
    from pipeline.assembly import read_stacks

    # Stage stacks by stage id ("TrustedResources-dev"), top-level stacks by their id.
    templates = {stack.stage or stack.artifact_id: stack.template() for stack in read_stacks(outdir)}
    synthesized = SynthesizedApp(outdir=outdir, templates=templates, config=config)
    if _WANTS_AUDIT:
        from tests.audit_run import run_shared_audit

        _AUDIT_RUNS.append(_BACKGROUND.submit(run_shared_audit, outdir, tmp_path_factory.mktemp("audit")))
    return synthesized


_AUDIT_RUNS: list[Future[Any]] = []


@pytest.fixture(scope="session")
def audit_run(synthesized_app: SynthesizedApp) -> Any:
    """The shared audit run (tests/audit_run.py), started when the app was synthesized."""
    (running,) = _AUDIT_RUNS
    return running.result(timeout=600)


@pytest.fixture(scope="session")
def dev(synthesized_app: SynthesizedApp) -> Any:
    """The default configuration's one environment."""
    return synthesized_app.config.environments[0]
