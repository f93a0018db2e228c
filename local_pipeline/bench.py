"""`make bench`: what `make local`, `make test` and `git push local` cost, against a bare synth.

Each figure is the wall time of a command as a user runs it, start-up and exit included:
`make local` (``python -m local_pipeline``), with its steps from the record it writes;
`make test`; the bare `cdk synth`, three times (its median is the yardstick: it varies
by a second from one run to the next); the median consumer execution with the secret in
the cache (hit) and not (miss); 25 and 150 consumers at once through the kept-up service
(``concurrency``); two pushes through a service of their own (``push_bench``). Last,
each on its own line: ``local/synth ratio``, ``test/synth ratio`` and ``push/synth
ratio`` (the second, warm push, from push to Succeeded).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from emulator import Emulator
from local_pipeline.concurrency import Concurrency, concurrent_consumers
from local_pipeline.deployment import deploy_environment, environments_in
from local_pipeline.keep_up import served
from local_pipeline.push_bench import PushBenchError, push_seconds
from local_pipeline.synth import cdk_synth
from project.assembly import read_stacks
from project.paths import ASSEMBLY, PROJECT_ROOT

EXECUTIONS = 15
SYNTHS = 3  # the bare synth varies by a second from one run to the next: its median
CONCURRENT = (25, 150)


def bare_synth_seconds() -> float:
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        cdk_synth(Path(outdir)).check_returncode()
        return time.perf_counter() - started


def consumer_figures(assembly: Path) -> tuple[float, float, list[Concurrency]]:
    """Median seconds of one consumer execution, cache hit and cache miss; then, the cache
    warm, each of CONCURRENT's counts of consumers at once through the kept-up service."""
    stacks = read_stacks(assembly)
    with Emulator() as emulator:
        deployment = deploy_environment(emulator, stacks, environments_in(stacks)[0])
        target = deployment.target()

        def timed(clear_cache: bool) -> float:
            if clear_cache:
                deployment.clear_cache()
            started = time.perf_counter()
            result = target.run_consumer()
            assert result["status"] == "SUCCEEDED", result
            return time.perf_counter() - started

        timed(clear_cache=True)  # the first run imports the handler: not what a cache hit costs
        hits = [timed(clear_cache=False) for _ in range(EXECUTIONS)]
        misses = [timed(clear_cache=True) for _ in range(EXECUTIONS)]
        timed(clear_cache=False)  # the last miss cached the secret: the concurrent runs find it
        with served() as endpoint:
            concurrency = [concurrent_consumers(emulator, deployment, endpoint, count) for count in CONCURRENT]
    return statistics.median(hits), statistics.median(misses), concurrency


def _seconds(steps: list[dict[str, Any]], *, stage: str | None = None, action_prefix: str | None = None, action_suffix: str = "") -> float:
    return float(
        sum(
            step["seconds"]
            for step in steps
            if (stage is None or step["stage"] == stage)
            and (action_prefix is None or step["action"].startswith(action_prefix))
            and step["action"].endswith(action_suffix)
        )
    )


def timed_command(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The wall time of ``command`` run from the project's root, as a user runs it."""
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, completed


def local_run() -> tuple[float, list[dict[str, Any]]]:
    """`make local`'s own command, timed whole (start-up and exit included); its steps, from
    the record it wrote."""
    seconds, completed = timed_command([sys.executable, "-m", "local_pipeline"])
    passed = re.search(r"local pipeline passed in [\d.]+ s; its record: (\S+)/", completed.stdout)
    if completed.returncode != 0 or passed is None:
        raise BenchError(f"the local run failed:\n{completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    record = json.loads((PROJECT_ROOT / passed[1] / "run.json").read_text())
    return seconds, record["actions"]


def test_suite_seconds() -> float:
    """`make test`, timed whole: what a user waits for."""
    seconds, completed = timed_command(["make", "--no-print-directory", "test"])
    if completed.returncode != 0:
        raise BenchError(f"make test failed:\n{completed.stdout[-3000:]}")
    return seconds


class BenchError(Exception):
    """A measured command failed: no figures."""


def main() -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        synths = [bare_synth_seconds() for _ in range(SYNTHS)]
        local_seconds, steps = local_run()
        test_seconds = test_suite_seconds()
        hit, miss, concurrency = consumer_figures(ASSEMBLY)
        first_push, second_push = push_seconds()
    except (BenchError, PushBenchError) as error:
        console.print(f"bench: {error}", markup=False)
        return 1
    synth = statistics.median(synths)
    print(f"local run, synth the working tree:   {_seconds(steps, action_prefix='synth the working tree'):6.2f} s")
    print(f"local run, deploy the pipeline:      {_seconds(steps, action_prefix='deploy the pipeline'):6.2f} s")
    print(f"local run, Build/Synth (the audit):  {_seconds(steps, stage='Build'):6.2f} s")
    print(f"local run, self-mutation and assets: {_seconds(steps, stage='UpdatePipeline') + _seconds(steps, stage='Assets'):6.2f} s")
    deploy = _seconds(steps, action_suffix="Prepare") + _seconds(steps, action_suffix="Deploy")
    print(f"local run, change sets:              {deploy:6.2f} s")
    print(f"local run, integration test:         {_seconds(steps, action_prefix='IntegrationTest'):6.2f} s")
    print(f"make local, the whole command:       {local_seconds:6.2f} s")
    print(f"make test, the whole command:        {test_seconds:6.2f} s")
    print(f"bare cdk synth, median of {SYNTHS}:        {synth:6.2f} s  ({', '.join(f'{s:.2f}' for s in synths)})")
    print(f"consumer execution, median of {EXECUTIONS}: cache hit {hit * 1000:.0f} ms, cache miss {miss * 1000:.0f} ms")
    for figures in concurrency:
        print(figures.line())
        for failure in figures.failed[:3]:
            print(f"  failed: {failure.status} {failure.error}: {failure.cause}")
    print(f"git push local, first push (cold build caches): {first_push:6.1f} s")
    print(f"git push local, second push (warm caches):      {second_push:6.1f} s")
    print(f"local/synth ratio: {local_seconds / synth:.2f}")
    print(f"test/synth ratio: {test_seconds / synth:.2f}")
    print(f"push/synth ratio: {second_push / synth:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
