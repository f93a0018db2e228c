"""pipeline/audit_cache.py: every part of what a verdict depends on is in a template's key,
and a changed part is a miss (cfn-lint asked again); an entry that is not one is a miss.
checkov's side of the cache is in test_checkov_waiting.py."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import audit_cache
from pipeline.audit_cache import _VERDICT_FILES, environment_digest, template_key
from pipeline.cfn_lint import JUNIT_REPORT, TEXT_REPORT, lint
from project.paths import PROJECT_ROOT

TEMPLATE = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}}


def _project(root: Path) -> Path:
    """A copy of what the key reads of the project: the configuration, the policies, the audit's code."""
    for name in _VERDICT_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "policy_checks", root / "policy_checks", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _audit_venv(venv: Path, checkov: str = "3.3.30", python: str = "3.11.2") -> Path:
    """An environment as `make install` leaves .venv-audit, as far as the key reads it."""
    venv.mkdir(parents=True, exist_ok=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {python}\n")
    distribution = venv / "lib" / "python3.11" / "site-packages" / "checkov-x.dist-info"
    distribution.mkdir(parents=True, exist_ok=True)
    (distribution / "METADATA").write_text(f"Metadata-Version: 2.1\nName: checkov\nVersion: {checkov}\n")
    return venv


def _key(root: Path, venv: Path, template: Path, region: str = "us-east-1") -> str:
    return template_key(template, environment_digest.__wrapped__(root, venv), region)


def _append(path: str, text: str = "\n# changed\n") -> Callable[[Path, Path, Path], None]:
    def change(root: Path, venv: Path, template: Path) -> None:
        with (root / path).open("a") as file:
            file.write(text)

    return change


CHANGES: dict[str, Callable[[Path, Path, Path], None]] = {
    "the template's bytes": lambda root, venv, template: template.write_text(json.dumps(TEMPLATE, indent=2)),
    "checkov's version": lambda root, venv, template: _audit_venv(venv, checkov="3.3.31") and None,
    "checkov's Python": lambda root, venv, template: _audit_venv(venv, python="3.11.9") and None,
    "a policy added": lambda root, venv, template: (root / "policy_checks" / "another.py").write_text("# a check\n") and None,
    **{name: _append(name) for name in _VERDICT_FILES},
    "a policy changed": _append("policy_checks/no_wildcard_actions.py"),
}


@pytest.mark.parametrize("part", sorted(CHANGES))
def test_changing_any_part_of_the_verdict_changes_the_key(tmp_path, part):
    root, venv, template = _project(tmp_path / "project"), _audit_venv(tmp_path / "venv"), tmp_path / "t.template.json"
    template.write_text(json.dumps(TEMPLATE))
    before = _key(root, venv, template)
    assert _key(root, venv, template) == before, "the same inputs give the same key"
    CHANGES[part](root, venv, template)
    assert _key(root, venv, template) != before


def test_cfn_lints_version_its_python_and_the_region_are_in_the_key(tmp_path, monkeypatch):
    root, venv, template = _project(tmp_path / "project"), _audit_venv(tmp_path / "venv"), tmp_path / "t.template.json"
    template.write_text(json.dumps(TEMPLATE))
    before = _key(root, venv, template)
    assert _key(root, venv, template, region="eu-west-1") != before
    monkeypatch.setattr(audit_cache.metadata, "version", lambda name: "0.0.1")
    assert _key(root, venv, template) != before
    monkeypatch.undo()
    monkeypatch.setattr(audit_cache.sys, "version", "3.12.0 (another)")
    assert _key(root, venv, template) != before


def _recording_cfn_lint(tmp_path: Path) -> tuple[tuple[str, str], Path]:
    """cfn-lint itself, behind a recorder of the files it is handed."""
    seen = tmp_path / "seen.txt"
    seen.write_text("")
    recorder = tmp_path / "recording_cfn_lint.py"
    recorder.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(seen)!r}).open('a').write(' '.join(a for a in sys.argv if a.endswith('.json')) + '\\n')\n"
        "from cfnlint.runner import main\nsys.exit(main())\n"
    )
    return (sys.executable, str(recorder)), seen


def test_cfn_lint_reads_back_what_it_found_for_the_same_bytes_anywhere_and_asks_again_when_the_key_changes(tmp_path):
    cfn_lint, seen = _recording_cfn_lint(tmp_path)
    cache = tmp_path / "cache"
    first, moved = tmp_path / "one" / "a.template.json", tmp_path / "two" / "renamed.template.json"
    for template in (first, moved):
        template.parent.mkdir()
        template.write_text(json.dumps(TEMPLATE))

    cold = lint([(first, "us-east-1")], tmp_path / "cold", cfn_lint=cfn_lint, cache_folder=cache)
    assert seen.read_text().split() == [str(first.resolve())]
    assert [finding.rule_id for finding in cold if finding.is_error] == ["E3002"]

    warm = lint([(moved, "us-east-1")], tmp_path / "warm", cfn_lint=cfn_lint, cache_folder=cache)
    assert seen.read_text().split() == [str(first.resolve())], "not linted again"
    assert [(f.rule_id, f.message, f.resource, f.line, f.template) for f in warm] == [
        (f.rule_id, f.message, f.resource, f.line, moved.resolve()) for f in cold
    ]
    for report in (TEXT_REPORT, JUNIT_REPORT):
        written = (tmp_path / "warm" / report).read_text()
        assert written == (tmp_path / "cold" / report).read_text().replace("a.template.json", "renamed.template.json")

    lint([(moved, "eu-west-1")], tmp_path / "other-region", cfn_lint=cfn_lint, cache_folder=cache)
    assert seen.read_text().split() == [str(first.resolve()), str(moved.resolve())], "another region: linted"
    lint([(moved, "us-east-1")], tmp_path / "off", cfn_lint=cfn_lint, cache_folder=None)
    assert len(seen.read_text().split()) == 3, "the cache off: linted"


def test_an_entry_that_cannot_be_read_is_a_miss_and_is_written_again(tmp_path):
    """Three templates (three keys) linted and stored; each entry then broken its own way:
    all three are linted again, in one run, and stored again."""
    cfn_lint, seen = _recording_cfn_lint(tmp_path)
    cache = tmp_path / "cache"
    templates = []
    for index in range(3):
        template = tmp_path / f"t{index}.template.json"
        template.write_text(json.dumps(TEMPLATE, indent=index))  # other bytes, another key
        templates.append((template, "us-east-1"))
    lint(templates, tmp_path / "reports", cfn_lint=cfn_lint, cache_folder=cache)
    entries = sorted(cache.glob("*.cfn-lint.json"))
    assert len(entries) == 3
    for entry, broken in zip(entries, ("{not json", json.dumps({"a": "dict"}), json.dumps([["too", "short"]])), strict=True):
        entry.write_text(broken)
    findings = lint(templates, tmp_path / "reports", cfn_lint=cfn_lint, cache_folder=cache)
    assert sorted(finding.template.name for finding in findings if finding.rule_id == "E3002") == [t.name for t, _ in templates]
    first, second = seen.read_text().splitlines()
    assert first.split() == second.split() == [str(template.resolve()) for template, _ in templates], "each linted again"
    assert all(json.loads(entry.read_text())[0][0] == "E3002" for entry in entries), "and stored again"


def test_the_folder_is_ignored_by_git_and_can_be_moved_or_turned_off(monkeypatch, tmp_path):
    assert ".audit-cache/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    monkeypatch.delenv("AUDIT_CACHE", raising=False)
    assert audit_cache.folder() == PROJECT_ROOT / ".audit-cache"
    monkeypatch.setenv("AUDIT_CACHE", str(tmp_path))
    assert audit_cache.folder() == tmp_path.resolve()
    monkeypatch.setenv("AUDIT_CACHE", "off")
    assert audit_cache.folder() is None
