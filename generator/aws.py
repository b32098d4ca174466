"""Facts about AWS that the checks and the policy builder share: regions, ARNs, limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
        "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
        "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
        "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
    }
)  # fmt: skip


_DIRECTIONS = {
    "north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}  # fmt: skip


def region_short(region: str) -> str:
    """A short, unique form of a region for global (IAM) names: us-east-1 -> use1,
    eu-central-1 -> euc1, ap-southeast-2 -> apse2, us-gov-west-1 -> usgovw1. IAM role and
    managed-policy names are global to the account, Lambda function names are regional: the
    region in the IAM names keeps two regions of one account apart. Distinct for every
    region in REGIONS (tests/unit/test_global_names.py); an unknown direction word is kept whole."""
    parts = region.split("-")
    return "".join(_DIRECTIONS.get(p, p) for p in parts)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def secretsmanager_endpoint(partition: str, region: str) -> str:
    """Secrets Manager's regional endpoint: the SECRETS_MANAGER_ENDPOINT that AWS's rotation
    functions require (https://docs.aws.amazon.com/general/latest/gr/asm.html)."""
    return f"https://secretsmanager.{region}.{dns_suffix(partition)}"


# IAM and Lambda limits (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)
ROLE_NAME_MAX = 64
POLICY_NAME_MAX = 128
FUNCTION_NAME_MAX = 64
STATEMENT_ID_MAX = 100
ROLE_INLINE_POLICIES_MAX = 10_240  # all inline policies of one role, whitespace not counted
TRUST_POLICY_MAX = 2_048  # a role's trust policy, IAM's default quota (IAM User Guide, reference_iam-quotas)
LAMBDA_RESOURCE_POLICY_MAX = 20_480

IAM_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
STATEMENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
SECRET_NAME_MAX = 512
TAG_CHARS_RE = re.compile(r"^[\w .:/=+\-@]*$")  # letters, digits, spaces and _.:/=+-@ (Unicode)
TAG_KEY_MAX = 128
# IAM role descriptions: 1000 characters of this set; Lambda function descriptions: 256
# (the provider counts UTF-8 bytes). A description serves both, so both limits apply.
DESCRIPTION_RE = re.compile(r"^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$")
DESCRIPTION_CHAR_RE = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]")
DESCRIPTION_MAX_BYTES = 256
TAG_VALUE_MAX = 256
LAMBDA_TIMEOUT_MAX = 900  # seconds
# GetRandomPassword's PasswordLength range and ExcludeCharacters' maximum length
# (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html).
PASSWORD_LENGTH_MIN = 1
PASSWORD_LENGTH_MAX = 4096
# MySQL user names: up to 32 characters since 5.7.8 (https://dev.mysql.com/doc/refman/8.0/en/user-names.html).
MYSQL_USERNAME_MAX = 32
LAMBDA_MEMORY_MIN, LAMBDA_MEMORY_MAX = 128, 10_240  # MB
ROLE_PATH_AND_NAME_MAX = 512  # IAM: a role's path and name together
HANDLER_MAX = 128  # Lambda's CreateFunction: Handler, at most 128 characters
# Secrets Manager DeleteSecret: RecoveryWindowInDays 7-30 (0 here: delete without recovery)
RECOVERY_WINDOW_MIN, RECOVERY_WINDOW_MAX = 7, 30
# 50 user tags per resource: Secrets Manager's TagResource API reference ("Maximum number
# of tags per secret: 50"); IAM roles and Lambda functions allow 50 as well.
TAGS_MAX = 50


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):([a-z0-9-]+):([a-z0-9-]*):([0-9]{12}|):(.+)$")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def not_a_region(region: str) -> str:
    """The message for a region AWS does not have, with the closest real one."""
    close = min(sorted(REGIONS), key=lambda r: (_distance(r, region), r))  # ties: by name
    return f"{region!r} is not an AWS region; did you mean {close!r}?"


def parse_arn(text: str) -> Arn | None:
    m = _ARN_RE.match(text)
    if not m:
        return None
    return Arn(*m.groups())


LAMBDA_RESOURCE_RE = re.compile(r"^function:([A-Za-z0-9_-]{1,64})(?::([A-Za-z0-9$_-]+))?$")
# Secrets that an AWS service creates for itself carry a '!' that users cannot type
# (RDS: rds!db-<id>, rds!cluster-<id>); their ARNs hold it too.
SECRET_RESOURCE_RE = re.compile(r"^secret:([A-Za-z0-9/_+=.@!-]+)-([A-Za-z0-9]{6})$")
SERVICE_SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@!-]+$")
# An IAM role ARN's resource: role/<path>/<name>, the path optional and part of the ARN, so the
# name is always the last segment (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
ROLE_RESOURCE_RE = re.compile(r"^role(/(?:[\x21-\x2E\x30-\x7E]+/)*)([A-Za-z0-9+=,.@_-]{1,64})$")
KEY_RESOURCE_RE = re.compile(r"^key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def secret_name(arn: str) -> str:
    """The secret name in a secret's ARN, or in the partial-ARN pattern of :func:`secret_pattern`
    ('' when ``arn`` is neither: the manifest checks report that)."""
    parsed = parse_arn(arn)
    if parsed is None:
        return ""
    if parsed.resource.startswith("secret:") and parsed.resource.endswith("-??????"):
        return parsed.resource[len("secret:") : -len("-??????")]
    m = SECRET_RESOURCE_RE.match(parsed.resource)
    return m.group(1) if m else ""


def secret_pattern(partition: str, region: str, account: str, name: str) -> str:
    """AWS's partial-ARN form for a secret known only by name: six random characters follow."""
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-??????"


def function_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


def role_name_of(arn: str) -> str:
    """The role name in a role ARN: its last path segment (``role/some/path/name`` -> ``name``)."""
    return arn.rsplit("/", 1)[1]
