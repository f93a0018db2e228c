"""A JSON template is read as JSON: the same document, without PyYAML's pure-Python loader.

moto reads every template, stack and change set alike, with ``yaml.load`` first and falls
back to JSON only when YAML fails. Every template the CDK writes is JSON, which YAML
reads as the same document, at about 0.1 s for the pipeline stack's template in PyYAML's
pure-Python loader, once per stack, change set and update: 1.5 s of a `make local`.
Here JSON is tried first; a template that is not JSON (the bootstrap template is YAML,
with short-form intrinsics like ``!Sub``) goes to moto's own reader as before, once per
text (every account's bootstrap deploys the same one; each caller gets its own copy).
Nothing changes in what a stack holds: a speed patch, not a behaviour.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation.models import ChangeSet, Stack

REASON = "moto reads JSON templates with PyYAML's pure-Python loader (~0.1 s each); JSON is read as JSON, to the same document."

_stack_parse = Stack.parse_template
_change_set_parse = ChangeSet._parse_template


def _parse(template: str) -> dict[str, Any]:
    if template.lstrip().startswith("{"):
        try:
            parsed: dict[str, Any] = json.loads(template)
            return parsed
        except json.JSONDecodeError:
            pass  # not JSON after all (a YAML flow mapping): moto's reader decides
    if template not in _yaml_read:
        _yaml_read[template] = _stack_parse(template)
    return copy.deepcopy(_yaml_read[template])


_yaml_read: dict[str, dict[str, Any]] = {}  # a YAML template's text -> moto's reading of it


def _change_set_parse_template(self: ChangeSet) -> None:
    if self.template.lstrip().startswith("{"):
        try:
            self.template_dict = json.loads(self.template)
            return
        except json.JSONDecodeError:
            pass
    _change_set_parse(self)


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(Stack, "parse_template", staticmethod(_parse)),
        mock.patch.object(ChangeSet, "_parse_template", _change_set_parse_template),
    ):
        yield
