"""The CodeBuild action in a pipeline of its own: the project's buildspec on the primary
input, the service role's credentials and the endpoint in its environment, artifacts,
exported variables and reports handed on, cached paths kept from build to build."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from tests.unit.local_pipeline.executor.helpers import action

if TYPE_CHECKING:
    from emulator import Emulator
    from local_pipeline.executor.codebuild_action import CodeBuildAction

BUILDSPEC = {
    "version": "0.2",
    "env": {"variables": {"GREETING": "from-buildspec", "STAGE": "from-buildspec"}, "exported-variables": ["BUILT_AT"]},
    "phases": {
        "install": {"runtime-versions": {"python": "3.12"}, "commands": ["mkdir -p .cache-dir", "echo run >> .cache-dir/runs"]},
        "build": {
            "commands": [
                "mkdir -p out reports",
                'echo "$GREETING $STAGE $AWS_ACCESS_KEY_ID $AWS_ENDPOINT_URL $AWS_REGION" > out/env.txt',
                "cat source.txt >> out/env.txt",
                "wc -l < .cache-dir/runs > out/runs.txt",
                "export BUILT_AT=now",
                'echo \'<testsuite tests="1"><testcase name="t"/></testsuite>\' > reports/junit.xml',
            ]
        },
    },
    "reports": {"Unit": {"files": ["reports/junit.xml"], "file-format": "JUNITXML"}},
    "artifacts": {"base-directory": "out", "files": ["**/*"]},
    "cache": {"paths": [".cache-dir/**/*"]},
}


def _pipeline() -> dict:
    source = action("Fetch", "Src", outputs=["Src"], category="Source")
    build = action("Build", "CodeBuild", inputs=["Src"], outputs=["Built"], namespace="Build") | {
        "Configuration": {
            "ProjectName": "demo",
            "EnvironmentVariables": json.dumps([{"name": "STAGE", "type": "PLAINTEXT", "value": "from-action"}]),
        }
    }
    read = action("Read", "Read", inputs=["Built"], run_order=2) | {"Configuration": {"At": "#{Build.BUILT_AT}"}}
    return {"Stages": [{"Name": "Source", "Actions": [source]}, {"Name": "Build", "Actions": [build, read]}]}


def test_a_build_runs_its_buildspec_and_hands_on_what_it_made(tmp_path: Path):
    from emulator.identity import Credentials
    from local_pipeline.executor.codebuild_action import CodeBuildAction, Project

    seen: list[tuple[str, str, str]] = []

    def fetch(context: ActionContext) -> ActionOutcome:
        (context.outputs["Src"] / "source.txt").write_text("the source\n")
        return ActionOutcome("Succeeded")

    def read(context: ActionContext) -> ActionOutcome:
        built = context.inputs["Built"]
        seen.append(((built / "env.txt").read_text(), (built / "runs.txt").read_text().strip(), str(context.configuration["At"])))
        return ActionOutcome("Succeeded")

    codebuild = CodeBuildAction(
        projects=lambda name: Project(name, BUILDSPEC, "arn:aws:iam::222222222222:role/build", {"GREETING": "from-project"}),
        credentials=lambda role: Credentials("AKIDFORBUILDROLE", "secret"),
        host_path=os.environ["PATH"],
        endpoint="http://127.0.0.1:5123",
        builds=tmp_path / "builds",
        region="eu-west-1",
    )
    handlers = {"Src": fetch, "CodeBuild": codebuild, "Read": read}
    for run in ("1", "2"):
        record = PipelineRun(read_pipeline(_pipeline()), handlers, directory=tmp_path / run, record=RunRecord(run, "c", "main")).execute()
        assert record.status == "Succeeded", record.reason
    # The project's variables and then the action's override the buildspec's; the role's key
    # and the endpoint are set; the cached folder survived into the second build.
    assert seen == [
        ("from-project from-action AKIDFORBUILDROLE http://127.0.0.1:5123 eu-west-1\nthe source\n", "1", "now"),
        ("from-project from-action AKIDFORBUILDROLE http://127.0.0.1:5123 eu-west-1\nthe source\n", "2", "now"),
    ]
    for run in ("1", "2"):  # each run keeps its own build's report, next to the action's log
        assert (tmp_path / run / "actions" / "Build.Build" / "reports" / "Unit" / "junit.xml").is_file()
    log = (tmp_path / "2" / "actions" / "Build.Build" / "log.txt").read_text()
    assert "[not honoured locally]" not in log  # said once, in the first run
    assert "[not honoured locally]" in (tmp_path / "1" / "actions" / "Build.Build" / "log.txt").read_text()


def _build_action(buildspec: dict | str, tmp_path: Path) -> CodeBuildAction:
    """A CodeBuild action whose every project runs ``buildspec`` (inline, or a file of the source)."""
    from emulator.identity import Credentials
    from local_pipeline.executor.codebuild_action import CodeBuildAction, Project

    return CodeBuildAction(
        projects=lambda name: Project(name, buildspec, "arn:aws:iam::222222222222:role/build"),
        credentials=lambda role: Credentials("AKID", "secret"),
        host_path=os.environ["PATH"],
        endpoint=None,
        builds=tmp_path / "builds",
    )


def _run_one_build(buildspec: dict, tmp_path: Path, *, outputs: tuple[str, ...] = ()) -> RunRecord:
    """A pipeline of one CodeBuild action, Build/Synth, run in ``tmp_path/r``."""
    codebuild = _build_action(buildspec, tmp_path)
    stages = [{"Name": "Build", "Actions": [action("Synth", "CodeBuild", outputs=outputs) | {"Configuration": {"ProjectName": "p"}}]}]
    return PipelineRun(
        read_pipeline({"Stages": stages}), {"CodeBuild": codebuild}, directory=tmp_path / "r", record=RunRecord("1", "c", "main")
    ).execute()


def test_a_failing_command_fails_the_action_naming_it(tmp_path: Path):
    failing = {"version": "0.2", "phases": {"build": {"commands": ["echo fine", "exit 3"]}}}
    record = _run_one_build(failing, tmp_path)
    assert record.status == "Failed"
    assert record.reason.startswith("Build/Synth: phase build: command `exit 3` exited 3"), record.reason


def test_a_failed_build_names_the_failed_tests_of_its_junit_report(tmp_path: Path):
    """The run's one line names the failing test, as the report's page in the CodeBuild
    console lists failed test cases (CodeBuild user guide, "Working with test reports")."""
    report = (
        '<testsuites><testsuite tests="3" failures="1" errors="1">'
        '<testcase classname="tests.unit.test_a" name="test_passes"/>'
        '<testcase classname="tests.unit.test_a" name="test_breaks"><failure message="planted"/></testcase>'
        '<testcase classname="tests.unit.test_b" name="test_errs"><error message="boom"/></testcase>'
        "</testsuite></testsuites>"
    )
    failing = {
        "version": "0.2",
        "phases": {"build": {"commands": ["mkdir -p reports", f"echo '{report}' > reports/junit.xml", "exit 1"]}},
        "reports": {
            "Unit": {"files": ["reports/junit.xml"], "file-format": "JUNITXML"},
            "Audit": {"files": ["reports/audit/*.xml"], "file-format": "JUNITXML"},  # never written
        },
    }
    record = _run_one_build(failing, tmp_path)
    assert record.status == "Failed"
    assert record.reason == (
        "Build/Synth: phase build: command `exit 1` exited 1; failed tests: tests.unit.test_a::test_breaks, tests.unit.test_b::test_errs"
    )
    kept = tmp_path / "r" / "actions" / "Build.Synth" / "reports"
    assert [path.relative_to(kept).as_posix() for path in kept.rglob("*")] == ["Unit", "Unit/junit.xml"]


def test_a_buildspec_named_by_file_is_read_from_the_source(tmp_path: Path):
    def fetch(context: ActionContext) -> ActionOutcome:
        spec = {
            "version": "0.2",
            "phases": {"build": {"commands": ["mkdir -p out", "echo from-file > out/made.txt"]}},
            "artifacts": {"base-directory": "out", "files": ["*"]},
        }
        (context.outputs["Src"] / "buildspec-asset.yaml").write_text(json.dumps(spec))
        return ActionOutcome("Succeeded")

    codebuild = _build_action("buildspec-asset.yaml", tmp_path)
    stages = [
        {"Name": "Source", "Actions": [action("Fetch", "Src", outputs=["Src"], category="Source")]},
        {
            "Name": "Assets",
            "Actions": [action("Files", "CodeBuild", inputs=["Src"], outputs=["Out"]) | {"Configuration": {"ProjectName": "a"}}],
        },
    ]
    run = PipelineRun(
        read_pipeline({"Stages": stages}), {"Src": fetch, "CodeBuild": codebuild}, directory=tmp_path / "r", record=RunRecord("1", "c", "m")
    )
    assert run.execute().status == "Succeeded"
    assert (run.artifacts["Out"] / "made.txt").read_text() == "from-file\n"


# -- a build stays in its folder (issue 19, point 4) -------------------------------------

MARKER = "host-file-marker-5be1"


def _host_file(tmp_path: Path) -> Path:
    """A file outside every build's folder, as /etc/passwd is (its text a YAML mapping, as a
    host's config file may be)."""
    outside = tmp_path / "host" / "passwd"
    outside.parent.mkdir()
    outside.write_text(f"{MARKER}: value\n")
    return outside


def _record_text(record_folder: Path) -> str:
    """Everything the run's record holds (logs, reports, output artifacts), links followed."""
    texts = []
    for directory, _, files in os.walk(record_folder, followlinks=True):
        texts += [Path(directory, file).read_text(errors="replace") for file in files if Path(directory, file).is_file()]
    return "".join(texts)


def _links_out_of(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve())]


def test_a_report_group_name_that_leaves_the_run_s_folder_is_refused(tmp_path: Path):
    # From <run>/r/actions/Build.Synth/reports/, five levels up is tmp_path.
    for run, name in (("relative", "../../../../../escaped"), ("absolute", str(tmp_path / "escaped"))):
        write = {"commands": ["mkdir -p reports", "echo '<testsuite/>' > reports/junit.xml"]}
        spec = {"version": "0.2", "phases": {"build": write}, "reports": {name: {"files": ["reports/junit.xml"]}}}
        record = _run_one_build(spec, tmp_path / run)
        assert not (tmp_path / "escaped").exists()
        assert not (tmp_path / run / "r" / "actions" / "Build.Synth" / "reports").exists()
        assert record.status == "Failed"
        assert f"reports.{name}: the report group name leaves the build's folder" in record.reason


def test_a_report_that_links_to_a_host_file_is_not_kept(tmp_path: Path):
    host = _host_file(tmp_path)
    spec = {
        "version": "0.2",
        "phases": {"build": {"commands": ["mkdir -p reports", f"ln -s {host} reports/junit.xml"]}},
        "reports": {"Unit": {"files": ["reports/junit.xml"], "file-format": "JUNITXML"}},
    }
    record = _run_one_build(spec, tmp_path)
    assert MARKER not in _record_text(tmp_path / "r")
    assert _links_out_of(tmp_path / "r") == []
    assert record.status == "Failed"
    assert record.reason == (
        f"Build/Synth: reports.Unit: reports/junit.xml is a symbolic link to {host.resolve()}, outside the build's folder: refused"
    )


def test_an_artifact_that_links_to_a_host_file_is_not_handed_on(tmp_path: Path):
    host = _host_file(tmp_path)
    for enable_symlinks in ("no", "yes"):
        spec = {
            "version": "0.2",
            "phases": {"build": {"commands": ["mkdir -p out", f"ln -sfn {host} out/passwd", "echo fine > out/fine.txt"]}},
            "artifacts": {"files": ["**/*"], "base-directory": "out", "enable-symlinks": enable_symlinks},
        }
        record = _run_one_build(spec, tmp_path / enable_symlinks, outputs=("Built",))
        assert MARKER not in _record_text(tmp_path / enable_symlinks / "r")
        assert _links_out_of(tmp_path / enable_symlinks / "r") == []
        assert record.status == "Failed"
        assert "artifacts: out/passwd is a symbolic link to" in record.reason


def test_links_inside_the_build_are_copied_or_with_enable_symlinks_kept_as_links(tmp_path: Path):
    """CodeBuild's "Build specification reference", artifacts/enable-symlinks
    (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.artifacts.enable-symlinks):
    "If the output type is ZIP, specifies if internal symbolic links are preserved in the ZIP
    file" ("yes"); by default they are not, so the file a link names is handed on."""
    commands = [
        "mkdir -p out/v1",
        "echo app > out/v1/app.js",
        "ln -sfn v1/app.js out/latest.js",
        "echo top > top.txt",
        "ln -sfn ../top.txt out/up.txt",
    ]
    for enable_symlinks in ("no", "yes"):
        spec = {
            "version": "0.2",
            "phases": {"build": {"commands": commands}},
            "artifacts": {"files": ["**/*"], "base-directory": "out", "enable-symlinks": enable_symlinks},
        }
        record = _run_one_build(spec, tmp_path / enable_symlinks, outputs=("Built",))
        assert record.status == "Succeeded", record.reason
        (built,) = (tmp_path / enable_symlinks / "r").rglob("Built")
        assert (built / "latest.js").read_text() == "app\n" and (built / "up.txt").read_text() == "top\n"
        assert (built / "latest.js").is_symlink() == (enable_symlinks == "yes")
        assert not (built / "up.txt").is_symlink()  # it would point out of the artifact: its file is copied
        if enable_symlinks == "yes":
            assert os.readlink(built / "latest.js") == "v1/app.js"


def test_keep_reports_checks_again_as_it_copies(tmp_path: Path):
    """A report file swapped for a link to a host file after it was collected is not copied."""
    from local_pipeline.executor.codebuild_action import keep_reports

    host = _host_file(tmp_path)
    build = tmp_path / "build"
    build.mkdir()
    (build / "junit.xml").write_text("<testsuite/>")
    (build / "swapped.xml").symlink_to(host)
    (tmp_path / "action").mkdir()
    context = ActionContext(action=None, configuration={}, inputs={}, outputs={}, log=tmp_path / "action" / "log.txt", variables={})  # type: ignore[arg-type]
    files = [build / "junit.xml", build / "swapped.xml"]
    assert keep_reports(context, {"Unit": files}, within=build) == [tmp_path / "action" / "reports" / "Unit" / "junit.xml"]
    assert keep_reports(context, {"Other": files}) == [tmp_path / "action" / "reports" / "Other" / "junit.xml"]  # no folder: no link
    assert keep_reports(context, {"../../out": files}) == []
    assert MARKER not in _record_text(tmp_path / "action")
    assert not (tmp_path / "out").exists()
    log = (tmp_path / "action" / "log.txt").read_text()
    assert f"[reports] reports.Unit: {build / 'swapped.xml'}: a symbolic link to {host.resolve()}, outside the build's folder" in log
    assert "[reports] reports.../../out: the report group name leaves the build's folder: not kept" in log


def test_a_buildspec_file_that_links_out_of_the_source_is_not_read(tmp_path: Path):
    host = _host_file(tmp_path)

    def fetch(context: ActionContext) -> ActionOutcome:
        (context.outputs["Src"] / "buildspec.yml").symlink_to(host)
        return ActionOutcome("Succeeded")

    codebuild = _build_action("buildspec.yml", tmp_path)
    stages = [
        {"Name": "Source", "Actions": [action("Fetch", "Src", outputs=["Src"], category="Source")]},
        {"Name": "Build", "Actions": [action("Synth", "CodeBuild", inputs=["Src"]) | {"Configuration": {"ProjectName": "p"}}]},
    ]
    run = PipelineRun(
        read_pipeline({"Stages": stages}), {"Src": fetch, "CodeBuild": codebuild}, directory=tmp_path / "r", record=RunRecord("1", "c", "m")
    )
    record = run.execute()
    assert record.status == "Failed"
    assert "the buildspec file buildspec.yml is a symbolic link out of the source: not read" in record.reason
    assert MARKER not in record.reason
    for path in (tmp_path / "r").rglob("*"):  # the source artifact holds the link itself: read all but it
        if path.is_file() and not path.is_symlink():
            assert MARKER not in path.read_text(errors="replace"), path


# What a build's environment holds (CodeBuild user guide, "Environment variables in build
# environments"), and what the shell adds of its own.
_DOCUMENTED = {"PATH", "HOME", "AWS_REGION", "AWS_DEFAULT_REGION"}
_SHELLS_OWN = {"PWD", "OLDPWD", "SHLVL", "_"}
_CREDENTIALS_AND_ENDPOINT = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_DISABLE_HOST_PREFIX_INJECTION",
}


def test_a_build_gets_codebuilds_environment_and_of_this_machine_only_its_path(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOST_ONLY_SETTING", "must-not-reach-a-build")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/on/the/host")
    spec = {
        "version": "0.2",
        "phases": {"build": {"commands": ["mkdir -p out", "env > out/env.txt", "pwd > out/pwd.txt", 'echo "$HOME" > out/home.txt']}},
        "artifacts": {"base-directory": "out", "files": ["**/*"]},
    }
    record = _run_one_build(spec, tmp_path, outputs=("Out",))
    assert record.status == "Succeeded", record.reason
    out = tmp_path / "r" / "actions" / "Build.Synth" / "out" / "Out"
    names = {line.split("=", 1)[0] for line in (out / "env.txt").read_text().splitlines() if "=" in line and line[0].isupper()}
    assert "HOST_ONLY_SETTING" not in names and "PYTHONPATH" not in names
    unexpected = names - _DOCUMENTED - _SHELLS_OWN - _CREDENTIALS_AND_ENDPOINT
    assert {name for name in unexpected if not name.startswith("CODEBUILD_")} == set(), unexpected
    for documented in ("CODEBUILD_BUILD_ID", "CODEBUILD_BUILD_ARN", "CODEBUILD_SRC_DIR", "CODEBUILD_INITIATOR", "CODEBUILD_BUILD_NUMBER"):
        assert documented in names
    home = Path((out / "home.txt").read_text().strip())
    assert home != Path.home() and home.is_relative_to(tmp_path / "builds")


def test_each_build_gets_a_new_source_directory_with_its_cache_linked_in(tmp_path: Path):
    """CodeBuild user guide, "Build caching", local custom cache: "Symlinks are used to reference
    cached directories. Cached directories are linked to your build before it downloads its
    project sources." Each build's source directory is new (/codebuild/output/src<digits>/src)."""
    spec = {
        "version": "0.2",
        "phases": {
            "build": {
                "commands": [
                    "mkdir -p out .cache-dir",
                    "echo run >> .cache-dir/runs",
                    'pwd > out/pwd.txt; readlink .cache-dir > out/link.txt; echo "$CODEBUILD_SRC_DIR" > out/src-dir.txt',
                ]
            }
        },
        "artifacts": {"base-directory": "out", "files": ["**/*"]},
        "cache": {"paths": [".cache-dir/**/*"]},
    }
    codebuild = _build_action(spec, tmp_path)
    stages = [{"Name": "Build", "Actions": [action("Synth", "CodeBuild", outputs=("Out",)) | {"Configuration": {"ProjectName": "p"}}]}]
    seen = []
    for run in ("1", "2"):
        record = PipelineRun(
            read_pipeline({"Stages": stages}), {"CodeBuild": codebuild}, directory=tmp_path / run, record=RunRecord(run, "c", "main")
        ).execute()
        assert record.status == "Succeeded", record.reason
        out = tmp_path / run / "actions" / "Build.Synth" / "out" / "Out"
        seen.append({name: (out / f"{name}.txt").read_text().strip() for name in ("pwd", "link", "src-dir")})
    first, second = (Path(s["pwd"]) for s in seen)
    assert first != second
    assert all(re.fullmatch(r"src\d{9}", p.parent.name) and p.name == "src" for p in (first, second))
    assert [s["src-dir"] for s in seen] == [s["pwd"] for s in seen]
    assert seen[0]["link"] == seen[1]["link"] and Path(seen[0]["link"]).is_relative_to(tmp_path / "builds" / "cache")
    assert (Path(seen[0]["link"]) / "runs").read_text() == "run\nrun\n"  # the cache served the second build
    assert not first.parent.exists() and not second.parent.exists()  # each build's directory went with it


# -- several inputs and outputs ------------------------------------------------------------
# CodePipeline user guide, "AWS CodeBuild build and test action reference" ([action],
# https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html).


def _sources(*names: str) -> dict:
    """A source handler per name, each writing ``<name>.txt`` (and ``given.txt``: whose it is)."""

    def source(name: str):
        def fetch(context: ActionContext) -> ActionOutcome:
            (context.outputs[name] / f"{name}.txt").write_text(name)
            (context.outputs[name] / "given.txt").write_text(f"from {name}")
            return ActionOutcome("Succeeded")

        return fetch

    return {f"Fetch{name}": source(name) for name in names}


def _run_with_inputs(
    tmp_path: Path, buildspec: dict, *, inputs: tuple[str, ...], outputs: tuple[str, ...] = (), configuration: dict | None = None
) -> PipelineRun:
    sources = [action(f"Fetch{name}", f"Fetch{name}", outputs=[name], category="Source") for name in inputs]
    build = action("Synth", "CodeBuild", inputs=inputs, outputs=outputs) | {"Configuration": {"ProjectName": "p", **(configuration or {})}}
    stages = [{"Name": "Source", "Actions": sources}, {"Name": "Build", "Actions": [build]}]
    run = PipelineRun(
        read_pipeline({"Stages": stages}),
        {**_sources(*inputs), "CodeBuild": _build_action(buildspec, tmp_path)},
        directory=tmp_path / "r",
        record=RunRecord("1", "c", "main"),
    )
    run.execute()
    return run


def test_two_inputs_without_primary_source_are_refused_in_the_docs_words(tmp_path: Path):
    """[action], PrimarySource: "This parameter is required if multiple input artifacts are
    specified for a CodeBuild action"; and its value "must be the name of one of the input
    artifacts to the action"."""
    spec = {"version": "0.2", "phases": {"build": {"commands": ["touch ran"]}}}
    run = _run_with_inputs(tmp_path / "none", spec, inputs=("Src1", "Src2"))
    assert run.record.status == "Failed"
    assert run.record.reason == (
        "Build/Synth: project p: PrimarySource: the action has 2 input artifacts (Src1, Src2) and no PrimarySource: "
        '"This parameter is required if multiple input artifacts are specified for a CodeBuild action"'
    )
    wrong = _run_with_inputs(tmp_path / "wrong", spec, inputs=("Src1", "Src2"), configuration={"PrimarySource": "Src3"})
    assert 'PrimarySource: Src3 is not an input artifact of the action (Src1, Src2): "The value of the PrimarySource' in wrong.record.reason
    assert not list(tmp_path.rglob("ran"))


def test_the_primary_source_is_the_working_directory_and_each_other_input_has_its_own(tmp_path: Path):
    """[action], "Input artifacts": "Each input artifact is extracted to its own directory
    [...]. The directory for the primary source artifact is made available with
    $CODEBUILD_SRC_DIR. The directories for all other input artifacts are made available with
    $CODEBUILD_SRC_DIR_yourInputArtifactName"."""
    commands = [
        "mkdir -p out",
        'cat given.txt > out/cwd.txt; [ "$PWD" = "$CODEBUILD_SRC_DIR" ] && echo same >> out/cwd.txt',
        'cat "$CODEBUILD_SRC_DIR_Src1/given.txt" > out/src1.txt; ls "$CODEBUILD_SRC_DIR_Src1" > out/src1-files.txt',
        'echo "${CODEBUILD_SRC_DIR_Src2-unset}" > out/primary-variable.txt',
    ]
    spec = {"version": "0.2", "phases": {"build": {"commands": commands}}, "artifacts": {"base-directory": "out", "files": ["*"]}}
    run = _run_with_inputs(tmp_path, spec, inputs=("Src1", "Src2"), outputs=("Out",), configuration={"PrimarySource": "Src2"})
    assert run.record.status == "Succeeded", run.record.reason
    out = run.artifacts["Out"]
    assert (out / "cwd.txt").read_text() == "from Src2same\n"
    assert (out / "src1.txt").read_text() == "from Src1"
    assert (out / "src1-files.txt").read_text().split() == ["Src1.txt", "given.txt"]
    assert (out / "primary-variable.txt").read_text() == "unset\n"


def test_several_outputs_are_filled_each_from_the_secondary_artifact_of_its_name(tmp_path: Path):
    """[action], "Output artifacts": "When more than one output artifact is specified, all
    artifacts referenced must be defined as secondary artifacts in the build spec file. The
    names of the output artifacts in CodePipeline must match the artifact identifiers in the
    build spec file". The primary section fills none of them. The sample ("CodePipeline
    integration with CodeBuild and multiple input sources and output artifacts sample")
    takes each from an input's directory."""
    commands = ["touch source1_file", "cd $CODEBUILD_SRC_DIR_Src2", "touch source2_file"]
    secondary = {
        "Artifact1": {"base-directory": "$CODEBUILD_SRC_DIR", "files": ["source1_file"]},
        "Artifact2": {"base-directory": "$CODEBUILD_SRC_DIR_Src2", "files": ["source2_file", "given.txt"]},
    }
    spec = {
        "version": "0.2",
        "phases": {"build": {"commands": commands}},
        "artifacts": {"files": ["**/*"], "secondary-artifacts": secondary},
    }
    run = _run_with_inputs(
        tmp_path / "ok", spec, inputs=("Src1", "Src2"), outputs=("Artifact1", "Artifact2"), configuration={"PrimarySource": "Src1"}
    )
    assert run.record.status == "Succeeded", run.record.reason
    listing = {name: sorted(p.name for p in run.artifacts[name].iterdir()) for name in ("Artifact1", "Artifact2")}
    assert listing == {"Artifact1": ["source1_file"], "Artifact2": ["given.txt", "source2_file"]}
    assert (run.artifacts["Artifact2"] / "given.txt").read_text() == "from Src2"

    missing = _run_with_inputs(tmp_path / "missing", spec, inputs=("Src1",), outputs=("Artifact1", "Reports"))
    assert missing.record.status == "Failed"
    assert missing.record.reason.startswith(
        "Build/Synth: output artifact Reports: no artifacts.secondary-artifacts.Reports in the buildspec"
    )


# -- Parameter Store and Secrets Manager, read as the service role --------------------------
# CodeBuild user guide, "Build specification reference for CodeBuild" ([spec],
# https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html), env.

ACCOUNT, REGION = "222222222222", "us-east-1"
# Generated per run: a secret value is never written down (and a value masked in a log
# cannot be one the log happens to hold anyway).
DB_PASSWORD = f"db-pass-{secrets.token_urlsafe(12)}"
API_TOKEN = f"api-token-{secrets.token_urlsafe(12)}"
HOST_NAME = f"db-host-{secrets.token_hex(6)}"
PLAIN_SECRET = f"whole-secret-{secrets.token_urlsafe(12)}"
ALL_VALUES = (DB_PASSWORD, API_TOKEN, HOST_NAME, PLAIN_SECRET)


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulator]:
    from emulator import Emulator

    with Emulator() as emulator:
        ssm, secrets = emulator.client("ssm", ACCOUNT, REGION), emulator.client("secretsmanager", ACCOUNT, REGION)
        ssm.put_parameter(Name="/app/api-token", Value=API_TOKEN, Type="SecureString")
        ssm.put_parameter(Name="/app/db-host", Value=HOST_NAME, Type="String")
        secrets.create_secret(Name="app/db", SecretString=json.dumps({"username": "app", "password": DB_PASSWORD}))
        secrets.create_secret(Name="app/plain", SecretString=PLAIN_SECRET)
        key = emulator.client("kms", ACCOUNT, REGION).create_key()["KeyMetadata"]["Arn"]  # its policy: the account's IAM decides
        secrets.create_secret(Name="app/encrypted", SecretString=PLAIN_SECRET, KmsKeyId=key)
        yield emulator


_counter = iter(range(1_000))


def _service_role(emulator: Emulator, statements: list[dict]) -> str:
    """A CodeBuild service role of the tooling account, allowed ``statements``."""
    iam = emulator.client("iam", ACCOUNT, REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    name = f"build-{next(_counter)}"
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="build", PolicyDocument=json.dumps(policy))
    return arn


def _allow(action: str, resource: str) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


PARAMETERS = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/*"
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/*"
READ_ALL = [_allow("ssm:GetParameters", PARAMETERS), _allow("secretsmanager:GetSecretValue", SECRETS)]

STORED_BUILDSPEC = {
    "version": "0.2",
    "env": {
        "parameter-store": {"DB_HOST": "/app/db-host"},
        "secrets-manager": {"DB_PASSWORD": "app/db:password:AWSCURRENT", "WHOLE": "app/plain"},
        "exported-variables": ["DB_PASSWORD", "SUMMARY"],
    },
    "phases": {
        "build": {
            "commands": [
                'echo "connecting to $DB_HOST as app:$DB_PASSWORD with $API_TOKEN and $WHOLE"',
                'echo "$DB_PASSWORD" >&2',
                "mkdir -p out",
                'for v in "$DB_HOST" "$DB_PASSWORD" "$API_TOKEN" "$WHOLE"; do printf %s "$v" | sha256sum | cut -c1-64; done > out/digests',
                'export SUMMARY="host=$DB_HOST"',
            ]
        }
    },
    "artifacts": {"base-directory": "out", "files": ["digests"]},
}


def _stored_run(
    emulator: Emulator, tmp_path: Path, role: str, buildspec: dict = STORED_BUILDSPEC, action_type: str = "PARAMETER_STORE"
) -> PipelineRun:
    """One CodeBuild action whose project has a PARAMETER_STORE variable (API_TOKEN) unless
    the action names it, as ``action_type``, itself."""
    from emulator.identity import assume_role_as_service
    from local_pipeline.executor.codebuild_action import CodeBuildAction, EnvironmentVariable, Project

    codebuild = CodeBuildAction(
        projects=lambda name: Project(
            name, buildspec, role, stored_variables=(EnvironmentVariable("API_TOKEN", "/app/api-token", "PARAMETER_STORE"),)
        ),
        credentials=lambda arn: assume_role_as_service(
            arn, service="codebuild.amazonaws.com", source_arn=f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/p", region=REGION
        ),
        host_path=os.environ["PATH"],
        endpoint=None,
        builds=tmp_path / "builds",
        region=REGION,
    )
    variables = [
        {"name": "DB_PASSWORD", "type": action_type, "value": "app/db:password" if action_type == "SECRETS_MANAGER" else "/app/db-host"}
    ]
    build = action("Synth", "CodeBuild", outputs=("Out",), namespace="Build") | {
        "Configuration": {"ProjectName": "p", "EnvironmentVariables": json.dumps(variables)}
    }
    run = PipelineRun(
        read_pipeline({"Stages": [{"Name": "Build", "Actions": [build]}]}),
        {"CodeBuild": codebuild},
        directory=tmp_path / "r",
        record=RunRecord("1", "c", "m"),
    )
    run.execute()
    return run


def test_stored_variables_are_read_as_the_service_role_and_never_written_where_the_run_is_kept(emulated: Emulator, tmp_path: Path):
    """The project's PARAMETER_STORE variable, the action's SECRETS_MANAGER one ([action],
    EnvironmentVariables: "When using the PARAMETER_STORE or SECRETS_MANAGER type, this value
    must be the name of a parameter you have already stored [...] or a secret you have
    already stored"), the buildspec's env.parameter-store and env.secrets-manager (a json-key
    and a version stage: "secret-id:json-key:version-stage:version-id"; none: "CodeBuild
    retrieves the entire secret text"). The build gets the values (their digests come back);
    its log shows *** ([spec], env: "the following are hidden in CodeBuild logs"), and no
    file of the run's record, nor its summary, holds one. The attack: the build echoes them
    to stdout and stderr, and exports one under its own name and one inside another."""
    role = _service_role(emulated, READ_ALL)
    run = _stored_run(emulated, tmp_path, role, action_type="SECRETS_MANAGER")
    assert run.record.status == "Succeeded", run.record.reason
    digests = (run.artifacts["Out"] / "digests").read_text().split()
    assert digests == [hashlib.sha256(v.encode()).hexdigest() for v in (HOST_NAME, DB_PASSWORD, API_TOKEN, PLAIN_SECRET)]
    log = (tmp_path / "r" / "actions" / "Build.Synth" / "log.txt").read_text()
    assert "connecting to *** as app:*** with *** and ***" in log and "\n***\n" in log
    record = _record_text(tmp_path / "r") + json.dumps([a.summary for a in run.record.actions]) + json.dumps(run.variables)
    for value in ALL_VALUES:
        assert value not in record
    # [spec], env/exported-variables: such variables "cannot be exported".
    assert run.variables["Build"] == {"SUMMARY": "host=***"}


@pytest.mark.parametrize(
    ("taken", "variable", "named"),
    [
        ("secretsmanager:GetSecretValue", "action EnvironmentVariables DB_PASSWORD: secret app/db", "secretsmanager:GetSecretValue"),
        ("ssm:GetParameters", "project p environment variable API_TOKEN: parameter /app/api-token", "ssm:GetParameters"),
    ],
)
def test_a_denied_read_fails_the_build_naming_the_variable_what_it_reads_the_role_and_the_denial(
    emulated: Emulator, tmp_path: Path, taken: str, variable: str, named: str
):
    """[spec], env/parameter-store: "To allow CodeBuild to retrieve custom environment
    variables stored in Amazon EC2 Systems Manager Parameter Store, you must add the
    ssm:GetParameters action to your CodeBuild service role". A role without it, or without
    secretsmanager:GetSecretValue, gets no value: the build fails before its first command."""
    role = _service_role(emulated, [s for s in READ_ALL if s["Action"] != taken])
    run = _stored_run(emulated, tmp_path, role, action_type="SECRETS_MANAGER")
    assert run.record.status == "Failed"
    reason = run.record.reason
    assert reason.startswith(f"Build/Synth: {variable} not read as {role}: AccessDeniedException: User: "), reason
    assert f"is not authorized to perform: {named}" in reason
    log = (tmp_path / "r" / "actions" / "Build.Synth" / "log.txt").read_text()
    assert "running command" not in log
    for value in ALL_VALUES:
        assert value not in _record_text(tmp_path / "r")


def test_a_secret_whose_key_the_role_may_not_use_is_not_read(emulated: Emulator, tmp_path: Path):
    """A secret encrypted with a customer managed key: Secrets Manager decrypts it with the
    caller's kms:Decrypt (the emulator checks it through Secrets Manager, kms:ViaService), so
    a role allowed GetSecretValue but not the key gets nothing."""
    role = _service_role(emulated, READ_ALL)
    spec = {
        "version": "0.2",
        "env": {"secrets-manager": {"ENCRYPTED": "app/encrypted"}},
        "phases": {"build": {"commands": ["echo $ENCRYPTED"]}},
    }
    run = _stored_run(emulated, tmp_path, role, spec)
    assert run.record.status == "Failed"
    assert f"env.secrets-manager.ENCRYPTED: secret app/encrypted not read as {role}:" in run.record.reason
    assert "kms:Decrypt" in run.record.reason and PLAIN_SECRET not in run.record.reason

    allowed = _service_role(emulated, [*READ_ALL, _allow("kms:Decrypt", "*")])
    ok = _stored_run(emulated, tmp_path / "allowed", allowed, spec)
    assert ok.record.status == "Succeeded", ok.record.reason


def test_a_json_key_the_secret_does_not_hold_fails_without_showing_the_secret(emulated: Emulator, tmp_path: Path):
    role = _service_role(emulated, READ_ALL)
    spec = {"version": "0.2", "env": {"secrets-manager": {"X": "app/plain:password"}}, "phases": {"build": {"commands": ["true"]}}}
    run = _stored_run(emulated, tmp_path, role, spec)
    assert run.record.status == "Failed"
    assert "env.secrets-manager.X: secret app/plain: json-key password: the secret is no JSON object with that key" in run.record.reason
    assert PLAIN_SECRET not in _record_text(tmp_path / "r")


def test_a_project_s_variables_split_by_type_as_cloudformation_holds_them():
    """AWS::CodeBuild::Project EnvironmentVariable: Name, Value, Type (PLAINTEXT when left out)."""
    from local_pipeline.executor.codebuild_action import EnvironmentVariable, declared_variables, project_variables

    plain, stored = project_variables(
        [
            {"Name": "A", "Value": "1"},
            {"Name": "B", "Type": "PARAMETER_STORE", "Value": "/p"},
            {"Name": "C", "Type": "SECRETS_MANAGER", "Value": "s:k"},
        ]
    )
    assert plain == {"A": "1"}
    assert stored == (EnvironmentVariable("B", "/p", "PARAMETER_STORE"), EnvironmentVariable("C", "s:k", "SECRETS_MANAGER"))
    with pytest.raises(ValueError, match="type 'VAULT' is not one of PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER"):
        declared_variables(json.dumps([{"name": "X", "value": "v", "type": "VAULT"}]))
    assert declared_variables(json.dumps([{"name": "X", "value": "v"}])) == [EnvironmentVariable("X", "v")]
