"""Names of AWS resources and Terraform addresses, derived from manifest keys.

Function keys become Terraform identifiers as they are (they are validated to be valid
identifiers), so ``functions.pg-single`` becomes ``aws_iam_role.pg-single``.

Each secret gets its own blocks, named by :func:`secret_ident`: ``prod/orders/db`` becomes
``aws_secretsmanager_secret_rotation.prod_orders_db``. Literal blocks rather than one
``for_each`` over a map, because Terraform re-evaluates a ``for_each`` collection for every
instance it plans, so plan time grows with the square of the number of secrets (measured in
bench/: 1.9x the literal form at 1,000 secrets, 3.7x at 2,000). Two names that map to the
same identifier are an error (rules/renames.py), never silently renamed: an address is state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.hcl import KEYWORDS

FUNCTION_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def function_key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a function, or None. A function key names the module's
    Terraform resources as it is (:func:`generator.hcl.ident`), so besides the pattern it must
    not be one of HCL's keywords: a key ``null`` or ``true`` once validated and then crashed
    generate (issue 26)."""
    if not FUNCTION_KEY_RE.match(key):
        return "must start with a letter and hold only letters, digits, '-' and '_'"
    if key in KEYWORDS:
        return (
            f"is an HCL keyword ({', '.join(sorted(KEYWORDS))}), which cannot name a Terraform resource; choose another"
        )
    return None


_NOT_IN_IDENT = re.compile(r"[^A-Za-z0-9_-]")


SECRET_IDENT_RULE = "characters other than letters, digits, _ and - become _"
"""The rule of :func:`secret_ident` in words, for error messages and the module README."""


def secret_ident(name: str) -> str:
    """The Terraform name of a secret's blocks: every character other than letters, digits,
    ``_`` and ``-`` (Secrets Manager also allows ``/+=.@``) becomes ``_``; a name that would
    not start with a letter or ``_``, or is an HCL keyword, gets a leading ``_``."""
    ident = _NOT_IN_IDENT.sub("_", name)
    if not ident[:1].isalpha() and not ident.startswith("_") or ident in KEYWORDS:
        ident = "_" + ident
    return ident


def region_tag(region: str | None, enabled: bool = True) -> str:
    """What Names.region holds for a manifest: aws.region_short of a known region, or ""."""
    from generator import aws

    return aws.region_short(region) if enabled and region in aws.REGIONS else ""


@dataclass(frozen=True)
class Names:
    """The names the module gives AWS resources of one function.

    ``region`` is the short form of the manifest's region (aws.region_short), or "" when
    ``roles.region_in_names`` is false. It goes into the role name only: IAM names are
    global to the account, so the same function key in two regions would otherwise create
    the same role twice (EntityAlreadyExists on the second apply). The inline policy's
    name is scoped to its role (but see policy_on_existing_role), and Lambda names and
    statement ids to their region."""

    prefix: str
    key: str
    region: str = ""

    @property
    def role(self) -> str:
        return f"{self.prefix}{self.key}-rotation" + (f"-{self.region}" if self.region else "")

    @property
    def policy(self) -> str:
        return f"{self.prefix}{self.key}-rotation"

    @property
    def policy_on_existing_role(self) -> str:
        """The inline policy on an existing function's own role. That role is not the module's
        and IAM roles are global: functions of two regions may run as the same role, so this
        name carries the region like a role name, or two modules would overwrite one policy."""
        return self.role

    @property
    def function(self) -> str:
        return f"{self.prefix}{self.key}"

    @property
    def statement_id(self) -> str:
        return f"SecretsManagerRotation-{self.prefix}{self.key}"
