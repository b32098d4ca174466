"""Names of AWS resources and Terraform addresses, derived from manifest keys.

Function keys become Terraform identifiers as they are (they are validated to be valid
identifiers), so ``functions.pg-single`` becomes ``aws_iam_role.pg-single``. Secret names
are never turned into identifiers: they are the keys of a ``for_each`` map, so any name
Secrets Manager allows is a valid, collision-free address such as
``aws_secretsmanager_secret_rotation.this["prod/orders/db"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FUNCTION_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Names:
    prefix: str
    key: str

    @property
    def role(self) -> str:
        return f"{self.prefix}{self.key}-rotation"

    @property
    def policy(self) -> str:
        return f"{self.prefix}{self.key}-rotation"

    @property
    def function(self) -> str:
        return f"{self.prefix}{self.key}"

    @property
    def statement_id(self) -> str:
        return f"SecretsManagerRotation-{self.prefix}{self.key}"
