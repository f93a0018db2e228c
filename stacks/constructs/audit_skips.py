"""Justified exceptions to the checkov audit, recorded where they apply.

checkov reads ``Metadata.checkov.skip`` on the resource; every skip carries the
reason, and the audit report lists them. cdk-nag acknowledgements are made with
``Validations.of(construct).acknowledge`` next to the construct instead.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    if not reason.strip():
        raise ValueError(f"a checkov skip of {check_id} on {construct.node.path} needs a reason")
    existing = resource.get_metadata("checkov") or {}
    skips = [*existing.get("skip", []), {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", {"skip": skips})
