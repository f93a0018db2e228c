"""The least-privilege audit: checkov and cfn-lint over every template of a cloud assembly.

    python -m pipeline.audit [--assembly DIR ...] [--reports DIR]

Runs checkov's built-in CloudFormation checks and the project's own (``policy_checks/``)
as configured in ``.checkov.yaml``, offline, and beside it, in its own process, cfn-lint
(``pipeline/cfn_lint.py``); writes checkov's JUnit, SARIF, JSON and plain-text reports and
cfn-lint's text and JUnit reports into one directory; prints a summary; exits 1 on any
failed check or cfn-lint error, 2 if the audit itself could not run. Justified skips
(resource metadata) are listed with reasons, cfn-lint's warnings and informational
findings as notes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import audit_cache, cfn_lint
from pipeline.audit_tool import AuditError, prepare_run
from project.assembly import AssemblyError, StackArtifact, read_stacks
from project.paths import ASSEMBLY, PROJECT_ROOT, REPORTS

CHECKOV = PROJECT_ROOT / ".venv-audit" / "bin" / "checkov"
CONFIG = PROJECT_ROOT / ".checkov.yaml"
WAITING_CHECKOV = Path(__file__).with_name("checkov_waiting.py")
DEFAULT_REPORTS = REPORTS / "checkov"
REPORT_FILES = ("results_junitxml.xml", "results_sarif.sarif", "results_cli.txt", "results_json.json")
# The line pipeline/checkov_waiting.py ends with on stderr when it used the cache.
_FROM_CACHE = re.compile(r"checkov cache: results read back for (\d+) of \d+ templates")
CHECKOV_NAME, CFN_LINT_NAME = "checkov", "cfn-lint"  # which tool a Finding comes from


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    template: Path
    reason: str = ""  # the skip's comment, for skipped checks
    tool: str = CHECKOV_NAME  # or CFN_LINT_NAME: then check_id is a rule ID and check_name its message


@dataclass
class AuditReport:
    templates: list[Path]
    passed: list[Finding] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    # cfn-lint's warnings and informational findings: reported, never failing. Its errors are in ``failed``.
    notes: list[cfn_lint.LintFinding] = field(default_factory=list)
    from_cache: int = 0  # templates whose checkov results were read back, not scanned (audit_cache)

    def failed_in(self, directory: Path) -> set[str]:
        """Check IDs that failed on templates under ``directory``."""
        directory = directory.resolve()
        return {finding.check_id for finding in self.failed if directory in finding.template.parents}

    def ran(self) -> set[str]:
        """checkov's check IDs that ran (cfn-lint reports only what it finds)."""
        return {finding.check_id for finding in self.passed + self.failed + self.skipped if finding.tool == CHECKOV_NAME}


def _stacks(assembly: Path) -> list[StackArtifact]:
    try:
        return read_stacks(assembly)
    except AssemblyError as error:
        raise AuditError(str(error)) from None


def find_templates(assembly: Path) -> list[Path]:
    """Every stack template of a cloud assembly, nested stage assemblies included."""
    return [stack.template_file for stack in _stacks(assembly)]


def _findings(results: dict[str, Any], kind: str) -> list[Finding]:
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


def start_checkov(checkov: Path = CHECKOV) -> subprocess.Popen[str] | None:
    """checkov's process, started before the templates exist (``checkov_waiting.py``): it
    loads while they are synthesized, then ``run_checkov(..., started=)`` hands it its
    arguments. None if checkov is not installed (``run_checkov`` then says so)."""
    python = checkov.parent / "python"
    if not python.is_file():
        return None
    # -P: the script's folder (pipeline/) is not put on sys.path, so no module of ours can
    # shadow one of checkov's.
    return subprocess.Popen(
        [str(python), "-P", str(WAITING_CHECKOV)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,  # its own group: Ctrl-C reaches the run, which ends it; a run that dies leaves it for the next to end
    )


def run_checkov(
    templates: Sequence[Path],
    reports: Path,
    *,
    checkov: Path = CHECKOV,
    started: subprocess.Popen[str] | None = None,
    cache_folder: Path | None = None,
) -> AuditReport:
    """checkov over ``templates``, in ``started`` (``start_checkov``) or in a process started
    now: the same arguments either way. With ``cache_folder``, a template whose results are
    cached under its key (``audit_cache``) is not scanned again (``checkov_waiting.py``)."""
    prepare_run(checkov, "run `make audit` (it installs .venv-audit)", templates, reports, REPORT_FILES)
    templates = [template.resolve() for template in templates]  # checkov's records name them as given
    arguments = ["--config-file", str(CONFIG), "--output-file-path", str(reports)]
    for template in templates:
        arguments += ["-f", str(template)]
    request: dict[str, Any] = {"arguments": arguments}
    if cache_folder is not None:
        environment = audit_cache.environment_digest()
        keys = {str(template): audit_cache.template_key(template, environment) for template in templates}
        request["cache"] = {"folder": str(cache_folder), "keys": keys}
    process = started or start_checkov(checkov)
    if process is None:
        raise AuditError(f"checkov's Python not found beside {checkov}: run `make audit` (it installs .venv-audit)")
    _, stderr = process.communicate(json.dumps(request) + "\n")
    json_report = reports / "results_json.json"
    if process.returncode not in (0, 1) or not json_report.is_file():
        raise AuditError(f"checkov exited {process.returncode}: {stderr.strip()[-2000:]}")
    report = read_checkov_report(json_report, templates)
    read_back = _FROM_CACHE.search(stderr)
    report.from_cache = int(read_back[1]) if read_back else 0
    return report


def read_checkov_report(json_report: Path, templates: Sequence[Path]) -> AuditReport:
    """checkov's ``results_json.json``, as findings on ``templates``."""
    data = json.loads(json_report.read_text())
    # One framework gives a dict; several give a list of them.
    results = [data] if isinstance(data, dict) else data
    report = AuditReport(templates=list(templates))
    for result in results:
        report.passed += _findings(result.get("results", {}), "passed_checks")
        report.failed += _findings(result.get("results", {}), "failed_checks")
        report.skipped += _findings(result.get("results", {}), "skipped_checks")
    return report


def add_lint_findings(report: AuditReport, findings: Sequence[cfn_lint.LintFinding]) -> None:
    """cfn-lint's errors join ``report.failed`` (named by rule and resource), the rest ``report.notes``."""
    report.failed += [
        Finding(check_id=f.rule_id, check_name=f.message, resource=f.resource, template=f.template, tool=CFN_LINT_NAME)
        for f in findings
        if f.is_error
    ]
    report.notes += [finding for finding in findings if not finding.is_error]


def audit(
    assemblies: Sequence[Path],
    reports: Path = DEFAULT_REPORTS,
    *,
    checkov: Path = CHECKOV,
    started_checkov: subprocess.Popen[str] | None = None,
    started_cfn_lint: subprocess.Popen[str] | None = None,
) -> AuditReport:
    stacks = [stack for assembly in assemblies for stack in _stacks(assembly)]
    # cfn-lint (~1.5 s) runs in its own process while checkov runs in another: the audit
    # takes as long as the slower of the two.
    with ThreadPoolExecutor(max_workers=1) as pool:
        cache_folder = audit_cache.folder()
        templates = [(stack.template_file, stack.region) for stack in stacks]
        linting = pool.submit(cfn_lint.lint, templates, reports, cache_folder=cache_folder, started=started_cfn_lint)
        report = run_checkov(
            [stack.template_file for stack in stacks], reports, checkov=checkov, started=started_checkov, cache_folder=cache_folder
        )
        add_lint_findings(report, linting.result())
    return report


def summary(report: AuditReport, reports: Path) -> str:
    failed = [finding for finding in report.failed if finding.tool == CHECKOV_NAME]
    lint_errors = [finding for finding in report.failed if finding.tool != CHECKOV_NAME]
    results = len(report.passed) + len(failed) + len(report.skipped)
    lines = [
        f"checkov: {len(report.ran())} checks, {results} results on {len(report.templates)} templates: "
        f"{len(report.passed)} passed, {len(failed)} failed, {len(report.skipped)} skipped (with reasons)"
        + (f"; {report.from_cache} templates' results read back from the cache, not scanned again" if report.from_cache else "")
    ]
    lines += [f"  FAILED {f.check_id} {f.resource} ({f.template.name}): {f.check_name}" for f in failed]
    lines += [f"  skipped {f.check_id} {f.resource}: {f.reason}" for f in report.skipped]
    levels = [note.level for note in report.notes]
    lines.append(
        f"cfn-lint: {len(report.templates)} templates: {len(lint_errors)} errors, "
        f"{levels.count('Warning')} warnings, {levels.count('Informational')} informational"
    )
    lines += [f"  FAILED {f.check_id} {f.resource} ({f.template.name}): {f.check_name}" for f in lint_errors]
    lines += [f"  {note.level.lower()} {cfn_lint.describe(note)}" for note in report.notes]
    try:
        shown = reports.relative_to(Path.cwd())
    except ValueError:
        shown = reports
    lines.append(f"reports: {shown}/ ({', '.join(REPORT_FILES + cfn_lint.REPORT_FILES)})")
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
