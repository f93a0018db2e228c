"""Where things are, anchored on this file (never on the working directory)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = PROJECT_ROOT / "cdk.json"
PACKAGE_JSON = PROJECT_ROOT / "package.json"
# What `cdk synth` writes, and where the local run and the audit put their reports.
ASSEMBLY = PROJECT_ROOT / "cdk.out"
REPORTS = PROJECT_ROOT / "reports"
