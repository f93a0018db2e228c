"""Artifacts through the pipeline's artifact bucket, as CodePipeline hands them on.

CodePipeline keeps each output artifact as a zip in the pipeline's artifact store, an S3
bucket, encrypted with the store's KMS key (user guide, "Input and output artifacts":
"CodePipeline zips and transfers the files for input or output artifacts as appropriate
for the action type"; "Data protection", "Configure server-side encryption for artifacts
stored in Amazon S3 for CodePipeline"). Whoever writes or reads an artifact needs the
bucket's ``s3:PutObject``/``s3:GetObject`` and the key's ``kms:GenerateDataKey``/
``kms:Decrypt``, under identity, bucket and key policies, as the emulated accounts check
every call (``emulator.authorization``). Who that is, per action:

- a CodeBuild action: the project's service role, which reads its inputs and writes its
  outputs ("AWS CodeBuild build and test action reference": CodeBuild reads and writes the
  artifacts; CDK grants the project's role the bucket and the key for it);
- a CloudFormation action: its ``RoleArn``, the cross-account deploy role, which reads the
  template artifact (user guide, "Create a pipeline in CodePipeline that uses resources
  from another AWS account": the other account's role needs the bucket and the key);
- any other action (the source): its ``RoleArn`` if it names one, else the pipeline's role.

The object key is ``<the pipeline's name, first 20 characters>/<the artifact's name,
first 20>/<a random 7 characters>``: the shape CodePipeline's keys have in its bucket (a
guess: the docs do not specify it).
"""

from __future__ import annotations

import io
import secrets
import string
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from emulator import clients
from emulator.identity import Credentials
from local_pipeline.executor.definition import Action
from local_pipeline.executor.engine import ArtifactError

_CONFIG = Config(retries={"max_attempts": 1})
_RANDOM = string.ascii_letters + string.digits


def zipped(folder: Path) -> bytes:
    """``folder``'s files, as a zip (symbolic links as the files they name, inside only)."""
    buffer = io.BytesIO()
    root = folder.resolve()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.resolve().is_relative_to(root):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def unzipped(body: bytes, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        archive.extractall(into)  # noqa: S202  (zipfile drops absolute and ".." parts of names)


@dataclass(frozen=True)
class S3ArtifactStore:
    pipeline_name: str
    bucket: str
    key_arn: str
    region: str
    credentials_of: Callable[[Action], tuple[Credentials, str]]  # who reads and writes for an action: credentials, role ARN

    def put(self, action: Action, artifact: str, folder: Path) -> str:
        key = f"{self.pipeline_name[:20]}/{artifact[:20]}/{''.join(secrets.choice(_RANDOM) for _ in range(7))}"
        credentials, role = self.credentials_of(action)
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_arn} if self.key_arn else {}
        try:
            self._s3(credentials).put_object(Bucket=self.bucket, Key=key, Body=zipped(folder), **encryption)
        except ClientError as error:
            raise ArtifactError(f"output artifact {artifact} not stored in s3://{self.bucket} by {role}: {_message(error)}") from None
        return key

    def get(self, action: Action, artifact: str, location: str, into: Path) -> None:
        credentials, role = self.credentials_of(action)
        try:
            body = self._s3(credentials).get_object(Bucket=self.bucket, Key=location)["Body"].read()
        except ClientError as error:
            raise ArtifactError(
                f"input artifact {artifact} not read from s3://{self.bucket}/{location} by {role}: {_message(error)}"
            ) from None
        unzipped(body, into)

    def _s3(self, credentials: Credentials) -> Any:
        return clients.client("s3", region=self.region, credentials=credentials, config=_CONFIG)


def _message(error: ClientError) -> str:
    return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
