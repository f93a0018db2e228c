"""make bench's pure parts: how many repetitions, the medians with their spread, the ratio
lines, the stack-file change it makes (and undoes) in a clone, and the fresh clone itself.
No measured command runs here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from local_pipeline import push_bench
from local_pipeline.bench import (
    BenchError,
    ColdAndWarm,
    Timed,
    median_run,
    ratio_line,
    repeat_count,
    report,
    seconds_line,
    spread,
    step_lines,
)
from local_pipeline.concurrency import Concurrency, Execution
from local_pipeline.push_bench import (
    STACK_FILE_CHANGE,
    CloneError,
    PushFigures,
    StackFileChange,
    commit_all,
    fresh_clone,
    head_commit,
)
from project.paths import PROJECT_ROOT


def test_three_repetitions_unless_bench_repeat_says_otherwise():
    assert repeat_count({}) == 3
    assert repeat_count({"BENCH_REPEAT": ""}) == 3
    assert repeat_count({"BENCH_REPEAT": " 1 "}) == 1
    assert repeat_count({"BENCH_REPEAT": "5"}) == 5


@pytest.mark.parametrize("given", ["0", "-2", "three", "1.5"])
def test_a_repetition_count_that_is_not_a_whole_number_of_at_least_one_is_refused_by_name(given):
    with pytest.raises(BenchError, match=rf"BENCH_REPEAT must be a whole number of at least 1 .* not '{given}'"):
        repeat_count({"BENCH_REPEAT": given})


def test_the_spread_is_the_lowest_and_the_highest_of_the_runs():
    assert spread([6.4, 5.9, 6.12]) == "median of 3: 5.90–6.40"
    assert spread([158.04, 162.31], digits=1) == "median of 2: 158.0–162.3"
    assert spread([4.2]) == "one run"
    with pytest.raises(ValueError, match="no values"):
        spread([])


def test_a_ratio_line_divides_each_run_by_the_yardstick():
    assert ratio_line("test/synth ratio (cold)", [59.0, 61.2, 64.0], 10.0) == "test/synth ratio (cold): 6.12  (median of 3: 5.90–6.40)"
    assert ratio_line("push/synth ratio", [135.0], 9.0) == "push/synth ratio: 15.00  (one run)"
    with pytest.raises(ValueError, match="positive number of seconds, not 0"):
        ratio_line("push/synth ratio", [135.0], 0)


def test_a_seconds_line_gives_wall_and_cpu_medians_each_with_its_spread():
    line = seconds_line("make test, cold (a fresh clone)", [Timed(86.0, 160.2), Timed(83.1, 158.0), Timed(88.02, 162.34)], width=34)
    assert line == "make test, cold (a fresh clone):     86.00 s  (median of 3: 83.10–88.02), CPU 160.2 s (median of 3: 158.0–162.3)"


def test_the_median_run_is_the_one_with_the_median_wall_time():
    assert median_run([Timed(9.0, 1), Timed(7.0, 1), Timed(8.0, 1)]) == 2
    assert median_run([Timed(9.0, 1), Timed(7.0, 1)]) == 1  # of two, the faster
    assert median_run([Timed(3.0, 1)]) == 0


def _steps(scale: float) -> list[dict[str, object]]:
    return [
        {"stage": "(local)", "action": "synth the working tree", "seconds": 5.0 * scale},
        {"stage": "(local)", "action": "deploy the pipeline", "seconds": 0.3 * scale},
        {"stage": "Build", "action": "Synth", "seconds": 1.3 * scale},
        {"stage": "UpdatePipeline", "action": "SelfMutate", "seconds": 0.02 * scale},
        {"stage": "Assets", "action": "FileAsset1", "seconds": 0.03 * scale},
        {"stage": "Dev", "action": "Stack.Prepare", "seconds": 0.1 * scale},
        {"stage": "Dev", "action": "Stack.Deploy", "seconds": 0.12 * scale},
        {"stage": "Dev", "action": "IntegrationTest-dev", "seconds": 0.85 * scale},
    ]


def test_the_local_runs_steps_are_side_by_side_cold_and_warm():
    lines = step_lines(_steps(1), _steps(2))
    assert lines[0].split() == ["local", "run,", "the", "median", "runs'", "steps:", "cold", "warm"]
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "synth the working tree",
        "deploy the pipeline",
        "Build/Synth (the audit)",
        "self-mutation and assets",
        "change sets",
        "integration test",
    ]
    assert lines[4].split(":")[1].split() == ["0.05", "s", "0.10", "s"]
    assert lines[5].split(":")[1].split() == ["0.22", "s", "0.44", "s"]


def test_the_report_ends_with_the_six_ratio_lines_against_the_median_synth():
    synths = [Timed(5.0, 8.0), Timed(4.0, 7.0), Timed(6.0, 9.0)]
    tests = ColdAndWarm([Timed(50.0, 90.0)], [Timed(40.0, 80.0)], [[]], [[]])
    local = ColdAndWarm([Timed(15.0, 20.0)], [Timed(10.0, 15.0)], [_steps(1)], [_steps(1)])
    consumers = (0.015, 0.040, [Concurrency([Execution(0.4, "SUCCEEDED")])])
    lines = report(synths, tests, local, consumers, PushFigures(250.0, [150.0, 140.0, 160.0], [135.0, 130.0, 145.0]))
    assert lines[0].startswith("bare cdk synth, median of 3 (the yardstick):")
    assert "   5.00 s  (median of 3: 4.00–6.00)" in lines[0]
    assert lines[-6:] == [
        "test/synth ratio (cold): 10.00  (one run)",
        "test/synth ratio (warm): 8.00  (one run)",
        "local/synth ratio (cold): 3.00  (one run)",
        "local/synth ratio (warm, one stack file changed): 2.00  (one run)",
        "push/synth ratio: 30.00  (median of 3: 28.00–32.00)",
        "push/synth ratio (nothing changed): 27.00  (median of 3: 26.00–29.00)",
    ]
    assert "git push local, first push (cold build caches):     250.0 s" in lines


CHANGE = StackFileChange("stacks/some_stack.py", original="The role's description.", changed="The role's description (changed).")


def test_the_stack_file_change_applies_and_reverts(tmp_path):
    stack = tmp_path / "stacks" / "some_stack.py"
    stack.parent.mkdir()
    committed = 'Role(self, "Role", description="The role\'s description.")\n'
    stack.write_text(committed)
    assert CHANGE.toggle(tmp_path) is True
    assert stack.read_text() == 'Role(self, "Role", description="The role\'s description (changed).")\n'
    assert CHANGE.toggle(tmp_path) is False
    assert stack.read_text() == committed


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ('description="Something else."', "0 and 0"),
        ('a="The role\'s description."\nb="The role\'s description."', "2 and 0"),
        ('a="The role\'s description."\nb="The role\'s description (changed)."', "1 and 1"),
    ],
)
def test_a_stack_file_without_exactly_one_of_the_two_texts_is_refused_by_name(tmp_path, text, counts):
    stack = tmp_path / "stacks" / "some_stack.py"
    stack.parent.mkdir()
    stack.write_text(text)
    with pytest.raises(CloneError, match=rf"stacks/some_stack.py: it expects exactly one of .* found them {counts} times"):
        CHANGE.toggle(tmp_path)
    assert stack.read_text() == text  # left as it was


def test_a_missing_stack_file_is_named(tmp_path):
    with pytest.raises(CloneError, match=r"stacks/some_stack.py, which cannot be read in"):
        CHANGE.toggle(tmp_path)


def test_the_stack_file_holds_the_text_the_bench_changes():
    """If this fails, the stack was edited: STACK_FILE_CHANGE must follow it (a text that
    is in a template and in no test's expectation). The bench's warm `make test` runs this
    with the change made: either text, exactly once."""
    text = (PROJECT_ROOT / STACK_FILE_CHANGE.path).read_text()
    counts = [text.count(f'"{STACK_FILE_CHANGE.original}"'), text.count(f'"{STACK_FILE_CHANGE.changed}"')]
    assert sorted(counts) == [0, 1], counts


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout  # noqa: S607


def _repository(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "--quiet")
    (path / "stacks").mkdir()
    (path / "stacks" / "some_stack.py").write_text('description="The role\'s description."\n')
    _git(path, "add", ".")
    commit_all(path, "first")
    return path


def test_a_fresh_clone_is_at_the_commit_head_named_when_the_bench_started_and_links_the_installs(tmp_path, monkeypatch):
    source = _repository(tmp_path / "source")
    for name in push_bench.LINKED_INSTALLS:
        (source / name).mkdir()
        (source / name / ".installed-stamp").write_text("")
    monkeypatch.setattr(push_bench, "PROJECT_ROOT", source)
    commit = head_commit()
    assert commit.summary.endswith(" first")
    commit_all(source, "committed while the bench runs", allow_empty=True)
    clone = fresh_clone(tmp_path / "clone", commit)
    assert _git(clone, "log", "--format=%s").split("\n")[0] == "first"
    assert _git(clone, "branch", "--show-current") == _git(source, "branch", "--show-current")  # not detached
    for name in push_bench.LINKED_INSTALLS:
        assert (clone / name).is_symlink()
        assert (clone / name / ".installed-stamp").is_file()  # the Makefile's stamps are found through the link
    assert _git(clone, "status", "--porcelain") == ""  # the links are no uncommitted change
    CHANGE.toggle(clone)
    commit_all(clone, "changed")
    commit_all(clone, "nothing changed", allow_empty=True)
    assert _git(clone, "log", "--format=%s").split("\n")[:3] == ["nothing changed", "changed", "first"]


def test_a_clone_without_the_installs_says_to_install_first(tmp_path, monkeypatch):
    monkeypatch.setattr(push_bench, "PROJECT_ROOT", _repository(tmp_path / "source"))
    with pytest.raises(CloneError, match=r"source/\.venv is missing: run `make install` first"):
        fresh_clone(tmp_path / "clone", head_commit())


def test_a_commit_that_cannot_be_checked_out_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(push_bench, "PROJECT_ROOT", _repository(tmp_path / "source"))
    with pytest.raises(CloneError, match=r"git reset --hard failed, making a clone of .*source at 0{40}"):
        fresh_clone(tmp_path / "clone", push_bench.Commit("0" * 40, "gone"))


def test_nothing_to_commit_is_an_error_naming_the_clone(tmp_path):
    source = _repository(tmp_path / "source")
    with pytest.raises(CloneError, match=rf"git commit in {source} failed"):
        commit_all(source, "nothing")


def test_without_push_figures_the_report_keeps_the_others_and_leaves_out_the_pushes():
    synths = [Timed(5.0, 8.0)]
    tests = ColdAndWarm([Timed(50.0, 90.0)], [Timed(40.0, 80.0)], [[]], [[]])
    local = ColdAndWarm([Timed(15.0, 20.0)], [Timed(10.0, 15.0)], [_steps(1)], [_steps(1)])
    lines = report(synths, tests, local, (0.015, 0.040, []), None)
    assert not [line for line in lines if "push" in line]
    assert lines[-4:] == [
        "test/synth ratio (cold): 10.00  (one run)",
        "test/synth ratio (warm): 8.00  (one run)",
        "local/synth ratio (cold): 3.00  (one run)",
        "local/synth ratio (warm, one stack file changed): 2.00  (one run)",
    ]
