"""The pinned CDK CLI: `cdk synth` exactly as `make synth` runs it (cdk-nag included), and its bootstrap template."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from project.paths import CDK_JSON, PACKAGE_JSON, PROJECT_ROOT

# The pinned CLI (package.json), on the pinned Node 22 it finds first on PATH.
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin"


def _process_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{CDK_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@dataclass(frozen=True)
class StartedSynth:
    """`cdk synth` into ``outdir``, running since ``started`` (``time.perf_counter()``)."""

    outdir: Path
    process: subprocess.Popen[str]
    started: float
    cdk_json: Path | None = None  # the configuration it synthesizes from, when it is one the run can read

    def wait(self) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.process.communicate()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)


def start_synth(outdir: Path) -> StartedSynth:
    """`cdk synth`, started: what needs the templates waits for it, the rest goes on."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(CDK_BIN / "cdk"), "synth", "--quiet", "--output", str(outdir)],
        cwd=PROJECT_ROOT,
        env=_process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return StartedSynth(outdir, process, started, cdk_json=CDK_JSON)


def cdk_synth(outdir: Path) -> subprocess.CompletedProcess[str]:
    return start_synth(outdir).wait()


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
