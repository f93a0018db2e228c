"""Project configuration: loaded once from CDK context, validated, frozen, passed down.

The context comes from ``cdk.json`` and can be overridden per run with ``-c``::

    npx cdk synth -c environments='[{"name": "qa", "trusted": {...}, "trusting": {...}}]'

Every value is checked before any construct is built; a bad value stops synth
with one line per problem that names the key and the value (``ConfigError``).
Nothing downstream reads context or ``os.environ``: stacks get these objects.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from botocore.loaders import create_loader
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# The context keys this project reads. Anything else in cdk.json belongs to the CDK.
CONTEXT_KEYS = ("environments", "tooling", "repository", "branch", "connection-arn", "notification-email")

_ACCOUNT_ID_LEN = 12


def _account_id(value: str) -> str:
    # Not str.isdigit(): it takes '¹' and '٢' too. An account ID is 12 ASCII digits.
    if not re.fullmatch(r"[0-9]{12}", value):
        if len(value) == _ACCOUNT_ID_LEN and value.isdigit():
            raise ValueError("must be a 12-digit AWS account ID in ASCII digits 0-9 (this has other Unicode digits)")
        raise ValueError("must be a 12-digit AWS account ID")
    return value


@functools.cache
def region_partitions() -> Mapping[str, str]:
    """Every AWS region botocore's data lists, with its partition: ``{"us-east-1": "aws", ...}``.

    From the ``regions`` of each partition of botocore's ``endpoints.json`` (through its own
    loader), the regions botocore resolves endpoints in; not ``partitions.json``, which also
    lists pseudo-regions such as ``aws-global``."""
    endpoints = create_loader().load_data("endpoints")
    return {region: partition["partition"] for partition in endpoints["partitions"] for region in partition["regions"]}


def _region(value: str) -> str:
    if value not in region_partitions():
        parts = value.split("-")
        if len(parts) < 3 or not parts[-1].isdigit() or not all(p.isalpha() and p.islower() for p in parts[:-1]):
            raise ValueError("must be an AWS region name such as 'us-east-1'")
        raise ValueError("is not an AWS region: no partition of botocore's endpoint data lists it")
    return value


def _repository(value: str) -> str:
    owner, _, name = value.partition("/")
    if not owner or not name or "/" in name or any(c.isspace() for c in value):
        raise ValueError("must be 'owner/name', the repository the connection reads")
    return value


def _connection_arn(value: str) -> str:
    parts = value.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] not in ("codeconnections", "codestar-connections")
        or not parts[5].startswith("connection/")
    ):
        raise ValueError("must be a CodeConnections ARN: arn:aws:codeconnections:<region>:<account>:connection/<id>")
    _account_id(parts[4])
    return value


def _email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError("must be an e-mail address")
    return value


def _environment_name(value: str) -> str:
    # Environment names end up in IAM role, state machine and function names.
    if (
        not (1 <= len(value) <= 16)
        or not value[0].isalpha()
        or not all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in value)
    ):
        raise ValueError("must be 1-16 lower-case letters, digits or '-', starting with a letter")
    return value


def _secret_name(value: str) -> str:
    # Secrets Manager API reference, CreateSecret, Name: 1-512 of these characters; and
    # "Do not end your secret name with a hyphen followed by six characters": an ARN with
    # the name alone would then read as a full ARN.
    if not (1 <= len(value) <= 512) or not re.fullmatch(r"[A-Za-z0-9/_+=.@-]+", value):
        raise ValueError("must be a Secrets Manager secret name: 1-512 letters, digits or /_+=.@-")
    if re.search(r"-[A-Za-z0-9]{6}$", value):
        raise ValueError("must not end with a hyphen and six characters (Secrets Manager's ARN suffix would make it ambiguous)")
    return value


def _kms_key_arn(value: str) -> str:
    parts = value.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms" or not parts[5].startswith("key/") or len(parts[5]) <= len("key/"):
        raise ValueError("must be a KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<key id>")
    _region(parts[3])
    _account_id(parts[4])
    if parts[1] != region_partitions()[parts[3]]:
        raise ValueError(f"names partition '{parts[1]}', but its region '{parts[3]}' is in partition '{region_partitions()[parts[3]]}'")
    return value


def arn_region(arn: str) -> str:
    """The region field of an ARN (``arn:partition:service:region:account:resource``)."""
    return arn.split(":")[3]


# git-check-ref-format(1): a ref name's component may not contain these, nor an ASCII
# control character (below 0x20, or DEL).
_REF_FORBIDDEN = frozenset(" ~^:?*[\\") | {chr(c) for c in range(0x20)} | {"\x7f"}


def branch_name_problem(name: str) -> str | None:
    """Why ``git check-ref-format --branch`` would refuse ``name``, or None if it would not.

    git-check-ref-format(1)'s rules for ``refs/heads/<name>``, plus ``--branch``'s own (no
    leading '-', not 'HEAD'); and '@' alone, which git takes outside a repository but reads
    as HEAD inside one."""
    if not name:
        return "is empty"
    if name.startswith("-"):
        return "starts with '-'"
    if name in ("HEAD", "@"):
        return f"is '{name}', which git reads as the current commit"
    bad = sorted({c for c in name if c in _REF_FORBIDDEN})
    if bad:
        return f"contains {', '.join(repr(c) for c in bad)} (no space, control character or any of ~^:?*[\\)"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "has an empty '/'-separated component (a leading or trailing '/', or '//')"
    if name.endswith("."):
        return "ends with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return f"has a component starting with '.' ({component!r})"
        if component.endswith(".lock"):
            return f"has a component ending with '.lock' ({component!r})"
    return None


def _branch(value: str) -> str:
    problem = branch_name_problem(value)
    if problem:
        raise ValueError(f"must be a git branch name (git check-ref-format --branch): it {problem}")
    return value


def sample_secret_name(environment_name: str) -> str:
    """The secret the trusting stack creates (generated) in every environment."""
    # No "-XXXXXX" tail: a partial ARN ending like Secrets Manager's random suffix would be ambiguous.
    return f"secret-cache/{environment_name}/secret"


AccountId = Annotated[str, Field(strict=True), AfterValidator(_account_id)]
Region = Annotated[str, Field(strict=True), AfterValidator(_region)]
EnvironmentName = Annotated[str, Field(strict=True), AfterValidator(_environment_name)]
Repository = Annotated[str, Field(strict=True), AfterValidator(_repository)]
ConnectionArn = Annotated[str, Field(strict=True), AfterValidator(_connection_arn)]
Email = Annotated[str, Field(strict=True), AfterValidator(_email)]
SecretName = Annotated[str, Field(strict=True), AfterValidator(_secret_name)]
KmsKeyArn = Annotated[str, Field(strict=True), AfterValidator(_kms_key_arn)]
Branch = Annotated[str, Field(strict=True), AfterValidator(_branch)]


def _repeated(names: list[str]) -> str:
    """The names that occur more than once, quoted and sorted ("" if none)."""
    return ", ".join(map(repr, sorted({name for name in names if names.count(name) > 1})))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AwsEnvironment(_Frozen):
    """One account in one region, as the CDK deploys to it."""

    account: AccountId
    region: Region


class AllowedSecret(_Frozen):
    """A secret the trusting workflow may serve, by name. The sample secret is the stack's
    own; any other is an existing secret of the trusting account, imported by name, with
    ``kmsKeyArn`` naming its customer managed key (none: the account's aws/secretsmanager)."""

    name: SecretName
    kms_key_arn: KmsKeyArn | None = Field(default=None, alias="kmsKeyArn")


class DeploymentEnvironment(_Frozen):
    """One copy of the secret cache: a trusted (consumer) and a trusting (secret) account."""

    name: EnvironmentName
    trusted: AwsEnvironment
    trusting: AwsEnvironment
    # Strict: a JSON number, not "300", and not true (bool is an int in Python).
    cache_ttl_seconds: int = Field(default=300, ge=1, le=86_400, strict=True, alias="cacheTtlSeconds")
    # When the pipeline stops for a manual approval, in each deployment stage after the
    # first, between the stack's change set and its execution: always; only when the
    # change set widens a permission (the rest go on by themselves); or never.
    approvals: Literal["always", "when-permissions-broaden", "never"] = "always"
    # The secrets SecretCacheWfw may serve (None: the sample secret only), and the one the
    # consumer asks for (None: the sample secret).
    secrets: tuple[AllowedSecret, ...] | None = None
    consumer_secret: SecretName | None = Field(default=None, alias="consumerSecret")

    @model_validator(mode="before")
    @classmethod
    def _no_manual_approvals(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "manualApprovals" in data:
            raise ValueError('manualApprovals was replaced by approvals: "always" (true), "never" (false) or "when-permissions-broaden"')
        return data

    @field_validator("secrets")
    @classmethod
    def _listed_once_each(cls, secrets: tuple[AllowedSecret, ...] | None) -> tuple[AllowedSecret, ...] | None:
        if secrets is None:
            return None
        if not secrets:
            raise ValueError("lists no secret: the workflow would serve none (leave the key out for the sample secret alone)")
        duplicates = _repeated([secret.name for secret in secrets])
        if duplicates:
            raise ValueError(f"secret {duplicates} is listed more than once")
        return secrets

    @model_validator(mode="after")
    def _two_accounts_one_region(self) -> DeploymentEnvironment:
        if self.trusted.account == self.trusting.account:
            raise ValueError(
                f"trusted.account and trusting.account are both '{self.trusted.account}': the secret cache spans two different accounts"
            )
        allowed = [secret.name for secret in self.allowed_secrets]
        if self.consumer_secret_name not in allowed:
            raise ValueError(
                f"consumerSecret '{self.consumer_secret_name}' is not in secrets ({', '.join(allowed)}): the workflow would refuse it"
            )
        if self.trusted.region != self.trusting.region:
            raise ValueError(
                f"trusting.region '{self.trusting.region}' differs from trusted.region "
                f"'{self.trusted.region}': Step Functions cross-account tasks work within one region only"
            )
        partitions = region_partitions()
        for index, secret in enumerate(self.allowed_secrets):
            # The key ARN's partition is its region's (checked with the ARN): one region check covers both.
            if secret.kms_key_arn is not None and (key_region := arn_region(secret.kms_key_arn)) != self.trusting.region:
                raise ValueError(
                    f"secrets[{index}] '{secret.name}': kmsKeyArn '{secret.kms_key_arn}' is in region '{key_region}' "
                    f"(partition '{partitions[key_region]}'), the secret in trusting.region '{self.trusting.region}' "
                    f"(partition '{partitions[self.trusting.region]}'): Secrets Manager needs the key in the secret's region"
                )
        return self

    @property
    def region(self) -> str:
        return self.trusted.region

    @property
    def allowed_secrets(self) -> tuple[AllowedSecret, ...]:
        return self.secrets if self.secrets is not None else (AllowedSecret(name=sample_secret_name(self.name)),)

    @property
    def consumer_secret_name(self) -> str:
        return self.consumer_secret or sample_secret_name(self.name)


class ProjectConfig(_Frozen):
    """Everything the app needs to know, for every environment."""

    environments: tuple[DeploymentEnvironment, ...]
    # Where the pipeline lives; None means the first environment's trusting account.
    tooling: AwsEnvironment | None = None
    # The pipeline's source. Unset, synth still works (for local use), but the pipeline
    # stack refuses to deploy (see PipelineStack); a pipeline that cannot work never ships.
    repository: Repository | None = None
    branch: Branch = "main"
    connection_arn: ConnectionArn | None = Field(default=None, alias="connection-arn")
    notification_email: Email | None = Field(default=None, alias="notification-email")

    @field_validator("environments")
    @classmethod
    def _non_empty_unique_names(cls, environments: tuple[DeploymentEnvironment, ...]) -> tuple[DeploymentEnvironment, ...]:
        if not environments:
            raise ValueError("at least one environment is required")
        duplicates = _repeated([env.name for env in environments])
        if duplicates:
            raise ValueError(f"environment name {duplicates} is used more than once")
        return environments

    @property
    def tooling_environment(self) -> AwsEnvironment:
        return self.tooling or self.environments[0].trusting

    def missing_source_keys(self) -> list[str]:
        """The context keys a deployable pipeline still needs."""
        return [key for key, value in (("repository", self.repository), ("connection-arn", self.connection_arn)) if value is None]


class ConfigError(Exception):
    """Invalid configuration; ``str()`` is one line per problem, naming key and value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# The keys whose value is a JSON list or object, which ``-c`` can only hand over as text.
_JSON_KEYS = ("environments", "tooling")


def _context_value(raw: Any, key: str) -> Any:
    # ``-c key=value`` hands us a string; cdk.json hands us parsed JSON. Only a key that
    # takes JSON is parsed: a branch may be named '{x}' and stays a string.
    if key in _JSON_KEYS and isinstance(raw, str) and raw.lstrip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConfigError([f"invalid configuration: context '{key}' is not valid JSON ({error.msg} at char {error.pos})"]) from error
    return raw


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(root)"


def _describe(error: Mapping[str, Any]) -> str:
    # Model validators report at their model's location; field validators at the field's.
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    key = _key_path(loc)
    kind = error["type"]
    if kind == "missing":
        return f"invalid configuration: {key}: required key is missing"
    if kind == "extra_forbidden":
        return f"invalid configuration: {key}: unknown key (value {error['input']!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error" and isinstance(error.get("input"), Mapping | list | tuple):
        return f"invalid configuration: {key}: {message}"
    return f"invalid configuration: {key} = {error['input']!r}: {message}"


def load_config(context: Mapping[str, Any]) -> ProjectConfig:
    """Build the config from CDK context values (``{key: value}``); raise ``ConfigError``."""
    data = {key: _context_value(context.get(key), key) for key in CONTEXT_KEYS}
    data = {key: value for key, value in data.items() if value is not None or key in _JSON_KEYS}
    if data["environments"] is None:
        raise ConfigError(["invalid configuration: environments: required key is missing (set it in cdk.json)"])
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError([_describe(e) for e in error.errors()]) from None
