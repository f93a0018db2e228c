"""`make local`: the synthesized pipeline, run by the executor on the working tree, in fresh
emulated accounts; its record; its gates; approvals; an environment outside us-east-1.

`cdk synth` and the checkov run are replaced here (they have their own tests): the run
reads a cloud assembly this session synthesized, the audit returns a verdict. The
pipeline's deployment, its actions, the change sets and the integration test are real,
on the emulated accounts.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from local_pipeline.executor.approval_action import Decision
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.synth import StartedSynth, claim_assembly
from pipeline.audit import AuditReport, Finding
from project.arns import account_of_arn, region_of_arn
from project.paths import PROJECT_ROOT
from tests.helpers import CONFIGURED_REGION, SynthesizedApp, suite_context


def finished_synth(outdir: Path, *, ok: bool = True, cdk_json: Path | None = None) -> StartedSynth:
    """A stand-in for `cdk synth` of an assembly already synthesized: a process that ends at
    once, with Node's error when not ``ok``. The session's assembly is read by every worker
    at once: the stand-in holds a folder of its own, not it."""
    script = "" if ok else "import sys; sys.stderr.write('Error: bad app\\n'); sys.exit(1)"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    claim = claim_assembly(Path(tempfile.mkdtemp(prefix="stand-in-synth-")) / "cdk.out")
    return StartedSynth(outdir, process, time.perf_counter(), claim, cdk_json=cdk_json)


def _run(
    assembly: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    failed: list[Finding],
    approve: bool = False,
    synth_ok=True,
    cdk_json: Path | None = None,
):
    from local_pipeline import run as run_module
    from local_pipeline.run import LocalRun, RunOptions

    def synthesized(outdir: Path) -> StartedSynth:
        assert outdir == assembly
        return finished_synth(outdir, ok=synth_ok, cdk_json=cdk_json)

    def audited(assemblies, reports, **_):
        assert assemblies == [assembly]
        return AuditReport(templates=[], passed=[], failed=failed)

    monkeypatch.setattr(run_module, "start_synth", synthesized)
    monkeypatch.setattr(run_module, "start_checkov", lambda: None)  # the audit is replaced too
    monkeypatch.setattr(run_module, "audit", audited)
    output = io.StringIO()
    run = LocalRun(
        RunOptions(assembly=assembly, reports=tmp_path / "reports", approve=approve),
        Console(file=output, width=200, highlight=False),
    )
    return run.run(), run, output.getvalue()


def _recorded(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reports" / "runs" / "latest" / "run.json").read_text())


def _pipeline_actions(app: SynthesizedApp) -> list[tuple[str, str]]:
    from local_pipeline.executor.deployed import PIPELINE_TYPE

    (properties,) = [r["Properties"] for r in app.templates["SecretCachePipeline"]["Resources"].values() if r["Type"] == PIPELINE_TYPE]
    stages = read_pipeline(properties).stages
    return [(action.stage, action.name) for stage in stages for group in stage.action_groups() for action in group]


def test_a_passing_run_runs_every_action_of_the_synthesized_pipeline_in_its_order(synthesized_app, tmp_path, monkeypatch, capsys):
    from local_pipeline import run as run_module
    from local_pipeline.run import PREPARATION

    secret_values = _secret_values_read_as_deployed(monkeypatch, run_module)
    with capsys.disabled():  # the in-process integration test writes its log as under `make local`
        code, run, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[])
    assert code == 0, output
    recorded = _recorded(tmp_path)
    assert recorded["status"] == "Succeeded" and recorded["id"] == "1"
    ran = [(a["stage"], a["action"]) for a in recorded["actions"]]
    assert ran[:2] == [(PREPARATION, "synth the working tree"), (PREPARATION, "deploy the pipeline")]
    # The pipeline's own stages and actions, no list of the local run's.
    assert ran[2:] == _pipeline_actions(synthesized_app)
    assert all(a["status"] == "Succeeded" for a in recorded["actions"])
    # No source in cdk.json: the run says that a local one stands in.
    assert "cdk.json names no source" in recorded["actions"][1]["summary"]
    summaries = {a["action"]: a["summary"] for a in recorded["actions"]}
    assert summaries["SelfMutate"].startswith("SecretCachePipeline deployed in process")
    assert summaries["Approve-TrustingResources-dev"].startswith("approved by make local")
    (junit,) = (tmp_path / "reports" / "runs" / "1" / "actions").glob("*.IntegrationTest-dev/reports/IntegrationTest-dev/junit.xml")
    assert "<testcase" in junit.read_text()
    record_folder = tmp_path / "reports" / "runs" / "1"
    last = output.strip().splitlines()[-1]
    assert last == f"local pipeline passed in {run.total_seconds:.1f} s; its record: {record_folder}/ (its page: index.html)"
    assert [d.environment_name for d in run.deployments] == ["dev"]
    # The secret the integration test got back is in no file of the run's record (logs,
    # JUnit, change summaries, the page) and not in the output.
    assert secret_values, "the deployed secret was not read"
    for value in secret_values:
        forms = {value, json.dumps(value)[1:-1]}
        assert not any(form in output for form in forms)
        leaked = [p for p in (tmp_path / "reports").rglob("*") if p.is_file() and any(f.encode() in p.read_bytes() for f in forms)]
        assert leaked == []


def _secret_values_read_as_deployed(monkeypatch: pytest.MonkeyPatch, run_module) -> list[str]:
    """The values of the secrets the run deploys, read as the trusting account's administrator
    while the emulated accounts are up (they are gone when the run returns)."""
    values: list[str] = []
    original = run_module.deployed_environment

    def reading_the_secret(emulator, stacks, environment_name):
        deployment = original(emulator, stacks, environment_name)
        secrets = emulator.client("secretsmanager", account_of_arn(deployment.secret_arn), region_of_arn(deployment.secret_arn))
        values.append(secrets.get_secret_value(SecretId=deployment.secret_arn)["SecretString"])
        return deployment

    monkeypatch.setattr(run_module, "deployed_environment", reading_the_secret)
    return values


def test_a_failed_audit_fails_the_synth_action_and_nothing_is_deployed(synthesized_app, tmp_path, monkeypatch):
    finding = Finding("CKV_SCP_003", "no wildcard", "AWS::IAM::Policy.X", Path("t.json"))
    code, run, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[finding])
    assert code == 1
    recorded = _recorded(tmp_path)
    assert recorded["status"] == "Failed"
    assert recorded["reason"] == "Build/Synth: the audit failed: 1 failed checks: CKV_SCP_003 (reports/checkov/)"
    assert [a["action"] for a in recorded["actions"]][-1] == "Synth"
    assert not any(a["stage"].startswith("Trusted") for a in recorded["actions"])
    assert "local pipeline FAILED at Build/Synth: the audit failed: 1 failed checks: CKV_SCP_003" in output


def test_the_accounts_bootstrapped_ahead_must_be_the_assemblys(synthesized_app, tmp_path, monkeypatch):
    """The accounts are bootstrapped from cdk.json while Node synthesizes; an assembly
    whose tooling account is another (the app changed it) stops the run, naming both."""
    context = {**suite_context(), "tooling": {"account": "999999999999", "region": "us-east-1"}}
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": context}))
    code, _, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], cdk_json=cdk_json)
    assert code == 1
    reason = "make local/deploy the pipeline: cdk.json's tooling account is 999999999999, the assembly's 222222222222"
    assert _recorded(tmp_path)["reason"] == reason
    assert "local pipeline FAILED" in output


def test_a_failed_synth_is_recorded_with_its_reason(synthesized_app, tmp_path, monkeypatch):
    from local_pipeline.run import PREPARATION

    code, _, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], synth_ok=False)
    assert code == 1
    recorded = _recorded(tmp_path)
    assert recorded["status"] == "Failed" and recorded["actions"] == []
    assert recorded["reason"] == f"{PREPARATION}/synth the working tree: Error: bad app"
    assert f"local pipeline FAILED at {PREPARATION}/synth the working tree: Error: bad app" in output


def test_approval_without_a_terminal_fails_at_the_first_approval(synthesized_app, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, _ = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 1
    recorded = _recorded(tmp_path)
    assert recorded["reason"] == (
        "TrustingResources-dev/Approve-TrustingResources-dev: "
        "NotApproved: approval was asked for (--approve / APPROVE=1), but there is no terminal to ask"
    )
    assert [a["action"] for a in recorded["actions"]][-3:] == [
        "Prepare",
        "ChangeSummary-TrustingResources-dev",
        "Approve-TrustingResources-dev",
    ]


def test_a_rejected_approval_fails_the_run_and_a_new_run_gets_a_new_record(synthesized_app, tmp_path, monkeypatch):
    from local_pipeline import run as run_module

    monkeypatch.setattr(run_module.Approver, "decide", lambda self, where, data: Decision(False, "you", "not now"))
    code, _, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 1
    first = _recorded(tmp_path)
    assert first["status"] == "Failed"
    assert first["reason"] == "TrustingResources-dev/Approve-TrustingResources-dev: rejected by you: not now"
    assert not any(a["stage"] == "TrustedConfiguration-dev" for a in first["actions"])
    assert "local pipeline FAILED at TrustingResources-dev/Approve-TrustingResources-dev: rejected by you" in output
    _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert _recorded(tmp_path)["id"] == "2"
    assert json.loads((tmp_path / "reports" / "runs" / "1" / "run.json").read_text()) == first


def test_environments_in_eu_west_1_deploy_and_pass_there(configured_app: SynthesizedApp, tmp_path, monkeypatch):
    """The region of the emulated accounts is the environment's: the consumer is started,
    and the secret read, in eu-west-1. Also: two environments in one run, a source named
    in cdk.json (nothing stands in), and ``prod`` (``manualApprovals: false``) asks for no
    approval even with --approve."""
    from local_pipeline import run as run_module

    assert {env.region for env in configured_app.config.environments} == {CONFIGURED_REGION}
    asked: list[str] = []

    def decide(self, where: str, data: str) -> Decision:
        asked.append(where.split("/")[0])
        return Decision(True, "test")

    monkeypatch.setattr(run_module.Approver, "decide", decide)
    code, run, output = _run(configured_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 0, output
    recorded = _recorded(tmp_path)
    assert "cdk.json names no source" not in recorded["actions"][1]["summary"]
    assert [a["action"] for a in recorded["actions"] if a["action"].startswith("IntegrationTest")] == [
        "IntegrationTest-dev",
        "IntegrationTest-prod",
    ]
    assert [d.region for d in run.deployments] == [CONFIGURED_REGION, CONFIGURED_REGION]
    assert [region_of_arn(d.consumer_arn) for d in run.deployments] == [CONFIGURED_REGION, CONFIGURED_REGION]
    assert asked == ["TrustingResources-dev", "TrustedConfiguration-dev"]


_FRESH_PROCESS_RUN = """
import sys
from pathlib import Path
from rich.console import Console
from local_pipeline import run as run_module
from pipeline.audit import AuditReport

assembly, reports = Path(sys.argv[1]), Path(sys.argv[2])
from tests.unit.local_pipeline.test_run import finished_synth
run_module.start_synth = finished_synth
run_module.start_checkov = lambda: None
run_module.audit = lambda assemblies, reports, **_: AuditReport(templates=[])
options = run_module.RunOptions(assembly=assembly, reports=reports)
sys.exit(run_module.LocalRun(options, Console(width=200)).run())
"""


def test_the_run_ends_cleanly_in_a_process_of_its_own(synthesized_app, tmp_path):
    """`make local` runs the integration test module inside its own process, under the
    emulator: the tests' set-up must leave the emulator's environment as it found it
    (it once removed moto's credentials, and the run crashed on its way out)."""
    finished = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS_RUN, str(synthesized_app.outdir), str(tmp_path / "reports")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "local pipeline passed" in finished.stdout


_INTERRUPTED_DURING_SYNTH = """
import signal, subprocess, sys, time
# Ctrl-C as a terminal delivers it: a process started in the background by a shell without
# job control (`(make bench &)`) inherits SIGINT ignored, and Python then installs no handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
from rich.console import Console
from local_pipeline import run as run_module
from local_pipeline.executor.process_groups import ProcessGroup
from local_pipeline.synth import StartedSynth, claim_assembly

assembly, reports = Path(sys.argv[1]), Path(sys.argv[2])

def synth_that_runs_on(outdir):
    # As start_synth starts Node: a group of its own, recorded in the assembly's claim.
    claim = claim_assembly(outdir)
    process = subprocess.Popen(["sleep", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0)
    group = ProcessGroup.of(process, "cdk synth")
    claim.add(group)
    Path(sys.argv[3]).write_text(str(process.pid))
    return StartedSynth(outdir, process, time.perf_counter(), claim, group)

run_module.start_synth = synth_that_runs_on
run_module.start_checkov = lambda: None
options = run_module.RunOptions(assembly=assembly, reports=reports)
sys.exit(run_module.LocalRun(options, Console(width=200)).run())
"""


def test_ctrl_c_during_synth_stops_the_run_and_ends_the_synth(tmp_path):
    """Ctrl-C signals the terminal's whole foreground group: the run is recorded
    `Stopped: interrupted` (it was `Failed` with Node's traceback, when the synth was in
    the same group and died first), and the synth, in a group of its own, is ended by it."""
    pid_file = tmp_path / "synth.pid"
    run = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_DURING_SYNTH, str(tmp_path / "cdk.out"), str(tmp_path / "reports"), str(pid_file)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the terminal's foreground group, here the run's own
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "reports" / "runs" / "1").is_dir() or not pid_file.is_file():
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # into the wait for the synth
    os.killpg(run.pid, signal.SIGINT)
    # The run ends once the accounts it was bootstrapping ahead are up: on a loaded machine (a
    # push's Synth build runs this suite beside the service) that took over 60 s.
    stdout, stderr = run.communicate(timeout=240)

    assert run.returncode == 1, stdout[-2000:] + stderr[-2000:]
    recorded = json.loads((tmp_path / "reports" / "runs" / "1" / "run.json").read_text())
    assert (recorded["status"], recorded["reason"]) == ("Stopped", "interrupted")
    synth = int(pid_file.read_text())
    assert not psutil.pid_exists(synth) or psutil.Process(synth).status() == psutil.STATUS_ZOMBIE
    assert "Traceback" not in stdout + stderr
