"""The service behind `git push local`: up, answers, down (in a process of its own, on a
free port, with its state in a folder of the test's)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from project.paths import PROJECT_ROOT


def _gitops(state, port: int, *args: str) -> subprocess.CompletedProcess[str]:  # the runs' records: state/../runs
    return subprocess.run(
        [sys.executable, "-m", "local_pipeline.gitops", *args, "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCAL_AWS_STATE": str(state), "LOCAL_AWS_RUNS": str(state.parent / "runs")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _recorded_run(runs, run_id: str, status: str) -> None:
    (runs / run_id).mkdir(parents=True)
    record = {"id": run_id, "commit": "b" * 40, "branch": "main", "status": status, "reason": "", "actions": []}
    (runs / run_id / "run.json").write_text(json.dumps(record))


def test_up_answers_lists_the_earlier_runs_and_down_stops_it(tmp_path):
    """A service that starts over the records of a dead one lists every run, and marks the
    one it left in progress Failed, saying so (issue 19: no run is lost)."""
    port = _free_port()
    state = tmp_path / "state"
    _recorded_run(tmp_path / "runs", "1", "Succeeded")
    _recorded_run(tmp_path / "runs", "2", "InProgress")  # the service running it was killed
    assert _gitops(state, port, "runs").stderr.strip() == "runs: the emulated accounts are not up: run `make up`"
    started = _gitops(state, port, "up")
    try:
        assert started.returncode == 0, started.stderr
        assert f"The emulated accounts are up on http://127.0.0.1:{port} (fresh: no stack; `make down` stops them)." in started.stdout
        assert "  found left behind: run 2: the process that ran it stopped during this run: marked Failed" in started.stdout
        # The service's folder and what it writes are this user's only (its log and its
        # record, and the control token; accounts.json is written so when the pipeline is deployed).
        assert state.stat().st_mode & 0o777 == 0o700
        for written in ("service.log", "service.json", "control.token"):
            assert (state / written).stat().st_mode & 0o077 == 0, written
        again = _gitops(state, port, "up")
        assert again.stdout.startswith(f"The emulated accounts are already up on http://127.0.0.1:{port}.")
        runs = _gitops(state, port, "runs")
        assert runs.returncode == 0, runs.stderr
        listed = [line.split()[:4] for line in runs.stdout.splitlines()[1:]]
        assert listed == [["1", "b" * 12, "main", "Succeeded"], ["2", "b" * 12, "main", "Failed"]]
    finally:
        stopped = _gitops(state, port, "down")
    kept = tmp_path / "runs"
    assert stopped.stdout.strip() == (
        f"The emulated accounts are stopped: their stacks are gone (the runs' records stay in {kept}/); `make up` starts afresh."
    )
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


def _control(port: int, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port + 1, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_the_control_api_answers_only_its_user(tmp_path):
    """Each attack on the control API is refused with an HTTP answer: no token, a web page's
    request, a commit that is an option, /accounts, a path out of the runs, malformed bodies."""
    port = _free_port()
    state = tmp_path / "state"
    planted = tmp_path / "planted"
    planted.write_text("intact")
    started = _gitops(state, port, "up")
    try:
        assert started.returncode == 0, started.stderr
        token_file = state / "control.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        ok = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        push = json.dumps({"ref": "refs/heads/main", "commit": f"--output={planted}", "repository": "."}).encode()
        assert _control(port, "POST", "/push", body=push, headers={"Content-Type": "application/json"})[0] == 401
        assert _control(port, "POST", "/decide", body=b'{"approve": true}', headers={"Content-Type": "text/plain"})[0] == 401
        assert _control(port, "POST", "/decide", body=b'{"approve": true}', headers={**ok, "Origin": "http://evil.example"})[0] == 403
        transition = b'{"stage": "Prod", "enabled": true}'
        assert _control(port, "POST", "/transition", body=transition, headers={"Content-Type": "application/json"})[0] == 401
        assert _control(port, "POST", "/transition", body=transition, headers={**ok, "Sec-Fetch-Site": "cross-site"})[0] == 403
        assert _control(port, "GET", "/accounts", headers=ok)[0] in (404, 409)
        assert _control(port, "GET", "/health", headers={**ok, "Host": f"evil.example:{port + 1}"})[0] == 403
        assert _control(port, "GET", "/health", headers=ok)[0] == 200
        malformed = {
            "non-numeric length": ({**ok, "Content-Length": "abc"}, b"{}"),
            "negative length": ({**ok, "Content-Length": "-1"}, b"{}"),
            "invalid UTF-8": (ok, b"\xff\xfe"),
            "null": (ok, b"null"),
            "invalid JSON": (ok, b"{"),
            "a list": (ok, b"[]"),
            "text/plain": ({**ok, "Content-Type": "text/plain"}, b"{}"),
        }
        for name, (headers, body) in malformed.items():
            status, text = _control(port, "POST", "/decide", body=body, headers=headers)
            assert status in (400, 415), (name, status, text)
        # A 2 MiB body is refused on its promised length, before it is read.
        status, _ = _control(port, "POST", "/decide", body=b"{}", headers={**ok, "Content-Length": str(2 * 1024 * 1024)})
        assert status == 413
        assert _control(port, "PUT", "/push", body=b"{}", headers=ok)[0] == 405
        # The new inputs are refused before the service's state is looked at (no pipeline yet: 409).
        for path, body in (
            ("/decide", {"approve": True, "run": "../1"}),
            ("/decide", {"approve": True, "run": 7}),
            ("/decide", {"approve": "yes"}),
            ("/transition", {"stage": "Prod; rm -rf /", "enabled": True}),
            ("/transition", {"stage": "Prod", "enabled": "true"}),
            ("/transition", {"stage": "x" * 101, "enabled": False}),
        ):
            status, text = _control(port, "POST", path, body=json.dumps(body).encode(), headers=ok)
            assert status == 400, (path, body, status, text)
        assert _control(port, "POST", "/decide", body=b'{"approve": true, "run": "1"}', headers=ok)[0] == 409
        assert planted.read_text() == "intact"
    finally:
        _gitops(state, port, "down")


def test_a_pushed_commit_is_only_a_full_object_id_of_the_service_s_repository(tmp_path, monkeypatch):
    """The commit a request names never becomes an option of git (it once ran `git archive
    --output=<any file>`), and names a commit of the service's own remote only."""
    from local_pipeline import gitops

    repository = tmp_path / "repo"
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "--quiet", str(repository)], check=True)  # noqa: S607
    subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    tree = subprocess.run([*git, "rev-parse", "HEAD^{tree}"], capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setattr(gitops, "REPOSITORY", repository)
    planted = tmp_path / "planted"
    planted.write_text("intact")

    assert gitops.resolved_commit(head) == head
    for value in (f"--output={planted}", "-" + head[1:], head[:12], head.upper(), f"{head}\n"):
        with pytest.raises(gitops.BadRequest, match="is not a full object ID") as refused:
            gitops.resolved_commit(value)
        assert refused.value.status == 400
    for value in ("0" * 40, tree):
        with pytest.raises(gitops.GitOpsError, match="is not a commit of"):
            gitops.resolved_commit(value)
    assert planted.read_text() == "intact"


def test_the_changed_files_of_a_push_are_those_of_its_commits(tmp_path, monkeypatch):
    """A push's changed files (what a trigger's FilePaths filter reads: CodePipeline user
    guide, "Filter triggers on code push or pull requests") are ``old..new``; a new
    branch's are its head commit's against its first parent (a guess: the docs are silent)."""
    from local_pipeline import gitops

    repository = tmp_path / "repo"
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "--quiet", str(repository)], check=True)  # noqa: S607
    commits = []
    for name in ("README.md", "pipeline/steps.py", "docs/a.md"):
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(name)
        subprocess.run([*git, "add", name], check=True)
        subprocess.run([*git, "commit", "--quiet", "-m", name], check=True)
        commits.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip())
    monkeypatch.setattr(gitops, "REPOSITORY", repository)
    assert gitops.changed_files(commits[0], commits[2]) == ["docs/a.md", "pipeline/steps.py"]
    assert gitops.changed_files("0" * 40, commits[2]) == ["docs/a.md"]
    assert gitops.changed_files("0" * 40, commits[0]) == ["README.md"]


def test_a_pushed_ref_is_a_branch_or_a_tag_never_a_revision_expression():
    """A ref reaches `git rev-parse refs/heads/<branch>` when a run restarts: ``main~3`` or
    ``main@{1}`` would name another commit; only names git itself takes are let through."""
    from local_pipeline import gitops

    assert gitops.checked_ref("refs/heads/feature/x") == "refs/heads/feature/x"
    assert gitops.checked_ref("refs/tags/v1.2") == "refs/tags/v1.2"
    for ref in ("refs/heads/main~3", "refs/heads/main@{1}", "refs/heads/a..b", "main", "refs/remotes/x", "refs/heads/-x ", 7):
        with pytest.raises(gitops.BadRequest, match="ref") as refused:
            gitops.checked_ref(ref)
        assert refused.value.status == 400


def test_a_push_keeps_following_while_an_auto_approver_decides_its_approval():
    """approvals: when-permissions-broaden: the AutoApprove step beside the approval may
    approve it; the pusher is told to approve only once that step has ended."""
    from local_pipeline.gitops import _auto_approver_running

    where = "TrustingResources-dev/Approve-TrustingResources-dev"
    deciding = {"actions": [{"stage": "TrustingResources-dev", "action": "AutoApprove-TrustingResources-dev", "status": "InProgress"}]}
    ended = {"actions": [{"stage": "TrustingResources-dev", "action": "AutoApprove-TrustingResources-dev", "status": "Succeeded"}]}
    elsewhere = {
        "actions": [{"stage": "TrustedConfiguration-dev", "action": "AutoApprove-TrustedConfiguration-dev", "status": "InProgress"}]
    }
    assert _auto_approver_running(deciding, where)
    assert not _auto_approver_running(ended, where)
    assert not _auto_approver_running(elsewhere, where)
