"""CKV_SCP_001: a role that an AWS principal (another account, a role, anyone) may assume
must demand sts:ExternalId, or it is open to the confused deputy."""

from __future__ import annotations

from typing import Any

from iam_documents import TrustStatementCheck, condition_keys, principals


class CrossAccountTrustRequiresExternalId(TrustStatementCheck):
    def __init__(self) -> None:
        super().__init__(name="Ensure a role assumable by an AWS principal requires sts:ExternalId", check_id="CKV_SCP_001")

    def violates(self, statement: dict[str, Any]) -> bool:
        if not principals(statement, "AWS"):
            return False
        external_ids = condition_keys(statement).get("sts:externalid", [])
        return not any(isinstance(value, str | dict) and value not in ("", "*") for value in external_ids)


check = CrossAccountTrustRequiresExternalId()
