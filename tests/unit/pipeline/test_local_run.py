"""The local run's orchestration: stage order, gates, approvals, summary, exit code.

Synth and the checkov run are replaced here (they have their own tests); deployment
and the integration test are real, on the emulator.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from pipeline import audit as audit_module
from pipeline import local_run
from pipeline.audit import AuditReport, Finding
from pipeline.local_run import LocalRun, RunOptions, deployment_stage_ids, environments_in


def test_deployment_stages_follow_the_blog_order():
    assert deployment_stage_ids("dev") == ["TrustedResources-dev", "TrustingResources-dev", "TrustedConfiguration-dev"]


def test_environments_come_from_the_assembly(synthesized_app):
    assert environments_in(synthesized_app.outdir) == [env.name for env in synthesized_app.config.environments]


def _run(synthesized_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, failed: list[Finding], approve: bool = False):
    monkeypatch.setattr(LocalRun, "synth", lambda self: None)  # the session's assembly stands in

    def fake_audit(assemblies, reports, **_):
        return AuditReport(templates=[], passed=[], failed=failed)

    monkeypatch.setattr(audit_module, "audit", fake_audit)
    output = io.StringIO()
    run = LocalRun(
        RunOptions(assembly=synthesized_app.outdir, reports=tmp_path / "reports", approve=approve),
        Console(file=output, width=200, highlight=False),
    )
    monkeypatch.setattr(local_run, "PROJECT_ROOT", tmp_path)  # report paths print relative to it
    return run.run(), run, output.getvalue()


def test_a_failed_audit_stops_the_run_before_any_deployment(synthesized_app, tmp_path, monkeypatch):
    finding = Finding("CKV_SCP_003", "no wildcard", "AWS::IAM::Policy.X", Path("t.json"))
    code, run, output = _run(synthesized_app, tmp_path, monkeypatch, failed=[finding])
    assert code == 1
    assert [(r.name, r.status) for r in run.results] == [("Audit", "failed")]
    assert output.strip().splitlines()[-1].startswith("local pipeline FAILED at stage Audit: 1 failed checks: CKV_SCP_003")
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert "| Audit | failed |" in summary and "| dev/TrustedResources | not run |" in summary


def test_a_passing_run_deploys_in_order_and_runs_the_integration_test(synthesized_app, tmp_path, monkeypatch):
    code, run, output = _run(synthesized_app, tmp_path, monkeypatch, failed=[])
    assert code == 0, output
    assert [r.name for r in run.results] == [
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
    code, run, output = _run(synthesized_app, tmp_path, monkeypatch, failed=[], approve=True)
    assert code == 1
    assert [r.name for r in run.results][-1] == "dev/TrustedResources"  # the first stage needs no approval
    assert output.strip().splitlines()[-1] == (
        "local pipeline FAILED at stage dev/TrustingResources: "
        "approval was asked for (--approve / APPROVE=1), but there is no terminal to ask"
    )
