"""Session fixtures. The CDK app is synthesized once per test session (Node/jsii is slow),
and once more with the configured variant (tests/helpers.py) for the tests that need it."""

from __future__ import annotations

import gc
import os
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from project.config import DeploymentEnvironment
from project.paths import PROJECT_ROOT
from tests.helpers import SynthesizedApp, configured_context, documented_variants_context, suite_context, synthesize, without_source

T = TypeVar("T")

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


# The garbage collector, not the tests, was a fifth of each worker's CPU (~10 of ~40 CPU-s,
# measured with gc.callbacks): the emulator allocates fast, and each full collection
# rescans the ~300,000 objects that imports made. Collections are made rarer (a young
# generation of 20,000 objects, not 700) and what collection imported is frozen
# (gc module docs, gc.freeze: "ignore them in all the future collections"). Memory stays
# bounded: garbage is still collected, in larger batches.
gc.set_threshold(20_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


# The synthesized apps a session's tests need, by fixture name (collection says which).
_WANTED_APPS: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The shared audit (checkov, ~5 s) starts in the background right after synth, while
    # other tests run, but only in a session that has a test for it.
    global _WANTS_AUDIT
    fixtures = {name for item in items for name in getattr(item, "fixturenames", ())}
    _WANTS_AUDIT = "audit_run" in fixtures
    _WANTED_APPS.update(name for name in _SYNTHS if name in fixtures)


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every process of this test run sees: under pytest-xdist, the workers'
    base temporary folders share a parent (pytest-xdist docs, "Making session-scoped
    fixtures execute only once")."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], T]) -> T:
    """``produce(folder)``'s result, made by the first process of the run that asks for it;
    the others wait for it and read it back."""
    from filelock import FileLock  # a dev requirement: the IntegrationTest step installs none of them

    shared = _shared_folder(tmp_path_factory)
    result = shared / f"{name}.pickle"
    with FileLock(shared / f"{name}.lock"):
        if not result.is_file():
            try:
                outcome: Any = produce(shared / name)
            except Exception as error:  # the others fail with it at once, not by trying again one after another
                outcome = RuntimeError(f"{name} could not be made for this test run: {type(error).__name__}: {error}")
            result.write_bytes(pickle.dumps(outcome))
        made = pickle.loads(result.read_bytes())  # noqa: S301 (written by this test run)
    if isinstance(made, Exception):
        raise made
    return cast(T, made)


def _published_audit(assembly: Path, folder: Path) -> None:
    """The shared audit, run once, its result (or its failure) left for every process."""
    from tests.audit_run import run_shared_audit

    try:
        outcome: Any = run_shared_audit(assembly, folder)
    except Exception as error:  # every test that needs the audit fails with this
        outcome = RuntimeError(f"the shared audit run failed: {error!r}")
    written = folder.parent / "audit.pickle.partial"
    written.write_bytes(pickle.dumps(outcome))
    written.replace(folder.parent / "audit.pickle")


# Each app the suite synthesizes, by its fixture's name: the folder it is made in, and its context.
_SYNTHS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "synthesized_app": ("cdk.out", lambda: without_source(suite_context())),
    "configured_app": ("configured", lambda: configured_context(suite_context())),
    "variants_app": ("variants", lambda: documented_variants_context(suite_context())),
}


def _synthesize_wanted_apps(folder: Path) -> dict[str, SynthesizedApp]:
    """Every app the session needs, one after another in this process: one jsii kernel,
    whose first synth builds aws-cdk-lib's validation engine (~3.5 CPU-s) for all of them,
    where two workers each synthesizing one paid it twice. The shared audit starts as soon
    as the suite's app is made."""
    apps = {}
    for fixture in _SYNTHS:
        if fixture not in _WANTED_APPS:
            continue
        name, context = _SYNTHS[fixture]
        apps[fixture] = synthesize(folder / name, context())
        if fixture == "synthesized_app" and _WANTS_AUDIT:
            _BACKGROUND.submit(_published_audit, apps[fixture].outdir, folder.parent / "audit")
    return apps


def _app(tmp_path_factory: pytest.TempPathFactory, fixture: str) -> SynthesizedApp:
    _WANTED_APPS.add(fixture)  # asked for outside a collected session (a plugin, a doctest): made all the same
    apps = _once_per_run(tmp_path_factory, "apps", _synthesize_wanted_apps)
    if fixture not in apps:
        raise RuntimeError(f"{fixture} was not synthesized: no collected test asked for it")
    return apps[fixture]


def pytest_sessionfinish() -> None:
    # This process may have started the shared audit that another one waits for: it must
    # not end before the audit has left its result.
    _BACKGROUND.shutdown(wait=True)


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The app as `make synth` builds it from cdk.json, with the suite's environments
    (tests/helpers.py) and without a source whatever cdk.json says (the tests of the
    refusal to deploy need it; ``configured_app`` has one). Synthesized once per test run,
    whatever the number of processes; the shared audit starts right after it."""
    return _app(tmp_path_factory, "synthesized_app")


@pytest.fixture(scope="session")
def configured_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The second synth: the source configured, two environments in eu-west-1 (tests/helpers.py)."""
    return _app(tmp_path_factory, "configured_app")


@pytest.fixture(scope="session")
def variants_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The third synth: every option docs/configuration.md documents (tests/helpers.py, VARIANT_REGION)."""
    return _app(tmp_path_factory, "variants_app")


@pytest.fixture(scope="session")
def audit_run(synthesized_app: SynthesizedApp, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shared audit run (tests/audit_run.py), started by the process that synthesized the app."""
    published = _shared_folder(tmp_path_factory) / "audit.pickle"
    deadline = time.monotonic() + 600
    while not published.is_file():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the shared audit run left no result in {published} within 600 s")
        time.sleep(0.1)
    outcome = pickle.loads(published.read_bytes())  # noqa: S301 (written by this test run)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@pytest.fixture(scope="session")
def dev(synthesized_app: SynthesizedApp) -> DeploymentEnvironment:
    """The default configuration's one environment."""
    return synthesized_app.config.environments[0]
