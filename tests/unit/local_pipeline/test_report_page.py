"""Each run's page and the index of runs: the pipeline in its order with each action's
status and time, a failed action's reason, the approvals (who, when), the audit's
findings (failed first, skips with their reasons), the tests (failures expanded), links
to the logs; one file each, with nothing fetched from the network."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from local_pipeline.executor.approval_action import ApprovalAction, Decision
from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from local_pipeline.report_page import RUN_PAGE, write_index
from tests.unit.local_pipeline.executor.helpers import action

TEMPLATE = "/cdk.out/SecretCachePipeline.template.json"


def _checkov(failed: bool) -> str:
    failure = '<failure type="failure" message="Resource * on a sensitive action"/>' if failed else ""
    return f"""<?xml version="1.0" ?>
<testsuites><testsuite name="cloudformation scan">
<testcase name="[NONE][CKV_SCP_003] No wildcard resource" classname="{TEMPLATE}.AWS::IAM::Policy.Wide"
 file="{TEMPLATE}">{failure}</testcase>
<testcase name="[NONE][CKV_AWS_116] Ensure a DLQ" classname="{TEMPLATE}.AWS::Lambda::Function.Fn" file="{TEMPLATE}">
<skipped type="skipped" message="Only ever invoked synchronously &lt;by design&gt;"/></testcase>
<testcase name="[NONE][CKV_AWS_7] Ensure rotation" classname="{TEMPLATE}.AWS::KMS::Key.K" file="{TEMPLATE}"/>
</testsuite></testsuites>"""


_UNIT_TESTS = """<?xml version="1.0" ?><testsuites><testsuite name="UnitTests">
<testcase classname="tests.unit.test_a" name="test_passes"/>
<testcase classname="tests.unit.test_a" name="test_breaks">
<failure message="assert 1 == 2">Traceback: &lt;script&gt;alert(1)&lt;/script&gt;</failure></testcase>
</testsuite></testsuites>"""


def _build(failed: bool) -> Callable[[ActionContext], ActionOutcome]:
    def build(context: ActionContext) -> ActionOutcome:
        reports = context.log.parent / "reports"
        (reports / "Checkov").mkdir(parents=True)
        (reports / "Checkov" / "results_junitxml.xml").write_text(_checkov(failed))
        (reports / "UnitTests").mkdir()
        (reports / "UnitTests" / "junit.xml").write_text(
            _UNIT_TESTS if failed else _UNIT_TESTS.replace("<failure", "<x").replace("</failure>", "</x>")
        )
        context.log.write_text("building\n")
        if failed:
            return ActionOutcome("Failed", "build failed: tests.unit.test_a.test_breaks: assert 1 == 2\nmore lines")
        return ActionOutcome("Succeeded", "build succeeded, 2 report files")

    return build


def _approvals(page: BeautifulSoup) -> list[tuple[str, str, str, str, str]]:
    """Each approval: where, the decision, by whom, when, the comment."""

    def text(block: Any, selector: str) -> str:
        found = block.select_one(selector)
        return found.get_text() if found is not None else ""

    return [
        (
            block["data-where"],
            text(block, ".decision .status"),
            text(block, ".decision .by"),
            text(block, ".decision .at"),
            text(block, ".decision .comment"),
        )
        for block in page.select("#approvals .approval")
    ]


def _run(runs: Path, run_id: str, *, build_fails: bool = False, decision: Decision | None = None) -> BeautifulSoup:
    stages = [
        {"Name": "Build", "Actions": [action("Synth", "CodeBuild")]},
        {"Name": "Deploy-dev", "Actions": [action("Approve", "Manual", category="Approval"), action("Deploy", "Noop", run_order=2)]},
    ]
    handlers = {
        "CodeBuild": _build(build_fails),
        "Manual": ApprovalAction(lambda where, data: decision or Decision(True, "you")),
        "Noop": lambda context: ActionOutcome("Succeeded", "deployed"),
    }
    record = RunRecord(run_id, "c0ffee" * 6 + "abcd", "main")
    PipelineRun(read_pipeline({"Stages": stages}), handlers, directory=runs / run_id, record=record).execute()
    return BeautifulSoup((runs / run_id / RUN_PAGE).read_text(), "html.parser")


def _actions(page: BeautifulSoup) -> list[tuple[str, str, str]]:
    return [(a["data-stage"], a["data-action"], a["data-status"]) for a in page.select("#pipeline .action")]


def _cells(node: Any, rows: str) -> list[list[str]]:
    """The text of each data row's cells, for the table rows ``rows`` selects under ``node``."""
    return [[cell.get_text(" ", strip=True) for cell in row.find_all("td")] for row in node.select(rows) if row.find("td")]


def test_a_passing_run_shows_every_action_in_order_its_approval_and_its_audit(tmp_path):
    page = _run(tmp_path / "runs", "1")
    assert page.select_one("#run-status").get_text() == "Succeeded"
    assert _actions(page) == [
        ("Build", "Synth", "Succeeded"),
        ("Deploy-dev", "Approve", "Succeeded"),
        ("Deploy-dev", "Deploy", "Succeeded"),
    ]
    assert all(re.search(r"\d+\.\d s", a.get_text()) for a in page.select("#pipeline .action"))
    assert [link["href"] for link in page.select("#pipeline a")] == ["actions/Build.Synth/log.txt"]
    ((where, decision, by, when, comment),) = _approvals(page)
    assert (where, decision, by, comment) == ("Deploy-dev/Approve", "approved", "you", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", when)
    (template,) = page.select("#audit .template")
    assert template["data-template"] == "SecretCachePipeline.template.json"
    assert "0 failed, 1 skipped, 2 passed" in template.summary.get_text()
    skipped = _cells(template, ".skipped-checks tr")
    assert skipped == [["CKV_AWS_116", "AWS::Lambda::Function.Fn", "Only ever invoked synchronously <by design>"]]
    assert _cells(page, "#tests tr") == [["Build/Synth", "UnitTests", "2", "0", "0"]]
    assert not page.select(".test-failure") and not page.select("#failures")


def test_a_failed_run_names_its_reason_its_failed_check_first_and_expands_the_failed_test(tmp_path):
    page = _run(tmp_path / "runs", "2", build_fails=True)
    assert page.select_one("#run-status").get_text() == "Failed"
    assert page.select_one("#run-reason").get_text() == "Build/Synth: build failed: tests.unit.test_a.test_breaks: assert 1 == 2"
    assert _actions(page) == [("Build", "Synth", "Failed")]  # nothing after it ran
    assert _cells(page, "#failures tr") == [["Build/Synth", "Failed", "build failed: tests.unit.test_a.test_breaks: assert 1 == 2"]]
    (template,) = page.select("#audit .template")
    assert template.has_attr("open")
    assert _cells(template, ".failed-checks tr") == [["CKV_SCP_003", "AWS::IAM::Policy.Wide", "No wildcard resource"]]
    assert template.find("table")["class"] == ["failed-checks"], "failed checks come before the skips"
    (failure,) = page.select(".test-failure")
    assert failure.has_attr("open")
    assert "tests.unit.test_a.test_breaks" in failure.summary.get_text()
    assert "<script>alert(1)</script>" in failure.pre.get_text()  # shown as text, escaped
    assert not page.find("script")


def test_a_rejected_run_shows_who_rejected_it_and_why(tmp_path):
    page = _run(tmp_path / "runs", "3", decision=Decision(False, "alice", "not this week"))
    assert page.select_one("#run-status").get_text() == "Failed"
    assert _actions(page) == [("Build", "Synth", "Succeeded"), ("Deploy-dev", "Approve", "Failed")]
    ((where, decision, by, _, comment),) = _approvals(page)
    assert (where, decision, by, comment) == ("Deploy-dev/Approve", "rejected", "alice", "not this week")


def test_the_index_lists_every_run_newest_first_and_every_page_stands_alone(tmp_path):
    runs = tmp_path / "runs"
    for run_id, kwargs in (("1", {}), ("2", {"build_fails": True}), ("10", {"decision": Decision(False, "alice")})):
        _run(runs, run_id, **kwargs)
    (runs / "latest").symlink_to("10")  # as new_run_folder keeps it: not a run of its own
    write_index(runs)
    index = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    assert [(row[0], row[1]) for row in _cells(index, "#runs tr")] == [("10", "Failed"), ("2", "Failed"), ("1", "Succeeded")]
    assert [link["href"] for link in index.select("#runs a")] == ["runs/10/index.html", "runs/2/index.html", "runs/1/index.html"]
    for html in [tmp_path / "index.html", *runs.glob(f"*/{RUN_PAGE}")]:
        page = BeautifulSoup(html.read_text(), "html.parser")
        fetched = [tag.get("src") or tag.get("href") for tag in page.find_all(["script", "link", "img"])]
        assert fetched == [], html  # no script, stylesheet or image to fetch: the style is inside
        assert not any(a["href"].startswith(("http:", "https:", "//")) for a in page.find_all("a")), html


def test_a_cancelled_run_names_what_started_it_the_update_and_links_its_restart(tmp_path):
    """A run cancelled by its own pipeline update (API reference, "PipelineExecution":
    Cancelled) shows what started it, its execution id, and a link to the run that
    restarted it."""
    run = tmp_path / "runs" / "4"
    record = RunRecord("4", "c0ffee" * 6 + "abcd", "main", trigger="push of refs/heads/main")
    mutate = read_pipeline({"Stages": [{"Name": "UpdatePipeline", "Actions": [action("SelfMutate", "Mutate")]}]})
    handlers = {"Mutate": lambda context: ActionOutcome("Succeeded", "deployed", restart=True)}
    cancelled = PipelineRun(mutate, handlers, directory=run, record=record).execute()
    cancelled.restarted_as = "5"
    cancelled.write(run / "run.json")
    page = BeautifulSoup((run / RUN_PAGE).read_text(), "html.parser")
    assert page.select_one("#run-status").get_text() == "Cancelled"
    assert (
        page.select_one("#run-trigger").get_text(" ", strip=True)
        == f"started by push of refs/heads/main · execution {cancelled.execution_id}"
    )
    restart = page.select_one("#run-restart")
    assert restart.get_text(" ", strip=True) == "the pipeline was updated by UpdatePipeline/SelfMutate: restarted as run 5"
    assert restart.find("a")["href"] == "../5/index.html"


def test_what_a_build_wrote_badly_is_left_out_and_the_run_goes_on(tmp_path):
    """A pushed commit's build writes the reports: an XML entity, or a folder named like a
    report, must not stop the run whose page this is."""

    def build(context: ActionContext) -> ActionOutcome:
        reports = context.log.parent / "reports"
        (reports / "UnitTests").mkdir(parents=True)
        (reports / "UnitTests" / "junit.xml").write_text('<!DOCTYPE x [<!ENTITY a "b">]><testsuites>&a;</testsuites>')
        (reports / "Checkov" / "folder.xml").mkdir(parents=True)
        return ActionOutcome("Succeeded", "built")

    pipeline = read_pipeline({"Stages": [{"Name": "Build", "Actions": [action("Synth", "Noop")]}]})
    run = tmp_path / "runs" / "5"
    record = PipelineRun(pipeline, {"Noop": build}, directory=run, record=RunRecord("5", "a" * 40, "main")).execute()
    assert record.status == "Succeeded"
    page = BeautifulSoup((run / RUN_PAGE).read_text(), "html.parser")
    assert _cells(page, "#tests tr") == [["Build/Synth", "UnitTests", "0", "0", "0"]]


def test_a_record_that_cannot_be_read_is_listed_so_and_the_others_still_are(tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "1")
    (runs / "2").mkdir()
    (runs / "2" / "run.json").write_text('{"id": "2", "status": "Succe')  # cut short
    write_index(runs)
    index = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    rows = _cells(index, "#runs tr")
    assert [(row[0], row[1]) for row in rows] == [("2", "Unreadable"), ("1", "Succeeded")]
    assert rows[0][-1].startswith("its run.json cannot be read: JSONDecodeError")


def test_an_approval_shows_the_change_set_it_let_through_then_the_decision(tmp_path):
    """The stage's change summary (pipeline.change_summary's output artifact) at its approval:
    the resource changes with the replacement marked, the security changes that widen (in
    red), then the decision, who and when."""
    from local_pipeline.report_page import write_pages
    from pipeline.change_summary import ChangeSummary, ResourceChange, Widening, write

    runs = tmp_path / "runs"
    _run(runs, "1")
    summary = ChangeSummary(
        "Deploy-dev-Stack",
        "PipelineChange",
        "account 222222222222 (us-east-1)",
        (
            ResourceChange("Modify", "CacheTable", "AWS::DynamoDB::Table", "True", ("TableName",)),
            ResourceChange("Add", "Extra", "AWS::IAM::Policy", ""),
        ),
        (Widening("WorkflowPolicy", "identity policy", "allows", "dynamodb:DeleteItem", "${CacheTable.Arn}"),),
    )
    write(summary, runs / "1" / "actions" / "Deploy-dev.ChangeSummary-Deploy-dev" / "out" / "ChangeSummary_Output")
    page = BeautifulSoup(write_pages(runs / "1").read_text(), "html.parser")
    (approval,) = page.select("#approvals .approval")
    assert _cells(approval, ".resource-changes tr") == [
        ["Modify", "CacheTable", "AWS::DynamoDB::Table", "TableName", "REPLACEMENT"],
        ["Add", "Extra", "AWS::IAM::Policy", "", ""],
    ]
    assert approval.select_one(".resource-changes .replacement") is not None
    (widening,) = approval.select(".security-changes tr.widening")
    assert [cell.get_text() for cell in widening.select("td")] == [
        "WorkflowPolicy",
        "identity policy",
        "allows",
        "dynamodb:DeleteItem on ${CacheTable.Arn}",
    ]
    blocks = [child["class"][0] for child in approval.find_all(["div", "p"], recursive=False)]
    assert blocks == ["change-summary", "decision"]  # the summary first, then the decision
    assert "2 changes (1 Add, 1 Modify, 0 Remove; 1 replacement). Permissions broaden" in approval.get_text()
