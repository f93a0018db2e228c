"""The local source standing in for one that cdk.json does not name yet.

With no ``repository`` and ``connection-arn`` in cdk.json, the pipeline reads placeholder
ones, and its stack holds a rule (``SOURCE_RULE``) that makes CloudFormation refuse any
deployment: on AWS a pipeline without a repository must not exist. On this machine the
source is local (the working tree for `make local`, the remote ``local`` for
`git push local`), so wherever the emulated accounts get the pipeline stack (`make
local`, `make remote`, self-mutation) it is deployed with a connection in the tooling
account in place of the placeholder one, and without that rule; the placeholder repository
is already named for the local one (``local/repository``). The step's summary says so. The
synthesized assembly itself is not changed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from project.assembly import AssemblyError, StackArtifact, read_stacks
from project.deployment_order import SOURCE_RULE, UNSET_CONNECTION


def local_connection(stack: StackArtifact) -> str:
    return f"arn:aws:codeconnections:{stack.region}:{stack.account}:connection/local"


def with_local_source(stack: StackArtifact, scratch: Path) -> tuple[StackArtifact, str]:
    """``stack``, or, if it is a pipeline stack without a configured source, a copy of it
    (its template written under ``scratch``) with the local source in place; and a note
    for the step's summary ("" when nothing changed)."""
    template = stack.template()
    if stack.stage or SOURCE_RULE not in template.get("Rules", {}):
        return stack, ""
    del template["Rules"][SOURCE_RULE]
    if not template["Rules"]:
        del template["Rules"]
    text = json.dumps(template).replace(UNSET_CONNECTION, local_connection(stack))
    scratch.mkdir(parents=True, exist_ok=True)
    template_file = scratch / stack.template_file.name
    template_file.write_text(text)
    # The template is published as the asset it is (`cdk deploy` hands CloudFormation its
    # URL): the object under its key must be this text, or a later `cdk deploy` that finds
    # the key published deploys the placeholders.
    assets = tuple(
        dataclasses.replace(asset, source=template_file) if asset.source == stack.template_file else asset for asset in stack.assets
    )
    return dataclasses.replace(stack, template_file=template_file, assets=assets), _note(stack)


def _note(stack: StackArtifact) -> str:
    return f"cdk.json names no source: {local_connection(stack)} stands in, rule {SOURCE_RULE} left out"


def local_source_in_assembly(assembly: Path, pipeline_stack_name: str) -> str:
    """In a build's copy of a cloud assembly, the pipeline stack's template with the local
    source in place, as every other deployment of it here (`make remote`, `make local`)
    gets it; what was done, for the build's log ("" if nothing: not an assembly, or a
    source cdk.json names)."""
    if not (assembly / "manifest.json").is_file():
        return ""
    try:
        stacks = [s for s in read_stacks(assembly) if not s.stage and s.stack_name == pipeline_stack_name]
    except AssemblyError:
        return ""  # the build itself will say what is wrong with it
    if len(stacks) != 1:
        return ""
    local, note = with_local_source(stacks[0], assembly / ".local-source")
    if note:
        stacks[0].template_file.write_text(local.template_file.read_text())
        shutil.rmtree(assembly / ".local-source")
        note += f" in {stacks[0].template_file.name} (the build's copy of the assembly)"
    return note
