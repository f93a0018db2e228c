"""A buildspec run on this machine as CodeBuild documents it.

[spec] is "Build specification reference for CodeBuild"
(https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html), [transitions]
"Build phase transitions" (.../view-build-details-phases.html), [env-vars] "Environment
variables in build environments" (.../build-env-ref-env-vars.html), all under
https://docs.aws.amazon.com/codebuild/latest/userguide/.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from local_pipeline.executor.buildspec import BuildResult, BuildspecError, parse_buildspec, run_buildspec

# Each command that runs appends its name here, so a test can tell what ran and in what order.
RAN = '"$CODEBUILD_SRC_DIR/ran.txt"'


def _mark(name: str) -> str:
    return f"echo {name} >> {RAN}"


def _run(tmp_path: Path, buildspec: str | dict[str, Any], **options: Any) -> tuple[BuildResult, str]:
    workdir = tmp_path / "src"
    workdir.mkdir(exist_ok=True)
    options.setdefault("environment", {"PATH": os.environ["PATH"]})
    result = run_buildspec(buildspec, workdir=workdir, log=tmp_path / "build.log", **options)
    return result, (tmp_path / "build.log").read_text()


def _ran(tmp_path: Path) -> list[str]:
    ran = tmp_path / "src" / "ran.txt"
    return ran.read_text().split() if ran.exists() else []


def _phases(**phases: dict[str, Any]) -> dict[str, Any]:
    return {"version": 0.2, "phases": phases}


# -- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
        json.dumps({"version": "0.2", "phases": {"build": {"commands": ["echo hi"]}}}),
        {"version": 0.2, "phases": {"build": {"commands": ["echo hi"]}}},
    ],
    ids=["yaml", "json", "mapping"],
)
def test_yaml_json_and_a_parsed_mapping_read_alike(source):
    assert parse_buildspec(source)["phases"] == {"build": {"commands": ["echo hi"]}}


@pytest.mark.parametrize(
    ("buildspec", "named"),
    [
        ({"version": 0.1, "phases": {}}, "version: 0.1"),
        ({"phases": {}}, "version: missing"),
        ({"version": 0.2}, "phases: missing"),
        ({"version": 0.2, "phases": {}, "env": {"parameter-store": {"P": "/p"}}}, "env.parameter-store: not supported locally"),
        ({"version": 0.2, "phases": {}, "env": {"secrets-manager": {"S": "s:k"}}}, "env.secrets-manager: not supported locally"),
        ({"version": 0.2, "phases": {}, "env": {"shell": "/bin/sh"}}, "env.shell: '/bin/sh'"),
        ({"version": 0.2, "phases": {}, "environment_variables": {}}, "environment_variables: not a key"),
        ({"version": 0.2, "phases": {"deploy": {"commands": []}}}, "phases.deploy: not a phase"),
        ({"version": 0.2, "phases": {"build": {"runtime-versions": {"python": 3}}}}, "phases.build.runtime-versions: not a key"),
        ({"version": 0.2, "phases": {"build": {"on-failure": "IGNORE"}}}, "phases.build.on-failure: 'IGNORE'"),
        ({"version": 0.2, "phases": {"build": {"commands": [["nested"]]}}}, "phases.build.commands: must be a sequence of strings"),
        ({"version": 0.2, "phases": {}, "reports": {"R": {"base-directory": "x"}}}, "reports.R.files: missing"),
        ({"version": 0.2, "phases": {}, "reports": {"R": {"files": ["x"], "file-format": "CSV"}}}, "reports.R.file-format: 'CSV'"),
        ({"version": 0.2, "phases": {}, "artifacts": {"type": "zip", "files": ["x"]}}, "artifacts.type: not a key"),
        ({"version": 0.2, "phases": {}, "env": {"exported-variables": ["NOT-A-NAME"]}}, "env.exported-variables: 'NOT-A-NAME'"),
        ("version: 0.2\nphases: [", "neither JSON nor YAML"),
        ("- a list", "not a mapping"),
    ],
)
def test_a_buildspec_this_runner_cannot_run_is_refused_by_its_key(buildspec, named):
    with pytest.raises(BuildspecError) as refused:
        parse_buildspec(buildspec)
    assert named in str(refused.value)


def test_run_refuses_before_running_anything(tmp_path):
    with pytest.raises(BuildspecError, match="env.parameter-store"):
        _run(tmp_path, {"version": 0.2, "env": {"parameter-store": {"P": "/p"}}, "phases": {"build": {"commands": [_mark("build")]}}})
    assert _ran(tmp_path) == []


# -- one shell for the whole build ([spec], "phases": what version 0.2 changed from 0.1) --


def test_variables_and_directory_carry_over_from_command_to_command_and_phase_to_phase(tmp_path):
    result, log = _run(
        tmp_path,
        _phases(
            install={"commands": ["export X=1", "echo install sees X=$X", "PLAIN=two; mkdir -p sub && cd sub", "unset HOME"]},
            build={"commands": ['echo build sees X=$X PLAIN=$PLAIN in "$(basename "$PWD")" HOME=${HOME-unset}']},
        ),
        environment={"PATH": os.environ["PATH"], "HOME": "/home/builder"},
    )
    assert result.succeeded, result.reason
    assert "install sees X=1" in log
    assert "build sees X=1 PLAIN=two in sub HOME=unset" in log


def test_a_command_that_calls_exit_fails_itself_and_leaves_its_state(tmp_path):
    result, log = _run(
        tmp_path,
        _phases(build={"commands": ["export LEFT=behind; exit 3", _mark("skipped")]}, post_build={"commands": ["echo post sees $LEFT"]}),
    )
    assert result.reason == "phase build: command `export LEFT=behind; exit 3` exited 3"
    assert "post sees behind" in log
    assert _ran(tmp_path) == []


@pytest.fixture
def stdin_that_never_ends():
    """This process's standard input as a pipe nobody writes to or closes: a command that
    inherited it would wait for input forever."""
    read, write = os.pipe()
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        yield
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read, write):
            os.close(fd)


def test_a_command_gets_no_input_and_does_not_wait_for_any(tmp_path, stdin_that_never_ends):
    result, _ = _run(tmp_path, _phases(build={"commands": ["cat", "read -r line || echo no input"]}), timeout_seconds=2)
    assert result.succeeded, result.reason


# -- failures, finally, on-failure ([spec] phases/*/finally and on-failure, [transitions]) --


def test_a_failing_build_command_skips_the_rest_runs_finally_then_post_build(tmp_path):
    result, _ = _run(
        tmp_path,
        _phases(
            build={"commands": [_mark("build1"), "(exit 2)", _mark("build3")], "finally": [_mark("finally")]},
            post_build={"commands": [_mark("post_build")]},
        ),
    )
    assert not result.succeeded
    assert result.reason == "phase build: command `(exit 2)` exited 2"
    # [transitions]: a failed build phase goes on to post_build.
    assert _ran(tmp_path) == ["build1", "finally", "post_build"]


@pytest.mark.parametrize("failing", ["install", "pre_build"])
def test_a_failed_install_or_pre_build_ends_the_build_after_its_finally(tmp_path, failing):
    phases = {name: {"commands": [_mark(name)]} for name in ("install", "pre_build", "build", "post_build")}
    phases[failing] = {"commands": ["false"], "finally": [_mark(f"{failing}-finally")]}
    result, _ = _run(tmp_path, _phases(**phases))
    assert result.reason == f"phase {failing}: command `false` exited 1"
    ran = _ran(tmp_path)
    assert ran[-1] == f"{failing}-finally"
    assert not {"build", "post_build"} & set(ran)


def test_a_failing_finally_command_fails_the_phase(tmp_path):
    result, _ = _run(tmp_path, _phases(build={"commands": [_mark("build")], "finally": ["false", _mark("after")]}))
    assert result.reason == "phase build (finally): command `false` exited 1"
    assert _ran(tmp_path) == ["build"]


def test_the_first_failure_is_the_reason(tmp_path):
    result, _ = _run(tmp_path, _phases(build={"commands": ["(exit 4)"], "finally": ["(exit 5)"]}, post_build={"commands": ["(exit 6)"]}))
    assert result.reason == "phase build: command `(exit 4)` exited 4"


def test_on_failure_continue_goes_on_to_the_next_phase_and_the_build_still_fails(tmp_path):
    result, _ = _run(
        tmp_path,
        _phases(install={"commands": ["false"], "on-failure": "CONTINUE"}, build={"commands": [_mark("build")]}),
    )
    assert _ran(tmp_path) == ["build"]
    assert not result.succeeded and result.reason == "phase install: command `false` exited 1"


def test_on_failure_abort_on_build_skips_post_build(tmp_path):
    result, _ = _run(
        tmp_path,
        _phases(
            build={"commands": ["false"], "on-failure": "ABORT", "finally": [_mark("finally")]}, post_build={"commands": [_mark("post")]}
        ),
    )
    assert _ran(tmp_path) == ["finally"]
    assert not result.succeeded


def test_codebuild_build_succeeding_turns_0_once_a_command_fails(tmp_path):
    # [env-vars]: CODEBUILD_BUILD_SUCCEEDING, "0 if the build is failing, or 1 if the build is succeeding".
    result, log = _run(
        tmp_path,
        _phases(
            pre_build={"commands": ["echo pre_build: $CODEBUILD_BUILD_SUCCEEDING"]},
            build={"commands": ["false"], "finally": ["echo finally: $CODEBUILD_BUILD_SUCCEEDING"]},
            post_build={"commands": ["echo post_build: $CODEBUILD_BUILD_SUCCEEDING"]},
        ),
    )
    assert not result.succeeded
    assert ["pre_build: 1", "finally: 0", "post_build: 0"] == [line for line in log.splitlines() if line.endswith((": 0", ": 1"))]


def test_a_build_that_runs_out_of_time_is_stopped_with_a_clear_reason(tmp_path):
    started = time.monotonic()
    result, _ = _run(
        tmp_path,
        _phases(build={"commands": ["sleep 30"], "finally": [_mark("finally")]}, post_build={"commands": [_mark("post")]}),
        timeout_seconds=0.3,
    )
    assert time.monotonic() - started < 2
    assert result.reason == "timed out after 0.3 s: phase build: command `sleep 30` was stopped"
    assert _ran(tmp_path) == []  # nothing runs after a timeout, not even finally (a guess, see the module)


# -- environment ([spec] env/variables, env/exported-variables) ---------------------------


def test_env_variables_replace_the_environment_and_overrides_replace_them(tmp_path):
    result, log = _run(
        tmp_path,
        {
            "version": 0.2,
            "env": {"variables": {"FROM_IMAGE": "buildspec", "FROM_PROJECT": "buildspec", "LITERAL": "$PATH:/opt/bin", "NUMBER": 3}},
            "phases": {"build": {"commands": ['echo "$FROM_IMAGE $FROM_PROJECT $LITERAL $NUMBER $CODEBUILD_SRC_DIR"']}},
        },
        environment={"PATH": os.environ["PATH"], "FROM_IMAGE": "image", "FROM_PROJECT": "image"},
        overrides={"FROM_PROJECT": "action"},
    )
    assert result.succeeded, result.reason
    # The buildspec beats the image, the project and the start-build call beat the buildspec,
    # and a value is taken literally: "$PATH:/opt/bin" stays that string.
    assert f"buildspec action $PATH:/opt/bin 3 {tmp_path / 'src'}" in log


def test_exported_variables_are_read_when_post_build_ends(tmp_path):
    result, _ = _run(
        tmp_path,
        {
            "version": 0.2,
            "env": {"exported-variables": ["EXPORTED", "PLAIN", "AWS_REGION", "NEVER_SET"]},
            "phases": {
                "build": {"commands": ["export EXPORTED=first PLAIN=1 AWS_REGION=eu-west-1"]},
                "post_build": {"commands": ["EXPORTED=last"]},
            },
        },
    )
    # AWS_ names cannot be exported ([spec]); a name never set is left out.
    assert result.exported_variables == {"EXPORTED": "last", "PLAIN": "1"}


# -- reports, artifacts, cache ([spec] reports, artifacts, cache) -------------------------


def _tree(root: Path, *files: str) -> None:
    for file in files:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_text(file)


def test_reports_collect_the_files_of_each_group_under_its_base_directory(tmp_path):
    (tmp_path / "src").mkdir()
    _tree(tmp_path / "src", "reports/unit/junit.xml", "reports/unit/deep/more.xml", "reports/other.txt", "junit.xml")
    result, _ = _run(
        tmp_path,
        {
            "version": 0.2,
            "phases": {"build": {"commands": ["true"]}},
            "reports": {
                "Unit": {"files": ["reports/unit/junit.xml"], "file-format": "junitxml"},
                "All": {"files": ["**/*.xml"], "base-directory": "reports"},
                "None": {"files": ["missing/*.xml"]},
            },
        },
    )
    src = tmp_path / "src"
    assert result.reports == {
        "Unit": [src / "reports/unit/junit.xml"],
        "All": [src / "reports/unit/deep/more.xml", src / "reports/unit/junit.xml"],
        "None": [],
    }


def test_artifacts_follow_base_directory_files_discard_paths_and_exclude_paths(tmp_path):
    (tmp_path / "src").mkdir()
    _tree(tmp_path / "src", "my-build-1/my-file-1.txt", "my-build-2/my-file-2.txt", "my-build-2/my-subdirectory/my-file-3.txt")
    _tree(tmp_path / "src", "my-build-2/.cache/x", "elsewhere.txt")
    spec = {"version": 0.2, "phases": {"build": {"commands": ["true"]}}}
    src = tmp_path / "src"

    # [spec]'s own example: '*/my-file-3.txt' under my-build-2 keeps my-subdirectory/.
    nested, _ = _run(tmp_path, spec | {"artifacts": {"files": ["*/my-file-3.txt"], "base-directory": "my-build-2"}})
    assert nested.artifact_layout == {src / "my-build-2/my-subdirectory/my-file-3.txt": "my-subdirectory/my-file-3.txt"}

    # And its other one: every file under every 'my-build*', flattened; here without dot folders.
    flat, _ = _run(
        tmp_path,
        spec | {"artifacts": {"files": ["**/*"], "base-directory": "my-build*", "discard-paths": "yes", "exclude-paths": ["**/.*/**/*"]}},
    )
    assert flat.succeeded and flat.artifacts == list(flat.artifact_layout)
    assert sorted(flat.artifact_layout.values()) == ["my-file-1.txt", "my-file-2.txt", "my-file-3.txt"]
    assert all(path.is_absolute() and path.is_file() for path in flat.artifacts)


def test_artifacts_that_match_nothing_fail_a_build_that_otherwise_passed(tmp_path):
    result, _ = _run(tmp_path, {"version": 0.2, "phases": {"build": {"commands": ["true"]}}, "artifacts": {"files": ["dist/**/*"]}})
    assert not result.succeeded and result.reason == "artifacts: no file matches artifacts.files"
    assert result.artifacts == []


def test_cache_paths_are_accepted_and_left_to_the_caller(tmp_path):
    result, _ = _run(tmp_path, {"version": 0.2, "phases": {"build": {"commands": ["true"]}}, "cache": {"paths": ["/root/.m2/**/*"]}})
    assert result.succeeded and result.not_honoured == []


# -- what this machine cannot honour, and the log -----------------------------------------


def test_what_cannot_be_honoured_locally_is_listed_one_line_each(tmp_path):
    result, _ = _run(
        tmp_path,
        {
            "version": 0.2,
            "run-as": "builder",
            "phases": {
                "install": {"runtime-versions": {"python": 3.12, "nodejs": 22}},
                "build": {"commands": ["true"], "on-failure": "RETRY-2"},
            },
        },
    )
    assert result.succeeded, result.reason
    assert result.not_honoured == [
        "run-as: builder (commands run as this machine's user)",
        "phases.install.runtime-versions.python: 3.12 (the build uses this machine's python)",
        "phases.install.runtime-versions.nodejs: 22 (the build uses this machine's nodejs)",
        "phases.build.on-failure: RETRY-2 (no retry here: the phase fails as without on-failure)",
    ]


def test_everything_a_command_prints_goes_to_the_log_and_nowhere_else(tmp_path, capfd):
    (tmp_path / "build.log").write_text("earlier run\n")
    result, log = _run(tmp_path, _phases(install={"commands": ["echo to stdout"]}, build={"commands": ["echo to stderr >&2"]}))
    assert result.succeeded, result.reason
    assert log.startswith("earlier run\n")  # appended to
    assert "entering phase install" in log and "entering phase build" in log
    assert log.index("to stdout") < log.index("entering phase build") < log.index("to stderr")
    printed = capfd.readouterr()
    assert "to stdout" not in printed.out + printed.err and "to stderr" not in printed.out + printed.err
