"""What a `git push local` run costs: from the push to ``Succeeded``, approvals granted as
soon as they are asked for, through a service of its own (fresh state, a free port).

The first push fills the builds' caches (the virtual environments and node_modules that
the buildspecs' ``cache: paths`` keep); the second, an empty commit on top, is the one a
developer waits for day to day. The pushed commit is this repository's HEAD, cloned:
uncommitted changes are not measured.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project.paths import PROJECT_ROOT

# How a run ends; one cancelled by its own update is followed on into its restart, whose end counts.
_ENDED = re.compile(r"run (\d+) (Succeeded|Failed|Stopped|Superseded)\b")


class PushBenchError(Exception):
    """The push run did not succeed; says how it ended."""


def _free_port_pair() -> int:
    """A port whose next one is free too (the service's control API listens there)."""
    for _ in range(20):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise PushBenchError("no two free neighbouring ports on 127.0.0.1")


class _Service:
    def __init__(self, state: Path, port: int) -> None:
        self.environment = {**os.environ, "LOCAL_AWS_STATE": str(state)}
        self.port = port
        self.repository = state / "repo.git"

    def gitops(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "local_pipeline.gitops", *command, "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )

    def timed_push(self, clone: Path) -> float:
        """Seconds from `git push` to the run's end, approving each approval at once."""
        started = time.perf_counter()
        pushed = subprocess.run(
            ["git", "-C", str(clone), "push", "--quiet", "--force", str(self.repository), "HEAD:main"],  # noqa: S607
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        said = pushed.stdout + pushed.stderr
        while not _ENDED.search(said):
            approved = self.gitops("approve")
            said += approved.stdout + approved.stderr
            if approved.returncode == 2:  # nothing waits, and no end was seen: say what was
                raise PushBenchError(f"the run neither ended nor waited: {said.strip()[-1500:]}")
        seconds = time.perf_counter() - started
        *_, ended = _ENDED.finditer(said)
        if ended.group(2) != "Succeeded":
            raise PushBenchError(f"run {ended.group(1)} ended {ended.group(2)}: {said.strip()[-1500:]}")
        return seconds


def push_seconds() -> tuple[float, float]:
    """(first push, second push): seconds from push to Succeeded."""
    with tempfile.TemporaryDirectory(prefix="push-bench-") as scratch:
        service = _Service(Path(scratch) / "state", _free_port_pair())
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True)  # noqa: S607
        remote = service.gitops("remote", "--no-git-remote")
        try:
            if remote.returncode != 0:
                raise PushBenchError(f"make remote failed: {(remote.stderr or remote.stdout).strip()[-1500:]}")
            first = service.timed_push(clone)
            subprocess.run(
                ["git", "-C", str(clone), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]  # noqa: S607
                + ["commit", "--quiet", "--allow-empty", "-m", "bench: the second push"],
                check=True,
            )
            second = service.timed_push(clone)
        finally:
            service.gitops("down")
    return first, second
