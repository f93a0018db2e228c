"""`make bench`: what `make local` and `git push local` cost, against one bare synth.

Prints the wall time of the parts of a local run (synth, the pipeline's deployment, the
audit, self-mutation and assets, change sets, integration test, total), one bare `cdk
synth` in the same run, the median consumer execution with the secret in the cache (hit)
and not (miss), two pushes through a service of their own (``push_bench``), and last,
each on its own line, ``local/synth ratio: X`` and ``push/synth ratio: X`` (the second,
warm push from push to Succeeded).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from emulator import Emulator
from local_pipeline.concurrency import Concurrency, concurrent_consumers
from local_pipeline.deployment import deploy_environment, environments_in
from local_pipeline.keep_up import served
from local_pipeline.push_bench import PushBenchError, push_seconds
from local_pipeline.run import LocalRun, RunOptions
from local_pipeline.synth import cdk_synth
from project.assembly import read_stacks

EXECUTIONS = 15
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


def _seconds(steps: list[dict], *, stage: str | None = None, action_prefix: str | None = None, action_suffix: str = "") -> float:
    return sum(
        step["seconds"]
        for step in steps
        if (stage is None or step["stage"] == stage)
        and (action_prefix is None or step["action"].startswith(action_prefix))
        and step["action"].endswith(action_suffix)
    )


def main() -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    run = LocalRun(RunOptions(), console)
    if run.run() != 0:
        console.print("bench: the local run failed; no figures")
        return 1
    steps, total = run.steps, run.total_seconds
    synth = bare_synth_seconds()
    hit, miss, concurrency = consumer_figures(run.options.assembly)
    try:
        first_push, second_push = push_seconds()
    except PushBenchError as error:
        console.print(f"bench: the push run failed: {error}", markup=False)
        return 1
    print(f"local run, synth the working tree:   {_seconds(steps, action_prefix='synth the working tree'):6.2f} s")
    print(f"local run, deploy the pipeline:      {_seconds(steps, action_prefix='deploy the pipeline'):6.2f} s")
    print(f"local run, Build/Synth (the audit):  {_seconds(steps, stage='Build'):6.2f} s")
    print(f"local run, self-mutation and assets: {_seconds(steps, stage='UpdatePipeline') + _seconds(steps, stage='Assets'):6.2f} s")
    deploy = _seconds(steps, action_suffix="Prepare") + _seconds(steps, action_suffix="Deploy")
    print(f"local run, change sets:              {deploy:6.2f} s")
    print(f"local run, integration test:         {_seconds(steps, action_prefix='IntegrationTest'):6.2f} s")
    print(f"local run, between actions:          {total - sum(step['seconds'] for step in steps):6.2f} s")
    print(f"local run, total:                    {total:6.2f} s")
    print(f"bare cdk synth:                      {synth:6.2f} s")
    print(f"consumer execution, median of {EXECUTIONS}: cache hit {hit * 1000:.0f} ms, cache miss {miss * 1000:.0f} ms")
    for figures in concurrency:
        print(figures.line())
        for failure in figures.failed[:3]:
            print(f"  failed: {failure.status} {failure.error}: {failure.cause}")
    print(f"git push local, first push (cold build caches): {first_push:6.1f} s")
    print(f"git push local, second push (warm caches):      {second_push:6.1f} s")
    print(f"local/synth ratio: {total / synth:.2f}")
    print(f"push/synth ratio: {second_push / synth:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
