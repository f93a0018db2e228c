"""The local source standing in for one that cdk.json does not name yet.

With no ``repository`` and ``connection-arn`` in cdk.json, the pipeline reads placeholder
ones, and its stack holds a rule (``SOURCE_RULE``) that makes CloudFormation refuse any
deployment: on AWS a pipeline without a repository must not exist. On this machine the
source is local (the working tree for `make local`, the remote ``local`` for
`git push local`), so wherever the emulated accounts get the pipeline stack (`make
local`, `make remote`, self-mutation) it is deployed with a local repository and a
connection in the tooling account in place of the placeholders, without that rule,
and the step's summary says so. The synthesized assembly itself is not changed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from project.assembly import StackArtifact
from project.deployment_order import SOURCE_RULE, UNSET_CONNECTION, UNSET_REPOSITORY

LOCAL_REPOSITORY = "local/repository"


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
    text = json.dumps(template).replace(UNSET_CONNECTION, local_connection(stack)).replace(UNSET_REPOSITORY, LOCAL_REPOSITORY)
    scratch.mkdir(parents=True, exist_ok=True)
    template_file = scratch / stack.template_file.name
    template_file.write_text(text)
    note = f"cdk.json names no source: {local_connection(stack)} stands in, rule {SOURCE_RULE} left out"
    return dataclasses.replace(stack, template_file=template_file), note
