"""Stage 2: the manifest schema (version 1) as pydantic models, and shape validation.

These models are the single definition of the manifest: they validate it, and
``rotation-tf schema`` derives the JSON Schema from them. They check shape, types and
closed sets. Rules that relate fields to each other live in :mod:`generator.rules`.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from generator import aws
from generator.engines import Engine
from generator.errors import Diagnostic
from generator.partners import SecretType
from generator.schedules import EVERY_DAYS_MAX, RATE_DAYS_MAX
from generator.source import Source

Strategy = Literal["single_user", "alternating_users"]
Partition = Literal["aws", "aws-cn", "aws-us-gov"]

ACCOUNT_PATTERN = r"^[0-9]{12}$"
ACCOUNT_PLACEHOLDER = "FILL-IN-ACCOUNT-ID"
"""What ``rotation-tf init`` writes without --account-id: visible, and never valid."""
PLACEHOLDERS = {
    # placeholder: (what replaces it, the example that init validates its starter with)
    ACCOUNT_PLACEHOLDER: ("your 12-digit AWS account id", "111122223333"),
    "FILL-IN-FUNCTION-NAME": ("the name of your rotation Lambda function", "example-rotator"),
    "FILL-IN-SECRET-NAME": ("the name of a secret to rotate", "example/app/db"),
    "FILL-IN-MASTER-SECRET-NAME": (
        "the name of the secret that holds the master (admin) user's credentials",
        "example/app/db-master",
    ),
    # what ``rotation-tf discover`` cannot know without reading values, or where they disagree
    "FILL-IN-STRATEGY": (
        "single_user, or alternating_users where the function's secrets' values hold masterarn "
        "(rotation-tf discover --read-values reads them; discover says why in the comment above it)",
        "single_user",
    ),
    "FILL-IN-ENGINE": (
        "the database engine of the function's secrets (postgresql, mysql, ...: the engine in their values, "
        "which rotation-tf discover --read-values reads; discover says why in the comment above it)",
        "postgresql",
    ),
    "FILL-IN-MASTER-SECRET-ARN": (
        "the ARN of the master secret: the masterarn in this secret's value (rotation-tf discover "
        "--read-values reads it; discover says why in the comment above it)",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:example/app/db-master-AbCdEf",
    ),
}
"""Every value ``rotation-tf init`` (and ``discover``) cannot know: visible in the manifest, and
rejected by validate (rules.placeholders, or the field's own check when the placeholder is the
whole value of an enum or a pattern) wherever it appears, until the user replaces it."""
FIELD_PLACEHOLDERS = {"strategy": "FILL-IN-STRATEGY", "engine": "FILL-IN-ENGINE", "arn": "FILL-IN-MASTER-SECRET-ARN"}
"""discover's placeholders, each the whole value of its field: that field's own check (the
enum's, the ARN's) reports it with :func:`placeholder_message`, and rules.placeholders does
not report it a second time."""


def placeholder_message(token: str) -> str:
    return f"replace the placeholder {token} with {PLACEHOLDERS[token][0]}"


WINDOW_PATTERN = r"^([1-9]|1[0-9]|2[0-4])h$"
SUBNET_PATTERN = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
SG_PATTERN = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
RUNTIME_PATTERN = r"^(python3\.[0-9]+|nodejs[0-9]+\.x|java[0-9]+|dotnet[0-9]+|ruby[0-9]+\.[0-9]+|provided\.al2(023)?)$"
HANDLER_PATTERN = r"^[^\s]+$"  # AWS Lambda's own pattern for a handler
MODULE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
CSC_PATTERN = r"^arn:(aws|aws-cn|aws-us-gov):lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$"
TracingMode = Literal["PassThrough", "Active"]

# Friendlier words for pattern mismatches, keyed by the last element of the field path.
_PATTERN_HINTS = {
    "account_id": 'must be the 12-digit AWS account id, quoted so that YAML keeps it text ("012345678901")',
    "window": "must be a whole number of hours from 1h to 24h, such as 3h",
    "subnet_ids": "must be a subnet id such as subnet-0a1b2c3d4e5f60718",
    "security_group_ids": "must be a security group id such as sg-0a1b2c3d4e5f60718",
    "runtime": "must be a Lambda runtime identifier such as python3.12",
    "path": "must start and end with / and hold printable ASCII, such as /rotation/",
    "semantic_version": "must be a version such as 1.1.671",
    "endpoint": "must be an https:// URL without a path",
    "handler": f"must be a Lambda handler: 1-{aws.HANDLER_MAX} characters without whitespace",
    "module": "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit",
    "code_signing_config_arn": "must be a code signing configuration ARN (arn:aws:lambda:<region>:<account>:code-signing-config:csc-...)",
    "db_instance": "must be an RDS DB instance identifier: 1-63 letters, digits and hyphens, starting with a letter",
    "db_cluster": "must be an RDS DB cluster identifier: 1-63 letters, digits and hyphens, starting with a letter",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Vpc(_Strict):
    """The function runs in a VPC; the role gets the network-interface actions."""

    subnet_ids: Annotated[
        list[Annotated[str, Field(pattern=SUBNET_PATTERN)]],
        Field(min_length=1, description="Subnets the function runs in"),
    ]
    security_group_ids: Annotated[
        list[Annotated[str, Field(pattern=SG_PATTERN)]],
        Field(min_length=1, description="Security groups of the function"),
    ]


class Password(_Strict):
    """What AWS's rotation function passes to GetRandomPassword, read from its environment
    (generator/aws_calls.PASSWORD_OPTIONS); unset options keep the function's own defaults."""

    length: Annotated[
        int | None,
        Field(ge=aws.PASSWORD_LENGTH_MIN, le=aws.PASSWORD_LENGTH_MAX, description="PASSWORD_LENGTH (default 32)"),
    ] = None
    exclude_characters: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=aws.PASSWORD_LENGTH_MAX,
            description="EXCLUDE_CHARACTERS; replaces the function's default (/@\"'\\, for PostgreSQL also :, for Db2 also ;)",
        ),
    ] = None
    exclude_numbers: Annotated[bool | None, Field(description="EXCLUDE_NUMBERS (default false)")] = None
    exclude_punctuation: Annotated[bool | None, Field(description="EXCLUDE_PUNCTUATION (default false)")] = None
    exclude_uppercase: Annotated[bool | None, Field(description="EXCLUDE_UPPERCASE (default false)")] = None
    exclude_lowercase: Annotated[bool | None, Field(description="EXCLUDE_LOWERCASE (default false)")] = None
    require_each_included_type: Annotated[
        bool | None, Field(description="REQUIRE_EACH_INCLUDED_TYPE (default true)")
    ] = None


class Package(_Strict):
    """Build the rotation function from a zip file; the path is relative to the manifest."""

    filename: Annotated[str, Field(min_length=1, description="Zip file, relative to the manifest")]
    handler: Annotated[
        str,
        Field(
            pattern=HANDLER_PATTERN,
            max_length=aws.HANDLER_MAX,
            description="Lambda handler, e.g. lambda_function.lambda_handler",
        ),
    ]
    runtime: Annotated[str, Field(pattern=RUNTIME_PATTERN, description="Lambda runtime, e.g. python3.12")]
    timeout: Annotated[int, Field(ge=1, le=aws.LAMBDA_TIMEOUT_MAX, description="Seconds")] = 30
    memory_size: Annotated[int, Field(ge=aws.LAMBDA_MEMORY_MIN, le=aws.LAMBDA_MEMORY_MAX, description="MB")] = 128
    tracing_mode: Annotated[
        TracingMode, Field(description="X-Ray tracing; PassThrough is Lambda's own default, Active adds X-Ray grants")
    ] = "PassThrough"
    reserved_concurrency: Annotated[
        int | None, Field(ge=1, le=1000, description="Reserved concurrent executions; unset by default")
    ] = None
    code_signing_config_arn: Annotated[
        str | None, Field(pattern=CSC_PATTERN, description="Lambda code signing configuration to enforce")
    ] = None
    password: Annotated[
        Password | None, Field(description="New passwords: options AWS's function reads from its environment")
    ] = None
    username_character_limit: Annotated[
        int | None,
        Field(
            ge=1,
            le=aws.MYSQL_USERNAME_MAX,
            description="USERNAME_CHARACTER_LIMIT of AWS's MySQL alternating-users function (default 16; "
            "MySQL 5.7.8 and later allow 32)",
        ),
    ] = None


class RotationApp(_Strict):
    """Deploy AWS's published rotation function for the engine and strategy (Serverless Application Repository)."""

    semantic_version: Annotated[
        str | None, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="Override the pinned version")
    ] = None
    endpoint: Annotated[
        str | None, Field(pattern=r"^https://[A-Za-z0-9.-]+$", description="Secrets Manager endpoint for the function")
    ] = None
    exclude_characters: Annotated[
        str | None, Field(max_length=128, description="Characters the new passwords must not contain")
    ] = None


PreviousNames = Annotated[
    list[str],
    Field(description="Earlier keys of this entry; the module emits moved blocks so a rename never recreates"),
]


class Function(_Strict):
    """A rotation Lambda function. One function can serve many secrets."""

    strategy: Annotated[Strategy, Field(description="Rotation strategy; alternating_users needs a master secret")]
    engine: Annotated[
        Engine,
        Field(description="Engine of the database whose credentials the function rotates; other for anything else"),
    ]
    existing_function_arn: Annotated[
        str | None,
        Field(description="Use a function that already exists (unqualified ARN); its grants go on the role it runs as"),
    ] = None
    execution_role_arn: Annotated[
        str | None,
        Field(
            description="With existing_function_arn: the role the function runs as, named at generate time and "
            "checked at plan time; without it the module reads the role from the function at plan time"
        ),
    ] = None
    package: Annotated[Package | None, Field(description="Create the function from a zip")] = None
    rotation_app: Annotated[RotationApp | None, Field(description="Deploy AWS's published rotation function (SAR)")] = (
        None
    )
    vpc: Annotated[Vpc | None, Field(description="Run the function in a VPC")] = None
    description: Annotated[
        str | None,
        Field(
            description="Free text for the execution role's (and a packaged function's) description (an error with "
            "existing_function_arn, for which it creates neither)"
        ),
    ] = None
    lock_to_secret: Annotated[
        bool,
        Field(description="Add source_arn to the permission; allowed only when exactly one secret uses the function"),
    ] = False
    previous_names: PreviousNames = Field(default_factory=list)
    import_: Annotated[
        bool,
        Field(
            alias="import",
            description="Adopt the module's resources that already exist: for a package the role, its policy and "
            "the permission; for an existing function the policy on its role and the permission (rotation-tf imports)",
        ),
    ] = False
    tags: Annotated[
        dict[str, str],
        Field(
            description="Tags on the role and on the function or rotation application the module creates for this entry, merged over the manifest's tags (an error with existing_function_arn, for which it creates nothing taggable)"
        ),
    ] = Field(default_factory=dict)


SOURCES: tuple[str, ...] = ("existing_function_arn", "package", "rotation_app")
"""The fields of :class:`Function` that say where the function comes from: exactly one is
given (rules.functions). The one list of function sources (tests/helpers/kinds.py reads it)."""
assert set(SOURCES) <= set(Function.model_fields)


class Roles(_Strict):
    """Hardening of every rotation role, each with a safe default."""

    path: Annotated[str, Field(pattern=r"^/([\x21-\x7E]{0,510}/)?$", description="IAM path of the roles")] = "/"
    permissions_boundary: Annotated[
        str | None, Field(description="ARN of a managed policy set as every role's permissions boundary")
    ] = None
    max_session_duration: Annotated[int, Field(ge=3600, le=43200, description="Seconds")] = 3600
    exclusive_policies: Annotated[
        bool,
        Field(description="Manage the roles' inline policies exclusively (aws_iam_role_policies_exclusive)"),
    ] = True
    region_in_names: Annotated[
        bool,
        Field(
            description="End IAM role names (and the deployer policy's) with the region's short form, e.g. -use1, "
            "so that manifests for two regions of one account never collide; false keeps the earlier names "
            "without the region (safe only while the account uses rotation-tf in one region)"
        ),
    ] = True


class MasterSecret(_Strict):
    """The separate secret with the credentials that alternating-users rotation uses."""

    arn: Annotated[str | None, Field(description="ARN of the master secret (read only for the role); or give name")] = (
        None
    )
    name: Annotated[
        str | None,
        Field(
            description="Name of the master secret, when its ARN is not at hand: the role's grants name AWS's partial ARN (name-??????)"
        ),
    ] = None
    kms_key_arn: Annotated[str | None, Field(description="Customer managed key of the master secret")] = None
    managed_by: Annotated[
        Literal["redshift_cluster", "redshift_serverless"] | None,
        Field(
            description="A Redshift-managed admin secret (redshift!...): owned by a provisioned cluster or by a "
            "Serverless namespace, which its name cannot tell; the grants follow (DescribeClusters, or "
            "ListNamespaces and ListWorkgroups)"
        ),
    ] = None


RDS_IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,62}$"  # RDS identifiers (CreateDBInstance, CreateDBCluster)


class ReplicaOfMaster(_Strict):
    """The secret's host is not its master's but a read replica, or an Aurora reader, of the
    master's database: AWS's alternating-users function then asks RDS (is_rds_replica_database).
    Exactly one of db_instance or db_cluster."""

    db_instance: Annotated[
        str | None,
        Field(
            pattern=RDS_IDENTIFIER_PATTERN,
            description="The read replica (a DB instance): the first label of the secret's host; the role may "
            "describe that instance",
        ),
    ] = None
    db_cluster: Annotated[
        str | None,
        Field(
            pattern=RDS_IDENTIFIER_PATTERN,
            description="The Aurora cluster whose reader endpoint or reader instance is the secret's host: the "
            "first label of the master's host (its cluster endpoint); the role may describe that cluster",
        ),
    ] = None


class Schedule(_Strict):
    """Exactly one of every_days or expression; window is the rotation window."""

    every_days: Annotated[
        int | None,
        Field(
            description=f"Rotate every N days (1-{EVERY_DAYS_MAX}, AutomaticallyAfterDays' API range; rate() stops at {RATE_DAYS_MAX})"
        ),
    ] = None
    expression: Annotated[str | None, Field(description="rate(N hours|days) or cron(0 H D M W *)")] = None
    window: Annotated[str | None, Field(pattern=WINDOW_PATTERN, description="Rotation window, e.g. 3h")] = None


class Connection(_Strict):
    """The database fields of the secret's first version (the password is generated)."""

    host: Annotated[str, Field(min_length=1, max_length=255)]
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
    username: Annotated[str, Field(min_length=1, max_length=128)]
    dbname: Annotated[str | None, Field(min_length=1, max_length=128)] = None


class Replica(_Strict):
    region: str
    kms_key_arn: Annotated[str | None, Field(description="Key in the replica's region")] = None


class External(_Strict):
    """A managed external secret: Secrets Manager rotates the partner's credential itself,
    assuming the role the module creates (no Lambda function)."""

    type: Annotated[
        SecretType,
        Field(
            description="The secret type of the partner's credential (AWS's partner table), e.g. SalesforceClientSecret"
        ),
    ]
    metadata: Annotated[
        dict[str, str],
        Field(
            description="The partner's rotation metadata (ExternalSecretRotationMetadata): the keys its page documents, "
            "values as text"
        ),
    ] = Field(default_factory=dict)
    admin_kms_key_arn: Annotated[
        str | None,
        Field(
            description="Customer managed key of the secret metadata adminSecretArn names (the role may decrypt with it)"
        ),
    ] = None
    credentials_stored: Annotated[
        bool | None,
        Field(
            description="With create: true (required there): false creates the secret without rotation until you put "
            "the partner's fields in it; true turns rotation on"
        ),
    ] = None


class Secret(_Strict):
    """A secret to rotate, keyed by its name."""

    function: Annotated[
        str | None,
        Field(description="Key of the function in `functions`; required unless managed: true or external"),
    ] = None
    managed: Annotated[
        bool,
        Field(
            description="Rotated by the service that owns the secret (RDS, Aurora, Redshift, DocumentDB "
            "manage_master_user_password): the module sets the schedule only, with no function"
        ),
    ] = False
    external: Annotated[
        External | None,
        Field(description="A managed external secret: Secrets Manager rotates it with the partner; no function"),
    ] = None
    arn: Annotated[str | None, Field(description="The secret's full ARN; optional")] = None
    kms_key_arn: Annotated[str | None, Field(description="Customer managed key that encrypts the secret")] = None
    master_secret: Annotated[
        MasterSecret | None, Field(description="Required for alternating_users, not allowed for single_user")
    ] = None
    replica_of_master: Annotated[
        ReplicaOfMaster | None,
        Field(
            description="The secret's host is a read replica or an Aurora reader of its master's database (its "
            "host differs from the master's); the role may ask RDS, as AWS's function does"
        ),
    ] = None
    schedule: Annotated[Schedule, Field(description="When the secret rotates")]
    rotate_immediately: Annotated[bool, Field(description="Rotate once as soon as rotation is turned on")] = False
    previous_names: Annotated[
        list[str],
        Field(
            description="Refused: Secrets Manager cannot rename a secret (a new name is a new secret); "
            "the error says what the rename really does"
        ),
    ] = Field(default_factory=list)
    import_: Annotated[
        bool, Field(alias="import", description="Adopt the secret's existing rotation (rotation-tf imports)")
    ] = False
    create: Annotated[bool, Field(description="The module creates the secret and its first version")] = False
    description: Annotated[str | None, Field(max_length=2048, description="Description of a created secret")] = None
    recovery_window_days: Annotated[
        int,
        Field(
            description=f"Days a deleted created secret can be restored: 0 or {aws.RECOVERY_WINDOW_MIN}-{aws.RECOVERY_WINDOW_MAX}"
        ),
    ] = 30
    replicas: Annotated[list[Replica], Field(description="Replica regions of a created secret")] = Field(
        default_factory=list
    )
    connection: Annotated[Connection | None, Field(description="Fields of a created secret's first version")] = None
    tags: Annotated[dict[str, str], Field(description="Tags on a created secret, merged over the manifest's tags")] = (
        Field(default_factory=dict)
    )
    password_in_database: Annotated[
        bool | None,
        Field(
            description="Created secret of a single_user function (required there): false creates it without "
            "rotation until you set its password in the database; true turns rotation on"
        ),
    ] = None


class Manifest(_Strict):
    """A rotation-tf manifest, version 1."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, title="rotation-tf manifest", json_schema_extra={"$id": "rotation-tf"}
    )

    version: Annotated[Literal[1], Field(description="Manifest format version")]
    account_id: Annotated[str, Field(pattern=ACCOUNT_PATTERN, description="The aws:SourceAccount value")]
    region: Annotated[str, Field(description="AWS region of the secrets and functions, e.g. us-east-1")]
    partition: Annotated[Partition | None, Field(description="Must match the region; derived from it when omitted")] = (
        None
    )
    name_prefix: Annotated[str, Field(max_length=32, description="Prepended to IAM role and policy names")] = ""
    tags: Annotated[dict[str, str], Field(description="Tags on every taggable resource")] = Field(default_factory=dict)
    module: Annotated[
        str | None,
        Field(pattern=MODULE_PATTERN, description="Name of the module folder; defaults to the manifest's file name"),
    ] = None
    roles: Annotated[Roles, Field(description="Hardening of the rotation roles")] = Field(default_factory=Roles)
    functions: Annotated[
        dict[str, Function],
        Field(description="Rotation Lambda functions, keyed by name; none when every secret is managed: true"),
    ] = Field(default_factory=dict)
    secrets: Annotated[
        dict[str, Secret], Field(min_length=1, description="Secrets to rotate, keyed by the secret's name")
    ]


# --------------------------------------------------------------------------------------
# Turning pydantic errors into diagnostics


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the field at ``loc`` (used to suggest spellings)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _message(model: type[BaseModel], err: ErrorDetails, loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    value = err.get("input")
    name = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "required field is missing"
    if isinstance(value, str) and value in PLACEHOLDERS and value != ACCOUNT_PLACEHOLDER:
        return placeholder_message(value)
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        msg = f"unknown field {name!r}"
        if owner is not None:
            allowed = sorted(f.alias or n for n, f in owner.model_fields.items())
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            if close:
                msg += f"; did you mean {close[0]!r}?"
            else:
                msg += f"; expected one of: {', '.join(allowed)}"
        return msg
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        msg = (
            f"{value!r} is not one of: {', '.join(options)}"
            if isinstance(value, str)
            else (f"must be one of: {', '.join(options)}; got {_describe(value)}")
        )
        if isinstance(value, str):
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        return msg
    if kind == "string_type" and name == "account_id" and isinstance(value, int):
        return (
            f"YAML read the account id as the number {value}; quote it so that it stays text, "
            'for example account_id: "012345678901"'
        )
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}" + _window_hint(name, value)
    if kind == "string_pattern_mismatch" and name == "account_id" and value == ACCOUNT_PLACEHOLDER:
        return f"replace the placeholder {ACCOUNT_PLACEHOLDER} with your 12-digit AWS account id (quoted)"
    if kind == "string_pattern_mismatch":
        key = next((str(p) for p in reversed(loc) if isinstance(p, str)), name)
        hint = _PATTERN_HINTS.get(key, f"does not match {err.get('ctx', {}).get('pattern')}")
        return f"{value!r} {hint}" + _window_hint(name, value)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{value!r} is out of range: {err['msg'].replace('Input should be', 'must be')}"
    if kind in ("too_short", "string_too_short") and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return (
            err["msg"]
            .replace("Value should", "must")
            .replace("String should", "must")
            .replace("List should", "must")
            .replace("Dictionary should", "must")
        )
    return err["msg"]


def _window_hint(name: str, value: Any) -> str:
    """``window: 4``, ``window: "4"`` or ``window: 4 hours`` most likely mean ``4h``."""
    if name != "window" or isinstance(value, bool):
        return ""
    m = re.fullmatch(r"\s*([0-9]+)\s*(h|hr|hrs|hour|hours)?\s*", str(value), re.IGNORECASE)
    if not isinstance(value, int | str) or m is None or not 1 <= int(m.group(1)) <= 24:
        return ""
    return f"; did you mean '{int(m.group(1))}h'?"


def diagnostics_from(
    source: Source, model: type[BaseModel], exc: ValidationError, prefix: tuple[Any, ...] = ()
) -> list[Diagnostic]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        on_key = err["type"] == "extra_forbidden"
        out.append(source.diag(prefix + loc, _message(model, err, prefix + loc), key=on_key))
    return out


def _delete(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` from nested dicts/lists; False when there is none."""
    if not loc:
        return False
    parent = data
    for part in loc[:-1]:
        if isinstance(parent, dict) and part in parent:
            parent = parent[part]
        elif isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent):
            parent = parent[part]
        else:
            return False
    last = loc[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
        return True
    return False


M = TypeVar("M", bound=BaseModel)


def _salvage(
    cls: type[M], data: Any, fill: Mapping[str, Any] | None = None, rounds: int = 8
) -> tuple[M | None, set[tuple[Any, ...]], set[str]]:
    """Validate ``data`` as ``cls``, dropping the values that fail, so that the rules in
    :mod:`generator.rules` can still look at the rest. Shape errors are reported
    separately; this only decides what is left to check. A required top-level field named
    in ``fill`` that is missing (or was dropped) gets that stand-in value, so that the rest
    still validates; the caller must treat it as unknown.

    Returns (model or None, dropped paths, filled field names).
    """
    work = copy.deepcopy(data)
    dropped: set[tuple[Any, ...]] = set()
    filled: set[str] = set()
    if not isinstance(work, dict):
        return None, dropped, filled
    for _ in range(rounds):  # bounded: each round removes or fills at least one value
        try:
            return cls.model_validate(work), dropped, filled
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        changed = False
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "missing":
                name = str(loc[0]) if len(loc) == 1 else ""
                if fill is not None and name in fill and name not in work:
                    work[name] = copy.deepcopy(fill[name])
                    filled.add(name)
                    changed = True
            elif _delete(work, loc):
                dropped.add(loc)
                changed = True
        if not changed:
            break
    return None, dropped, filled


@dataclass(frozen=True)
class Head:
    """The manifest's top level (every field but ``functions`` and ``secrets``) as the rules in
    :mod:`generator.rules` see it, valid or not. Every value has been validated: ``roles``
    is a :class:`Roles`, never the mapping the file holds. In a partial manifest a required
    field that is missing or had a shape error is None (unknown), and an optional one with a
    shape error has its default; either way the path is in :attr:`Partial.dropped` or the
    shape error was reported, and the rules that need the value skip it.

    tests/unit/test_partial_manifest.py holds the fields to :class:`Manifest`'s."""

    version: Literal[1] | None
    account_id: str | None
    region: str | None
    partition: Partition | None
    name_prefix: str
    tags: dict[str, str]
    module: str | None
    roles: Roles

    @classmethod
    def of(cls, m: Manifest, unknown: Set[str] = frozenset()) -> Head:
        """The head of a (possibly stand-in filled) manifest; fields in ``unknown`` are None."""
        return cls(
            version=None if "version" in unknown else m.version,
            account_id=None if "account_id" in unknown else m.account_id,
            region=None if "region" in unknown else m.region,
            partition=m.partition,
            name_prefix=m.name_prefix,
            tags=dict(m.tags),
            module=m.module,
            roles=m.roles,
        )


@dataclass(frozen=True)
class Partial:
    """What :func:`validate_shape` leaves of a manifest with shape errors, for the rules:
    the head, the functions and secrets that are well formed on their own (after dropping
    bad optional values), and the paths of every value dropped (already reported)."""

    head: Head
    functions: dict[str, Function]
    secrets: dict[str, Secret]
    dropped: frozenset[tuple[Any, ...]]


HEAD_STAND_INS: dict[str, Any] = {
    "version": 1,
    "account_id": "000000000000",
    "region": "us-east-1",
    # one well-formed entry each, so that a head is validated without its real sections
    "functions": {"_": {"strategy": "single_user", "engine": "other", "existing_function_arn": "x"}},
    "secrets": {"_": {"function": "_", "schedule": {"every_days": 1}}},
}
"""A valid value for every required field of :class:`Manifest`: what a missing or bad one is
replaced with while the head is validated; :class:`Head` then says None (unknown)."""

_SECTIONS = ("functions", "secrets")


def validate_shape(source: Source) -> tuple[Manifest | Partial, list[Diagnostic]]:
    """Validate ``source.data`` against :class:`Manifest`.

    Returns the manifest when it is valid. Otherwise returns every shape error and the
    :class:`Partial` manifest that is left once the invalid values are dropped, so that the
    semantic checks can still report problems in the rest without repeating the shape errors.
    """
    data = source.data
    try:
        return Manifest.model_validate(data), []
    except ValidationError as exc:
        diags = diagnostics_from(source, Manifest, exc)
    raw = data if isinstance(data, dict) else {}
    head_data = {k: v for k, v in raw.items() if k not in _SECTIONS}
    head_data.update({k: v for k, v in HEAD_STAND_INS.items() if k in _SECTIONS})
    manifest, dropped, filled = _salvage(Manifest, head_data, fill=HEAD_STAND_INS)
    all_dropped = {loc for loc in dropped if loc and loc[0] not in _SECTIONS}
    if manifest is not None:
        head = Head.of(manifest, unknown=filled)
    else:  # pragma: no cover - every head value can be dropped or stood in for
        head = Head(None, None, None, None, "", {}, None, Roles())
        all_dropped |= {(k,) for k in head_data if k not in _SECTIONS}
    functions = _entries(raw, "functions", Function, all_dropped)
    secrets = _entries(raw, "secrets", Secret, all_dropped)
    return Partial(head, functions, secrets, frozenset(all_dropped)), diags


def _entries(raw: dict[str, Any], section: str, cls: type[M], dropped: set[tuple[Any, ...]]) -> dict[str, M]:
    """The entries of ``section`` that are well formed once their bad optional values are
    dropped (added to ``dropped``); an entry missing a required field is left out."""
    out: dict[str, M] = {}
    given = raw.get(section)
    if isinstance(given, dict):
        for key, value in given.items():
            entry, lost, _filled = _salvage(cls, value)
            if entry is not None:
                out[key] = entry
                dropped |= {(section, key) + loc for loc in lost}
    return out
