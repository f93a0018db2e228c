"""`make bench`: what `make test`, `make local` and `git push local` cost, cold and warm,
against a bare synth.

Each figure is the wall time of a command as a user runs it, start-up and exit included,
measured ``BENCH_REPEAT`` times (3 unless set; 1 for a quick look) and given as the
median with the lowest and highest (``median of 3: low–high``). Beside the wall times of
`make test` and `make local`, their CPU-seconds (user + system of the processes they
started and waited for, ``getrusage(RUSAGE_CHILDREN)``): the machine is shared, and the
wall time holds what a command waited for the others' processes too.

What is measured is the commit HEAD names when the bench starts (not uncommitted changes,
nor commits made while it runs), each time in a fresh `git clone` of this repository: no
cdk.out, no audit cache (``.audit-cache/``), no pytest cache, no bytecode of the
project's own. The clone's ``.venv``, ``.venv-audit`` and ``node_modules`` are links to
this checkout's: installs are not what is measured (the Makefile's stamps are files
inside them: `make` finds them through the links and installs nothing). APPROVE,
KEEP_UP and AUDIT_CACHE are not passed on to the commands measured.

- The yardstick: a bare `cdk synth` of the clone, at least 3 times (its median: it
  varies by a second from one run to the next).
- `make test`, cold: the first in a fresh clone (each repetition a clone of its own);
  warm: a second in that clone after one stack file changed
  (``push_bench.STACK_FILE_CHANGE``: a role's description, which changes one template
  and no test's expectation), with what the first one left (its caches, its bytecode).
- `make local`, cold and warm the same way, in clones of their own; the steps of the
  median cold and the median warm run, from the record each wrote.
- The consumer: the median execution with the secret in the cache (hit) and not (miss);
  25 and 150 consumers at once through the kept-up service (``concurrency``).
- `git push local` through a service of its own (``push_bench``): one cold push that
  fills the builds' caches, then, in turn, pushes of a one-stack-file change and of an
  empty commit (nothing changed). When a push fails, the other figures are printed all
  the same, and the bench exits 1.

Last, one line each: ``test/synth ratio (cold)``, ``test/synth ratio (warm)``,
``local/synth ratio (cold)``, ``local/synth ratio (warm, one stack file changed)``,
``push/synth ratio`` (a one-stack-file change, from push to Succeeded) and ``push/synth
ratio (nothing changed)``; each the median over the repetitions, with their spread.

How long it takes, on the 2-core development machine, shared: 16.6 minutes at
BENCH_REPEAT=1 (at f1ef25c: the cold push 282 s, the two others 141 s each, `make test`
198 s cold and 133 s warm, `make local` 14 and 13 s, the synths 30 s); 30 to 40 minutes
at BENCH_REPEAT=3 (one cold push and six warm ones ~19 minutes, six `make test`s 9 to 17,
the rest ~3), as `make test` takes 85 s or 165 s on the machine of the day.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from emulator import Emulator
from local_pipeline.concurrency import Concurrency, concurrent_consumers
from local_pipeline.deployment import deploy_environment, environments_in
from local_pipeline.keep_up import served
from local_pipeline.push_bench import (
    STACK_FILE_CHANGE,
    CloneError,
    Commit,
    PushBenchError,
    PushFigures,
    fresh_clone,
    head_commit,
    push_seconds,
)
from project.assembly import read_stacks

EXECUTIONS = 15
SYNTHS = 3  # at least: the yardstick divides every ratio, and varies by a second from one run to the next
CONCURRENT = (25, 150)
REPEAT_VARIABLE = "BENCH_REPEAT"
DEFAULT_REPEAT = 3

# Left out of the measured commands' environment: what would make `make local` wait for a
# person (APPROVE) or never end (KEEP_UP), and an audit cache put elsewhere or turned off
# (AUDIT_CACHE, pipeline/audit_cache.py), which would make a cold run warm or a warm one cold.
_NOT_PASSED_ON = ("APPROVE", "KEEP_UP", "AUDIT_CACHE")

# A local run's steps, as its record (run.json) lists them.
Steps = list[dict[str, Any]]


class BenchError(Exception):
    """A measured command failed, or the bench was asked for something it cannot do: no figures."""


def repeat_count(environment: Mapping[str, str]) -> int:
    """How many times each figure is measured: ``BENCH_REPEAT``, 3 unless set."""
    given = environment.get(REPEAT_VARIABLE, "").strip()
    if not given:
        return DEFAULT_REPEAT
    try:
        count = int(given)
    except ValueError:
        count = 0
    if count < 1:
        raise BenchError(f"{REPEAT_VARIABLE} must be a whole number of at least 1 (how many times each figure is measured), not {given!r}")
    return count


@dataclass(frozen=True)
class Timed:
    """One command's wall time, and the CPU time (user + system) of the processes it started and waited for."""

    wall: float
    cpu: float


def spread(values: Sequence[float], *, digits: int = 2) -> str:
    """``median of 3: 5.90–6.40``, or ``one run`` for a single value."""
    if not values:
        raise ValueError("no values to summarize")
    if len(values) == 1:
        return "one run"
    return f"median of {len(values)}: {min(values):.{digits}f}–{max(values):.{digits}f}"


def seconds_line(label: str, timings: Sequence[Timed], *, width: int = 44) -> str:
    """The median wall and CPU seconds of a command's runs, each with its spread."""
    walls = [timing.wall for timing in timings]
    cpus = [timing.cpu for timing in timings]
    return (
        f"{label + ':':<{width}} {statistics.median(walls):7.2f} s  ({spread(walls)}),"
        f" CPU {statistics.median(cpus):.1f} s ({spread(cpus, digits=1)})"
    )


def ratio_line(label: str, seconds: Sequence[float], synth: float) -> str:
    """``<label>: <median / synth>  (median of n: <lowest>–<highest>)``, each run divided by the yardstick."""
    if synth <= 0:
        raise ValueError(f"the yardstick must be a positive number of seconds, not {synth}")
    ratios = [value / synth for value in seconds]
    return f"{label}: {statistics.median(ratios):.2f}  ({spread(ratios)})"


def median_run(timings: Sequence[Timed]) -> int:
    """The index of the run whose wall time is the median (the lower of the middle two for an even count)."""
    if not timings:
        raise ValueError("no runs")
    order = sorted(range(len(timings)), key=lambda index: timings[index].wall)
    return order[(len(order) - 1) // 2]


def timed_command(
    command: list[str], cwd: Path, environment: Mapping[str, str] | None = None
) -> tuple[Timed, subprocess.CompletedProcess[str]]:
    """``command`` run from ``cwd`` as a user runs it: its wall time and its children's CPU time.
    The bench runs one command at a time, so what RUSAGE_CHILDREN gains meanwhile is this command's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu), completed


def _tail(completed: subprocess.CompletedProcess[str]) -> str:
    return f"{completed.stdout[-3000:]}{completed.stderr[-2000:]}"


def bare_synth(clone: Path, outdir: Path) -> Timed:
    """`cdk synth` of ``clone`` into ``outdir``, with the pinned CLI, as `make synth` runs it."""
    cdk_bin = clone / "node_modules" / ".bin"
    environment = {**os.environ, "PATH": f"{cdk_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    timed, completed = timed_command([str(cdk_bin / "cdk"), "synth", "--quiet", "--output", str(outdir)], clone, environment)
    if completed.returncode != 0:
        raise BenchError(f"the bare cdk synth in {clone} failed:\n{_tail(completed)}")
    return timed


def _measured_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _NOT_PASSED_ON}


def make_test(clone: Path) -> Timed:
    """`make test` in ``clone``, timed whole: what a user waits for."""
    timed, completed = timed_command(["make", "--no-print-directory", "test"], clone, _measured_environment())
    if completed.returncode != 0:
        raise BenchError(f"make test in {clone} failed:\n{_tail(completed)}")
    return timed


def make_local(clone: Path) -> tuple[Timed, Steps]:
    """`make local` in ``clone``, timed whole (start-up and exit included); its steps, from
    the record it wrote."""
    timed, completed = timed_command(["make", "--no-print-directory", "local"], clone, _measured_environment())
    passed = re.search(r"local pipeline passed in [\d.]+ s; its record: (\S+)/", completed.stdout)
    if completed.returncode != 0 or passed is None:
        raise BenchError(f"make local in {clone} failed:\n{_tail(completed)}")
    record = json.loads((clone / passed[1] / "run.json").read_text())
    return timed, record["actions"]


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


def _seconds(steps: Steps, *, stage: str | None = None, action_prefix: str | None = None, action_suffix: str = "") -> float:
    return float(
        sum(
            step["seconds"]
            for step in steps
            if (stage is None or step["stage"] == stage)
            and (action_prefix is None or step["action"].startswith(action_prefix))
            and step["action"].endswith(action_suffix)
        )
    )


def step_lines(cold: Steps, warm: Steps) -> list[str]:
    """The local run's steps, cold and warm side by side, from the runs' records."""
    measures: list[tuple[str, Callable[[Steps], float]]] = [
        ("synth the working tree", lambda steps: _seconds(steps, action_prefix="synth the working tree")),
        ("deploy the pipeline", lambda steps: _seconds(steps, action_prefix="deploy the pipeline")),
        ("Build/Synth (the audit)", lambda steps: _seconds(steps, stage="Build")),
        ("self-mutation and assets", lambda steps: _seconds(steps, stage="UpdatePipeline") + _seconds(steps, stage="Assets")),
        ("change sets", lambda steps: _seconds(steps, action_suffix="Prepare") + _seconds(steps, action_suffix="Deploy")),
        ("integration test", lambda steps: _seconds(steps, action_prefix="IntegrationTest")),
    ]
    heading = "local run, the median runs' steps:"
    lines = [f"{heading:<36} {'cold':>8} {'warm':>8}"]
    lines += [f"{'  ' + name + ':':<36} {measure(cold):6.2f} s {measure(warm):6.2f} s" for name, measure in measures]
    return lines


@dataclass(frozen=True)
class ColdAndWarm:
    """A command's runs: each the first in a fresh clone (cold), then again in that clone
    after one stack file changed (warm); and the records of the local runs."""

    cold: list[Timed]
    warm: list[Timed]
    cold_steps: list[Steps]
    warm_steps: list[Steps]


def cold_and_warm(
    scratch: Path, name: str, repeat: int, commit: Commit, command: Callable[[Path], tuple[Timed, Steps]]
) -> tuple[ColdAndWarm, Path]:
    """``command(clone)`` ``repeat`` times cold and warm, each time in a fresh clone of its
    own; and the last clone, for what it left (its cdk.out)."""
    runs = ColdAndWarm([], [], [], [])
    clone = scratch
    for turn in range(repeat):
        clone = fresh_clone(scratch / f"{name}-{turn}", commit)
        timed, steps = command(clone)
        runs.cold.append(timed)
        runs.cold_steps.append(steps)
        if not STACK_FILE_CHANGE.toggle(clone):  # a fresh clone holds the committed text: this changes it
            raise BenchError(f"{STACK_FILE_CHANGE.path} in {clone} held the changed text, not the committed one")
        timed, steps = command(clone)
        runs.warm.append(timed)
        runs.warm_steps.append(steps)
    return runs, clone


def main() -> int:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    started = time.perf_counter()
    try:
        repeat = repeat_count(os.environ)
        commit = head_commit()
        print(f"measuring {commit.summary}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            scratch = Path(folder)
            synth_clone = fresh_clone(scratch / "synth", commit)
            synths = [bare_synth(synth_clone, scratch / f"synth-out-{turn}") for turn in range(max(SYNTHS, repeat))]
            tests, _ = cold_and_warm(scratch, "test", repeat, commit, lambda clone: (make_test(clone), []))
            local, last_local = cold_and_warm(scratch, "local", repeat, commit, make_local)
            hit, miss, concurrency = consumer_figures(last_local / "cdk.out")
    except (BenchError, CloneError) as error:
        console.print(f"bench: {error}", markup=False)
        return 1
    # A push that fails (a flaky test in its Synth build, say) loses the pushes' figures,
    # not the twenty minutes of the others: they are printed all the same.
    pushes: PushFigures | None = None
    try:
        pushes = push_seconds(repeat, commit)
    except (CloneError, PushBenchError) as error:
        console.print(f"bench: no push figures: {error}", markup=False)
    for line in report(synths, tests, local, (hit, miss, concurrency), pushes):
        print(line)
    print(f"(the bench took {(time.perf_counter() - started) / 60:.1f} min, BENCH_REPEAT={repeat})")
    return 0 if pushes else 1


def report(
    synths: list[Timed],
    tests: ColdAndWarm,
    local: ColdAndWarm,
    consumers: tuple[float, float, list[Concurrency]],
    pushes: PushFigures | None,
) -> list[str]:
    """The bench's lines: seconds first, the ratios last; no push's (None) when a push failed."""
    synth = statistics.median(timing.wall for timing in synths)
    changed = "warm, one stack file changed"
    lines = [
        seconds_line(f"bare cdk synth, median of {len(synths)} (the yardstick)", synths),
        seconds_line("make test, cold (a fresh clone)", tests.cold),
        seconds_line(f"make test, {changed}", tests.warm),
        seconds_line("make local, cold (a fresh clone)", local.cold),
        seconds_line(f"make local, {changed}", local.warm),
        *step_lines(local.cold_steps[median_run(local.cold)], local.warm_steps[median_run(local.warm)]),
    ]
    hit, miss, concurrency = consumers
    lines.append(f"consumer execution, median of {EXECUTIONS}: cache hit {hit * 1000:.0f} ms, cache miss {miss * 1000:.0f} ms")
    for figures in concurrency:
        lines.append(figures.line())
        lines += [f"  failed: {failure.status} {failure.error}: {failure.cause}" for failure in figures.failed[:3]]
    if pushes is not None:
        lines += [
            f"git push local, first push (cold build caches):   {pushes.first:7.1f} s",
            f"git push local, one stack file changed:           {statistics.median(pushes.stack_file_changed):7.1f} s"
            f"  ({spread(pushes.stack_file_changed, digits=1)})",
            f"git push local, nothing changed (empty commit):   {statistics.median(pushes.nothing_changed):7.1f} s"
            f"  ({spread(pushes.nothing_changed, digits=1)})",
        ]
    lines += [
        ratio_line("test/synth ratio (cold)", [timing.wall for timing in tests.cold], synth),
        ratio_line("test/synth ratio (warm)", [timing.wall for timing in tests.warm], synth),
        ratio_line("local/synth ratio (cold)", [timing.wall for timing in local.cold], synth),
        ratio_line(f"local/synth ratio ({changed})", [timing.wall for timing in local.warm], synth),
    ]
    if pushes is not None:
        lines += [
            ratio_line("push/synth ratio", pushes.stack_file_changed, synth),
            ratio_line("push/synth ratio (nothing changed)", pushes.nothing_changed, synth),
        ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
