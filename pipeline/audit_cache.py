"""The audit's results, cached per template and keyed on everything its verdict depends on.

A template's key is a SHA-256 over: the template's bytes; the region it is linted for
for cfn-lint, whose verdict depends on it; `.checkov.yaml` and every file of `policy_checks/`;
the audit's own code (this module, `audit.py`, `audit_tool.py`, `cfn_lint.py`,
`checkov_waiting.py`); checkov's version and the Python that runs it (`.venv-audit`);
cfn-lint's version and the Python that runs it (this one); and
`requirements-audit.txt`, which pins checkov's dependencies. Change any of them and
every key changes, so an entry can never be read for a verdict it was not made for:
there is nothing to invalidate. Same bytes, same key: a template's results are reused
wherever the template is, whatever it is called.

What is stored: checkov's records of the template (`pipeline/checkov_waiting.py` writes
and reads them in checkov's own process, and checkov writes its reports from them as from
a scan), and cfn-lint's findings (`pipeline/cfn_lint.py`). The folder is `.audit-cache/`
at the project's root, ignored by git: a fresh clone has none. `AUDIT_CACHE=off` turns it
off; `AUDIT_CACHE=<folder>` puts it elsewhere. An entry is written whole (a temporary file
renamed over it) and an entry that cannot be read is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

from project.paths import PROJECT_ROOT

DEFAULT_FOLDER = PROJECT_ROOT / ".audit-cache"
AUDIT_VENV = PROJECT_ROOT / ".venv-audit"
# The files whose bytes decide a verdict besides the template's: the configuration, the
# policies, the audit's code, the pins of checkov's environment.
_VERDICT_FILES = (
    ".checkov.yaml",
    "requirements-audit.txt",
    "pipeline/audit.py",
    "pipeline/audit_cache.py",
    "pipeline/audit_tool.py",
    "pipeline/cfn_lint.py",
    "pipeline/checkov_waiting.py",
)
_POLICIES = "policy_checks"
# Bumped when what an entry holds changes shape.
_FORMAT = "1"


def folder() -> Path | None:
    """Where entries live, or None when the cache is off."""
    setting = os.environ.get("AUDIT_CACHE", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    return Path(setting).resolve() if setting else DEFAULT_FOLDER


def _checkov_distribution(venv: Path) -> tuple[str, str]:
    """checkov's version and its environment's Python version, read from the environment's files."""
    configuration = venv / "pyvenv.cfg"
    python = "unknown"
    if configuration.is_file():
        for line in configuration.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() in ("version", "version_info"):
                python = value.strip()
    for site_packages in sorted(venv.glob("lib/python*/site-packages")):
        for distribution in metadata.distributions(name="checkov", path=[str(site_packages)]):
            return distribution.version, python
    return "not installed", python


def _verdict_files(root: Path) -> Iterable[Path]:
    yield from (root / name for name in _VERDICT_FILES)
    policies = root / _POLICIES
    yield from sorted(path for path in policies.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


@cache
def environment_digest(root: Path = PROJECT_ROOT, audit_venv: Path = AUDIT_VENV) -> str:
    """What every key shares: everything the verdict depends on except the template and its region."""
    digest = hashlib.sha256(f"audit-cache {_FORMAT}\n".encode())
    for path in _verdict_files(root):
        digest.update(f"{path.relative_to(root)}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes() if path.is_file() else b"<absent>").digest())
    checkov, checkov_python = _checkov_distribution(audit_venv)
    digest.update(f"checkov {checkov} on Python {checkov_python}\n".encode())
    digest.update(f"cfn-lint {metadata.version('cfn-lint')} on Python {sys.version}\n".encode())
    return digest.hexdigest()


def template_key(template: Path, environment: str, region: str = "") -> str:
    """checkov's verdict does not depend on the region (its key has none); cfn-lint's does."""
    digest = hashlib.sha256(f"{environment}\n{region}\n".encode())
    digest.update(template.read_bytes())
    return digest.hexdigest()


def entry_path(cache_folder: Path, key: str, tool: str) -> Path:
    return cache_folder / f"{key}.{tool}.json"


def read_entry(cache_folder: Path, key: str, tool: str) -> object | None:
    """The stored value, or None (absent, or not readable: a miss either way)."""
    try:
        value: object = json.loads(entry_path(cache_folder, key, tool).read_text())
    except (OSError, ValueError):
        return None
    return value


def write_entry(cache_folder: Path, key: str, tool: str, value: object) -> None:
    """Written whole or not at all: a reader never sees half an entry."""
    cache_folder.mkdir(parents=True, exist_ok=True)
    final = entry_path(cache_folder, key, tool)
    partial = final.with_name(f"{final.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(value))
    partial.replace(final)
