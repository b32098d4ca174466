"""The Terraform and hashicorp/aws versions a generated module requires, derived from the
features it uses: a module asks only for what its own blocks need.

Each feature names the release that brought it and where that is written down. The upper
bound of the provider is the newest major whose schema the tests check
(tests/terraform/test_provider_schema.py: 5.100.0 from the mirror, 6.69.1 from the vendored schema).
"""

from __future__ import annotations

from dataclasses import dataclass

PROVIDER_BELOW = "7.0.0"
"""Provider 7 is unreleased and unchecked: the constraint stops below it."""


@dataclass(frozen=True)
class Feature:
    what: str
    provider: str  # minimum hashicorp/aws version
    terraform: str  # minimum Terraform version
    source: str


_CHANGELOG = "https://github.com/hashicorp/terraform-provider-aws/blob/main/CHANGELOG.md"

BASE = Feature(
    "aws_secretsmanager_secret_rotation.rotate_immediately (every module); moved blocks need Terraform 1.1 "
    "and the import blocks of `rotation-tf imports` need 1.5",
    "5.33.0",
    "1.5.0",
    f"{_CHANGELOG} 5.33.0 (January 18, 2024): 'Add rotate_immediately argument' (#35105)",
)
EXCLUSIVE = Feature(
    "aws_iam_role_policies_exclusive (roles.exclusive_policies, on functions the module gives a role)",
    "5.68.0",
    "1.5.0",
    f"{_CHANGELOG} 5.68.0 (September 19, 2024): 'New Resource: aws_iam_role_policies_exclusive' (#39203)",
)
CREATED = Feature(
    "secret_string_wo on aws_secretsmanager_secret_version and the ephemeral "
    "aws_secretsmanager_random_password (create: true)",
    "5.88.0",
    "1.11.0",
    "https://github.com/hashicorp/terraform-provider-aws/pull/41371 (secret_string_wo, v5.88.0 milestone per "
    "https://github.com/hashicorp/terraform-provider-aws/issues/41457); the ephemeral resource came earlier "
    "(https://github.com/hashicorp/terraform-provider-aws/pull/41106, merged January 2025); write-only arguments "
    "need Terraform 1.11 (https://developer.hashicorp.com/terraform/language/resources/ephemeral/write-only), "
    "ephemeral resources 1.10",
)

EXTERNAL = Feature(
    "aws_secretsmanager_secret.type and aws_secretsmanager_secret_rotation.external_secret_rotation_role_arn / "
    "external_secret_rotation_metadata (external: managed external secrets)",
    "6.57.1",
    "1.5.0",
    "https://github.com/hashicorp/terraform-provider-aws/pull/46414 ('Implementation to support managed secrets', "
    "merged, closes #45658): the provider CHANGELOG's line for it is not in the stored copies this was checked "
    "against, so 6.57.1 is the lowest release that a published module documents for these arguments (its 2.1.0 "
    "release notes: 'Updated required AWS provider version to 6.57.1 to support new type argument'); 6.62.0's "
    "generated bindings (cdktn) and the 6.69.1 schema the tests vendor have all three",
)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class Requirements:
    terraform: str  # a version constraint
    provider: str  # a version constraint
    features: tuple[Feature, ...]  # what sets each minimum, BASE first


def combine(features: list[Feature]) -> Requirements:
    tf = max((f.terraform for f in features), key=_key)
    aws = max((f.provider for f in features), key=_key)
    return Requirements(f">= {tf}", f">= {aws}, < {PROVIDER_BELOW}", tuple(features))


def deployer() -> Requirements:
    """The deployer/ module holds one aws_iam_policy: the base requirements."""
    return combine([BASE])
