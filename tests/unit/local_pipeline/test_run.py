"""The local run's orchestration: stage order, gates, approvals, summary, exit code, and
an environment in another region than us-east-1.

`cdk synth` and the checkov run are replaced here (they have their own tests): the Synth
stage reads a cloud assembly this session synthesized, the audit returns a verdict. The
deployments and the integration test are real, on the emulated accounts.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from local_pipeline import run as run_module
from local_pipeline.run import LocalRun, RunOptions
from pipeline.audit import AuditReport, Finding
from project.arns import region_of_arn
from project.paths import PROJECT_ROOT
from tests.helpers import CONFIGURED_REGION, SynthesizedApp


def _run(assembly: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, failed: list[Finding], approve: bool = False):
    def synthesized(outdir: Path) -> subprocess.CompletedProcess[str]:
        assert outdir == assembly
        return subprocess.CompletedProcess(["cdk", "synth"], 0, "", "")

    def audited(assemblies, reports, **_):
        assert assemblies == [assembly]
        return AuditReport(templates=[], passed=[], failed=failed)

    monkeypatch.setattr(run_module, "cdk_synth", synthesized)
    monkeypatch.setattr(run_module, "audit", audited)
    output = io.StringIO()
    run = LocalRun(
        RunOptions(assembly=assembly, reports=tmp_path / "reports", approve=approve),
        Console(file=output, width=200, highlight=False),
    )
    return run.run(), run, output.getvalue()


def test_a_failed_audit_stops_the_run_before_any_deployment(synthesized_app, tmp_path, monkeypatch):
    finding = Finding("CKV_SCP_003", "no wildcard", "AWS::IAM::Policy.X", Path("t.json"))
    code, run, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[finding])
    assert code == 1
    assert [(r.name, r.status) for r in run.results] == [("Synth", "passed"), ("Audit", "failed")]
    assert output.strip().splitlines()[-1].startswith("local pipeline FAILED at stage Audit: 1 failed checks: CKV_SCP_003")
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert "| Audit | failed |" in summary and "| dev/TrustedResources | not run |" in summary


def test_a_passing_run_deploys_in_order_and_runs_the_integration_test(synthesized_app, tmp_path, monkeypatch):
    code, run, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[])
    assert code == 0, output
    assert [r.name for r in run.results] == [
        "Synth",
        "Audit",
        "dev/TrustedResources",
        "dev/TrustingResources",
        "dev/TrustedConfiguration",
        "dev/IntegrationTest",
    ]
    assert all(r.status == "passed" for r in run.results)
    assert (tmp_path / "reports" / "integration" / "junit-dev.xml").is_file()
    assert "local pipeline passed" in output


def test_approval_without_a_terminal_stops_with_a_clear_reason(synthesized_app, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, run, output = _run(synthesized_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 1
    assert [r.name for r in run.results][-1] == "dev/TrustedResources"  # the first stage needs no approval
    assert output.strip().splitlines()[-1] == (
        "local pipeline FAILED at stage dev/TrustingResources: "
        "approval was asked for (--approve / APPROVE=1), but there is no terminal to ask"
    )


def test_environments_in_eu_west_1_deploy_and_pass_there(configured_app: SynthesizedApp, tmp_path, monkeypatch):
    """The region of the emulated accounts is the environment's: the consumer is started,
    and the secret read, in eu-west-1. Also: two environments in one run, and ``prod``
    (``manualApprovals: false``) asks for no approval even with --approve."""
    assert {env.region for env in configured_app.config.environments} == {CONFIGURED_REGION}
    approved: list[str] = []

    def approve(self, stage_name: str) -> None:
        assert stage_name.startswith("dev/"), f"{stage_name}: prod has no approvals in the pipeline"
        approved.append(stage_name)

    monkeypatch.setattr(run_module.Approver, "approve", approve)
    code, run, output = _run(configured_app.outdir, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 0, output
    assert [r.name for r in run.results if r.name.endswith("/IntegrationTest")] == ["dev/IntegrationTest", "prod/IntegrationTest"]
    assert [d.region for d in run.deployments] == [CONFIGURED_REGION, CONFIGURED_REGION]
    assert [region_of_arn(d.consumer_arn) for d in run.deployments] == [CONFIGURED_REGION, CONFIGURED_REGION]
    assert approved == ["dev/TrustingResources", "dev/TrustedConfiguration"]


_FRESH_PROCESS_RUN = """
import subprocess, sys
from pathlib import Path
from rich.console import Console
from local_pipeline import run as run_module
from pipeline.audit import AuditReport

assembly, reports = Path(sys.argv[1]), Path(sys.argv[2])
run_module.cdk_synth = lambda outdir: subprocess.CompletedProcess(["cdk"], 0, "", "")
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
