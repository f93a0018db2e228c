"""`make bench`: what the local pipeline run costs, stage by stage, against one bare synth.

Prints the wall time of each stage of a local run (synth, audit, deploy, integration
test, total), one bare `cdk synth` in the same run, the median consumer execution with
the secret in the cache (hit) and not (miss), and last, on its own line,
``local/synth ratio: X``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from emulator import Emulator
from local_pipeline.deployment import deploy_environment, environments_in
from local_pipeline.run import LocalRun, RunOptions
from local_pipeline.synth import cdk_synth
from project.assembly import read_stacks
from project.deployment_order import DEPLOYMENT_ORDER, INTEGRATION_TEST

EXECUTIONS = 15


def bare_synth_seconds() -> float:
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        cdk_synth(Path(outdir)).check_returncode()
        return time.perf_counter() - started


def consumer_medians(assembly: Path) -> tuple[float, float]:
    """Median seconds of one consumer execution, cache hit and cache miss."""
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
    return statistics.median(hits), statistics.median(misses)


def main() -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    run = LocalRun(RunOptions(), console)
    if run.run() != 0:
        console.print("bench: the local run failed; no figures")
        return 1
    seconds = {result.name: result.seconds for result in run.results}
    total = run.total_seconds
    deployment_stages = {stage.name for stage in DEPLOYMENT_ORDER}
    deploy = sum(value for name, value in seconds.items() if name.split("/")[-1] in deployment_stages)
    integration = sum(value for name, value in seconds.items() if name.endswith(f"/{INTEGRATION_TEST}"))
    synth = bare_synth_seconds()
    hit, miss = consumer_medians(run.options.assembly)
    print(f"local run, synth:            {seconds['Synth']:6.2f} s")
    print(f"local run, audit:            {seconds['Audit']:6.2f} s")
    print(f"local run, deploy:           {deploy:6.2f} s")
    print(f"local run, integration test: {integration:6.2f} s")
    print(f"local run, between stages:   {total - sum(seconds.values()):6.2f} s  (emulator start, reports)")
    print(f"local run, total:            {total:6.2f} s")
    print(f"bare cdk synth:              {synth:6.2f} s")
    print(f"consumer execution, median of {EXECUTIONS}: cache hit {hit * 1000:.0f} ms, cache miss {miss * 1000:.0f} ms")
    print(f"local/synth ratio: {total / synth:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
