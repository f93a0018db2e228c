"""No run is lost: a run whose process died is found, its builds ended, its record Failed
with the reason; a run whose process lives is never touched; ids never repeat."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup, record
from local_pipeline.executor.run_folders import new_run_folder, recover_abandoned
from tests.helpers import process_that_says_a_pid

# A run in a process of its own: its folder, an action in progress, a build command running
# (a process group recorded beside the action's log), then it waits to be killed.
_RUN_THEN_WAIT = """
import json, subprocess, sys, time
from pathlib import Path
from local_pipeline.executor.process_groups import PROCESS_GROUP_FILE, ProcessGroup, record
from local_pipeline.executor.run_folders import new_run_folder
claim = new_run_folder(Path(sys.argv[1]), owner="the push service")
action = claim.path / "actions" / "Build.Synth"
action.mkdir(parents=True)
build = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
record(action / PROCESS_GROUP_FILE, ProcessGroup.of(build, "build command 'make synth'"))
(claim.path / "run.json").write_text(json.dumps({
    "id": claim.run_id, "commit": "a" * 40, "branch": "main", "status": "InProgress", "reason": "",
    "started_at": "2026-12-02T00:00:00+00:00",
    "actions": [{"stage": "Build", "action": "Synth", "status": "InProgress", "seconds": 0.0, "summary": "", "category": "Build",
                 "ended_at": "", "folder": "actions/Build.Synth"}],
}))
print(build.pid, flush=True)
time.sleep(120)
"""


def _record(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "run.json").read_text())


def test_a_live_run_is_left_alone_and_a_killed_one_is_failed_with_its_build_ended(tmp_path: Path):
    runs = tmp_path / "runs"
    process, build = process_that_says_a_pid(_RUN_THEN_WAIT, str(runs))
    try:
        assert recover_abandoned(runs) == [], "a run whose process lives was touched"
        assert _record(runs, "1")["status"] == "InProgress" and psutil.pid_exists(build)

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert psutil.pid_exists(build), "the killed run's build should still be running: nothing ended it yet"

        (line,) = recover_abandoned(runs)
        assert line.startswith("run 1: the push service stopped during this run; ended what it left running: build command")
        recovered = _record(runs, "1")
        assert recovered["status"] == "Failed"
        assert recovered["reason"].startswith("the push service stopped during this run")
        assert [action["status"] for action in recovered["actions"]] == ["Failed"]
        deadline = time.monotonic() + 5
        while psutil.pid_exists(build) and psutil.Process(build).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed run's build is still running"
            time.sleep(0.05)
        assert not list((runs / "1").rglob(PROCESS_GROUP_FILE))
        assert (runs / "1" / "index.html").is_file() and "stopped during this run" in (runs.parent / "index.html").read_text()

        assert recover_abandoned(runs) == [], "a recovered run is recovered once"
    finally:
        process.kill()
        if psutil.pid_exists(build):
            psutil.Process(build).kill()


def test_an_empty_folder_a_dead_process_left_is_said_and_listed(tmp_path: Path):
    """`make local` killed during its synth leaves a folder with no record yet."""
    runs = tmp_path / "runs"
    claim = new_run_folder(runs, owner="`make local`")
    claim.release()  # as the kernel releases it when the process dies

    assert recover_abandoned(runs) == ["run 1: `make local` stopped before this run recorded anything: marked Failed"]
    recorded = _record(runs, "1")
    assert (recorded["id"], recorded["status"], recorded["actions"]) == ("1", "Failed", [])


def test_finished_runs_and_folders_of_an_older_layout_are_read_as_they_are(tmp_path: Path):
    runs = tmp_path / "runs"
    (runs / "1").mkdir(parents=True)  # before runs had owners: finished
    (runs / "1" / "run.json").write_text(json.dumps({"id": "1", "commit": "", "branch": "", "status": "Succeeded", "actions": []}))
    (runs / "2").mkdir()  # before runs had owners: left in progress
    (runs / "2" / "run.json").write_text(json.dumps({"id": "2", "commit": "", "branch": "", "status": "InProgress", "actions": []}))

    assert recover_abandoned(runs) == ["run 2: the process that ran it stopped during this run: marked Failed"]
    assert _record(runs, "1")["status"] == "Succeeded"


def test_ids_go_on_from_the_highest_and_latest_follows(tmp_path: Path):
    runs = tmp_path / "runs"
    (runs / "7").mkdir(parents=True)
    first = new_run_folder(runs, owner="a")
    second = new_run_folder(runs, owner="b")
    assert (first.run_id, second.run_id) == ("8", "9")
    assert (runs / "latest").resolve() == second.path.resolve()
    # A group recorded in a live run is its owner's business, not the recovery's.
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        record(second.path / PROCESS_GROUP_FILE, ProcessGroup.of(leader, "build command"))
        (second.path / "run.json").write_text(json.dumps({"id": "9", "commit": "", "branch": "", "status": "InProgress", "actions": []}))
        recover_abandoned(runs)
        assert leader.poll() is None
    finally:
        leader.kill()
        leader.wait()
        first.release()
        second.release()
