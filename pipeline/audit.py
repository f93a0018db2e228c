"""The least-privilege audit: checkov over every template of a cloud assembly.

    python -m pipeline.audit [--assembly DIR ...] [--reports DIR]

Runs the built-in CloudFormation checks and the project's own (``policy_checks/``)
as configured in ``.checkov.yaml``, offline; writes the JUnit, SARIF, JSON and
plain-text reports; prints a summary; exits 1 on any failed check, 2 if the audit
itself could not run. Justified skips (resource metadata) are listed with reasons.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from project.assembly import AssemblyError, read_stacks
from project.paths import ASSEMBLY, PROJECT_ROOT, REPORTS

CHECKOV = PROJECT_ROOT / ".venv-audit" / "bin" / "checkov"
CONFIG = PROJECT_ROOT / ".checkov.yaml"
DEFAULT_REPORTS = REPORTS / "checkov"
REPORT_FILES = ("results_junitxml.xml", "results_sarif.sarif", "results_cli.txt", "results_json.json")


class AuditError(Exception):
    """The audit could not run (not a failed check)."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    template: Path
    reason: str = ""  # the skip's comment, for skipped checks


@dataclass
class AuditReport:
    templates: list[Path]
    passed: list[Finding] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)

    def failed_in(self, directory: Path) -> set[str]:
        """Check IDs that failed on templates under ``directory``."""
        directory = directory.resolve()
        return {finding.check_id for finding in self.failed if directory in finding.template.parents}

    def ran(self) -> set[str]:
        return {finding.check_id for finding in self.passed + self.failed + self.skipped}


def find_templates(assembly: Path) -> list[Path]:
    """Every stack template of a cloud assembly, nested stage assemblies included."""
    try:
        return [stack.template_file for stack in read_stacks(assembly)]
    except AssemblyError as error:
        raise AuditError(str(error)) from None


def _findings(results: dict, kind: str) -> list[Finding]:
    return [
        Finding(
            check_id=item["check_id"],
            check_name=item.get("check_name", ""),
            resource=item.get("resource", ""),
            template=Path(item["file_abs_path"]).resolve(),
            reason=(item.get("check_result") or {}).get("suppress_comment", "") or "",
        )
        for item in results.get(kind, [])
    ]


def run_checkov(templates: Sequence[Path], reports: Path, *, checkov: Path = CHECKOV) -> AuditReport:
    if not templates:
        raise AuditError("no CloudFormation template to audit")
    if not checkov.is_file():
        raise AuditError(f"checkov not found at {checkov}: run `make audit` (it installs .venv-audit)")
    reports.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        (reports / name).unlink(missing_ok=True)  # never read a previous run's verdict
    command = [str(checkov), "--config-file", str(CONFIG), "--output-file-path", str(reports)]
    for template in templates:
        command += ["-f", str(template)]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    json_report = reports / "results_json.json"
    if completed.returncode not in (0, 1) or not json_report.is_file():
        raise AuditError(f"checkov exited {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    data = json.loads(json_report.read_text())
    # One framework gives a dict; several give a list of them.
    results = [data] if isinstance(data, dict) else data
    report = AuditReport(templates=list(templates))
    for result in results:
        report.passed += _findings(result.get("results", {}), "passed_checks")
        report.failed += _findings(result.get("results", {}), "failed_checks")
        report.skipped += _findings(result.get("results", {}), "skipped_checks")
    return report


def audit(assemblies: Sequence[Path], reports: Path = DEFAULT_REPORTS, *, checkov: Path = CHECKOV) -> AuditReport:
    templates = [template for assembly in assemblies for template in find_templates(assembly)]
    return run_checkov(templates, reports, checkov=checkov)


def summary(report: AuditReport, reports: Path) -> str:
    results = len(report.passed) + len(report.failed) + len(report.skipped)
    lines = [
        f"checkov: {len(report.ran())} checks, {results} results on {len(report.templates)} templates: "
        f"{len(report.passed)} passed, {len(report.failed)} failed, {len(report.skipped)} skipped (with reasons)"
    ]
    lines += [f"  FAILED {f.check_id} {f.resource} ({f.template.name}): {f.check_name}" for f in report.failed]
    lines += [f"  skipped {f.check_id} {f.resource}: {f.reason}" for f in report.skipped]
    try:
        shown = reports.relative_to(Path.cwd())
    except ValueError:
        shown = reports
    lines.append(f"reports: {shown}/ ({', '.join(REPORT_FILES)})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, action="append", help="cloud assembly directory (default: cdk.out)")
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="where the reports go")
    args = parser.parse_args(argv)
    assemblies = args.assembly or [ASSEMBLY]
    try:
        report = audit(assemblies, args.reports.resolve())
    except AuditError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2
    print(summary(report, args.reports.resolve()))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
