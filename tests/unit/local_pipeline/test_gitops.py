"""The service behind `git push local`: up, answers, down (in a process of its own, on a
free port, with its state in a folder of the test's)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from project.paths import PROJECT_ROOT


def _gitops(state, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_pipeline.gitops", *args, "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCAL_AWS_STATE": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_up_answers_and_down_stops_it(tmp_path):
    port = _free_port()
    state = tmp_path / "state"
    assert _gitops(state, port, "runs").stderr.strip() == "runs: the emulated accounts are not up: run `make up`"
    started = _gitops(state, port, "up")
    try:
        assert started.returncode == 0, started.stderr
        assert (
            f"The emulated accounts are up on http://127.0.0.1:{port} (fresh: no stack, no run; `make down` stops them)." in started.stdout
        )
        again = _gitops(state, port, "up")
        assert again.stdout.startswith(f"The emulated accounts are already up on http://127.0.0.1:{port}.")
        runs = _gitops(state, port, "runs")
        assert (runs.returncode, runs.stderr.strip()) == (2, "runs: no pipeline is deployed yet: run `make remote`")
    finally:
        stopped = _gitops(state, port, "down")
    assert stopped.stdout.strip() == "The emulated accounts are stopped: their stacks and runs' state are gone; `make up` starts afresh."
    assert _gitops(state, port, "down").stdout.strip() == "The emulated accounts are not up."


def test_a_service_that_does_not_answer_is_said_in_one_line(tmp_path):
    """A live process that no longer answers (here: nothing listens on its port) is named,
    with the service's log, instead of a traceback."""
    state = tmp_path / "state"
    state.mkdir()
    port = _free_port()
    (state / "service.json").write_text(json.dumps({"pid": os.getpid(), "endpoint": f"http://127.0.0.1:{port}", "control": port}))
    runs = _gitops(state, port, "runs")
    assert runs.returncode == 2
    assert runs.stderr.startswith("runs: the service did not answer GET /runs: "), runs.stderr
    assert runs.stderr.strip().endswith(f"(its log: {state / 'service.log'})")
