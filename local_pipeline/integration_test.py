"""The integration test stage: the pipeline's test module, against a target handed in
as a pytest plugin, its output kept out of the progress display."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from integration_target import SecretCacheTarget, TargetPlugin
from local_pipeline.report import StageFailed, count_tests, junit_failures
from project.paths import PROJECT_ROOT

# The module the pipeline's IntegrationTest step runs (pipeline/steps.py).
INTEGRATION_TEST_MODULE = PROJECT_ROOT / "tests" / "integration" / "test_secret_cache.py"


def warm_imports() -> None:
    """Import what pytest.main loads at its start (pytest and its default plugins): `make local`
    calls this while Node synthesizes, and its IntegrationTest step then finds them loaded."""
    import importlib

    from _pytest.config import default_plugins

    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")


def run_integration_test(target: SecretCacheTarget, *, junit: Path, log: Path, suite_name: str) -> str:
    """Run the module against ``target``; its one-line result, or StageFailed naming each failure."""
    import pytest

    junit.parent.mkdir(parents=True, exist_ok=True)
    # As it ends, pytest collects garbage several passes over (its unraisable-exception
    # check): here that is the whole emulator's heap, ~0.4 s a pass, 1 s of a local run.
    # What lived before the module ran is set aside from those passes, and handed back.
    gc.freeze()
    with open(log, "w") as output, _redirect_fds(output):
        try:
            code = pytest.main(
                [
                    str(INTEGRATION_TEST_MODULE),
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={junit}",
                    "-o",
                    f"junit_suite_name={suite_name}",
                ],
                plugins=[TargetPlugin(target)],
            )
        finally:
            gc.unfreeze()
    if code != 0:
        failures = junit_failures(junit) if junit.is_file() else []
        reason = "\n".join(failures) or f"pytest exited {code}"
        raise StageFailed(f"{reason}\n(full output: {_shown(log)})")
    return f"{count_tests(junit)} tests passed; {_shown(junit)}"


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(PROJECT_ROOT)
    except ValueError:
        return path


@contextmanager
def _redirect_fds(output: IO[str]) -> Iterator[None]:
    """pytest prints to the process's stdout/stderr: send that to the log, keep the display clean."""
    saved = os.dup(1), os.dup(2)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
