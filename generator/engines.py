"""The one list of database engines, and what each engine means to AWS.

Everything that names engines reads them from here: the manifest model (and so the JSON
Schema and the README's manifest reference), ``rotation-tf init --engine``, the checks,
the first version of a created secret and AWS's published rotation applications.
``tests/unit/test_engines.py`` fails when a second list appears anywhere in the package,
the templates or the README.

Sources: the ``engine`` values that AWS's rotation functions read from a secret are those
of "JSON structure of AWS Secrets Manager secrets"
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html);
the application names are those the AWS CDK pins (aws-secretsmanager/lib/secret-rotation.ts).
"""

from __future__ import annotations

from typing import Literal, get_args

Engine = Literal["postgresql", "mysql", "mariadb", "oracle", "sqlserver", "db2", "redshift", "mongodb", "other"]
ENGINES: tuple[str, ...] = get_args(Engine)
OTHER = "other"  # anything else: no published rotation application, no engine field


# engine -> (value of the "engine" field in a database secret, infix of AWS's application name)
_FACTS: dict[str, tuple[str, str]] = {
    "postgresql": ("postgres", "RDSPostgreSQL"),
    "mysql": ("mysql", "RDSMySQL"),
    "mariadb": ("mariadb", "RDSMariaDB"),
    "oracle": ("oracle", "RDSOracle"),
    "sqlserver": ("sqlserver", "RDSSQLServer"),
    "db2": ("db2", "RDSDb2"),
    "redshift": ("redshift", "Redshift"),
    "mongodb": ("mongo", "MongoDB"),  # also Amazon DocumentDB
}
assert set(_FACTS) == set(ENGINES) - {OTHER}, "every engine but 'other' needs its facts"


def secret_engine(engine: str) -> str:
    """The ``engine`` value AWS's rotation functions expect in the secret (``other``: as given)."""
    return _FACTS[engine][0] if engine in _FACTS else engine


def application_infix(engine: str) -> str | None:
    """The engine's part of AWS's rotation application name, or None when AWS publishes none."""
    return _FACTS[engine][1] if engine in _FACTS else None
