"""`git push local` runs the pipeline: the emulated accounts as a service, a git remote, approvals.

    python -m local_pipeline.gitops up | down | remote | approve | reject | runs
    python -m local_pipeline.gitops serve --port 5123      (what `up` starts in the background)
    python -m local_pipeline.gitops hook                    (the remote's post-receive hook)

`up` starts the emulated accounts on 127.0.0.1 (the AWS API on the port, this module's
control API on the next one) and prints each account's credentials; their state lasts
until `down`. `remote` adds the git remote ``local`` (a bare repository in
``.local-aws/``) and deploys the pipeline once from the working tree, as
`cdk deploy SecretCachePipeline` does on AWS. Each push then starts a run when the
pipeline's trigger selects the ref; the pusher sees it until it ends or waits at an
approval, and `approve` / `reject` decide it and follow it on. Runs are recorded in
``reports/runs/<id>/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import hmac
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local_pipeline.change_summaries import AUTO_APPROVE, summary_text
from local_pipeline.report import action_line
from project.paths import PROJECT_ROOT, REPORTS

STATE = Path(os.environ.get("LOCAL_AWS_STATE", PROJECT_ROOT / ".local-aws"))
SERVICE_JSON = STATE / "service.json"
# The control API's token and the accounts' credentials: readable by the service's user only.
TOKEN_FILE = STATE / "control.token"
ACCOUNTS_JSON = STATE / "accounts.json"
REPOSITORY = STATE / "repo.git"
# The runs' records (a test's or a bench's service keeps its own).
RUNS = Path(os.environ.get("LOCAL_AWS_RUNS", REPORTS / "runs"))
DEFAULT_PORT = 5123
MAX_BODY_BYTES = 1024 * 1024
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # fullmatch: "$" would let a newline through
_RUN_PATH = re.compile(r"/runs/([0-9]{1,9})")  # fullmatch
_RUN_ID = re.compile(r"[0-9]{1,9}")  # fullmatch


def _private_state() -> None:
    """The service's folder, readable by this user only (0700): it holds the accounts'
    credentials, the control token, the pushed repository and the builds' folders."""
    STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
    STATE.chmod(0o700)  # made earlier, under a looser umask


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only this user can read (0600), created so from the start."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def resolved_commit(commit: str) -> str:
    """``commit`` if it is a full object ID naming a commit of the remote's repository;
    BadRequest (400) if it is no object ID, GitOpsError if the repository has no such commit.
    Never lets the value become an option of a command."""
    if not _COMMIT_ID.fullmatch(commit):
        raise BadRequest(400, f"commit {commit[:80]!r} is not a full object ID (40 or 64 lowercase hex digits)")
    found = _commit_of(commit)
    if found is None:
        raise GitOpsError(f"commit {commit} is not a commit of {REPOSITORY}")
    return found


def _commit_of(revision: str) -> str | None:
    """The commit ``revision`` names in the service's remote, or None (never an option)."""
    found = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],  # noqa: S607
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


class GitOpsError(Exception):
    """What the user must do, in one line."""


# --- the service ------------------------------------------------------------------------


class Control:
    """The control API's state: the emulated accounts, the deployed pipeline, the runs."""

    def __init__(self, emulator: Any, endpoint: str) -> None:
        self.emulator = emulator
        self.endpoint = endpoint
        self.service: Any = None  # a RunService once the pipeline is deployed
        from local_pipeline.executor.npm_registry import RegistryOnUse

        self.npm = RegistryOnUse(PROJECT_ROOT)  # what the builds' `npm install -g` reads
        self.accounts: list[str] = []
        self.lock = threading.Lock()

    def deploy_pipeline(self, assembly: Path) -> dict[str, Any]:
        from emulator import DeployError
        from local_pipeline.deployment import bootstrap_accounts
        from local_pipeline.executor.deployed import deployed_pipeline
        from local_pipeline.executor.local_source import with_local_source
        from local_pipeline.executor.runner import PipelineRunner
        from local_pipeline.executor.service import RunService
        from local_pipeline.executor.source_action import SourceAction
        from project.assembly import read_stacks

        kept = STATE / "pipeline-assembly"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(assembly, kept)
        stacks = read_stacks(kept)
        (pipeline_stack,) = [s for s in stacks if not s.stage]
        with self.lock:
            tooling = bootstrap_accounts(self.emulator, stacks)
            before = deployed_pipeline(self.emulator, pipeline_stack).declaration if self.service is not None else None
            self.accounts = sorted({s.account for s in stacks})
            deployed, note = with_local_source(pipeline_stack, STATE / "pipeline-local-source")
            try:
                self.emulator.deploy(deployed, deployer_account=tooling)
            except DeployError as error:
                raise GitOpsError(str(error)) from None
            endpoint = self.endpoint
            runner = PipelineRunner(
                self.emulator,
                pipeline_stack,
                lambda: endpoint,
                os.environ.get("PATH", ""),
                STATE / "workspace",
                decide=_never,
                npm=self.npm,
            )

            def start_run(start: Any) -> Any:
                # Each run's approvals are decided through the service (`make approve`).
                return dataclasses.replace(runner, decide=start.decide).run(
                    SourceAction(start.pushed),
                    start.pushed.commit,
                    start.pushed.branch,
                    start.run_id,
                    start.folder,
                    executions=start.executions,
                    execution=start.execution,
                    trigger=start.trigger,
                )

            def definition() -> Any:
                return deployed_pipeline(self.emulator, pipeline_stack).pipeline

            if self.service is None:
                self.service = RunService(RUNS, definition, start_run, branch_head=_branch_head)
                restarted = None
            else:  # an update by hand cancels the runs in progress, as any update of the pipeline does
                updated = "`make remote`" if deployed_pipeline(self.emulator, pipeline_stack).declaration != before else ""
                restarted = self.service.redeploy(definition, start_run, updated=updated)
        # The accounts' credentials, for `make up` to print in the user's terminal (never over the API).
        _write_private(ACCOUNTS_JSON, json.dumps(self.credentials()))
        return {"pipeline": pipeline_stack.stack_name, "tooling": tooling, "note": note, "restarted": restarted}

    def credentials(self) -> dict[str, dict[str, str]]:
        return {account: self.emulator.credentials(account).as_environment() for account in self.accounts}


def _branch_head(branch: str) -> Any:
    """The head of ``branch`` in the service's remote now (what a restart runs), or None."""
    from local_pipeline.executor.source_action import PushedCommit

    head = _commit_of(f"refs/heads/{branch}")
    return PushedCommit(REPOSITORY, head, branch) if head else None


def changed_files(old: str, new: str) -> list[str]:
    """The files the pushed commits change: ``old..new``, or, for a new ref, ``new`` against
    its first parent (all its files if it has none). Both are commits of the remote."""
    if set(old) == {"0"}:
        command = ["git", "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-m", "--first-parent", new]
    else:
        command = ["git", "diff", "--name-only", "--end-of-options", old, new]
    listed = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)  # noqa: S603
    if listed.returncode != 0:
        raise GitOpsError(f"the files {new[:12]} changes could not be listed: {listed.stderr.strip()[:200]}")
    return sorted({line for line in listed.stdout.splitlines() if line})


def _never(where: str, data: str) -> Any:
    raise RuntimeError("approvals are decided through the service")


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_STAGE_NAME = re.compile(r"[A-Za-z0-9.@\-_]{1,100}")  # fullmatch (API reference, StageDeclaration: name)


def checked_ref(ref: Any) -> str:
    """A pushed ref: a branch or a tag, a name git itself would take (`git check-ref-format`),
    never a revision expression (``main~3``, ``main@{1}``) that would name another commit."""
    if not isinstance(ref, str) or not ref.startswith(("refs/heads/", "refs/tags/")) or len(ref) > 1000:
        raise BadRequest(400, f"ref {str(ref)[:80]!r} is no branch or tag (refs/heads/..., refs/tags/...)")
    valid = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)  # noqa: S603, S607
    if valid.returncode != 0 or "@{" in ref:
        raise BadRequest(400, f"ref {ref[:80]!r} is not a valid ref name")
    return ref


def checked_decision(body: dict[str, Any]) -> tuple[bool, str | None]:
    """/decide's body: ``approve`` (true or false) and, optionally, the ``run`` (digits)."""
    approve, run_id = body.get("approve"), body.get("run")
    if not isinstance(approve, bool):
        raise BadRequest(400, "approve must be true or false")
    if run_id is not None and not (isinstance(run_id, str) and _RUN_ID.fullmatch(run_id)):
        raise BadRequest(400, f"run {str(run_id)[:80]!r} is no run id (digits only)")
    return approve, run_id


def checked_transition(body: dict[str, Any]) -> tuple[str, bool]:
    """/transition's body: a ``stage`` name as CodePipeline names stages, ``enabled`` true or false."""
    stage, enabled = body.get("stage"), body.get("enabled")
    if not (isinstance(stage, str) and _STAGE_NAME.fullmatch(stage)) or not isinstance(enabled, bool):
        raise BadRequest(400, f"stage {str(stage)[:80]!r} must be a stage's name ([A-Za-z0-9.@-_], 1-100) and enabled true or false")
    return stage, enabled


_CHECKS: dict[str, Callable[[dict[str, Any]], Any]] = {"/decide": checked_decision, "/transition": checked_transition}


def _handler(control: Control, token: str, port: int) -> type[BaseHTTPRequestHandler]:
    allowed_hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # no line per request
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _refusal(self) -> tuple[int, str] | None:
            """Why this request may not be served: only the service's user, from a terminal."""
            if self.headers.get("Host") not in allowed_hosts:
                return 403, f"Host {self.headers.get('Host')!r} is not this service"
            if self.headers.get("Origin") is not None or self.headers.get("Sec-Fetch-Site") is not None:
                return 403, "requests from web pages are refused"
            presented = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(presented.encode(), token.encode()):
                return 401, f"no valid token: the control API needs the one in {TOKEN_FILE}"
            return None

        def _body(self) -> dict[str, Any]:
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                raise BadRequest(415, "the body must be application/json")
            text = self.headers.get("Content-Length")
            if text is None or not text.isascii() or not text.isdigit():
                raise BadRequest(400, f"Content-Length {text!r} is not a number of bytes")
            length = int(text)
            if length > MAX_BODY_BYTES:
                raise BadRequest(413, f"the body is {length} bytes, over the limit of {MAX_BODY_BYTES}")
            try:
                body = json.loads(self.rfile.read(length).decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                raise BadRequest(400, f"the body is not JSON: {error}") from None
            if not isinstance(body, dict):
                raise BadRequest(400, f"the body must be a JSON object, not {type(body).__name__}")
            return body

        def _refuse_other_method(self) -> None:
            refused = self._refusal()
            if refused:
                return self._reply(refused[0], {"error": refused[1]})
            return self._reply(405, {"error": f"{self.command} is not served"})

        do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_other_method  # noqa: N815  (http.server's names)

        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            refused = self._refusal()
            if refused:
                return self._reply(refused[0], {"error": refused[1]})
            if self.path == "/health":
                return self._reply(200, {"ok": True, "pipeline": control.service is not None})
            if self.path == "/runs":  # the recorded runs, a pipeline deployed or not
                from local_pipeline.executor.service import list_runs

                if control.service is None:
                    return self._reply(200, {"runs": list_runs(RUNS), "waiting": None})
                return self._reply(200, {"runs": control.service.listing(), "waiting": control.service.waiting()})
            if control.service is None:
                return self._reply(409, {"error": "no pipeline is deployed yet: run `make remote`"})
            if self.path.startswith("/runs/"):
                matched = _RUN_PATH.fullmatch(self.path)
                if matched is None:
                    return self._reply(400, {"error": f"{self.path[:80]!r}: a run id is digits only"})
                run_id = matched[1]
                recorded = RUNS / run_id / "run.json"
                record = json.loads(recorded.read_text()) if recorded.is_file() else None
                waiting = [entry for entry in control.service.waiting() if entry[0] == run_id]
                answer = {
                    "record": record,
                    "waiting": waiting[0] if waiting else None,
                    # What the waiting approval lets through: its stage's change summaries.
                    "summary": summary_text(RUNS / run_id, str(waiting[0][1]).split("/", 1)[0]) if waiting else "",
                    "waits_to_enter": control.service.waits_to_enter(run_id),
                    "ended": control.service.ended(run_id),
                }
                return self._reply(200, answer)
            return self._reply(404, {"error": f"no {self.path}"})

        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            from local_pipeline.executor.source_action import PushedCommit

            refused = self._refusal()
            if refused:
                return self._reply(refused[0], {"error": refused[1]})
            try:
                body = self._body()
                if self.path == "/pipeline":
                    return self._reply(200, control.deploy_pipeline(Path(body["assembly"])))
                # Each body is checked before the service's state is: a bad request is one.
                checked: Any = _CHECKS[self.path](body) if self.path in _CHECKS else None
                if control.service is None:
                    return self._reply(409, {"error": "no pipeline is deployed yet: run `make remote`"})
                if self.path == "/push":
                    ref = checked_ref(body["ref"])
                    # The repository is the service's own remote, never one a request names.
                    pushed = PushedCommit(REPOSITORY, resolved_commit(str(body["commit"])), ref.removeprefix("refs/heads/"))
                    old = str(body.get("old") or "0" * len(pushed.commit))
                    old = old if set(old) == {"0"} else resolved_commit(old)
                    answer = control.service.push(ref, pushed, changed_files(old, pushed.commit))
                    return self._reply(200, {"started": answer.started, "run_id": answer.run_id, "message": answer.message})
                if self.path == "/decide":
                    approve, run_id = checked
                    # Recorded as the local user the service runs as: only they hold the token.
                    return self._reply(200, {"message": control.service.decide(approve, getpass.getuser(), run_id=run_id)})
                if self.path == "/transition":
                    stage, enabled = checked
                    return self._reply(200, {"message": control.service.set_transition(stage, enabled=enabled)})
            except BadRequest as error:
                return self._reply(error.status, {"error": str(error)})
            except KeyError as error:
                return self._reply(400, {"error": f"the body names no {error}"})
            except (GitOpsError, LookupError) as error:
                return self._reply(409, {"error": str(error)})
            return self._reply(404, {"error": f"no {self.path}"})

    return Handler


def serve(port: int) -> int:
    from emulator import Emulator
    from local_pipeline.executor.run_folders import recover_abandoned
    from local_pipeline.keep_up import served

    # Whatever the service and its builds write (the repository, the builds' folders and
    # their .npmrc with the registry's token, the runs' records) is this user's only.
    os.umask(0o077)
    _private_state()
    # A dead service's credentials are no account's now: `make up` must not print them.
    ACCOUNTS_JSON.unlink(missing_ok=True)
    # What a service or a `make local` that died left: its runs marked Failed, its builds ended.
    recovered = recover_abandoned(RUNS)
    for line in recovered:
        print(line, flush=True)
    with Emulator() as emulator, served(port) as endpoint:
        control = Control(emulator, endpoint)
        token = secrets.token_urlsafe(32)
        _write_private(TOKEN_FILE, token)
        server = ThreadingHTTPServer(("127.0.0.1", port + 1), _handler(control, token, port + 1))
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
        SERVICE_JSON.write_text(json.dumps({"pid": os.getpid(), "endpoint": control.endpoint, "control": port + 1, "recovered": recovered}))
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            if control.service is not None:  # its runs in progress end Failed, saying why, and their builds with them
                control.service.stop()
            control.npm.stop()
            SERVICE_JSON.unlink(missing_ok=True)
    return 0


# --- the client -------------------------------------------------------------------------


def _service() -> dict[str, Any] | None:
    if not SERVICE_JSON.is_file():
        return None
    service: dict[str, Any] = json.loads(SERVICE_JSON.read_text())
    try:
        os.kill(int(service["pid"]), 0)
    except OSError:
        SERVICE_JSON.unlink(missing_ok=True)  # left behind by a service that is gone
        return None
    return service


def _token() -> str:
    # Absent when the service died before writing it: the call then fails with the reason.
    return TOKEN_FILE.read_text().strip() if TOKEN_FILE.is_file() else ""


def _call(method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float = 600) -> dict[str, Any]:
    service = _service()
    if service is None:
        raise GitOpsError("the emulated accounts are not up: run `make up`")
    request = urllib.request.Request(
        f"http://127.0.0.1:{service['control']}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {_token()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  (our own loopback service)
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise GitOpsError(json.loads(error.read()).get("error", str(error))) from None
    except (urllib.error.URLError, ConnectionError) as error:
        # HTTPError is a URLError: answered above. These did not answer at all.
        raise GitOpsError(f"the service did not answer {method} {path}: {error} (its log: {STATE / 'service.log'})") from None


def up(port: int) -> int:
    service = _service()
    if service is None:
        _private_state()
        log = os.fdopen(os.open(STATE / "service.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a")
        subprocess.Popen(  # noqa: S603  (this interpreter, this module)
            [sys.executable, "-m", "local_pipeline.gitops", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while (service := _service()) is None or not _healthy():
            if time.monotonic() > deadline:
                raise GitOpsError(f"the emulated accounts did not come up in 60 s: see {STATE / 'service.log'}")
            time.sleep(0.2)
        print(f"The emulated accounts are up on {service['endpoint']} (fresh: no stack; `make down` stops them).")
        for line in service.get("recovered") or ():
            print(f"  found left behind: {line}")
    else:
        print(f"The emulated accounts are already up on {service['endpoint']}.")
    for account, variables in json.loads(ACCOUNTS_JSON.read_text()).items() if ACCOUNTS_JSON.is_file() else ():
        print(
            f"  # account {account}\n  export {' '.join(f'{k}={v}' for k, v in variables.items())} AWS_ENDPOINT_URL={service['endpoint']} "
            "AWS_DISABLE_HOST_PREFIX_INJECTION=true"
        )
    return 0


def _healthy() -> bool:
    try:
        return bool(_call("GET", "/health", timeout=2).get("ok"))
    except (GitOpsError, OSError):
        return False


def down() -> int:
    service = _service()
    if service is None:
        print("The emulated accounts are not up.")
        return 0
    os.kill(int(service["pid"]), signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _service() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"The emulated accounts are stopped: their stacks are gone (the runs' records stay in {_shown(RUNS)}/); `make up` starts afresh.")
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def remote(port: int, *, git_remote: bool = True) -> int:
    """The bare repository with its hook, the git remote ``local`` naming it (unless not
    ``git_remote``: the bench pushes from a clone of its own), and the pipeline deployed."""
    from local_pipeline.synth import cdk_synth

    if _service() is None:
        up(port)
    if not REPOSITORY.is_dir():
        subprocess.run(["git", "init", "--quiet", "--bare", str(REPOSITORY)], check=True)  # noqa: S607
    hook = REPOSITORY / "hooks" / "post-receive"
    # The state folder is named in the hook: a push finds this service whatever its environment.
    root, state, python = (shlex.quote(str(path)) for path in (PROJECT_ROOT, STATE, sys.executable))
    hook.write_text(f"#!/bin/sh\ncd {root} && LOCAL_AWS_STATE={state} exec {python} -m local_pipeline.gitops hook\n")
    hook.chmod(0o755)
    if git_remote:
        remotes = subprocess.run(["git", "remote"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()  # noqa: S607
        verb = "set-url" if "local" in remotes else "add"
        subprocess.run(["git", "remote", verb, "local", str(REPOSITORY)], cwd=PROJECT_ROOT, check=True)  # noqa: S607
        print(f"git remote `local` -> {REPOSITORY}")
    print("Deploying the pipeline from the working tree, as `cdk deploy SecretCachePipeline` does ...")
    assembly = STATE / "cdk.out"
    synthesized = cdk_synth(assembly)
    if synthesized.returncode != 0:
        raise GitOpsError(f"cdk synth failed: {(synthesized.stderr or synthesized.stdout).strip()[-500:]}")
    deployed = _call("POST", "/pipeline", {"assembly": str(assembly)})
    print(f"{deployed['pipeline']} is deployed in account {deployed['tooling']}: `git push local HEAD:<branch>` runs it.")
    if deployed.get("restarted"):
        print(f"  the pipeline was updated: the runs in progress are cancelled, and run {deployed['restarted']} restarts it (`make runs`)")
    if deployed.get("note"):
        print(f"  ({deployed['note']})")
    return 0


def follow(run_id: str, *, shown: int = 0) -> int:
    """Print the run's actions as they end (after the first ``shown``), until it ends or
    waits at an approval; a run cancelled by its own pipeline update is followed on into
    the run that restarted it."""
    printed = shown
    while True:
        state = _call("GET", f"/runs/{run_id}")
        record = state.get("record") or {"actions": [], "status": "InProgress"}
        for entry in record["actions"][printed:]:
            if entry["status"] == "InProgress":
                break
            print(action_line(entry), flush=True)
            printed += 1
        if state.get("waiting") and not _auto_approver_running(record, str(state["waiting"][1])):
            _, where, data = state["waiting"]
            print(f"run {run_id} waits for approval at {where}: {data}", flush=True)
            if state.get("summary"):
                print(_indented(state["summary"]), flush=True)
            print(f"  make approve RUN={run_id}   or   make reject RUN={run_id}", flush=True)
            return 0
        if state.get("waits_to_enter"):
            # CodePipeline's stage lock: it goes on by itself when the stage is free (`make runs`).
            print(f"run {run_id} waits to enter {state['waits_to_enter']}: it goes on by itself (`make runs`)", flush=True)
            return 0
        if record["status"] != "InProgress" and state.get("ended", True):
            print(f"run {run_id} {record['status']}" + (f": {record.get('reason')}" if record.get("reason") else ""), flush=True)
            if record.get("restarted_as"):
                restart = str(record["restarted_as"])
                print(f"run {restart} started: the pipeline was updated, and it restarts on the branch's head", flush=True)
                return follow(restart)
            return 0 if record["status"] == "Succeeded" else 1
        time.sleep(0.5)


def hook() -> int:
    code = 0
    for line in sys.stdin.read().splitlines():
        old, new, ref = line.split()
        if set(new) == {"0"}:
            print(f"push of {ref} ignored: a deletion")
            continue
        # The service reads the commits from its own remote (REPOSITORY), never from a path
        # a request names.
        answer = _call("POST", "/push", {"ref": ref, "commit": new, "old": old})
        print(answer["message"], flush=True)
        if answer["started"]:
            code = max(code, follow(str(answer["run_id"])))
    return code


def decide(approve: bool, run: str | None = None) -> int:
    """Approve or reject the approval run ``run`` waits at (without one: the only run that
    waits at one), then follow that run."""
    waiting = _call("GET", "/runs").get("waiting") or []
    if run is not None:
        waiting = [entry for entry in waiting if str(entry[0]) == run]
        if not waiting:
            raise GitOpsError(f"run {run} waits for no approval")
    if not waiting:
        raise GitOpsError("no run waits for an approval")
    if len(waiting) > 1:
        named = ", ".join(f"run {entry[0]} at {entry[1]}" for entry in waiting)
        raise GitOpsError(f"{len(waiting)} runs wait for an approval ({named}): say which, e.g. make approve RUN={waiting[0][0]}")
    run_id = str(waiting[0][0])
    state = _call("GET", f"/runs/{run_id}")
    record = state.get("record") or {"actions": []}
    shown = sum(1 for entry in record["actions"] if entry["status"] != "InProgress")  # the pusher saw these
    # What is decided: the change set the approval lets through, printed before the decision.
    print(f"run {run_id} at {waiting[0][1]}: {waiting[0][2]}")
    if state.get("summary"):
        print(_indented(state["summary"]))
    answer = _call("POST", "/decide", {"approve": approve, "run": run_id})
    print(answer["message"])
    return follow(run_id, shown=shown)


def runs() -> int:
    listing = _call("GET", "/runs")
    print(f"{'id':>4}  {'commit':12}  {'branch':20}  {'status':10}  {'seconds':>7}  why")
    for row in listing["runs"]:
        print(f"{row['id']:>4}  {row['commit']:12}  {row['branch']:20}  {row['status']:10}  {row['seconds']:>7}  {row.get('why', '')}")
        if row.get("approvals"):  # the approvals it waited at, and what became of each
            print(f"{'':>6}approvals: {row['approvals']}")
    return 0


def _auto_approver_running(record: dict[str, Any], where: str) -> bool:
    """An AutoApprove step (approvals: when-permissions-broaden) still deciding the approval
    at ``where``: the run may go on by itself, so the pusher keeps following."""
    stage = where.split("/", 1)[0]
    return any(
        entry["stage"] == stage and entry["status"] == "InProgress" and AUTO_APPROVE in str(entry["action"])
        for entry in record.get("actions", [])
    )


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in str(text).splitlines())


def transition(stage: str, *, enabled: bool) -> int:
    print(_call("POST", "/transition", {"stage": stage, "enabled": enabled})["message"])
    return 0


def _stage(stage: str | None) -> str:
    if not stage:
        raise GitOpsError("name the stage: STAGE=<name>")
    return stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "command", choices=["up", "down", "remote", "hook", "approve", "reject", "runs", "serve", "enable-transition", "disable-transition"]
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--run", default=os.environ.get("RUN") or None, help="approve / reject: the run whose approval (RUN=<id>)")
    parser.add_argument("--stage", default=os.environ.get("STAGE") or None, help="enable- / disable-transition: the stage (STAGE=<name>)")
    parser.add_argument("--no-git-remote", action="store_true", help="remote: leave this repository's git remotes alone")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args.port)
        commands: dict[str, Callable[[], int]] = {
            "up": lambda: up(args.port),
            "down": down,
            "remote": lambda: remote(args.port, git_remote=not args.no_git_remote),
            "hook": hook,
            "approve": lambda: decide(True, args.run),
            "reject": lambda: decide(False, args.run),
            "runs": runs,
            "enable-transition": lambda: transition(_stage(args.stage), enabled=True),
            "disable-transition": lambda: transition(_stage(args.stage), enabled=False),
        }
        return commands[args.command]()
    except GitOpsError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
