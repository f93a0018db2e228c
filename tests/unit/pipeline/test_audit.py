"""The audit gate bites: plant one violation into a copy of the real cloud assembly and
the audit fails with that check's ID; the untouched copy passes (tests/audit_run.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from pipeline.audit import REPORT_FILES, AuditError, find_templates
from tests.audit_run import CLI_PLANT, PLANTS


def test_the_real_assembly_passes_every_check(audit_run):
    assert audit_run.report.failed_in(audit_run.pristine) == set()
    ours = {check for check in audit_run.report.ran() if check.startswith("CKV_SCP_")}
    assert ours == {check for check in PLANTS if check.startswith("CKV_SCP_")}, "all our policies ran"


@pytest.mark.parametrize("check_id", sorted(PLANTS))
def test_a_planted_violation_fails_the_audit_with_its_check_id(audit_run, check_id):
    assert check_id in audit_run.report.failed_in(audit_run.copies[check_id])


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
    assert {result["ruleId"] for result in sarif["runs"][0]["results"]} >= set(PLANTS)


def test_an_assembly_without_manifest_is_refused_by_name(tmp_path):
    with pytest.raises(AuditError, match="is not a cloud assembly"):
        find_templates(tmp_path)


def test_make_audit_path_exits_non_zero_and_names_the_check(audit_run):
    assert audit_run.cli.returncode == 1, audit_run.cli.stderr
    assert f"FAILED {CLI_PLANT}" in audit_run.cli.stdout
