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

from pipeline.local_run import LocalRun, RunOptions, cdk_synth, deploy_environment, environments_in

EXECUTIONS = 15


def bare_synth_seconds() -> float:
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        cdk_synth(Path(outdir)).check_returncode()
        return time.perf_counter() - started


def consumer_medians(assembly: Path) -> tuple[float, float]:
    """Median seconds of one consumer execution, cache hit and cache miss."""
    from emulator import Emulator
    from tests.integration.target import local_target

    environment = environments_in(assembly)[0]
    with Emulator() as emulator:
        outputs = deploy_environment(emulator, assembly, environment)
        target = local_target(emulator, outputs, environment)
        dynamodb = emulator.client("dynamodb", outputs[f"TrustingResources-{environment}"]["SecretArn"].split(":")[4])
        table = outputs[f"TrustingResources-{environment}"]["CacheTableName"]

        def timed(clear_cache: bool) -> float:
            if clear_cache:
                for item in dynamodb.scan(TableName=table)["Items"]:
                    dynamodb.delete_item(TableName=table, Key={"SecretArn": item["SecretArn"]})
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
    deploy = sum(
        value for name, value in seconds.items() if name.split("/")[-1] in ("TrustedResources", "TrustingResources", "TrustedConfiguration")
    )
    integration = sum(value for name, value in seconds.items() if name.endswith("/IntegrationTest"))
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
