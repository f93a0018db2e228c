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
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline import audit_cache
from pipeline.audit_tool import AuditError, prepare_run

# The pinned cfn-lint of requirements-dev.txt, in the interpreter that runs the audit, as a
# module: a virtual environment's console scripts name the interpreter by the absolute path it
# was installed at, and a build restores its cached .venv under a new source directory
# (CodeBuild's local cache), where .venv/bin/cfn-lint fails with "No such file or directory".
CFN_LINT = (sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())")
TEXT_REPORT = "cfn-lint.txt"
JUNIT_REPORT = "cfn-lint-junit.xml"
REPORT_FILES = (TEXT_REPORT, JUNIT_REPORT)
TOOL = "cfn-lint"  # the cache entries' suffix: <key>.cfn-lint.json


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


# cfn-lint loaded ahead of its work, as checkov is (pipeline/checkov_waiting.py): `make local`
# starts it while Node synthesizes, and its imports (~1 CPU-s) cost nothing then. It reads its
# command line as one JSON line and runs cfn-lint's own main on it; an empty line ends it.
_WAITING = (
    "import json, sys\n"
    "from cfnlint.runner import main\n"
    "line = sys.stdin.readline()\n"
    "if not line.strip():\n    sys.exit(0)\n"
    "sys.argv[1:] = json.loads(line)\n"
    "sys.exit(main())\n"
)


def start_cfn_lint() -> subprocess.Popen[str]:
    """cfn-lint's process, started before the templates exist; ``lint(..., started=)`` hands
    it its arguments, or ends it when it has nothing to lint."""
    return subprocess.Popen(
        [sys.executable, "-c", _WAITING],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,  # its own group, as checkov's: the run ends it on Ctrl-C
    )


def _run(region: str, templates: Sequence[Path], cfn_lint: Sequence[str], started: subprocess.Popen[str] | None) -> list[LintFinding]:
    arguments = ["--format", "json", "--include-checks", "I", "--non-zero-exit-code", "none", "--regions", region, "--"]
    arguments += map(str, templates)
    if started is None:
        completed = subprocess.run([*cfn_lint, *arguments], capture_output=True, text=True, check=False)
    else:
        stdout, stderr = started.communicate(json.dumps(arguments) + "\n")
        completed = subprocess.CompletedProcess(started.args, started.returncode, stdout, stderr)
    if completed.returncode != 0:
        raise AuditError(f"cfn-lint exited {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    return [_finding(item) for item in json.loads(completed.stdout or "[]")]


def _stored(findings: Sequence[LintFinding]) -> list[list[Any]]:
    return [[f.rule_id, f.level, f.message, f.resource, f.line] for f in findings]


def _restored(stored: object, template: Path) -> list[LintFinding] | None:
    """A cache entry's findings, on ``template``; None if the entry is not one."""
    if not isinstance(stored, list):
        return None
    try:
        return [LintFinding(rule_id, level, message, resource, template, line) for rule_id, level, message, resource, line in stored]
    except (TypeError, ValueError):
        return None


def _lint_region(
    region: str, templates: Sequence[Path], cfn_lint: Sequence[str], cache_folder: Path | None, started: subprocess.Popen[str] | None
) -> list[LintFinding]:
    """cfn-lint once per distinct template content in ``region`` (a cloud assembly holds byte-identical
    copies: a stage's template beside the pipeline's own copy); each copy gets its original's findings.
    Content whose findings ``cache_folder`` holds under its key is not linted again."""
    environment = audit_cache.environment_digest() if cache_folder is not None else ""
    copies: dict[str, list[Path]] = {}
    for template in templates:
        copies.setdefault(audit_cache.template_key(template, environment, region), []).append(template.resolve())
    findings: list[LintFinding] = []
    to_lint: dict[Path, str] = {}  # the first copy of each content not cached -> its key
    for key, paths in copies.items():
        cached = _restored(audit_cache.read_entry(cache_folder, key, TOOL), paths[0]) if cache_folder is not None else None
        if cached is None:
            to_lint[paths[0]] = key
        else:
            findings += [dataclasses.replace(finding, template=copy) for finding in cached for copy in paths]
    linted = _run(region, list(to_lint), cfn_lint, started) if to_lint else []
    if not to_lint and started is not None:
        started.communicate("\n")  # nothing to lint: it ends
    if cache_folder is not None and all(finding.template in to_lint for finding in linted):  # a finding on no file: not stored
        for template, key in to_lint.items():
            audit_cache.write_entry(cache_folder, key, TOOL, _stored([f for f in linted if f.template == template]))
    findings += [
        dataclasses.replace(finding, template=copy)
        for finding in linted
        for copy in (copies[to_lint[finding.template]] if finding.template in to_lint else [finding.template])
    ]
    # In the templates' order, whichever came from the cache: the reports read the same either way.
    position = {template.resolve(): index for index, template in enumerate(templates)}
    return sorted(findings, key=lambda f: (position.get(f.template, -1), f.line, f.rule_id, f.resource, f.message))


def lint(
    templates: Iterable[tuple[Path, str]],
    reports: Path,
    *,
    cfn_lint: Sequence[str] = CFN_LINT,
    cache_folder: Path | None = None,
    started: subprocess.Popen[str] | None = None,
) -> list[LintFinding]:
    """Lint each (template, region); write the text and JUnit reports into ``reports``. With
    ``cache_folder``, content linted before is not linted again (``audit_cache``); ``started``
    (``start_cfn_lint``) lints the first region."""
    by_region: dict[str, list[Path]] = {}
    for template, region in templates:
        by_region.setdefault(region, []).append(template)
    all_templates = [template for paths in by_region.values() for template in paths]
    try:
        prepare_run(Path(cfn_lint[0]), "run `make install` (requirements-dev.txt pins it)", all_templates, reports, REPORT_FILES)
    except AuditError:
        if started is not None:
            started.kill()
        raise
    # One process per region (usually one), all at once.
    with ThreadPoolExecutor(max_workers=len(by_region)) as pool:
        runs = [
            pool.submit(_lint_region, region, paths, cfn_lint, cache_folder, started if index == 0 else None)
            for index, (region, paths) in enumerate(by_region.items())
        ]
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
