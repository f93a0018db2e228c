"""`cdk synth` with the pinned CLI, exactly as `make synth` runs it (cdk-nag included)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from project.paths import PROJECT_ROOT

# The pinned CLI (package.json), on the pinned Node 22 it finds first on PATH.
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin"


def cdk_synth(outdir: Path) -> subprocess.CompletedProcess[str]:
    process_env = {**os.environ, "PATH": f"{CDK_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(CDK_BIN / "cdk"), "synth", "--quiet", "--output", str(outdir)],
        cwd=PROJECT_ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        check=False,
    )
