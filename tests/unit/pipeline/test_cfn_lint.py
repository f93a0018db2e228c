"""pipeline/cfn_lint.py on the second synth (its own region, the source configured), and
when cfn-lint cannot run. The gate's bite is in test_audit.py, on the shared audit run."""

from __future__ import annotations

import pytest

from pipeline.audit_tool import AuditError
from pipeline.cfn_lint import JUNIT_REPORT, TEXT_REPORT, describe, lint
from project.assembly import read_stacks
from tests.helpers import CONFIGURED_REGION


def test_the_configured_assembly_lints_clean_in_its_region(configured_app, tmp_path):
    stacks = read_stacks(configured_app.outdir)
    assert {stack.region for stack in stacks} == {CONFIGURED_REGION}
    findings = lint([(stack.template_file, stack.region) for stack in stacks], tmp_path)
    # No error, and the source role's UseConnection matches its codeconnections ARN (no I3510).
    assert [describe(finding) for finding in findings if finding.is_error or finding.rule_id == "I3510"] == []
    assert (tmp_path / TEXT_REPORT).is_file()
    assert (tmp_path / JUNIT_REPORT).read_text().count("<testcase ") == len(stacks)


def test_without_cfn_lint_the_audit_cannot_run_and_says_where_it_looked(configured_app, tmp_path):
    template = read_stacks(configured_app.outdir)[0].template_file
    with pytest.raises(AuditError, match="python not found at .*nowhere"):
        lint([(template, CONFIGURED_REGION)], tmp_path, cfn_lint=(str(tmp_path / "nowhere" / "python"), "-m", "cfnlint"))
    with pytest.raises(AuditError, match="no CloudFormation template"):
        lint([], tmp_path)


def test_byte_identical_templates_are_linted_once_and_each_gets_the_findings(tmp_path):
    """A cloud assembly holds copies of one template; cfn-lint is asked once per content, and
    every copy is reported with what it found (one JUnit case each)."""
    import json
    import sys

    broken = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}})
    first, second = tmp_path / "a.template.json", tmp_path / "b.template.json"
    for template in (first, second):
        template.write_text(broken)
    seen = tmp_path / "seen.txt"
    # cfn-lint itself, behind a recorder of the files it is handed.
    recorder = tmp_path / "recording_cfn_lint.py"
    recorder.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(seen)!r}).open('a').write(' '.join(a for a in sys.argv if a.endswith('.json')) + '\\n')\n"
        "from cfnlint.runner import main\nsys.exit(main())\n"
    )
    findings = lint([(first, "us-east-1"), (second, "us-east-1")], tmp_path / "reports", cfn_lint=(sys.executable, str(recorder)))
    assert seen.read_text().split() == [str(first.resolve())]
    assert {finding.template for finding in findings if finding.is_error} == {first.resolve(), second.resolve()}
    assert (tmp_path / "reports" / JUNIT_REPORT).read_text().count("<testcase ") == 2


def test_cfn_lint_started_ahead_finds_what_its_own_process_finds(tmp_path):
    """`make local` hands cfn-lint's arguments to a process started ahead (start_cfn_lint):
    the same findings as cfn-lint started for them, and one with nothing to lint just ends."""
    import json

    from pipeline.cfn_lint import start_cfn_lint

    template = tmp_path / "a.template.json"
    template.write_text(json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}}))
    own = lint([(template, "us-east-1")], tmp_path / "own")
    ahead = lint([(template, "us-east-1")], tmp_path / "ahead", started=start_cfn_lint())
    assert [describe(finding) for finding in ahead] == [describe(finding) for finding in own]
    assert any(finding.rule_id == "E3002" for finding in own)
    idle = start_cfn_lint()
    with pytest.raises(AuditError, match="no CloudFormation template"):
        lint([], tmp_path / "none", started=idle)
    assert idle.wait(timeout=30) is not None
