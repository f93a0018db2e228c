"""checkov, loaded ahead of its work, and reusing the results of templates it has seen.

The audit starts this script in checkov's own environment (.venv-audit): `make local`
while `cdk synth` is still writing the templates (loading checkov and its checks takes
~2 s, which then costs nothing), `make audit` at once. It reads one JSON line on stdin:
``{"arguments": [...checkov's command line...], "cache": {"folder": ..., "keys": {template:
key}}}`` (``cache`` optional; a bare list is the arguments alone), and runs checkov
exactly as the `checkov` script does. An empty line (the run ended before its audit) ends
it. It imports nothing of the project: it runs where only checkov is installed.

The cache (`pipeline/audit_cache.py` computes the keys): checkov's scan is given only the
templates whose key has no entry, one per distinct key; each scanned template's records
are stored under its key, with its path abstracted; then every other template's records
are read back under its own path and added to the scan's report, before checkov writes
its reports and decides its exit code from them. So the reports, the summary and the exit
code are checkov's own, as from a scan of every template (a test compares the two).
A template whose records cannot be stored faithfully (a parsing error, a path in a form
not known here, a value JSON cannot hold) is not stored, and is scanned every time.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import checkov.cloudformation.checks.resource.registry  # noqa: F401  (the checks load now, not at run)
from checkov.common.graph.graph_builder.consts import GraphSource
from checkov.common.graph.graph_builder.utils import calculate_hash
from checkov.common.models.enums import CheckResult
from checkov.common.output.extra_resource import ExtraResource
from checkov.common.output.record import Record
from checkov.common.output.report import Report, merge_reports
from checkov.common.runners.runner_registry import RunnerRegistry
from checkov.main import Checkov

TOOL = "checkov"  # the entries' suffix: <key>.checkov.json
CACHE_LINE = "checkov cache: results read back for"
_CLOUDFORMATION = "cloudformation"
# How checkov writes a scanned file's path into a record: as given (absolute, in
# file_abs_path and deep in graph checks' results), as "/" + its path relative to the
# working folder (file_path), and as Record._determine_repo_file_path makes it
# (repo_file_path, which SARIF's locations show). Stored as markers, made again on reading.
_ABSOLUTE, _RELATIVE, _REPO = ({"$path": form} for form in ("absolute", "relative", "repo"))
_ENUMS: dict[str, type[Enum]] = {"CheckResult": CheckResult, "GraphSource": GraphSource}  # the enums records hold
_HASH = {"$hash": "of the other attributes"}  # made again from them, under the new path
_PATH_FIELDS = {"file_abs_path": _ABSOLUTE, "file_path": _RELATIVE, "repo_file_path": _REPO}


class _Uncacheable(Exception):
    """A template's records this script cannot store faithfully."""


def _relative(template: str) -> str:
    return "/" + os.path.relpath(template, os.getcwd())


def _form(marker: dict[str, str], template: str) -> str:
    if marker == _ABSOLUTE:
        return template
    if marker == _RELATIVE:
        return _relative(template)
    return str(Record._determine_repo_file_path(template))  # noqa: SLF001 (checkov's own rule for it)


def _encode_fields(fields: dict[str, Any], template: str) -> dict[str, Any]:
    """A record's (or extra resource's) fields as JSON: each path field as its marker, when it
    is in the form that marker makes again."""
    encoded = {}
    for name, value in fields.items():
        marker = _PATH_FIELDS.get(name)
        if marker is None or value is None:
            encoded[name] = _encode(value, template)
        elif value == _form(marker, template):
            encoded[name] = marker
        else:
            raise _Uncacheable(f"{name} in a form not known here: {value!r}")
    return encoded


def _encode(value: Any, template: str) -> Any:
    """``value`` as JSON, the template's path (anywhere: graph checks keep it deep in their
    results) as a marker."""
    if isinstance(value, Enum):
        if type(value).__name__ not in _ENUMS:
            raise _Uncacheable(f"an enum {type(value).__name__}")
        return {"$enum": [type(value).__name__, value.value]}
    if isinstance(value, str):
        if value == template:
            return _ABSOLUTE
        if template in value or value in (_relative(template), _form(_REPO, template)):
            raise _Uncacheable(f"its path in a form not known here: {value[:200]!r}")
        return value
    if value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, tuple):
        return {"$tuple": [_encode(item, template) for item in value]}
    if isinstance(value, list):
        return [_encode(item, template) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) and not key.startswith("$") for key in value):
        encoded = {key: _encode(item, template) for key, item in value.items()}
        if "hash" in value:  # a graph node's hash: of its attributes, its path among them
            if value["hash"] != calculate_hash({key: item for key, item in value.items() if key != "hash"}):
                raise _Uncacheable("a hash that is not its attributes'")
            encoded["hash"] = _HASH
        return encoded
    raise _Uncacheable(f"a value of type {type(value).__name__}")


def _decode(value: Any, template: str) -> Any:
    if isinstance(value, list):
        return [_decode(item, template) for item in value]
    if isinstance(value, dict):
        if value in (_ABSOLUTE, _RELATIVE, _REPO):
            return _form(value, template)
        if "hash" in value and value["hash"] == _HASH:
            decoded = {key: _decode(item, template) for key, item in value.items()}
            decoded["hash"] = calculate_hash({key: item for key, item in decoded.items() if key != "hash"})
            return decoded
        if "$enum" in value:
            name, member = value["$enum"]
            return _ENUMS[name](member)
        if "$tuple" in value:
            return tuple(_decode(item, template) for item in value["$tuple"])
        return {key: _decode(item, template) for key, item in value.items()}
    return value


def _stored_records(report: Report, template: str) -> dict[str, Any]:
    """The template's part of ``report``, its path abstracted."""
    if any(template in str(error) for error in report.parsing_errors):
        raise _Uncacheable("a parsing error")
    records: dict[str, list[dict[str, Any]]] = {}
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        records[kind] = []
        for record in getattr(report, kind):
            if record.file_abs_path != template:
                continue
            fields = _encode_fields(vars(record), template)
            # Read back as it will be, it must be what checkov made, field by field, down to
            # each value's type (repr tells a str from a str enum): else it is not stored.
            if repr(_decode(json.loads(json.dumps(fields)), template)) != repr(vars(record)):
                raise _Uncacheable(f"{record.check_id} on {record.resource} does not read back as it was")
            records[kind].append(fields)
    resources = []
    for resource in sorted(report.resources):
        for form, marker in ((template, "absolute"), (_relative(template), "relative")):
            if resource.startswith(f"{form}:"):
                resources.append([marker, resource[len(form) + 1 :]])
    extra = [
        _encode_fields({name: getattr(resource, name) for name in ExtraResource.__slots__}, template)
        for resource in sorted(report.extra_resources)
        if resource.file_abs_path == template
    ]
    return {"records": records, "resources": resources, "extra_resources": extra}


def _add_stored(report: Report, stored: dict[str, Any], template: str) -> None:
    """``stored`` records, under ``template``'s path, into ``report``: as if scanned there."""
    for kind, records in stored["records"].items():
        for fields in records:
            record = object.__new__(Record)  # its state restored whole, not rebuilt from constructor arguments
            vars(record).update(_decode(fields, template))
            getattr(report, kind).append(record)
    for marker, resource in stored["resources"]:
        form = template if marker == "absolute" else _relative(template)
        report.resources.add(f"{form}:{resource}")
    for extra in stored["extra_resources"]:
        report.extra_resources.add(ExtraResource(**_decode(extra, template)))


def _read(folder: Path, key: str, template: str) -> dict[str, Any] | None:
    """The entry, if it reads back whole (tried on a report of its own); else None: a miss."""
    try:
        stored = json.loads((folder / f"{key}.{TOOL}.json").read_text())
        _add_stored(Report(_CLOUDFORMATION), stored, template)
    except Exception:  # noqa: BLE001 (whatever is wrong with an entry, it is a miss, and is scanned)
        return None
    return stored if isinstance(stored, dict) else None


def _write(folder: Path, key: str, stored: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{key}.{TOOL}.json"
    partial = final.with_name(f"{final.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(stored))
    partial.replace(final)


def cached_scan(folder: Path, keys: dict[str, str]) -> Callable[..., list[Report]]:
    """RunnerRegistry.run, scanning only the templates ``keys`` has no entry for in ``folder``."""
    scan = RunnerRegistry.run

    def run(registry: RunnerRegistry, root_folder: str | None = None, external_checks_dir: list[str] | None = None,
            files: list[str] | None = None, *args: Any, **kwargs: Any) -> list[Report]:  # fmt: skip
        given = list(files or [])
        stored = {template: _read(folder, keys[template], template) if template in keys else None for template in given}
        first_of_key: dict[str, str] = {}
        to_scan = []
        for template in given:
            if stored[template] is None and (template not in keys or keys[template] not in first_of_key):
                to_scan.append(template)
                if template in keys:
                    first_of_key[keys[template]] = template
        reports = scan(registry, root_folder, external_checks_dir, to_scan, *args, **kwargs) if to_scan else []
        report = next((report for report in reports if report.check_type == _CLOUDFORMATION), None)
        if report is None:
            report = Report(_CLOUDFORMATION)
            reports.append(report)
        for key, template in first_of_key.items():
            try:
                stored_records = _stored_records(report, template)
            except _Uncacheable as reason:
                print(f"checkov cache: {template} not stored ({reason})", file=sys.stderr)
                continue
            _write(folder, key, stored_records)
            for other in given:  # a copy of a template scanned in this run: its records, not a second scan
                if other != template and keys.get(other) == key and stored[other] is None:
                    stored[other] = stored_records
        # A copy of a template whose records could not be stored: scanned after all.
        leftover = [template for template in given if template not in to_scan and stored[template] is None]
        if leftover:
            for scanned in scan(registry, root_folder, external_checks_dir, leftover, *args, **kwargs):
                merge_reports(report, scanned)
        read_back = 0
        for template in given:
            records = stored[template]
            if template not in to_scan and records is not None:
                _add_stored(report, records, template)
                read_back += 1
        # pipeline/audit.py reads this line: the summary says how much was not scanned again.
        print(f"{CACHE_LINE} {read_back} of {len(given)} templates", file=sys.stderr)
        return reports

    return run


def main(stdin: Sequence[str] | None = None) -> int:
    line = sys.stdin.readline() if stdin is None else stdin[0]
    if not line.strip():
        return 0
    request = json.loads(line)
    if isinstance(request, list):
        request = {"arguments": request}
    cache = request.get("cache")
    if cache:
        RunnerRegistry.run = cached_scan(Path(cache["folder"]), cache["keys"])  # type: ignore[method-assign]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as the `checkov` script does
        return int(Checkov(argv=request["arguments"]).run() or 0)


if __name__ == "__main__":
    sys.exit(main())
