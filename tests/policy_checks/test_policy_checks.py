"""Each of our checkov policies, through checkov itself (the audit's runner and config),
on PASS and FAIL fixture templates.

Fixture ``CKV_SCP_00N.template.json`` holds resources named ``Pass...`` (must pass
check N) and ``Fail...`` (must fail it): every variant CloudFormation allows
(string and list forms, inline and managed policies, tokens, letter case).
"""

from __future__ import annotations

import json
import re

import pytest

from project.paths import PROJECT_ROOT
from tests.policy_checks.helpers import FIXTURES

CHECK_IDS = sorted(path.name.removesuffix(".template.json") for path in FIXTURES.glob("CKV_SCP_*.template.json"))


def test_every_policy_module_has_a_fixture():
    shared = ("__init__.py", "iam_documents.py", "sensitive_actions.py", "state_machine_data.py")
    modules = [p for p in (PROJECT_ROOT / "policy_checks").glob("*.py") if p.name not in shared]
    declared = sorted(re.search(r'"(CKV_SCP_\d{3})"', module.read_text()).group(1) for module in modules)
    assert declared == CHECK_IDS


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_passes_pass_fixtures_and_fails_fail_fixtures(audit_run, check_id):
    template = (FIXTURES / f"{check_id}.template.json").resolve()
    resources = json.loads(template.read_text())["Resources"]

    def verdicts(findings):
        return {f.resource.split(".", 1)[1] for f in findings if f.check_id == check_id and f.template == template}

    expected_pass = {name for name in resources if name.startswith("Pass")}
    expected_fail = {name for name in resources if name.startswith("Fail")}
    assert expected_pass and expected_fail, "a fixture needs both kinds"
    assert verdicts(audit_run.report.failed) == expected_fail
    assert verdicts(audit_run.report.passed) == expected_pass
