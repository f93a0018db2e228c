"""The registry the builds' npm installs from: the pinned packages as the registry serves
them (checked against package-lock.json's integrity), only to the builds; and a build's
`npm install -g` into its own prefix, this machine's global npm untouched."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import PipelineRun, RunRecord
from project.paths import PROJECT_ROOT
from tests.unit.local_pipeline.executor.helpers import action

PIN = json.loads((PROJECT_ROOT / "package-lock.json").read_text())["packages"]["node_modules/cdk-assets"]


@pytest.fixture(scope="module")
def registry():
    from local_pipeline.executor.npm_registry import NpmRegistry, pinned_packages

    # No registry behind it: nothing but the pins can be served, and nothing reaches out.
    served = NpmRegistry(pinned_packages(PROJECT_ROOT, ["cdk-assets"])).start()
    yield served
    served.stop()


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_pinned_package_is_served_with_the_lockfiles_integrity(registry):
    status, body = _get(f"{registry.url}cdk-assets", {"Authorization": f"Bearer {registry.token}"})
    assert status == 200
    version = json.loads(body)["versions"][PIN["version"]]
    assert version["dist"]["integrity"] == PIN["integrity"]
    status, _ = _get(version["dist"]["tarball"], {"Authorization": f"Bearer {registry.token}"})
    assert status == 200


def test_another_version_or_package_is_refused_naming_the_pins(registry):
    token = {"Authorization": f"Bearer {registry.token}"}
    status, body = _get(f"{registry.url}cdk-assets/-/cdk-assets-0.0.1.tgz", token)
    assert status == 404 and f"cdk-assets@{PIN['version']}" in json.loads(body)["error"]
    status, body = _get(f"{registry.url}left-pad", token)
    assert status == 404 and "only the packages package-lock.json pins" in json.loads(body)["error"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # no token
        ({"Authorization": "Bearer guessed"}, 401),
        ({"Origin": "https://evil.example"}, 403),  # a web page, even with the token (below)
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Host": "evil.example"}, 403),  # DNS rebinding
    ],
)
def test_only_the_builds_are_answered(registry, headers, status):
    if status == 403:
        headers = {**headers, "Authorization": f"Bearer {registry.token}"}
    assert _get(f"{registry.url}cdk-assets", headers)[0] == status


def _global_npm() -> list[str]:
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S607
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def test_a_builds_npm_install_g_goes_to_its_own_prefix_from_the_pins(registry, tmp_path: Path):
    from emulator.identity import Credentials
    from local_pipeline.executor.codebuild_action import CodeBuildAction, Project

    before = _global_npm()
    spec = {
        "version": "0.2",
        "phases": {
            "install": {"commands": [f"npm install -g cdk-assets@{PIN['version']}"]},
            "build": {
                "commands": [
                    "mkdir -p out",
                    "cdk-assets --version > out/version.txt",
                    "command -v cdk-assets > out/where.txt",
                    'stat -c %a "$HOME/.npmrc" > out/npmrc-mode.txt',
                ]
            },
        },
        "artifacts": {"base-directory": "out", "files": ["**/*"]},
    }
    codebuild = CodeBuildAction(
        projects=lambda name: Project(name, spec, "arn:aws:iam::222222222222:role/build"),
        credentials=lambda role: Credentials("AKID", "secret"),
        host_path=os.environ["PATH"],
        endpoint=None,
        builds=tmp_path / "builds",
        npm=registry,
    )
    stages = [{"Name": "Assets", "Actions": [action("Publish", "CodeBuild", outputs=("Out",)) | {"Configuration": {"ProjectName": "p"}}]}]
    record = PipelineRun(
        read_pipeline({"Stages": stages}), {"CodeBuild": codebuild}, directory=tmp_path / "r", record=RunRecord("1", "c", "main")
    ).execute()
    log = (tmp_path / "r" / "actions" / "Assets.Publish" / "log.txt").read_text()
    assert record.status == "Succeeded", log[-2000:]
    out = tmp_path / "r" / "actions" / "Assets.Publish" / "out" / "Out"
    assert PIN["version"] in (out / "version.txt").read_text()
    assert Path((out / "where.txt").read_text().strip()).is_relative_to(tmp_path / "builds")  # the build's own prefix
    assert (out / "npmrc-mode.txt").read_text().strip() == "600"  # it holds the registry's token
    assert _global_npm() == before
