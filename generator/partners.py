"""Managed external secrets: Secrets Manager rotates a credential held by a third-party
partner itself, with no Lambda function, assuming a role the module creates. One home for
the partners' facts: each secret type, its partner, its page and its rotation metadata keys.

Sources (AWS Secrets Manager User Guide):

* the partner table: https://docs.aws.amazon.com/secretsmanager/latest/userguide/mes-partners.html
* one page per secret type, each with its "Secret Metadata Fields" (required, or marked
  "(Optional)"); the page of each type is in :data:`PARTNERS`;
* the role: https://docs.aws.amazon.com/secretsmanager/latest/userguide/mes-security.html
  (its example trust policy conditions on ``aws:SourceAccount`` and on ``aws:SourceArn`` with
  ``ArnLike`` ``arn:aws:secretsmanager:<region>:<account>:secret:*``: the ARN Secrets Manager
  sends is the secret's; its example permissions policy grants the four rotation actions on
  ``"Resource": "*"`` narrowed only by ``secretsmanager:resource/Type``);
* the metadata item limits (METADATA_KEY_MAX, METADATA_VALUE_MAX),
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ExternalSecretRotationMetadataItem.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

USER_GUIDE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide"
PARTNERS_PAGE = f"{USER_GUIDE}/mes-partners.html"
SECURITY_PAGE = f"{USER_GUIDE}/mes-security.html"
METADATA_ITEM_PAGE = (
    "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ExternalSecretRotationMetadataItem.html"
)
ROTATE_SECRET_PAGE = "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html"

METADATA_KEY_MAX = 256
METADATA_VALUE_MAX = 2048

ADMIN_SECRET_KEY = "adminSecretArn"
ADMIN_SECRETS = "ReadAdminSecrets"  # the external role's statement that reads them (generator/policies.py)
"""The metadata key that names another secret whose credentials rotate this one (the admin
secret). The role reads it: GetSecretValue only, like a master secret."""

SecretType = Literal[
    "BigIDClientSecret",
    "CiscoSecurityPlatformApiKey",
    "ConfluentCloudApiKey",
    "DatabricksPAT",
    "DatabricksSPSecret",
    "DatadogAdminKey",
    "DatadogApiKey",
    "DatadogApplicationKey",
    "GitLabAccessToken",
    "JenkinsApiToken",
    "MongoDBAtlasDatabaseUser",
    "MongoDBAtlasServiceAccount",
    "NetskopeApiToken",
    "PaddleApiKey",
    "SalesforceClientSecret",
    "SnowflakeKeyPairAuthentication",
    "SnowflakePat",
    "SonarQubeToken",
]


@dataclass(frozen=True)
class Partner:
    partner: str
    page: str  # the type's own page where its address is known, else the partner table
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(sorted(self.required + self.optional))


def _page(slug: str) -> str:
    return f"{USER_GUIDE}/{slug}.html"


# fmt: off
PARTNERS: dict[str, Partner] = {
    "BigIDClientSecret": Partner("BigID", _page("mes-partner-BigId")),  # "the rotation metadata field can be left empty"
    "CiscoSecurityPlatformApiKey": Partner("Cisco", PARTNERS_PAGE),  # "requires no rotation metadata fields"
    "ConfluentCloudApiKey": Partner("Confluent Cloud", PARTNERS_PAGE, optional=(ADMIN_SECRET_KEY,)),
    "DatabricksPAT": Partner("Databricks", _page("mes-partner-DatabricksPAT"), optional=(ADMIN_SECRET_KEY, "tokenLifetimeDays")),
    "DatabricksSPSecret": Partner("Databricks", _page("mes-partner-DatabricksSPSecret"), optional=(ADMIN_SECRET_KEY, "secretLifetimeDays")),
    "DatadogAdminKey": Partner("Datadog", _page("mes-partner-DatadogAdminKey"), optional=(ADMIN_SECRET_KEY,)),
    "DatadogApiKey": Partner("Datadog", PARTNERS_PAGE, required=(ADMIN_SECRET_KEY,)),
    "DatadogApplicationKey": Partner("Datadog", PARTNERS_PAGE, required=(ADMIN_SECRET_KEY,)),
    "GitLabAccessToken": Partner("GitLab", PARTNERS_PAGE, optional=(ADMIN_SECRET_KEY, "daysToExpiry")),
    "JenkinsApiToken": Partner("Jenkins", PARTNERS_PAGE, optional=(ADMIN_SECRET_KEY,)),
    "MongoDBAtlasDatabaseUser": Partner("MongoDB Atlas", PARTNERS_PAGE, required=(ADMIN_SECRET_KEY,), optional=("apiVersion",)),
    "MongoDBAtlasServiceAccount": Partner("MongoDB Atlas", _page("mes-partner-MongoDBAtlasServiceAccount"), optional=(ADMIN_SECRET_KEY, "apiVersion")),
    "NetskopeApiToken": Partner("Netskope", _page("mes-partner-NetskopeApiToken")),  # "requires no rotation metadata fields"
    "PaddleApiKey": Partner("Paddle", _page("mes-partner-PaddleApiKey"), optional=("gracePeriodSeconds",)),
    "SalesforceClientSecret": Partner("Salesforce", _page("mes-partner-salesforce"), required=("apiVersion",), optional=(ADMIN_SECRET_KEY,)),
    "SnowflakeKeyPairAuthentication": Partner("Snowflake", _page("mes-partner-Snowflake"), optional=("cryptographicAlgorithm", "encryptPrivateKey")),
    "SnowflakePat": Partner("Snowflake", _page("mes-partner-SnowflakePat"), optional=("daysToExpiry", "expireOldTokenAfterHours")),
    "SonarQubeToken": Partner("SonarQube", PARTNERS_PAGE, optional=(ADMIN_SECRET_KEY,)),
}
# fmt: on

TYPES: tuple[str, ...] = get_args(SecretType)
assert tuple(sorted(PARTNERS)) == TYPES, "PARTNERS and SecretType must list the same secret types"


def partner(secret_type: str) -> Partner:
    return PARTNERS[secret_type]
