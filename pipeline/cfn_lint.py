"""cfn-lint, CloudFormation's own linter, over the templates of a cloud assembly: the half of
the audit that knows what CloudFormation accepts (property types and ranges, ARN formats,
an action's service prefix against its resource's), where checkov knows policy.

Each template is linted against the region its stack deploys to. cfn-lint runs in its own
process (the audit runs it beside checkov, and the local run beside the emulator's start-up),
with the informational rules on. Errors fail the audit; warnings and informational
findings are reported and do not. A finding that truly cannot be fixed is ignored on its one
resource: ``Metadata: {"cfn-lint": {"config": {"ignore_checks": [rule]}}}``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.audit_tool import AuditError, prepare_run

# The pinned cfn-lint of requirements-dev.txt, in the interpreter that runs the audit, as a
# module: a virtual environment's console scripts name the interpreter by the absolute path it
# was installed at, and a build restores its cached .venv under a new source directory
# (CodeBuild's local cache), where .venv/bin/cfn-lint fails with "No such file or directory".
CFN_LINT = (sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())")
TEXT_REPORT = "cfn-lint.txt"
JUNIT_REPORT = "cfn-lint-junit.xml"
REPORT_FILES = (TEXT_REPORT, JUNIT_REPORT)


@dataclass(frozen=True)
class LintFinding:
    rule_id: str  # E..., W..., I...
    level: str  # "Error", "Warning" or "Informational"
    message: str
    resource: str  # the logical ID; outside Resources, the finding's path in the template
    template: Path
    line: int

    @property
    def is_error(self) -> bool:
        return self.level == "Error"


def _finding(item: dict[str, Any]) -> LintFinding:
    location = item.get("Location") or {}
    path = [str(part) for part in location.get("Path") or []]
    resource = path[1] if len(path) > 1 and path[0] == "Resources" else "/".join(path)
    return LintFinding(
        rule_id=item["Rule"]["Id"],
        level=item["Level"],
        message=item["Message"],
        resource=resource,
        # A configuration error names no file.
        template=Path(item["Filename"]).resolve() if item.get("Filename") else Path("cfn-lint"),
        line=(location.get("Start") or {}).get("LineNumber", 0),
    )


def _lint_region(region: str, templates: Sequence[Path], cfn_lint: Sequence[str]) -> list[LintFinding]:
    """cfn-lint once per distinct template content in ``region`` (a cloud assembly holds byte-identical
    copies: a stage's template beside the pipeline's own copy); each copy gets its original's findings."""
    copies: dict[bytes, list[Path]] = {}
    for template in templates:
        copies.setdefault(hashlib.sha256(template.read_bytes()).digest(), []).append(template.resolve())
    originals = {paths[0]: paths for paths in copies.values()}
    command = [*cfn_lint, "--format", "json", "--include-checks", "I", "--non-zero-exit-code", "none", "--regions", region, "--"]
    completed = subprocess.run([*command, *map(str, originals)], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise AuditError(f"cfn-lint exited {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    findings = [_finding(item) for item in json.loads(completed.stdout or "[]")]
    return [
        dataclasses.replace(finding, template=copy) if copy != finding.template else finding
        for finding in findings
        for copy in originals.get(finding.template, [finding.template])
    ]


def lint(templates: Iterable[tuple[Path, str]], reports: Path, *, cfn_lint: Sequence[str] = CFN_LINT) -> list[LintFinding]:
    """Lint each (template, region); write the text and JUnit reports into ``reports``."""
    by_region: dict[str, list[Path]] = {}
    for template, region in templates:
        by_region.setdefault(region, []).append(template)
    all_templates = [template for paths in by_region.values() for template in paths]
    prepare_run(Path(cfn_lint[0]), "run `make install` (requirements-dev.txt pins it)", all_templates, reports, REPORT_FILES)
    # One process per region (usually one), all at once.
    with ThreadPoolExecutor(max_workers=len(by_region)) as pool:
        runs = [pool.submit(_lint_region, region, paths, cfn_lint) for region, paths in by_region.items()]
        findings = [finding for run in runs for finding in run.result()]
    _write_text(findings, reports / TEXT_REPORT)
    _write_junit(findings, all_templates, reports / JUNIT_REPORT)
    return findings


def describe(finding: LintFinding) -> str:
    return f"{finding.rule_id} {finding.resource} ({finding.template.name}:{finding.line}): {finding.message}"


def _write_text(findings: Sequence[LintFinding], path: Path) -> None:
    lines = [f"{finding.level.upper()} {describe(finding)}" for finding in findings]
    path.write_text("\n".join(lines or ["no findings"]) + "\n")


def _write_junit(findings: Sequence[LintFinding], templates: Sequence[Path], path: Path) -> None:
    # One test case per template: it fails on an error; warnings and informational
    # findings travel in its output, as they do not fail the audit.
    suite = ElementTree.Element("testsuite", name="cfn-lint", tests=str(len(templates)))
    failures = 0
    for template in templates:
        case = ElementTree.SubElement(suite, "testcase", classname="cfn-lint", name=template.name)
        mine = [finding for finding in findings if finding.template == template.resolve()]
        errors = [finding for finding in mine if finding.is_error]
        if errors:
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=f"{len(errors)} cfn-lint error(s)")
            failure.text = "\n".join(describe(finding) for finding in errors)
        notes = [finding for finding in mine if not finding.is_error]
        if notes:
            ElementTree.SubElement(case, "system-out").text = "\n".join(f"{f.level}: {describe(f)}" for f in notes)
    suite.set("failures", str(failures))
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)
