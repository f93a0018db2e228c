"""A Python function's code with the packages it imports, bundled at synth time.

The function used to run on the public Powertools layer, whose ARN CloudFormation looked
up at deploy time in the public SSM parameter ``/aws/service/powertools/...``. That
parameter exists in some regions only, and CloudFormation resolves it as the caller
(the deploy role, which CDK's bootstrap lets read the bootstrap-version parameter only).
Bundled, the function deploys wherever Lambda runs Python on arm64, with no lookup.

The packages come from the pinned distributions installed with the app
(requirements.txt), copied file by file as their installer recorded them: no network,
no Docker, the same bytes on every machine. Only pure-Python packages qualify: a
compiled extension built for this machine would not load on Lambda's arm64.
"""

from __future__ import annotations

import re
import shutil
from importlib.metadata import PackageNotFoundError, distribution, requires
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

SKIPPED_PARTS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc",)
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
# What an installer writes about the installation (not the package): it differs by
# machine and tool, and the function does not read it.
INSTALLATION_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class BundlingError(Exception):
    """The function's code cannot be bundled; the message names the package and why."""


def runtime_distributions(root: str) -> list[str]:
    """``root`` and every distribution it requires, transitively, without extras."""
    found: list[str] = []
    pending = [root]
    while pending:
        name = pending.pop()
        try:
            canonical = distribution(name).metadata["Name"]
        except PackageNotFoundError as error:
            raise BundlingError(
                f"the function needs the package '{name}', which is not installed: pip install -r requirements.txt"
            ) from error
        if canonical in found:
            continue
        found.append(canonical)
        for requirement in requires(canonical) or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return found


def copy_distribution(name: str, output: Path) -> int:
    """Copy an installed distribution's files into ``output`` (as in site-packages);
    the number of files copied."""
    files = distribution(name).files or []
    if not files:
        raise BundlingError(f"the installed package '{name}' lists no files: reinstall it with pip")
    copied = 0
    for file in files:
        parts = Path(file).parts
        if parts[0] == ".." or SKIPPED_PARTS.intersection(parts) or file.name.endswith(SKIPPED_SUFFIXES):
            continue  # scripts outside site-packages, byte code
        if parts[0].endswith(".dist-info") and file.name in INSTALLATION_RECORDS:
            continue
        if file.name.endswith(COMPILED_SUFFIXES):
            raise BundlingError(f"'{name}' is not pure Python ({file}): it would not load on Lambda's arm64")
        target = output / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.locate(), target)
        copied += 1
    return copied


def copy_source(source: Path, output: Path) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if SKIPPED_PARTS.intersection(relative.parts) or path.name.endswith(SKIPPED_SUFFIXES) or not path.is_file():
            continue
        (output / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, output / relative)


@jsii.implements(ILocalBundling)
class _InstalledPackages:
    """The CDK's local bundling: the source, then the packages, into the asset's folder."""

    def __init__(self, source: Path, packages: tuple[str, ...]) -> None:
        self._source = source
        self._packages = packages

    # The CDK's typing says keyword options; jsii's callback passes them as one positional
    # struct. Neither is read: what to bundle was given to the constructor.
    def try_bundle(self, output_dir: str, *_options: Any, **_keyword_options: Any) -> bool:
        output = Path(output_dir)
        copy_source(self._source, output)
        for package in self._packages:
            for name in runtime_distributions(package):
                copy_distribution(name, output)
        return True  # never falls back to Docker: a failure raises, naming the package


def python_code_with_packages(source: Path, *packages: str) -> lambda_.Code:
    """The function's code: ``source``'s files and ``packages`` (with what they require),
    hashed by what is bundled, so a package bump changes the asset."""
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the CDK; never run, since the local bundling always bundles or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=_InstalledPackages(source, packages),
        ),
    )
