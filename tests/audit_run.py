"""One audit run shared by the whole test session: the policy fixtures, the project's
real cloud assembly, and one copy of it per planted violation, all in a single checkov
run (checkov's start-up dominates); beside it, in parallel, cfn-lint over the real
assembly and a copy with planted cfn-lint findings, and the `make audit` entry point on
one copy planted for both tools."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import audit_cache
from pipeline.audit import AuditReport, find_templates, run_checkov, start_checkov
from pipeline.cfn_lint import LintFinding, lint
from project.assembly import read_stacks
from project.paths import PROJECT_ROOT
from tests.policy_checks.helpers import FIXTURES

Template = dict[str, Any]


def _first(template: Template, resource_type: str, prefix: str = "") -> dict[str, Any]:
    return next(
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type and logical_id.startswith(prefix)
    )


def _grant(action: str, resource: Any = None) -> Callable[[Template], None]:
    """Insert an Allow first into the Express role's policy (some built-in checks read only the
    first statement); without ``resource``, on the cache table, the way the real policy names it."""

    def plant(template: Template) -> None:
        statements = _first(template, "AWS::IAM::Policy", "SecretCacheWorkflowExecutionRole")["Properties"]["PolicyDocument"]["Statement"]
        table = next(statement["Resource"] for statement in statements if statement.get("Sid") == "ReadCache")
        statements.insert(0, {"Effect": "Allow", "Action": action, "Resource": table if resource is None else resource})

    return plant


def _trust(template: Template, prefix: str) -> dict[str, Any]:
    return _first(template, "AWS::IAM::Role", prefix)["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]


def _open_cross_account_trust(template: Template) -> None:
    del _trust(template, "CrossAccountRole")["Condition"]


def _open_service_trust(template: Template) -> None:
    del _trust(template, "SecretCacheWorkflowExecutionRole")["Condition"]


def _trust_any_principal(template: Template) -> None:
    _trust(template, "CrossAccountRole")["Principal"] = {"AWS": "*"}


def _trust_whole_account(template: Template) -> None:
    statement = _trust(template, "CrossAccountRole")
    statement["Principal"] = {"AWS": ["arn:aws:iam::111111111111:root"]}


def _log_execution_data(template: Template) -> None:
    machine = _first(template, "AWS::StepFunctions::StateMachine")
    machine["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] = True


def _without_encryption(template: Template) -> None:
    """The state machine's data back under the default AWS owned key."""
    del _first(template, "AWS::StepFunctions::StateMachine")["Properties"]["EncryptionConfiguration"]


def _literal_secret(template: Template) -> None:
    secret = _first(template, "AWS::SecretsManager::Secret")["Properties"]
    del secret["GenerateSecretString"]
    # Any literal is what CKV_SCP_006 looks for; derived, not written here, and the same every
    # run, so that the planted template's audit results can be read back from the cache.
    secret["SecretString"] = hashlib.sha256(b"CKV_SCP_006 planted literal").hexdigest()[:22]


def _secret_in_lambda_environment(template: Template) -> None:
    function = _first(template, "AWS::Lambda::Function")["Properties"]
    function["Environment"]["Variables"]["DB_PASSWORD"] = "planted-literal-for-the-test"


def _lambda_timeout_beyond_limit(template: Template) -> None:
    _first(template, "AWS::Lambda::Function")["Properties"]["Timeout"] = 901  # CloudFormation accepts at most 900


def _use_connection_under_the_old_prefix(template: Template) -> None:
    # What CDK Pipelines grants before pipeline/generated_findings.py matches the ARN's prefix.
    for policy in template["Resources"].values():
        for statement in policy.get("Properties", {}).get("PolicyDocument", {}).get("Statement", []):
            if statement["Action"] == "codeconnections:UseConnection":
                statement["Action"] = "codestar-connections:UseConnection"


# "<check ID>" or "<check ID>/<which>" -> (stage whose template gets the violation, how)
PLANTS: dict[str, tuple[str, Callable[[Template], None]]] = {
    "CKV_SCP_001": ("TrustingResources", _open_cross_account_trust),
    "CKV_SCP_002": ("TrustingResources", _open_service_trust),
    "CKV_SCP_003": (
        "TrustingResources",
        _grant("secretsmanager:getsecretvalue", "arn:aws:secretsmanager:*:*:secret:*"),
    ),
    "CKV_SCP_004": ("TrustingResources", _grant("dynamodb:*")),
    "CKV_SCP_005": ("TrustingResources", _log_execution_data),
    # The consumer, a Standard workflow, whose output is the secret.
    "CKV_SCP_005/consumer": ("TrustedResources", _log_execution_data),
    "CKV_SCP_008": ("TrustingResources", _without_encryption),
    "CKV_SCP_008/consumer": ("TrustedResources", _without_encryption),
    "CKV_SCP_006": ("TrustingResources", _literal_secret),
    "CKV_SCP_007": ("TrustingResources", _secret_in_lambda_environment),
    "CKV_AWS_107": ("TrustingResources", _grant("iam:CreateAccessKey", "*")),
    "CKV_AWS_108": ("TrustingResources", _grant("s3:GetObject", "*")),
    "CKV_AWS_109": ("TrustingResources", _grant("iam:PutRolePolicy", "*")),
    "CKV_AWS_110": ("TrustingResources", _grant("iam:CreatePolicyVersion", "*")),
    "CKV_AWS_111": ("TrustingResources", _grant("s3:PutObject", "*")),
    "CKV_AWS_60": ("TrustingResources", _trust_any_principal),
    "CKV_AWS_61": ("TrustingResources", _trust_whole_account),
    "CKV_AWS_62": ("TrustingResources", _grant("*", "*")),
    "CKV_AWS_63": ("TrustingResources", _grant("*")),
}


# cfn-lint rule ID -> (stage whose template gets it, "" for the pipeline's, how); all in one copy.
LINT_PLANTS: dict[str, tuple[str, Callable[[Template], None]]] = {
    "E3717": ("TrustingResources", _lambda_timeout_beyond_limit),  # an error: fails the audit
    "I3510": ("", _use_connection_under_the_old_prefix),  # informational: reported only
}


def template_of(assembly: Path, stage: str) -> Path:
    """The template of the stage's stack, or with ``stage == ""`` of the pipeline stack."""
    (template_file,) = [
        stack.template_file for stack in read_stacks(assembly) if (stack.stage.startswith(f"{stage}-") if stage else not stack.stage)
    ]
    return template_file


def _plant(assembly: Path, stage: str, plant: Callable[[Template], None]) -> None:
    template_file = template_of(assembly, stage)
    template = json.loads(template_file.read_text())
    plant(template)
    template_file.write_text(json.dumps(template, indent=1))


def _copy_with(source: Path, destination: Path, stage: str, plant: Callable[[Template], None] | None) -> Path:
    shutil.copytree(source, destination)
    if plant is not None:
        _plant(destination, stage, plant)
    return destination


def _lint_assemblies(*assemblies: Path) -> list[LintFinding]:
    stacks = [stack for assembly in assemblies for stack in read_stacks(assembly)]
    templates = [(stack.template_file, stack.region) for stack in stacks]
    return lint(templates, assemblies[0].parent / "cfn-lint-reports", cache_folder=audit_cache.folder())


@dataclass(frozen=True)
class AuditRun:
    pristine: Path
    copies: dict[str, Path]
    report: AuditReport
    reports: Path
    lint_copy: Path
    lint: list[LintFinding]  # over the pristine assembly and lint_copy
    cli_copy: Path  # the full copy whose planted template the small assembly holds
    cli_assembly: Path  # what `python -m pipeline.audit` audits: that stage's nested assembly alone
    cli: subprocess.CompletedProcess[str]


CLI_PLANT = "CKV_SCP_003"
CLI_LINT_PLANT = "E3717"


def run_shared_audit(assembly: Path, root: Path) -> AuditRun:
    pristine = _copy_with(assembly, root / "pristine", "", None)
    copies = {
        plant_id: _copy_with(assembly, root / plant_id.replace("/", "-"), stage, plant) for plant_id, (stage, plant) in PLANTS.items()
    }
    lint_copy = _copy_with(assembly, root / "cfn-lint", "", None)
    for stage, plant in LINT_PLANTS.values():
        _plant(lint_copy, stage, plant)
    cli_copy = copies[CLI_PLANT]
    _plant(cli_copy, *LINT_PLANTS[CLI_LINT_PLANT])
    # The entry point's own small assembly: the planted stage's nested assembly alone (one
    # stack), not a second audit of every template; the shared run covers the real ones.
    cli_assembly = Path(shutil.copytree(template_of(cli_copy, PLANTS[CLI_PLANT][0]).parent, root / "cli-assembly"))
    # The shared run goes through checkov started ahead, as `make local` runs it; the
    # `make audit` entry point beside it starts checkov as a process of its own.
    waiting = start_checkov()
    cli = subprocess.Popen(
        [sys.executable, "-m", "pipeline.audit", "--assembly", str(cli_assembly), "--reports", str(root / "cli-reports")],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Of each copy only the template that differs from the pristine assembly.
    planted_templates = [template_of(copy, PLANTS[plant_id][0]) for plant_id, copy in copies.items()]
    fixtures = sorted(FIXTURES.glob("*.template.json"))
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            linting = pool.submit(_lint_assemblies, pristine, lint_copy)
            audited = [*fixtures, *find_templates(pristine), *planted_templates]
            report = run_checkov(audited, root / "reports", started=waiting, cache_folder=audit_cache.folder())
            findings = linting.result()
        stdout, stderr = cli.communicate(timeout=300)
    finally:  # a failure above leaves neither process running
        for process in (waiting, cli):
            if process is not None and process.poll() is None:
                process.kill()
    return AuditRun(
        pristine=pristine,
        copies=copies,
        report=report,
        reports=root / "reports",
        lint_copy=lint_copy,
        lint=findings,
        cli_copy=cli_copy,
        cli_assembly=cli_assembly,
        cli=subprocess.CompletedProcess(cli.args, cli.returncode, stdout, stderr),
    )
