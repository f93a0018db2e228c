"""Read a CDK cloud assembly (cdk.out): its stacks, where they deploy, their file assets.

The audit reads the templates from here; the local deployment deploys from here,
so both work on exactly what `cdk synth` wrote (nested stage assemblies included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AssemblyError(Exception):
    """Not a cloud assembly, or one this project cannot read."""


@dataclass(frozen=True)
class FileAsset:
    source: Path
    packaging: str  # "zip" (a directory to zip) or "file"
    bucket_name: str
    object_key: str
    role_arn: str | None = None  # the role that publishes it (the bootstrap's file-publishing role)
    selector: str = ""  # "<asset id>:<destination id>", as `cdk-assets publish` names it


@dataclass(frozen=True)
class StackArtifact:
    artifact_id: str
    stack_name: str
    account: str
    region: str
    template_file: Path
    assets: tuple[FileAsset, ...]
    stage: str  # the stage's id, e.g. "TrustedResources-dev"; "" for a stack at the top level (the pipeline)
    # The bootstrap roles a deployment goes through: the one the deployer assumes, and the
    # one it hands to CloudFormation. None for a stack synthesized without them.
    deploy_role_arn: str | None = None
    execution_role_arn: str | None = None

    def template(self) -> dict[str, Any]:
        template: dict[str, Any] = json.loads(self.template_file.read_text())
        return template


def _manifest(directory: Path) -> dict[str, Any]:
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise AssemblyError(f"{directory} is not a cloud assembly (no manifest.json): run `make synth` first")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    return manifest


def _environment(artifact_id: str, environment: str) -> tuple[str, str]:
    # "aws://111111111111/us-east-1"; unknown-account/region means an environment-agnostic stack.
    account, _, region = environment.removeprefix("aws://").partition("/")
    if not account.isdigit() or not region or region.startswith("unknown"):
        raise AssemblyError(f"stack {artifact_id} has no concrete account and region ({environment})")
    return account, region


def _substituted(value: str, account: str, region: str) -> str:
    return value.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)


def _role_arn(properties: dict[str, Any], key: str, account: str, region: str) -> str | None:
    value = properties.get(key)
    return _substituted(str(value), account, region) if value else None


def _file_assets(directory: Path, asset_manifest: str, account: str, region: str) -> tuple[FileAsset, ...]:
    manifest = json.loads((directory / asset_manifest).read_text())
    assets = []
    for asset_id, asset in manifest.get("files", {}).items():
        for destination_id, destination in asset["destinations"].items():
            assets.append(
                FileAsset(
                    source=(directory / asset["source"]["path"]).resolve(),
                    packaging=asset["source"].get("packaging", "file"),
                    bucket_name=_substituted(destination["bucketName"], account, region),
                    object_key=destination["objectKey"],
                    role_arn=_role_arn(destination, "assumeRoleArn", account, region),
                    selector=f"{asset_id}:{destination_id}",
                )
            )
    return tuple(assets)


def read_stacks(directory: Path, stage: str = "") -> list[StackArtifact]:
    """Every stack of the assembly in manifest order, nested stage assemblies included."""
    artifacts = _manifest(directory).get("artifacts", {})
    stacks: list[StackArtifact] = []
    for artifact_id, artifact in artifacts.items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            account, region = _environment(artifact_id, artifact.get("environment", ""))
            asset_manifests = [
                artifacts[dependency]["properties"]["file"]
                for dependency in artifact.get("dependencies", [])
                if artifacts.get(dependency, {}).get("type") == "cdk:asset-manifest"
            ]
            stacks.append(
                StackArtifact(
                    artifact_id=artifact_id,
                    stack_name=properties.get("stackName", artifact_id),
                    account=account,
                    region=region,
                    template_file=(directory / properties["templateFile"]).resolve(),
                    assets=tuple(asset for manifest in asset_manifests for asset in _file_assets(directory, manifest, account, region)),
                    stage=stage,
                    deploy_role_arn=_role_arn(properties, "assumeRoleArn", account, region),
                    execution_role_arn=_role_arn(properties, "cloudFormationExecutionRoleArn", account, region),
                )
            )
        elif artifact.get("type") == "cdk:cloud-assembly":
            nested = properties["directoryName"]
            # "SecretCachePipeline/TrustedResources-dev": the stage's own id is the last part.
            name = properties.get("displayName", nested.removeprefix("assembly-")).rsplit("/", 1)[-1]
            stacks.extend(read_stacks(directory / nested, stage=name))
    return stacks
