"""Small pipeline definitions of the executor's own tests."""

from __future__ import annotations

from typing import Any


def action(
    name: str,
    provider: str,
    *,
    run_order: int = 1,
    inputs: tuple[str, ...] | list[str] = (),
    outputs: tuple[str, ...] | list[str] = (),
    namespace: str | None = None,
    category: str = "Build",
) -> dict[str, Any]:
    """An ActionDeclaration as CloudFormation holds it."""
    declared = {
        "Name": name,
        "ActionTypeId": {"Category": category, "Owner": "AWS", "Provider": provider, "Version": "1"},
        "RunOrder": run_order,
        "InputArtifacts": [{"Name": n} for n in inputs],
        "OutputArtifacts": [{"Name": n} for n in outputs],
    }
    return declared | ({"Namespace": namespace} if namespace else {})
