"""`make local`'s ChangeSummary stand-in (``local_pipeline.in_process.InProcessModuleStep``)
gives what the real build gives.

The project's rule: a stand-in for speed is allowed on `make local` only where a test shows
it gives the same result as the real thing. The ChangeSummary build's buildspec
(pipeline/approval_steps.py) links the cloud assembly as ``cdk.out``, creates a virtual
environment, pip installs requirements-integration.txt into it, then runs
``.venv/bin/python -m pipeline.change_summary ...`` with the project's service role's
credentials in the environment, and exports SUMMARY, BROADENS and SUMMARY_URL from the files
the module writes (``env.exported-variables``). The stand-in runs the same module's ``main``
in this process, with the arguments of that command, as the same role: it skips only the
buildspec's virtual environment install. This test is what allows it: on one emulated
change set, the module runs once as the buildspec's command runs it (its own process, the
buildspec's link to the assembly, the role's credentials and the emulated accounts'
endpoint in its environment, the export commands in a shell) and once as the stand-in,
and both write the same summary and export the same variables.

Only ``url`` (SUMMARY_URL) is a build's own: the module makes it from CODEBUILD_BUILD_ARN,
which CodeBuild (and the local CodeBuild executor) sets and the stand-in does not; neither
run here sets it, so both are empty.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from local_pipeline.executor.definition import Action, ActionType
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from project.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from emulator import Emulator
    from emulator.identity import Credentials

STACK = "TrustingResources-dev-TrustingAccountResources"
ASSEMBLY = "assembly-SecretCachePipeline-TrustingResources-dev"  # the stage's folder in the cloud assembly
TEMPLATE_FILE = "SecretCachePipelineTrustingResourcesdevTrustingAccountResourcesF51D64CF.template.json"
OUTPUT = "change-summary"
EXPORTED = ["SUMMARY", "SUMMARY_URL", "BROADENS"]
PRIMARY, ASSEMBLY_INPUT = "Source", "Synth_Output"
BASH = shutil.which("bash") or "/bin/bash"  # CodeBuild's shell on its standard images


def _buildspec(change_set: str) -> str:
    """The ChangeSummary project's buildspec as CDK Pipelines synthesizes it from
    pipeline/approval_steps.py (cdk.out/SecretCachePipeline.template.json), as CloudFormation
    holds it: a JSON string."""
    from tests.unit.pipeline.test_change_summary_reads import LOOKUP_ROLE, REGION

    command = (
        f".venv/bin/python -m pipeline.change_summary --stack-name {STACK} --change-set-name {change_set} --region {REGION}"
        f" --role-arn {LOOKUP_ROLE} --template cdk.out/{ASSEMBLY}/{TEMPLATE_FILE} --output {OUTPUT}"
    )
    spec = {
        "version": "0.2",
        "env": {"exported-variables": EXPORTED},
        "phases": {
            "install": {
                "runtime-versions": {"python": "3.12", "nodejs": "22"},
                "commands": [
                    '[ ! -d "cdk.out" ] || { echo \'additionalInputs: "cdk.out" must not exist yet. If you want to merge multiple '
                    'artifacts, use a "cp" command.\'; exit 1; } && ln -s -- "$CODEBUILD_SRC_DIR_Synth_Output" "cdk.out"',
                    'python -m venv "$(readlink -f .venv)"',
                    ".venv/bin/python -m pip install --quiet -r requirements-integration.txt",
                ],
            },
            "build": {"commands": [command, *(f'export {name}="$(cat {OUTPUT}/variables/{name})"' for name in EXPORTED)]},
        },
        "cache": {"paths": [".venv/**/*"]},
        "artifacts": {"base-directory": OUTPUT, "files": ["**/*"]},
    }
    return json.dumps(spec, indent=2)


def _phase(buildspec: str, phase: str) -> list[str]:
    return [str(command) for command in json.loads(buildspec)["phases"][phase]["commands"]]


@dataclass(frozen=True)
class Emulated:
    emulator: Emulator
    step_role: Credentials  # the ChangeSummary project's service role, as CodeBuild assumes it
    endpoint: str  # the emulated accounts over HTTP, for a build's own process


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    """The tooling account's step role, the target's lookup role, and the stack's change set
    (a new stack whose topic policy broadens), served on a loopback port."""
    from emulator import Emulator
    from local_pipeline.keep_up import served
    from tests.unit.pipeline.test_change_summary_reads import BROADENING, create_change_set, create_lookup_role, create_step_role

    with Emulator() as emulator:
        create_lookup_role(emulator)
        step_role = create_step_role(emulator, "ChangeSummaryRole-TrustingResources-dev")
        create_change_set(emulator, STACK, BROADENING)
        with served() as endpoint:
            yield Emulated(emulator, step_role, endpoint)


@pytest.fixture(autouse=True)
def _not_in_a_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEBUILD_BUILD_ARN", raising=False)  # the stand-in runs in this process: not a build's


def _checkout(folder: Path) -> Path:
    """The primary source as CodeBuild extracts it: the project's files the command runs
    (the ``pipeline`` package; the module needs nothing else of the source)."""
    shutil.copytree(PROJECT_ROOT / "pipeline", folder / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _assembly(folder: Path) -> Path:
    """The Synth step's output artifact: the cloud assembly holding the stack's template."""
    from tests.unit.pipeline.test_change_summary_reads import BROADENING

    (folder / ASSEMBLY).mkdir(parents=True)
    (folder / ASSEMBLY / TEMPLATE_FILE).write_text(json.dumps(BROADENING, indent=1))
    return folder


@dataclass(frozen=True)
class Build:
    code: int
    stdout: str
    stderr: str
    output: Path
    exported: dict[str, str]


def _as_the_buildspec(buildspec: str, emulated: Emulated, work: Path) -> Build:
    """The buildspec's commands as CodeBuild runs them, in a source folder of their own and
    their own process, the project's role's credentials and the endpoint in the environment.
    Of the install phase, the link to the assembly runs; the virtual environment it creates
    and installs into is this test's own (``sys.executable``, the project's .venv)."""
    from tests.unit.pipeline.test_change_summary_reads import REGION

    source, assembly = _checkout(work / "src"), _assembly(work / "synth-output")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,  # CodeBuild sets both
        "AWS_ENDPOINT_URL": emulated.endpoint,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        f"CODEBUILD_SRC_DIR_{ASSEMBLY_INPUT}": str(assembly),
        **emulated.step_role.as_environment(),
    }
    (link,) = [command for command in _phase(buildspec, "install") if ".venv" not in command]
    subprocess.run([BASH, "-c", link], cwd=source, env=environment, check=True, timeout=30)
    command, *exports = _phase(buildspec, "build")
    argv = shlex.split(command)
    assert argv[:3] == [".venv/bin/python", "-m", "pipeline.change_summary"], command
    build = subprocess.run([sys.executable, *argv[1:]], cwd=source, env=environment, capture_output=True, text=True, timeout=120)
    exported: dict[str, str] = {}
    if build.returncode == 0:
        # The export commands, then each exported variable's value as the build's shell holds it.
        shown = "\n".join([*exports, *(f'printf "%s\\0" "${name}"' for name in EXPORTED)])
        values = subprocess.run([BASH, "-c", shown], cwd=source, env=environment, capture_output=True, text=True, check=True, timeout=30)
        exported = dict(zip(EXPORTED, values.stdout.split("\0")[:-1], strict=True))
    return Build(build.returncode, build.stdout, build.stderr, source / OUTPUT, exported)


@dataclass(frozen=True)
class StandIn:
    outcome: ActionOutcome
    output: Path
    log: str


def _as_the_stand_in(buildspec: str, emulated: Emulated, work: Path) -> StandIn:
    """The same project and action through ``InProcessModuleStep``, as `make local` runs it."""
    from local_pipeline.executor.codebuild_action import Project
    from local_pipeline.in_process import InProcessModuleStep, module_steps
    from tests.unit.pipeline.test_change_summary_reads import REGION

    project = Project(
        name="PipelineTrustingResourcesdevChangeSummaryTrustingResourcesdev4DC0EF0E",
        buildspec=buildspec,
        service_role_arn="arn:aws:iam::111111111111:role/ChangeSummaryRole-TrustingResources-dev",
    )
    (step,) = [step for step in module_steps(REGION) if step.recognizes(project)]
    assert step == InProcessModuleStep("pipeline.change_summary", REGION)
    configuration = {"ProjectName": project.name, "PrimarySource": PRIMARY}
    action = Action(
        stage="TrustingResources-dev",
        name="ChangeSummary-TrustingResources-dev",
        type=ActionType("Build", "AWS", "CodeBuild", "1"),
        run_order=2,
        configuration=configuration,
        input_artifacts=(PRIMARY, ASSEMBLY_INPUT),
        output_artifacts=("ChangeSummary_TrustingResources_dev_Output",),
        namespace="TrustingResources-dev@ChangeSummary-TrustingResources-dev",
    )
    output = work / "output"
    output.mkdir(parents=True)
    context = ActionContext(
        action=action,
        configuration=configuration,
        inputs={PRIMARY: _checkout(work / "src"), ASSEMBLY_INPUT: _assembly(work / "synth-output")},
        outputs={action.output_artifacts[0]: output},
        log=work / "log.txt",
        variables={},
    )
    outcome = step(context, project, emulated.step_role)
    return StandIn(outcome, output, context.log.read_text())


def _without_url(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key != "url"}


def _variables(output: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((output / "variables").iterdir())}


def test_the_stand_in_writes_and_exports_what_the_buildspecs_command_does(emulated, tmp_path):
    """Same change set, same role, same arguments: the same ``<stack>.json`` (but ``url``),
    the same ``<stack>.txt`` and printed text, the same variable files, and the variables the
    stand-in exports are the ones the buildspec's export commands leave in the build's shell."""
    from tests.unit.pipeline.test_change_summary_reads import CHANGE_SET

    buildspec = _buildspec(CHANGE_SET)
    real = _as_the_buildspec(buildspec, emulated, tmp_path / "build")
    stand_in = _as_the_stand_in(buildspec, emulated, tmp_path / "in-process")

    assert real.code == 0, real.stderr
    assert stand_in.outcome.status == "Succeeded", stand_in.outcome.summary
    real_summary = json.loads((real.output / f"{STACK}.json").read_text())
    stand_in_summary = json.loads((stand_in.output / f"{STACK}.json").read_text())
    assert _without_url(stand_in_summary) == _without_url(real_summary)
    assert real_summary["broadens"] is True and {change["action"] for change in real_summary["changes"]} == {"Add"}
    assert (stand_in.output / f"{STACK}.txt").read_text() == (real.output / f"{STACK}.txt").read_text() == real.stdout
    assert stand_in.log == real.stdout

    assert _variables(stand_in.output) == _variables(real.output)
    assert dict(stand_in.outcome.variables) == real.exported
    assert real.exported["BROADENS"] == "true" and real.exported["SUMMARY"] == real_summary["customData"]
    assert stand_in.outcome.summary == f"in process: {real.exported['SUMMARY']}"


def test_a_change_set_nobody_can_read_fails_both_the_same_way(emulated, tmp_path):
    """An unreadable change set fails the step (pipeline/change_summary.py: "it never passes
    silently"): the build's command exits 1 and the stand-in's action fails, both saying
    which change set of which stack, and neither writes a summary or exports a variable."""
    buildspec = _buildspec("NotThere")
    real = _as_the_buildspec(buildspec, emulated, tmp_path / "build")
    stand_in = _as_the_stand_in(buildspec, emulated, tmp_path / "in-process")

    assert real.code == 1 and real.stdout == "" and not real.output.exists()
    said = real.stderr.strip().splitlines()[-1]
    assert said.startswith(f"change summary: cannot read change set NotThere of {STACK}: ")
    assert stand_in.outcome.status == "Failed"
    assert stand_in.outcome.summary == f"in process: pipeline.change_summary exited 1: {said}"
    assert dict(stand_in.outcome.variables) == {} and list(stand_in.output.iterdir()) == []
    assert stand_in.log.strip() == real.stderr.strip()
