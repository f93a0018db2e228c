"""Recorded process groups are ended after their starter died, and only they: a number the
kernel gave to another process is left alone."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psutil

from local_pipeline.executor.process_groups import ProcessGroup, record, recorded

BASH = shutil.which("bash") or "/bin/bash"


def _group_leader(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([BASH, "-c", script], start_new_session=True)


def _gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_a_recorded_group_is_ended_with_what_it_started(tmp_path: Path):
    leader = _group_leader(f"sleep 60 & echo $! > {tmp_path}/child; wait")
    deadline = time.monotonic() + 5
    while not (tmp_path / "child").is_file() or not (tmp_path / "child").read_text().strip():
        assert time.monotonic() < deadline, "the group's job did not start"
        time.sleep(0.02)
    child = int((tmp_path / "child").read_text())
    record(tmp_path / ".process-group", ProcessGroup.of(leader, "build command"))
    group = recorded(tmp_path / ".process-group")
    assert group is not None and group.alive()

    assert group.end(grace_seconds=2)
    leader.wait(timeout=5)
    assert _gone(child)
    assert not group.alive()
    assert not group.end(), "an ended group is not ended twice"


def test_members_whose_leader_is_gone_are_still_the_group(tmp_path: Path):
    """A build command that backgrounds a job and exits: the job is still the build's."""
    leader = _group_leader(f"sleep 60 & echo $! > {tmp_path}/child")
    group = ProcessGroup.of(leader, "build command")
    leader.wait(timeout=5)
    child = int((tmp_path / "child").read_text())
    assert psutil.pid_exists(child) and group.alive()

    assert group.end(grace_seconds=2)
    assert _gone(child)


def test_a_number_now_another_process_s_is_left_alone():
    """The recorded leader's start time differs from the process that has its number now:
    that process (its group reused the number) is never signalled."""
    stranger = _group_leader("sleep 60")
    try:
        reused = ProcessGroup(stranger.pid, psutil.Process(stranger.pid).create_time() - 100, "cdk synth")
        assert not reused.alive()
        assert not reused.end(grace_seconds=0.2)
        time.sleep(0.1)
        assert stranger.poll() is None, "a group that is not the recorded one was ended"
    finally:
        stranger.kill()
        stranger.wait()


def test_an_unreadable_record_is_no_group(tmp_path: Path):
    (tmp_path / "g").write_text("{not json")
    assert recorded(tmp_path / "g") is None
    assert recorded(tmp_path / "absent") is None
