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

from local_pipeline.executor.buildspec import BuildResult, BuildspecError, copy_within, parse_buildspec, run_buildspec

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


# -- a build stays in its folder (issue 19, point 4) -------------------------------------

MARKER = "host-file-marker-7f3a"


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    """A file outside the build's folder, as /etc/passwd is (its text a YAML mapping, as a
    host's config file may be): what it holds must never be collected or read."""
    outside = tmp_path / "host" / "passwd"
    outside.parent.mkdir()
    outside.write_text(f"{MARKER}: value\n")
    return outside


def _collected(result: BuildResult) -> list[Path]:
    return [*(path for files in result.reports.values() for path in files), *result.artifact_layout]


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"reports": {"../../x": {"files": ["r.xml"]}}}, "reports.../../x: the report group name leaves the build's folder"),
        ({"reports": {"/srv/x": {"files": ["r.xml"]}}}, "reports./srv/x: the report group name leaves the build's folder"),
        ({"reports": {"R": {"files": ["r.xml"], "base-directory": ".."}}}, "reports.R.base-directory: '..' leaves the build's folder"),
        ({"reports": {"R": {"files": ["../r.xml"]}}}, "reports.R.files: '../r.xml' leaves the build's folder"),
        ({"artifacts": {"files": ["**/*"], "base-directory": "/etc"}}, "artifacts.base-directory: '/etc' leaves the build's folder"),
        ({"artifacts": {"files": ["**/*"], "base-directory": "out/../.."}}, "artifacts.base-directory: 'out/../..' leaves"),
        ({"artifacts": {"files": ["/etc/passwd"]}}, "artifacts.files: '/etc/passwd' leaves the build's folder"),
        ({"artifacts": {"files": ["dist/../../*"]}}, "artifacts.files: 'dist/../../*' leaves the build's folder"),
        ({"artifacts": {"files": ["*"], "name": "../../elsewhere"}}, "artifacts.name: '../../elsewhere' leaves the build's folder"),
        (
            {"artifacts": {"files": ["*"], "secondary-artifacts": {"two": {"files": ["*"], "base-directory": ".."}}}},
            "artifacts.secondary-artifacts.two.base-directory: '..' leaves the build's folder",
        ),
    ],
)
def test_a_path_that_leaves_the_build_is_refused_naming_its_key(section, named):
    with pytest.raises(BuildspecError) as refused:
        parse_buildspec({"version": 0.2, "phases": {}} | section)
    assert named in str(refused.value)


def test_paths_that_only_look_like_leaving_are_accepted():
    parse_buildspec(
        {
            "version": 0.2,
            "phases": {},
            # [spec]: a report group is a name or an ARN; an artifact's name may hold directories.
            "reports": {"arn:aws:codebuild:us-east-1:111111111111:report-group/unit": {"files": ["..hidden/*.xml"]}},
            "artifacts": {"files": ["**/*"], "base-directory": "my-build*", "name": "builds/$CODEBUILD_BUILD_NUMBER/my-artifacts"},
        }
    )


def test_a_base_directory_above_the_build_is_refused_before_anything_runs(tmp_path, host_file):
    spec = {"version": 0.2, "phases": {"build": {"commands": [_mark("build")]}}, "artifacts": {"files": ["host/*"], "base-directory": ".."}}
    with pytest.raises(BuildspecError, match=r"artifacts\.base-directory: '\.\.' leaves the build's folder"):
        _run(tmp_path, spec)
    assert _ran(tmp_path) == []


@pytest.mark.parametrize(("key", "where"), [("reports", "reports.R"), ("artifacts", "artifacts")])
def test_a_base_directory_that_links_out_of_the_build_is_refused_when_collected(tmp_path, host_file, key, where):
    section = {"files": ["**/*"], "base-directory": "out"}
    spec = {
        "version": 0.2,
        "phases": {"build": {"commands": [f"ln -s {host_file.parent} out"]}},
        key: {"R": section} if key == "reports" else section,
    }
    result, log = _run(tmp_path, spec)
    refusal = f"{where}.base-directory: out resolves to {host_file.parent.resolve()}, outside the build's folder: refused"
    assert not result.succeeded and result.reason == refusal
    assert refusal in log
    assert _collected(result) == []


@pytest.mark.parametrize("enable_symlinks", ["no", "yes"])
def test_a_file_that_links_out_of_the_build_is_refused_whatever_enable_symlinks_says(tmp_path, host_file, enable_symlinks):
    """``ln -s /etc/passwd out/report.xml``: neither the file it names nor the link is collected."""
    commands = ["mkdir -p out", f"ln -s {host_file} out/report.xml", "echo '<testsuite/>' > out/fine.xml"]
    result, log = _run(
        tmp_path,
        {
            "version": 0.2,
            "phases": {"build": {"commands": commands}},
            "reports": {"R": {"files": ["out/*.xml"]}},
            "artifacts": {"files": ["*.xml"], "base-directory": "out", "enable-symlinks": enable_symlinks},
        },
    )
    src = tmp_path / "src"
    assert result.reason == f"reports.R: out/report.xml is a symbolic link to {host_file.resolve()}, outside the build's folder: refused"
    assert f"artifacts: out/report.xml is a symbolic link to {host_file.resolve()}, outside the build's folder: refused" in log
    assert result.reports == {"R": [src / "out/fine.xml"]}
    assert result.artifact_layout == {src / "out/fine.xml": "fine.xml"} and result.artifact_links == {}


@pytest.mark.parametrize("enable_symlinks", ["no", "yes"])
def test_a_link_inside_the_build_is_followed_or_with_enable_symlinks_kept_as_a_link(tmp_path, enable_symlinks):
    """[spec], artifacts/enable-symlinks
    (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.artifacts.enable-symlinks):
    "If the output type is ZIP, specifies if internal symbolic links are preserved in the ZIP
    file. If this contains yes, all internal symbolic links in the source will be preserved in
    the artifacts ZIP file"; not preserved by default. A link that, where the artifact puts it,
    would point out of the artifact (up.txt, absolute.txt) is not kept as a link: the file it
    names, inside the build, is copied."""
    commands = [
        "mkdir -p out/v1",
        "echo app > out/v1/app.js",
        "ln -s v1/app.js out/latest.js",
        "echo top > top.txt",
        "ln -s ../top.txt out/up.txt",
        'ln -s "$CODEBUILD_SRC_DIR/top.txt" out/absolute.txt',
    ]
    artifacts = {"files": ["**/*"], "base-directory": "out", "enable-symlinks": enable_symlinks}
    result, _ = _run(tmp_path, {"version": 0.2, "phases": {"build": {"commands": commands}}, "artifacts": artifacts})
    out = tmp_path / "src" / "out"
    assert result.succeeded, result.reason
    assert result.artifact_layout == {
        out / "absolute.txt": "absolute.txt",
        out / "latest.js": "latest.js",
        out / "up.txt": "up.txt",
        out / "v1/app.js": "v1/app.js",
    }
    assert result.artifact_links == ({out / "latest.js": "v1/app.js"} if enable_symlinks == "yes" else {})


def test_a_fifo_is_not_collected(tmp_path):
    """Only regular files are: copying a FIFO would wait for a writer forever."""
    commands = ["mkdir -p out", "mkfifo out/pipe", "echo x > out/file"]
    spec = {"version": 0.2, "phases": {"build": {"commands": commands}}, "artifacts": {"files": ["**/*"], "base-directory": "out"}}
    result, _ = _run(tmp_path, spec)
    assert result.succeeded, result.reason
    assert list(result.artifact_layout.values()) == ["file"]


def test_copy_within_reads_only_inside_and_never_through_a_link(tmp_path, host_file):
    """The check again at copy time, for a file swapped for a link once collected."""
    build = tmp_path / "src"
    build.mkdir()
    (build / "real.txt").write_text("inside")
    (build / "alias.txt").symlink_to("real.txt")
    (build / "out.txt").symlink_to(host_file)
    copy_within(build / "alias.txt", tmp_path / "copy.txt", build)
    assert (tmp_path / "copy.txt").read_text() == "inside" and not (tmp_path / "copy.txt").is_symlink()
    with pytest.raises(BuildspecError, match="outside the build's folder: not copied"):
        copy_within(build / "out.txt", tmp_path / "leak.txt", build)
    with pytest.raises(BuildspecError, match="a symbolic link: not copied"):
        copy_within(build / "out.txt", tmp_path / "leak.txt", None)  # no folder given: no link followed at all
    (tmp_path / "trap.txt").symlink_to(host_file)  # a link already at the target is replaced, not written through
    copy_within(build / "real.txt", tmp_path / "trap.txt", build)
    assert host_file.read_text() == f"{MARKER}: value\n"
    assert not (tmp_path / "leak.txt").exists() and not (tmp_path / "trap.txt").is_symlink()
    assert MARKER not in (tmp_path / "copy.txt").read_text() + (tmp_path / "trap.txt").read_text()


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
