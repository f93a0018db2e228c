"""The pinned CDK CLI: `cdk synth` exactly as `make synth` runs it (cdk-nag included), and its bootstrap template.

A cloud assembly is written by one synth and read by one run at a time: whoever synthesizes
into ``<outdir>`` holds ``<outdir>.lock`` (``flock``) while it uses it, and records there the
process groups it started (``cdk synth`` and what it runs: the CDK app, the jsii runtime;
checkov). A second run is refused while the first lives. When the holder died (SIGKILL),
its lock is gone with it, and the next one ends what it recorded and is still running
before it synthesizes, and says so: two synths never write the same folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from local_pipeline.executor.process_groups import ProcessGroup
from project.paths import CDK_JSON, PACKAGE_JSON, PROJECT_ROOT

# The pinned CLI (package.json), on the pinned Node 22 it finds first on PATH.
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin"


def _process_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{CDK_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


class AssemblyInUse(Exception):
    """Another live run synthesizes into, or reads, the same cloud assembly."""


@dataclass
class AssemblyClaim:
    """This process's hold on a cloud assembly folder (``<outdir>.lock``) until ``release``;
    ``found``: what an earlier holder that died had left running, now ended."""

    path: Path
    descriptor: int
    found: list[str] = field(default_factory=list)
    groups: list[ProcessGroup] = field(default_factory=list)

    def add(self, group: ProcessGroup) -> None:
        """Records a process group this run started, for the next run to end if this one dies."""
        self.groups.append(group)
        data = json.dumps({"pid": os.getpid(), "groups": [asdict(group) for group in self.groups]}).encode()
        os.ftruncate(self.descriptor, 0)
        os.pwrite(self.descriptor, data, 0)

    def release(self) -> None:
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1


def claim_assembly(outdir: Path) -> AssemblyClaim:
    """Holds ``outdir`` for this process (AssemblyInUse, naming the holder, if another live
    process does), after ending what a dead holder recorded and left running."""
    path = outdir.with_name(f"{outdir.name}.lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        holder = _holder(path).get("pid", "unknown")
        raise AssemblyInUse(
            f"{outdir} is in use by another run (process {holder}), which synthesizes into it or reads it: wait for it to end, or stop it"
        ) from None
    previous = _holder(path)
    found = []
    for data in previous.get("groups") or []:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            group = ProcessGroup(int(data["pgid"]), float(data["leader_started"]), str(data["name"]))
            if group.end(grace_seconds=2):
                found.append(f"{group.describe()}, left running by an earlier run (process {previous.get('pid')}) that was killed: ended")
    claim = AssemblyClaim(path, descriptor, found)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps({"pid": os.getpid(), "groups": []}).encode(), 0)
    return claim


def _holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class StartedSynth:
    """`cdk synth` into ``outdir``, running since ``started`` (``time.perf_counter()``), the
    assembly held by ``claim`` until the run releases it."""

    outdir: Path
    process: subprocess.Popen[str]
    started: float
    claim: AssemblyClaim
    group: ProcessGroup | None = None  # the synth's process group (None for a stand-in that has none)
    cdk_json: Path | None = None  # the configuration it synthesizes from, when it is one the run can read

    def wait(self) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.process.communicate()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)

    def end(self) -> None:
        """Ends the synth and what it started, if they still run (the run ended before it)."""
        if self.group is not None:
            self.group.end(grace_seconds=1)
        elif self.process.poll() is None:
            self.process.kill()


def start_synth(outdir: Path) -> StartedSynth:
    """`cdk synth`, started: what needs the templates waits for it, the rest goes on.
    AssemblyInUse if another live run holds ``outdir``."""
    claim = claim_assembly(outdir)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(CDK_BIN / "cdk"), "synth", "--quiet", "--output", str(outdir)],
        cwd=PROJECT_ROOT,
        env=_process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A group of its own: Ctrl-C reaches the run, which ends the synth (and says it
        # stopped), not the synth first (which failed the run with Node's error); and the
        # app and the jsii runtime it starts end with it.
        process_group=0,
    )
    group = ProcessGroup.of(process, "cdk synth")
    claim.add(group)
    return StartedSynth(outdir, process, started, claim, group, cdk_json=CDK_JSON)


def cdk_synth(outdir: Path) -> subprocess.CompletedProcess[str]:
    synthesis = start_synth(outdir)
    try:
        return synthesis.wait()
    finally:
        synthesis.claim.release()


def _cli_version() -> str:
    return str(json.loads(PACKAGE_JSON.read_text())["devDependencies"]["aws-cdk"])


@cache
def bootstrap_template() -> str:
    """The bootstrap template of the pinned CDK CLI (`cdk bootstrap --show-template`): what
    `cdk bootstrap` deploys into each account, and what the emulated accounts get. Kept
    beside the CLI it came from, under that CLI's version (asking Node costs ~0.6 s)."""
    kept = CDK_BIN.parent / ".cache" / "secret-cache" / f"bootstrap-template-{_cli_version()}.yaml"
    if kept.is_file():
        return kept.read_text()
    shown = subprocess.run(
        [str(CDK_BIN / "cdk"), "bootstrap", "--show-template"],
        cwd=PROJECT_ROOT,
        env=_process_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(shown.stdout)
    return shown.stdout
