"""The CacheSecret function's zip carries Powertools and what it requires, at the pinned
versions, and nothing a machine's installation adds: it runs with no layer."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from project.deployment_order import TRUSTING_RESOURCES


@pytest.fixture(scope="module")
def function_asset(synthesized_app, dev) -> Path:
    template = synthesized_app.templates[TRUSTING_RESOURCES.id(dev.name)]
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    stage_dir = next(synthesized_app.outdir.glob(f"assembly-*{TRUSTING_RESOURCES.id(dev.name)}"))
    candidates = [synthesized_app.outdir / function["Metadata"]["aws:asset:path"], stage_dir / function["Metadata"]["aws:asset:path"]]
    return next(path for path in candidates if path.is_dir())


def test_the_zip_holds_the_handler_and_the_pinned_packages(function_asset):
    assert (function_asset / "cache_secret" / "handler.py").is_file()
    for distribution in ("aws_lambda_powertools", "jmespath", "typing_extensions"):
        (metadata,) = function_asset.glob(f"{distribution}-*.dist-info/METADATA")
        name = metadata.read_text().split("Name: ", 1)[1].splitlines()[0]
        assert f"Version: {version(name)}\n" in metadata.read_text(), distribution
    requirements = (Path(__file__).resolve().parents[4] / "requirements.txt").read_text()
    assert f"aws-lambda-powertools=={version('aws-lambda-powertools')}" in requirements


def test_the_zip_holds_no_byte_code_nor_installation_records(function_asset):
    files = [path for path in function_asset.rglob("*") if path.is_file()]
    assert len(files) > 100
    assert not [f for f in files if "__pycache__" in f.parts or f.suffix == ".pyc"]
    assert not [f for f in files if f.name in ("RECORD", "INSTALLER", "direct_url.json")]


def test_powertools_imports_from_the_zip_alone(function_asset):
    """With no site-packages at all (-S, -I), the logger the handler uses imports from the
    zip's folder: nothing is missing that a layer used to provide."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from aws_lambda_powertools import Logger;"
        "from aws_lambda_powertools.utilities.typing import LambdaContext;"
        "import aws_lambda_powertools, jmespath; print(aws_lambda_powertools.__file__)"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(function_asset)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(function_asset))


def test_what_powertools_requires_is_found_without_its_extras():
    from stacks.constructs.function_bundle import runtime_distributions

    assert sorted(runtime_distributions("aws-lambda-powertools")) == ["aws_lambda_powertools", "jmespath", "typing_extensions"]


def test_a_package_that_is_not_installed_is_named():
    from stacks.constructs.function_bundle import BundlingError, runtime_distributions

    with pytest.raises(BundlingError, match="'no-such-package-here', which is not installed"):
        runtime_distributions("no-such-package-here")


def test_a_compiled_package_is_refused_by_name(tmp_path):
    from stacks.constructs.function_bundle import BundlingError, copy_distribution

    with pytest.raises(BundlingError, match=r"'pydantic_core' is not pure Python \(.*\.so\)"):
        copy_distribution("pydantic_core", tmp_path)
