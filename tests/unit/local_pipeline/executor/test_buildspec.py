"""A buildspec run on this machine as CodeBuild documents it.

[spec] is "Build specification reference for CodeBuild"
(https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html), [transitions]
"Build phase transitions" (.../view-build-details-phases.html), [env-vars] "Environment
variables in build environments" (.../build-env-ref-env-vars.html), [shells] "Shells and
commands in build environments" (.../build-env-ref-cmd.html), [multi] "CodePipeline
integration with CodeBuild and multiple input sources and output artifacts sample"
(.../sample-pipeline-multi-input-output.html), all under
https://docs.aws.amazon.com/codebuild/latest/userguide/; [action] is CodePipeline's "AWS
CodeBuild build and test action reference"
(https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from local_pipeline.executor.buildspec import (
    BuildResult,
    BuildspecError,
    SecretReference,
    StoredReference,
    StoredValue,
    StoreReadError,
    copy_within,
    mask,
    parse_buildspec,
    parse_secret_reference,
    run_buildspec,
)

# Each command that runs appends its name here, so a test can tell what ran and in what order.
RAN = '"$CODEBUILD_SRC_DIR/ran.txt"'


def _mark(name: str) -> str:
    return f"echo {name} >> {RAN}"


def _run(tmp_path: Path, buildspec: str | dict[str, Any], **options: Any) -> tuple[BuildResult, str]:
    workdir = tmp_path / "src"
    workdir.mkdir(parents=True, exist_ok=True)
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
        ({"version": 0.2, "phases": {}, "env": {"shell": "zsh"}}, "env.shell: 'zsh' is not a supported shell tag for Linux"),
        ({"version": 0.2, "phases": {}, "env": {"shell": "sh"}}, "env.shell: 'sh' is not a supported shell tag for Linux"),
        ({"version": 0.2, "phases": {}, "env": {"shell": "powershell.exe"}}, "env.shell: 'powershell.exe' is a Windows shell"),
        ({"version": 0.2, "phases": {}, "env": {"parameter-store": {"P": ""}}}, "env.parameter-store.P: must be a variable name"),
        ({"version": 0.2, "phases": {}, "env": {"parameter-store": {"NOT-A-NAME": "/p"}}}, "env.parameter-store.NOT-A-NAME: must be"),
        (
            {"version": 0.2, "phases": {}, "env": {"secrets-manager": {"S": "s:k:AWSCURRENT:v1"}}},
            "env.secrets-manager.S: 's:k:AWSCURRENT:v1' names both",
        ),
        (
            {"version": 0.2, "phases": {}, "env": {"secrets-manager": {"S": "s:k:st:id:more"}}},
            "env.secrets-manager.S: 's:k:st:id:more' is not of the form",
        ),
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
    with pytest.raises(BuildspecError, match="env.shell"):
        _run(tmp_path, {"version": 0.2, "env": {"shell": "cmd.exe"}, "phases": {"build": {"commands": [_mark("build")]}}})
    assert _ran(tmp_path) == []


# -- one shell for the whole build ([spec], "phases": what version 0.2 changed from 0.1) --


@pytest.mark.parametrize("shell", ["bash", "/bin/sh"])
def test_variables_and_directory_carry_over_from_command_to_command_and_phase_to_phase(tmp_path, shell):
    """Under either Linux shell of [spec], env/shell ("bash", "/bin/sh"). The attack: a value
    with quotes, a newline, a `$` and a `;` comes back as it was, not run."""
    tricky = 'it\'s "quoted"\n$HOME; touch pwned'
    spec = _phases(
        install={
            "commands": ["export X=1", "echo install sees X=$X", "PLAIN=two; mkdir -p sub && cd sub", "unset HOME", f"TRICKY={_sh(tricky)}"]
        },
        build={
            "commands": ['echo build sees X=$X PLAIN=$PLAIN in "$(basename "$PWD")" HOME=${HOME-unset}', 'printf %s "$TRICKY" > ../tricky']
        },
    ) | {"env": {"shell": shell}}
    result, log = _run(tmp_path, spec, environment={"PATH": os.environ["PATH"], "HOME": "/home/builder"})
    assert result.succeeded, result.reason
    assert "install sees X=1" in log
    assert "build sees X=1 PLAIN=two in sub HOME=unset" in log
    assert (tmp_path / "src" / "tricky").read_text() == tricky
    assert not list(tmp_path.rglob("pwned"))


def _sh(value: str) -> str:
    """``value`` quoted for any POSIX shell."""
    return "'" + value.replace("'", "'\\''") + "'"


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


# -- the shell ([spec] env/shell, [shells]) -------------------------------------------------


def test_without_env_shell_commands_run_under_bin_sh_and_a_bashism_fails_there(tmp_path):
    """[spec], env/shell: "For Linux operating systems, supported shell tags are: bash,
    /bin/sh"; which runs when none is given no page names outright. [shells]: "You can
    specify any Shell Command Language (sh) command", written to say that sh runs them
    (awsdocs/aws-codebuild-user-guide#65). This machine's /bin/sh is dash, as on CodeBuild's
    Ubuntu images: `[[` is not a command there, and the build fails as it would on AWS."""
    bashism = "[[ 1 == 1 ]] && echo double-brackets-ran"
    default, log = _run(tmp_path / "default", _phases(build={"commands": [bashism]}))
    assert not default.succeeded and default.reason.startswith("phase build: command `[[ 1 == 1 ]]")
    assert "[buildspec] shell: /bin/sh (env.shell not given: sh, [shells])" in log
    assert "\ndouble-brackets-ran\n" not in log
    bash, log = _run(tmp_path / "bash", {"version": 0.2, "env": {"shell": "bash"}, "phases": {"build": {"commands": [bashism]}}})
    assert bash.succeeded, bash.reason
    assert "\ndouble-brackets-ran\n" in log
    explicit, log = _run(tmp_path / "sh", {"version": 0.2, "env": {"shell": "/bin/sh"}, "phases": {"build": {"commands": [bashism]}}})
    assert not explicit.succeeded and "[buildspec] shell: /bin/sh\n" in log


def test_under_sh_exit_fails_only_its_command_and_the_state_it_left_carries_over(tmp_path):
    """The sh runner keeps what the bash one keeps: a command that calls `exit` fails itself
    ([spec], phases: version 0.2 runs the commands in one shell instance), and $PPID is the
    live shell's parent (this process), not a value saved with the state."""
    result, log = _run(
        tmp_path,
        _phases(
            pre_build={"commands": ["echo first parent $PPID"]},
            build={"commands": ["export LEFT=behind; exit 3", _mark("skipped")]},
            post_build={"commands": ["echo post sees $LEFT", "echo later parent $PPID"]},
        ),
    )
    assert result.reason == "phase build: command `export LEFT=behind; exit 3` exited 3"
    assert "post sees behind" in log
    parents = [line.rsplit(" ", 1)[1] for line in log.splitlines() if " parent " in line and not line.startswith("[")]
    assert parents == [str(os.getpid())] * 2
    assert _ran(tmp_path) == []


@pytest.mark.parametrize("shell", ["bash", "/bin/sh"])
def test_exported_variables_are_read_under_either_shell(tmp_path, shell):
    result, _ = _run(
        tmp_path,
        {
            "version": 0.2,
            "env": {"shell": shell, "exported-variables": ["EXPORTED", "PLAIN", "NEVER_SET", "EMPTY"]},
            "phases": {"build": {"commands": ["export EXPORTED='two words' PLAIN=1 EMPTY="]}, "post_build": {"commands": ["PLAIN=2"]}},
        },
    )
    assert result.exported_variables == {"EXPORTED": "two words", "PLAIN": "2", "EMPTY": ""}


# -- Parameter Store and Secrets Manager ([spec] env/parameter-store, env/secrets-manager) --

SECRET = "s3cr3t-Value-91c4"
PARAMETER = "param-Value-55e0"


def _stores(values: dict[str, str], seen: list[StoredReference] | None = None):
    """A ``read_stored`` that answers from ``values`` by reference and records what it was asked."""

    def read(reference: StoredReference) -> str:
        if seen is not None:
            seen.append(reference)
        if reference.reference not in values:
            raise StoreReadError(f"{reference.where}: {reference.reference} denied (test)")
        return values[reference.reference]

    return read


def test_stored_variables_are_read_before_the_build_and_rank_as_the_docs_say(tmp_path):
    """[spec], env/parameter-store: "Any environment variables you retrieve from Amazon EC2
    Systems Manager Parameter Store replace existing environment variables"; and the start
    build call, then the project, beat the buildspec. Between the two stores [spec] is
    silent: Secrets Manager's value wins (a guess, the module says so)."""
    seen: list[StoredReference] = []
    spec = {
        "version": 0.2,
        "env": {
            "variables": {"FROM_BOTH": "plain", "OVERRIDDEN": "plain"},
            "parameter-store": {"FROM_BOTH": "/app/both", "FROM_PARAMETER": "/app/p", "OVERRIDDEN": "/app/o"},
            "secrets-manager": {"FROM_BOTH": "app/secret:both", "FROM_SECRET": "app/secret"},
        },
        "phases": {"build": {"commands": ['echo "$FROM_BOTH|$FROM_PARAMETER|$FROM_SECRET|$OVERRIDDEN" | base64']}},
    }
    values = {"/app/both": "p-both", "/app/p": "p-only", "/app/o": "p-over", "app/secret:both": "s-both", "app/secret": "s-only"}
    result, log = _run(tmp_path, spec, read_stored=_stores(values, seen), overrides={"OVERRIDDEN": "from-the-project"})
    assert result.succeeded, result.reason
    assert [(r.variable, r.store, r.reference, r.where) for r in seen] == [
        ("FROM_BOTH", "PARAMETER_STORE", "/app/both", "env.parameter-store.FROM_BOTH"),
        ("FROM_PARAMETER", "PARAMETER_STORE", "/app/p", "env.parameter-store.FROM_PARAMETER"),
        ("OVERRIDDEN", "PARAMETER_STORE", "/app/o", "env.parameter-store.OVERRIDDEN"),
        ("FROM_BOTH", "SECRETS_MANAGER", "app/secret:both", "env.secrets-manager.FROM_BOTH"),
        ("FROM_SECRET", "SECRETS_MANAGER", "app/secret", "env.secrets-manager.FROM_SECRET"),
    ]
    import base64

    printed = next(line for line in log.splitlines() if line and not line.startswith("["))
    assert base64.b64decode(printed).decode() == "s-both|p-only|s-only|from-the-project\n"


def test_a_store_that_cannot_be_read_fails_the_build_before_any_command(tmp_path):
    spec = {"version": 0.2, "env": {"secrets-manager": {"S": "app/missing:key"}}, "phases": {"install": {"commands": [_mark("install")]}}}
    result, log = _run(tmp_path, spec, read_stored=_stores({}))
    assert not result.succeeded
    assert result.reason == "env.secrets-manager.S: app/missing:key denied (test)"
    assert "[buildspec] build failed: env.secrets-manager.S: app/missing:key denied (test)" in log
    assert _ran(tmp_path) == []
    nothing_reads, _ = _run(tmp_path / "none", {"version": 0.2, "env": {"parameter-store": {"P": "/p"}}, "phases": {}})
    assert nothing_reads.reason == "env.parameter-store.P: nothing here reads Parameter Store"


@pytest.mark.parametrize("shell", ["bash", "/bin/sh"])
def test_a_build_that_echoes_a_stored_value_shows_the_mask_not_the_value(tmp_path, shell):
    """[spec], env: "To protect sensitive information, the following are hidden in CodeBuild
    logs: [...] Strings specified using the Parameter Store [...] Strings specified using AWS
    Secrets Manager". CodeBuild writes each one "***", wherever it stands in a line, the
    command line included. The attacks: echo it, to stdout and stderr; write it in the
    command itself; print it in two halves with a pause between (the log is copied as it
    comes: a half must not be copied before the rest is known); export it under another name;
    fail a command whose text holds it."""
    half = len(SECRET) // 2
    commands = [
        'echo "stdout: $TOKEN"',
        'echo "stderr: $PARAM" >&2',
        f"echo literal {SECRET}",
        f'printf %s "$TOKEN" | head -c {half}; sleep 0.35; printf "%s\\n" "$TOKEN" | tail -c +{half + 1}',
        'export COPY="copy-$TOKEN" TOKEN',
        'echo "$TOKEN" | base64 > encoded',
    ]
    spec = {
        "version": 0.2,
        "env": {"shell": shell, "secrets-manager": {"TOKEN": "app/token"}, "exported-variables": ["COPY", "TOKEN", "FROM_PROJECT"]},
        "phases": {"build": {"commands": commands}, "post_build": {"commands": [f"test -z '{PARAMETER}'"]}},
    }
    result, log = _run(
        tmp_path,
        spec,
        read_stored=_stores({"app/token": SECRET}),
        overrides={"PARAM": StoredValue(PARAMETER), "FROM_PROJECT": StoredValue(PARAMETER)},
    )
    for value in (SECRET, PARAMETER, SECRET[:half]):
        assert value not in log and value not in result.reason and value not in str(result.exported_variables)
    assert "stdout: ***" in log and "stderr: ***" in log and "running command: echo literal ***" in log
    assert "\n***\n" in log  # the two halves, masked whole
    assert result.reason == "phase post_build: command `test -z '***'` exited 1"
    # [spec], env/exported-variables: store variables "cannot be exported"; another that holds one is masked.
    assert result.exported_variables == {"COPY": "copy-***"}
    assert "env.exported-variables: TOKEN was read from Parameter Store or Secrets Manager: not exported" in log
    assert "env.exported-variables: FROM_PROJECT was read from" in log
    import base64

    assert base64.b64decode((tmp_path / "src" / "encoded").read_text()).decode() == SECRET + "\n"  # the build had the value


def test_values_given_to_mask_are_hidden_and_a_stored_value_does_not_show_in_a_repr():
    assert mask("key AKIAEXAMPLE and AKIA", ["AKIA", "AKIAEXAMPLE"]) == "key *** and ***"
    assert mask("nothing to hide", []) == "nothing to hide"
    assert SECRET not in repr(StoredValue(SECRET)) and StoredValue(SECRET) == SECRET


def test_the_build_s_credentials_given_as_masked_are_hidden_in_the_log(tmp_path):
    """[spec], env: "AWS access key IDs" are hidden in CodeBuild logs too."""
    spec = _phases(build={"commands": ['echo "key=$AWS_ACCESS_KEY_ID"']})
    environment = {"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEKEY123456"}
    result, log = _run(tmp_path, spec, environment=environment, masked=["ASIAEXAMPLEKEY123456"])
    assert result.succeeded and "key=***" in log and "ASIAEXAMPLEKEY123456" not in log


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("app/db", SecretReference("app/db")),
        ("app/db:password", SecretReference("app/db", "password")),
        ("app/db::AWSPREVIOUS", SecretReference("app/db", "", "AWSPREVIOUS")),
        ("app/db:password::v-123", SecretReference("app/db", "password", "", "v-123")),
        (
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:app/db-AbCdEf:password",
            SecretReference("arn:aws:secretsmanager:us-east-1:111111111111:secret:app/db-AbCdEf", "password"),
        ),
    ],
)
def test_a_secrets_manager_reference_is_secret_id_json_key_version_stage_version_id(text, parsed):
    """[spec], env/secrets-manager: "secret-id:json-key:version-stage:version-id"; the
    secret-id is "The name or Amazon Resource Name (ARN)" of the secret."""
    assert parse_secret_reference(text) == parsed


@pytest.mark.parametrize("text", ["", "a:b:c:d:e", "app/db:k:AWSCURRENT:v-1", "arn:aws:secretsmanager:us-east-1"])
def test_a_secrets_manager_reference_of_another_form_is_refused(text):
    """Also one with both a stage and an ID: "If you use version-stage, don't specify version-id"."""
    with pytest.raises(ValueError, match="secret-id:json-key|names both"):
        parse_secret_reference(text)


# -- several inputs and outputs ([action] "Input artifacts"/"Output artifacts", [multi]) --


def _two_sources(tmp_path: Path) -> tuple[Path, Path]:
    primary, other = tmp_path / "src", tmp_path / "source2"
    for folder in (primary, other):
        folder.mkdir()
        (folder / "given").write_text(folder.name)
    return primary, other


def test_the_sample_s_buildspec_fills_each_secondary_artifact_from_its_own_input(tmp_path):
    """[multi]: "the two input source directories are $CODEBUILD_SRC_DIR and
    $CODEBUILD_SRC_DIR_source2", and its buildspec's secondary artifacts take their
    base-directory from them. (Its buildspec leaves out artifacts/files, which [spec] says
    "is always required, even when there are only secondary artifacts defined": given here.)"""
    _, other = _two_sources(tmp_path)
    spec = {
        "version": 0.2,
        "phases": {"build": {"commands": ["touch source1_file", "cd $CODEBUILD_SRC_DIR_source2", "touch source2_file"]}},
        "artifacts": {
            "files": ["**/*"],
            "secondary-artifacts": {
                "artifact1": {"base-directory": "$CODEBUILD_SRC_DIR", "files": ["source1_file"]},
                "artifact2": {"base-directory": "$CODEBUILD_SRC_DIR_source2", "files": ["source2_file"]},
                "unused": {"files": ["given"]},
            },
        },
    }
    result, log = _run(tmp_path, spec, secondary_sources={"source2": other}, secondary_artifacts=("artifact1", "artifact2"))
    assert result.succeeded, result.reason
    assert result.secondary["artifact1"].layout == {tmp_path / "src" / "source1_file": "source1_file"}
    assert result.secondary["artifact2"].layout == {other.resolve() / "source2_file": "source2_file"}
    assert result.artifact_layout == {}  # with several outputs, the primary section fills none
    assert result.folders == (tmp_path / "src", other.resolve())
    assert "artifacts.secondary-artifacts.unused: the action has no output artifact unused: not handed on" in log


def test_each_other_input_is_named_by_codebuild_src_dir_and_its_artifact_name(tmp_path):
    """[action]: "The directories for all other input artifacts are made available with
    $CODEBUILD_SRC_DIR_yourInputArtifactName"."""
    _, other = _two_sources(tmp_path)
    result, log = _run(
        tmp_path,
        _phases(build={"commands": ['cat "$CODEBUILD_SRC_DIR_source2/given" given; echo "${CODEBUILD_SRC_DIR_src-none}"']}),
        secondary_sources={"source2": other},
    )
    assert result.succeeded, result.reason
    assert "source2srcnone\n" in log  # the primary's is CODEBUILD_SRC_DIR only


def test_an_output_artifact_without_its_secondary_section_fails_the_build_naming_it(tmp_path):
    """[action], "Output artifacts": "When more than one output artifact is specified, all
    artifacts referenced must be defined as secondary artifacts in the build spec file"."""
    spec = {
        "version": 0.2,
        "phases": {"build": {"commands": ["echo made > made.txt"]}},
        "artifacts": {"files": ["made.txt"], "secondary-artifacts": {"Built": {"files": ["made.txt"]}}},
    }
    result, _ = _run(tmp_path, spec, secondary_artifacts=("Built", "Reports"))
    assert not result.succeeded
    assert result.reason.startswith("output artifact Reports: no artifacts.secondary-artifacts.Reports in the buildspec")
    empty, _ = _run(tmp_path / "empty", spec | {"phases": {}}, secondary_artifacts=("Built",))
    assert empty.reason == "artifacts.secondary-artifacts.Built: no file matches artifacts.secondary-artifacts.Built.files"


def test_a_base_directory_variable_that_names_no_input_or_leaves_it_is_refused(tmp_path, host_file):
    """Only $CODEBUILD_SRC_DIR and $CODEBUILD_SRC_DIR_<input artifact> stand for a folder; a
    link in another input that points at a host file is refused as one in the primary is."""
    _, other = _two_sources(tmp_path)
    (other / "leak.txt").symlink_to(host_file)
    cases = {
        "$CODEBUILD_SRC_DIR_nope": "names no directory of this build's inputs",
        "${CODEBUILD_SRC_DIR}x": "names no directory of this build's inputs",
        "$HOME": "no file matches",  # taken as a literal name: no such directory
        "$CODEBUILD_SRC_DIR_source2": "$CODEBUILD_SRC_DIR_source2/leak.txt is a symbolic link to",
    }
    for base, named in cases.items():
        spec = {"version": 0.2, "phases": {}, "artifacts": {"files": ["*"], "base-directory": base}}
        result, _ = _run(tmp_path, spec, secondary_sources={"source2": other})
        assert not result.succeeded and named in result.reason, (base, result.reason)
        assert MARKER not in str(result)


def test_an_input_whose_name_is_no_shell_name_gets_its_directory_but_no_variable(tmp_path):
    """CodePipeline allows '-' in an artifact name; [action] names the variable
    $CODEBUILD_SRC_DIR_yourInputArtifactName and says no more. No shell can hold
    CODEBUILD_SRC_DIR_my-input: it is not set here, and the log says where the input is."""
    _, other = _two_sources(tmp_path)
    result, log = _run(
        tmp_path, _phases(build={"commands": ["env | grep -c '^CODEBUILD_SRC_DIR' || true"]}), secondary_sources={"my-input": other}
    )
    assert result.succeeded, result.reason
    assert (
        f"[buildspec] input artifact my-input is in {other.resolve()}: CODEBUILD_SRC_DIR_my-input is no shell variable name: not set" in log
    )
    assert "\n1\n" in log  # CODEBUILD_SRC_DIR alone
