"""The runs' folders, ``reports/runs/<id>/``: a new one for each run, whoever starts it (`make
local`, the push service), and what a run left behind when its process died.

A run's folder holds a lock (``.owner``, ``flock``) for as long as the process that runs it
lives, with who that is; the kernel drops the lock when the process ends, however it ends.
A folder whose lock can be taken and whose record says the run never ended (``InProgress``,
or no record at all: it died before writing one) was left by a dead process:
``recover_abandoned`` ends the process groups its builds left running (each recorded beside
its log, ``process_groups``), marks the run ``Failed`` with the reason, and says what it
found. Creating a folder and looking for abandoned ones take ``runs/.lock`` in turn, so a
folder is never seen between being made and being locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_pipeline.executor.engine import replace_json, utc_now
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, recorded
from local_pipeline.report_page import write_pages

OWNER_FILE = ".owner"
_UNFINISHED = ("InProgress",)


@dataclass
class RunFolder:
    """A new run's id and folder, locked by this process until ``release``."""

    run_id: str
    path: Path
    _lock: int

    def release(self) -> None:
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1


@contextlib.contextmanager
def _runs_locked(runs: Path) -> Iterator[None]:
    runs.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(runs / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def new_run_folder(runs: Path, *, owner: str) -> RunFolder:
    """The id and the (created, locked) folder of a new run under ``runs``: one more than the
    highest id there, so a run never overwrites the record of an earlier one, whichever
    command (`make local`, a push, after a `make down`) started it. ``runs/latest`` points
    at it. ``owner`` names what runs it ("the push service"), in the reason given if it
    is found abandoned."""
    with _runs_locked(runs):
        run_id = str(max((int(path.name) for path in runs.iterdir() if path.name.isdigit()), default=0) + 1)
        folder = runs / run_id
        folder.mkdir()
        lock = os.open(folder / OWNER_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.write(lock, json.dumps({"owner": owner, "pid": os.getpid()}).encode())
        latest = runs / "latest"
        latest.unlink(missing_ok=True)
        latest.symlink_to(run_id)
        return RunFolder(run_id, folder, lock)


def recover_abandoned(runs: Path) -> list[str]:
    """Ends what the runs of dead processes left running and marks those runs ``Failed``;
    one line per run found, saying what was done."""
    if not runs.is_dir():
        return []
    found = []
    with _runs_locked(runs):
        for folder in sorted((path for path in runs.iterdir() if path.name.isdigit()), key=lambda path: int(path.name)):
            line = _recover(folder)
            if line:
                found.append(line)
    return found


def _recover(folder: Path) -> str | None:
    owner_file = folder / OWNER_FILE
    owner = "the process that ran it"
    try:
        descriptor = os.open(owner_file, os.O_RDWR)
    except FileNotFoundError:  # a folder made before runs had owners: none can be alive
        descriptor = -1
    try:
        try:
            if descriptor >= 0:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # its process is alive: the run goes on
        with contextlib.suppress(OSError, ValueError, AttributeError):
            owner = str(json.loads(owner_file.read_text())["owner"])
        record = read_record(folder)
        if record is not None and record.get("status") not in _UNFINISHED:
            return None
        ended = []
        for path in sorted(folder.rglob(PROCESS_GROUP_FILE)):
            group = recorded(path)
            if group is not None and group.end():
                ended.append(group.describe())
            path.unlink(missing_ok=True)
        reason = f"{owner} stopped during this run" if record is not None else f"{owner} stopped before this run recorded anything"
        record = record or {"id": folder.name, "commit": "", "branch": "", "actions": [], "started_at": utc_now()}
        for action in record.get("actions") or []:
            if action.get("status") == "InProgress":
                action["status"], action["summary"] = "Failed", reason
        record["status"], record["reason"] = "Failed", reason + (f"; ended what it left running: {', '.join(ended)}" if ended else "")
        replace_json(folder / "run.json", record)
        write_pages(folder)
        return f"run {folder.name}: {record['reason']}: marked Failed"
    finally:
        if descriptor >= 0:
            os.close(descriptor)


def read_record(folder: Path) -> dict[str, Any] | None:
    """A run's ``run.json``; None while it has none (the run is starting) or it cannot be read."""
    try:
        record = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
