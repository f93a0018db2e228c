"""pipeline/checkov_waiting.py's cache: checkov's reports from results read back under
another path are the reports of a scan there. Three real checkov runs over one stage's
template (it has a graph check, whose results hold the path deep inside and a hash of it):
one fills a cache, one scans another folder with the cache off, one reads that folder's
results back from the cache; the last two write the same reports. A fourth finds the entry
broken, and scans."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.audit import AuditReport, run_checkov, start_checkov
from tests.audit_run import template_of


def _checkov(templates: list[Path], reports: Path, cache: Path | None) -> AuditReport:
    return run_checkov(templates, reports, started=start_checkov(), cache_folder=cache)


def _copies(template: Path, folder: Path) -> list[Path]:
    """The template twice, under two names: a cloud assembly holds byte-identical copies."""
    folder.mkdir()
    return [Path(shutil.copy(template, folder / name)) for name in ("stage.template.json", "copy.template.json")]


def _normalized(reports: Path) -> dict[str, Any]:
    """The reports, in an order of their own. checkov's order is not one: two scans of the
    same files list a graph check's evaluated keys (a set) in different orders, and records
    read back come after those scanned."""

    def records(items: list[dict[str, Any]]) -> list[str]:
        for item in items:
            if "evaluated_keys" in item.get("check_result", {}):
                item["check_result"]["evaluated_keys"] = sorted(item["check_result"]["evaluated_keys"])
        return sorted(json.dumps(item, sort_keys=True) for item in items)

    data = json.loads((reports / "results_json.json").read_text())
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        data["results"][kind] = records(data["results"][kind])
    sarif = json.loads((reports / "results_sarif.sarif").read_text())["runs"][0]
    junit = ElementTree.parse(reports / "results_junitxml.xml").getroot()
    for suite in junit.iter("testsuite"):
        for properties in suite.iter("properties"):
            suite.remove(properties)  # the command line: another output folder
    cli = (reports / "results_cli.txt").read_text()
    return {
        "json": data,
        "sarif results": sorted(json.dumps(result, sort_keys=True) for result in sarif["results"]),
        "sarif rules": sorted(json.dumps(rule, sort_keys=True) for rule in sarif["tool"]["driver"]["rules"]),
        "junit suites": [{k: v for k, v in suite.attrib.items() if k != "time"} for suite in junit.iter("testsuite")],
        "junit cases": sorted(ElementTree.tostring(case, encoding="unicode") for case in junit.iter("testcase")),
        "cli header": cli.split("\nCheck: ")[0],
        "cli checks": sorted(cli.split("\nCheck: ")[1:]),
    }


def test_results_read_back_under_another_path_are_the_reports_of_a_scan_there(synthesized_app, tmp_path):
    template = template_of(synthesized_app.outdir, "TrustingResources")
    filled, elsewhere = _copies(template, tmp_path / "first"), _copies(template, tmp_path / "elsewhere")
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=2) as pool:
        filling = pool.submit(_checkov, filled, tmp_path / "filled", cache)
        scan = _checkov(elsewhere, tmp_path / "scanned", None)
        fill = filling.result()
    assert fill.from_cache == 1, "the copy is not scanned: its original's records are read back"
    assert scan.from_cache == 0

    read_back = _checkov(elsewhere, tmp_path / "read-back", cache)
    assert read_back.from_cache == 2, "nothing scanned"
    assert any(finding.check_id.startswith("CKV2_") for finding in read_back.passed), "a graph check is among them"
    assert _normalized(tmp_path / "read-back") == _normalized(tmp_path / "scanned")
    assert (read_back.passed, read_back.failed, read_back.skipped) != ([], [], [])

    # An entry that is not one is a miss: scanned again (its copy then read back), and stored again.
    (entry,) = cache.glob("*.checkov.json")
    entry.write_text(json.dumps({"records": "not records", "resources": [], "extra_resources": []}))
    again = _checkov(elsewhere, tmp_path / "again", cache)
    assert again.from_cache == 1
    assert _normalized(tmp_path / "again") == _normalized(tmp_path / "scanned")
    assert "passed_checks" in json.loads(entry.read_text())["records"]
