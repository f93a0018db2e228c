"""The process groups a run starts (a build's commands, `cdk synth`, checkov), recorded in a
file so that whoever finds them after the process that started them died (SIGKILL, a
crash) can end them, and only them.

Each is started as the leader of a group of its own (``start_new_session`` or
``process_group=0``): what it starts (the CDK app, the jsii runtime, a build's background
jobs) stays in the group, and ``os.killpg`` ends it all. A recorded group is identified by
its number and its leader's start time:

- while any process of a group is alive, the kernel keeps its number allocated, so a
  group that still has members but no leader is the recorded one;
- once the group is empty, its number may be given to a new process; a leader whose start
  time differs from the recorded one is that new process, and is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

# Beside a build's log while one of its commands runs (buildspec.py): that command's group.
PROCESS_GROUP_FILE = ".process-group"
# A leader's start time, as psutil reads it, is rounded to the kernel's clock ticks.
_SAME_START_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessGroup:
    pgid: int
    leader_started: float  # the leader's start time (seconds since the epoch, psutil's create_time)
    name: str  # what it is, for the user: "cdk synth", "build command", ...

    @classmethod
    def of(cls, process: subprocess.Popen[str] | subprocess.Popen[bytes], name: str) -> ProcessGroup:
        """The group ``process`` leads (it was started with a group of its own)."""
        try:
            started = psutil.Process(process.pid).create_time()
        except psutil.NoSuchProcess:  # it ended already: nothing is left to end
            started = 0.0
        return cls(process.pid, started, name)

    def alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's group: the number was reused, it is not ours
            return False
        try:
            leader = psutil.Process(self.pgid)
            return abs(leader.create_time() - self.leader_started) < _SAME_START_SECONDS
        except psutil.NoSuchProcess:
            return True  # members without their leader: the kernel has not reused the number

    def end(self, *, grace_seconds: float = 5.0) -> bool:
        """Ends the group (SIGTERM, then SIGKILL after ``grace_seconds``); whether it was running."""
        if not self.alive():
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        return True

    def describe(self) -> str:
        return f"{self.name} (process group {self.pgid})"


def record(path: Path, group: ProcessGroup) -> None:
    """Records ``group`` at ``path`` (replaced whole: a reader never sees half of it)."""
    written = path.with_name(f".{path.name}.writing")
    written.write_text(json.dumps(asdict(group)))
    os.replace(written, path)


def recorded(path: Path) -> ProcessGroup | None:
    """The group recorded at ``path``; None if there is none, or it cannot be read."""
    try:
        data = json.loads(path.read_text())
        return ProcessGroup(int(data["pgid"]), float(data["leader_started"]), str(data["name"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
