"""`make local`'s stand-in for asset publishing (CDK Pipelines' ``Assets/FileAssets``).

On AWS, and on `git push local`, it is a CodeBuild action whose buildspec installs the
pinned cdk-assets and runs it on the Synth step's asset manifests, as the asset
project's role, which assumes each destination's file-publishing role. `make local`
makes the same uploads in process (no npm install per run), through the same roles: the
project's service role, assumed by CodeBuild, then the bootstrap's file-publishing role
of each destination. It publishes what the project's buildspec names (``cdk-assets
--path <manifest> publish <asset>:<destination>``), no more: a stack's template, for one,
is not published by CDK Pipelines. A test runs both on one assembly and finds the same
bucket objects (tests/unit/local_pipeline/executor/test_stand_ins.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from emulator import DeployError, Emulator
from emulator.identity import Credentials
from local_pipeline.executor.codebuild_action import Project, buildspec_text
from local_pipeline.executor.engine import ActionContext, ActionOutcome
from project.assembly import AssemblyError, read_stacks


def is_asset_publishing(project: Project) -> bool:
    """The project's buildspec runs cdk-assets (or is CDK Pipelines' FileAsset buildspec file)."""
    text = str(project.buildspec)
    return "cdk-assets" in text or (text.startswith("buildspec-") and text.endswith("-FileAsset.yaml"))


@dataclass(frozen=True)
class AssetPublishingAction:
    emulator: Emulator

    def recognizes(self, project: Project) -> bool:
        return is_asset_publishing(project)

    def __call__(self, context: ActionContext, project: Project, role: Credentials) -> ActionOutcome:
        (assembly,) = [context.inputs[name] for name in context.action.input_artifacts]
        try:
            text = buildspec_text(project.buildspec, assembly)
            wanted = set(_PUBLISHED.findall(text if isinstance(text, str) else json.dumps(text)))
            stacks = read_stacks(assembly)
        except (AssemblyError, FileNotFoundError) as error:
            return ActionOutcome("Failed", str(error))
        published: set[str] = set()
        try:
            for stack in stacks:
                # Each asset to each destination once: stacks of two environments in one
                # account and region share the destination of their common asset.
                selected = [asset for asset in stack.assets if asset.selector in wanted - published]
                self.emulator.publish_assets(stack, role, only=selected)
                published |= {asset.selector for asset in selected}
        except DeployError as error:
            return ActionOutcome("Failed", str(error))
        missing = sorted(wanted - published)
        if missing:
            return ActionOutcome("Failed", f"the buildspec names assets the assembly does not hold: {', '.join(missing)}")
        return ActionOutcome("Succeeded", f"{len(published)} file assets published in process")


# `cdk-assets --path "<manifest>" --verbose publish "<asset id>:<destination id>"`
_PUBLISHED = re.compile(r'publish \\?"?([0-9a-f]+:[^"\\ ]+)')
