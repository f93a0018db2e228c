"""The pipeline's CodeBuild steps: Synth (tests, synth, audit) and IntegrationTest.

They run the same make targets and the same test module as a developer's machine,
so that `make local` and the pipeline cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from pipeline.cfn_lint import JUNIT_REPORT as CFN_LINT_JUNIT
from project.deployment_order import integration_test_id

# CodeBuild's standard image; the versions are the project's prerequisites.
BUILD_ENVIRONMENT = codebuild.BuildEnvironment(
    build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
)
RUNTIMES = {"python": "3.12", "nodejs": "22"}

UNIT_TEST_REPORT = "reports/unit/junit.xml"
AUDIT_REPORTS = "reports/checkov"  # `make audit` writes checkov's and cfn-lint's reports here
CHECKOV_REPORT = f"{AUDIT_REPORTS}/results_junitxml.xml"
CFN_LINT_REPORT = f"{AUDIT_REPORTS}/{CFN_LINT_JUNIT}"
INTEGRATION_REPORT = "reports/integration/junit.xml"
# Only what the integration test imports: not the CDK, moto or checkov of requirements-dev.txt.
INTEGRATION_REQUIREMENTS = "requirements-integration.txt"


# What a build installs, kept from one build to the next (CodeBuild user guide, "Build caching
# in AWS CodeBuild", local custom cache): the virtual environments and the pinned Node packages;
# and the audit's results by content (pipeline/audit_cache.py), whose keys hold everything a
# verdict depends on, so that a template a build has audited is not audited again.
SYNTH_CACHE = (".venv/**/*", ".venv-audit/**/*", "node_modules/**/*", ".audit-cache/**/*")
INTEGRATION_CACHE = (".venv/**/*",)
BUILD_CACHE = codebuild.Cache.local(codebuild.LocalCacheMode.CUSTOM)


def _build_spec(reports: dict[str, str], cache_paths: tuple[str, ...]) -> codebuild.BuildSpec:
    return codebuild.BuildSpec.from_object(
        {
            "phases": {"install": {"runtime-versions": RUNTIMES}},
            "reports": {name: {"files": [path], "file-format": "JUNITXML"} for name, path in reports.items()},
            "cache": {"paths": list(cache_paths)},
        }
    )


def synth_step(source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    """Install, test, synthesize, audit: a failed test, a failed check or a cfn-lint error
    stops the pipeline before anything is deployed. The audit's reports travel in cdk.out/."""
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        build_environment=BUILD_ENVIRONMENT,
        partial_build_spec=_build_spec({"UnitTests": UNIT_TEST_REPORT, "Checkov": CHECKOV_REPORT, "CfnLint": CFN_LINT_REPORT}, SYNTH_CACHE),
        cache=BUILD_CACHE,
        env={"PYTEST_ADDOPTS": f"--junitxml={UNIT_TEST_REPORT}"},
        commands=[
            "make test",
            "make synth",
            "make audit",
            f"mkdir -p cdk.out/audit-reports && cp {AUDIT_REPORTS}/* cdk.out/audit-reports/",
        ],
        primary_output_directory="cdk.out",
        timeout=Duration.minutes(60),
    )


def integration_test_step(
    *,
    environment_name: str,
    source: pipelines.IFileSetProducer,
    role: iam.IRole,
    consumer_arn_output: Any,
    secret_arn_output: Any,
    consumer_role_arn: str,
    secret_role_arn: str,
    external_id: str,
) -> pipelines.CodeBuildStep:
    """The integration test module of `make local`, against the deployed accounts."""
    return pipelines.CodeBuildStep(
        integration_test_id(environment_name),
        input=source,
        role=role,
        build_environment=BUILD_ENVIRONMENT,
        partial_build_spec=_build_spec({integration_test_id(environment_name): INTEGRATION_REPORT}, INTEGRATION_CACHE),
        cache=BUILD_CACHE,
        env={
            "SECRET_CACHE_TARGET": "aws",
            "TRUSTED_ROLE_ARN": consumer_role_arn,
            "TRUSTING_ROLE_ARN": secret_role_arn,
            "TEST_ROLE_EXTERNAL_ID": external_id,
        },
        env_from_cfn_outputs={"CONSUMER_STATE_MACHINE_ARN": consumer_arn_output, "SECRET_ARN": secret_arn_output},
        # The cached .venv is a link into the build's cache, which `python -m venv` refuses:
        # it is made where the link points (the same on a cold cache, where it is a folder).
        install_commands=[
            'python -m venv "$(readlink -f .venv)"',
            f".venv/bin/python -m pip install --quiet -r {INTEGRATION_REQUIREMENTS}",
        ],
        commands=[f".venv/bin/python -m pytest tests/integration/test_secret_cache.py -p no:cacheprovider --junitxml={INTEGRATION_REPORT}"],
        timeout=Duration.minutes(20),
    )
