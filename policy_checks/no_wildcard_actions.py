"""CKV_SCP_004: an Allow names its actions: no "*", no "service:*", and no
NotAction/NotResource (they allow everything they do not list)."""

from __future__ import annotations

import re
from typing import Any

from iam_documents import AllowStatementCheck, actions

_WHOLE_SERVICE = re.compile(r"^(\*|[A-Za-z0-9-]+:\*)$")


class NoWildcardActions(AllowStatementCheck):
    def __init__(self) -> None:
        super().__init__(name="Ensure no Allow statement uses '*', 'service:*', NotAction or NotResource", check_id="CKV_SCP_004")

    def violates(self, statement: dict[str, Any]) -> bool:
        if "NotAction" in statement or "NotResource" in statement:
            return True
        return any(_WHOLE_SERVICE.match(action.strip()) for action in actions(statement))


check = NoWildcardActions()
