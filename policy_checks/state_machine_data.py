"""Helpers shared by the state machine checks: does a state machine's data carry a secret?

Not a check: checkov executes this module too, but it registers nothing.

A state machine handles a secret when its definition reads one
(``arn:aws:states:::aws-sdk:secretsmanager:getSecretValue``), or when it starts another
workflow synchronously through ``Credentials`` (``aws-sdk:sfn:startSyncExecution`` or
``states:startExecution.sync``, cross-account): that run's output, which the workflow in
the other account may fill with a secret, becomes this one's data. checkov sees one
template at a time, so the second half is a conservative guess: any such cross-account
synchronous start counts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from iam_documents import render

_READS_A_SECRET = re.compile(r"aws-sdk:secretsmanager:getsecretvalue", re.IGNORECASE)
_STARTS_SYNCHRONOUSLY = re.compile(r"(aws-sdk:sfn:startsyncexecution|states:startexecution\.sync)", re.IGNORECASE)


def definition_text(properties: dict[str, Any]) -> str:
    """The definition as text: DefinitionString rendered (tokens as ``${...}``), or Definition."""
    if "Definition" in properties:
        return json.dumps(properties["Definition"])
    rendered = render(properties.get("DefinitionString", ""))
    return rendered if isinstance(rendered, str) else json.dumps(rendered)


def handles_a_secret(properties: dict[str, Any]) -> bool:
    text = definition_text(properties)
    return bool(_READS_A_SECRET.search(text)) or (bool(_STARTS_SYNCHRONOUSLY.search(text)) and '"Credentials"' in text)
