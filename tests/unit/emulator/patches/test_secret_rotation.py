"""Secrets Manager invokes a rotation function only if the function's policy lets
secretsmanager.amazonaws.com invoke it (Secrets Manager user guide, "Rotation by Lambda
function")."""

from __future__ import annotations

from secrets import token_hex

import pytest
from botocore.exceptions import ClientError

from tests.unit.emulator.helpers import service_trust

RECORDING = (
    "import os\n"
    "def handle(event, context):\n"
    "    with open(os.environ['STEPS'], 'a') as steps:\n"
    "        steps.write(event['Step'] + '\\n')\n"
)


def _function(account, name: str, steps) -> str:
    """A rotation function that records each step it is invoked for in the file ``steps``."""
    role = account.role(f"{name}-role", trust=service_trust("lambda.amazonaws.com", account.id), permissions=None)
    return account.python_function(name, RECORDING, role, environment={"STEPS": str(steps)})


def _steps(steps) -> list[str]:
    return steps.read_text().split() if steps.exists() else []


def test_moto_still_invokes_a_rotation_function_whatever_its_policy(vanilla):
    from emulator.patches import secret_rotation

    assert secret_rotation.REASON
    role = vanilla.role("rotator-role", trust=service_trust("lambda.amazonaws.com", vanilla.id), permissions=None)
    function = vanilla.client("lambda").create_function(
        FunctionName="rotator", Runtime="python3.13", Role=role, Handler="h.handle", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}
    )["FunctionArn"]
    vanilla.client("secretsmanager").create_secret(Name="s", SecretString=token_hex(16))
    vanilla.client("secretsmanager").rotate_secret(SecretId="s", RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 1})


def test_a_rotation_invokes_only_a_function_whose_policy_lets_secrets_manager(patched, unique, tmp_path):
    """A caller denied lambda:* had another team's function run four times through a rotation."""
    steps = tmp_path / "steps"
    function = _function(patched, f"rotator-{unique}", steps)
    secrets = patched.client("secretsmanager")
    secrets.create_secret(Name=f"secret-{unique}", SecretString=token_hex(16))
    with pytest.raises(ClientError) as refused:
        secrets.rotate_secret(SecretId=f"secret-{unique}", RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 1})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "grants access to the principal secretsmanager.amazonaws.com" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="AccessDeniedException"):
        secrets.rotate_secret(SecretId=f"secret-{unique}", RotationLambdaARN=function.replace("us-east-1", "eu-west-1"))
    assert _steps(steps) == []
    patched.client("lambda").add_permission(
        FunctionName=function, StatementId="rotation", Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com"
    )
    secrets.rotate_secret(SecretId=f"secret-{unique}", RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 1})
    assert _steps(steps) == ["createSecret", "setSecret", "testSecret", "finishSecret"]
