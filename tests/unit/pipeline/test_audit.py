"""The audit gate bites: plant one violation into a copy of the real cloud assembly and
the audit fails with that check's ID (checkov) or rule ID (cfn-lint); the untouched copy
passes (tests/audit_run.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from pipeline import cfn_lint
from pipeline.audit import REPORT_FILES, AuditError, AuditReport, find_templates, read_checkov_report
from tests.audit_run import CLI_LINT_PLANT, CLI_PLANT, PLANTS, template_of


def test_the_real_assembly_passes_every_check(audit_run):
    assert audit_run.report.failed_in(audit_run.pristine) == set()
    ours = {check for check in audit_run.report.ran() if check.startswith("CKV_SCP_")}
    assert ours == {check_of(plant) for plant in PLANTS if plant.startswith("CKV_SCP_")}, "all our policies ran"


def check_of(plant_id: str) -> str:
    """``CKV_SCP_008/consumer`` -> ``CKV_SCP_008``."""
    return plant_id.split("/", 1)[0]


@pytest.mark.parametrize("plant_id", sorted(PLANTS))
def test_a_planted_violation_fails_the_audit_with_its_check_id(audit_run, plant_id):
    assert check_of(plant_id) in audit_run.report.failed_in(audit_run.copies[plant_id])


def test_every_skip_carries_a_reason(audit_run):
    skips = [finding for finding in audit_run.report.skipped if audit_run.pristine.resolve() in finding.template.parents]
    application = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_384"}
    generated_by_cdk_pipelines = {"CKV_AWS_18", "CKV_AWS_111", "CKV_SCP_001", "CKV_SCP_003"}
    assert {finding.check_id for finding in skips} == application | generated_by_cdk_pipelines
    assert all(len(finding.reason) > 40 for finding in skips)


def test_reports_are_written_and_the_junit_file_lists_every_check(audit_run):
    for name in REPORT_FILES:
        assert (audit_run.reports / name).is_file(), name
    junit = ElementTree.parse(audit_run.reports / "results_junitxml.xml").getroot()
    names = " ".join(case.get("name", "") for case in junit.iter("testcase"))
    assert all(check in names for check in audit_run.report.ran())
    sarif = json.loads((audit_run.reports / "results_sarif.sarif").read_text())
    assert {result["ruleId"] for result in sarif["runs"][0]["results"]} >= {check_of(plant) for plant in PLANTS}


def test_checkov_started_ahead_finds_what_its_own_process_finds(audit_run):
    """The shared run hands its arguments to checkov started ahead (as `make local` does);
    `make audit` runs checkov as a process of its own over a copy holding the same planted
    template: on that template, the two find the same, check by check."""
    planted = template_of(audit_run.cli_copy, PLANTS[CLI_PLANT][0]).resolve()
    (copied,) = find_templates(audit_run.cli_assembly)  # the same bytes, in the entry point's small assembly
    assert copied.read_bytes() == planted.read_bytes()
    cold = read_checkov_report(audit_run.cli_copy.parent / "cli-reports" / "results_json.json", [copied.resolve()])

    def results(report: AuditReport, template: Path) -> set[tuple[str, str, str]]:
        kinds = {"passed": report.passed, "failed": report.failed, "skipped": report.skipped}
        return {(kind, f.check_id, f.resource) for kind, findings in kinds.items() for f in findings if f.template == template}

    assert results(audit_run.report, planted) == results(cold, copied.resolve())
    cold = results(cold, copied.resolve())
    assert any(kind == "failed" and check == check_of(CLI_PLANT) for kind, check, _ in cold), "the plant was found"


def test_an_assembly_without_manifest_is_refused_by_name(tmp_path):
    with pytest.raises(AuditError, match="is not a cloud assembly"):
        find_templates(tmp_path)


def test_make_audit_path_exits_non_zero_and_names_the_check(audit_run):
    assert audit_run.cli.returncode == 1, audit_run.cli.stderr
    assert f"FAILED {CLI_PLANT}" in audit_run.cli.stdout


def _lint_in(audit_run, assembly) -> list[cfn_lint.LintFinding]:
    return [finding for finding in audit_run.lint if assembly.resolve() in finding.template.parents]


def test_cfn_lint_finds_no_error_in_the_real_assembly_and_lists_the_rest(audit_run):
    findings = _lint_in(audit_run, audit_run.pristine)
    assert [cfn_lint.describe(finding) for finding in findings if finding.is_error] == []
    # CDK's redundant DependsOn (W3005) stays: listed, never failing.
    assert {finding.rule_id for finding in findings} >= {"W3005"}
    assert "I3510" not in {finding.rule_id for finding in findings}


def test_a_cfn_lint_error_is_named_by_rule_and_resource_and_informational_findings_are_not_errors(audit_run):
    findings = _lint_in(audit_run, audit_run.lint_copy)
    errors = {(finding.rule_id, finding.resource) for finding in findings if finding.is_error}
    assert {rule for rule, _ in errors} == {"E3717"}
    (resource,) = [resource for rule, resource in errors]
    assert resource.startswith("CacheSecretFunction")
    informational = [finding for finding in findings if finding.rule_id == "I3510"]
    assert [(f.level, f.resource.startswith("PipelineSource")) for f in informational] == [("Informational", True)]


def test_make_audit_path_fails_on_a_cfn_lint_error_and_writes_its_reports(audit_run):
    assert audit_run.cli.returncode == 1, audit_run.cli.stderr
    assert f"FAILED {CLI_LINT_PLANT} CacheSecretFunction" in audit_run.cli.stdout
    assert "cfn-lint: 1 templates: 1 errors" in audit_run.cli.stdout  # the small assembly's one stack
    reports = audit_run.cli_copy.parent / "cli-reports"
    assert CLI_LINT_PLANT in (reports / cfn_lint.TEXT_REPORT).read_text()
    junit = ElementTree.parse(reports / cfn_lint.JUNIT_REPORT).getroot()
    failures = [case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 1 and "TrustingAccountResources" in failures[0]
