"""An account held in dicts, for running doctor's ``grants`` check in-process (fast tier).

:class:`DictReader` answers what :func:`generator.live.checks.grants.grants` reads from the
account reader: a role's policies, a secret's description (its ARN, key and tags), a key's
metadata and policy, and IAM's policy simulator (never available here, as in moto). Keys
have AWS's default key policy (the account's root principal: IAM decides), so what the
check judges is the role's policies alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from generator import api, model
from generator.live.checks import grants as grants_check
from generator.live.checks.context import Context
from generator.live.client import ValueShape
from generator.live.findings import Finding

ACCOUNT, REGION = "111122223333", "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/rotator-role"
ROLE = "rotator-role"


def default_key_policy(account: str = ACCOUNT) -> dict[str, Any]:
    """AWS's default key policy: the account's root principal, so IAM policies decide."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}
        ],
    }  # fmt: skip


@dataclass
class DictReader:
    """The account reader's surface the grants check uses, answered from dicts."""

    roles: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name or ARN -> description
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key ARN -> metadata
    key_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> current value (--read-values)
    databases_: list[tuple[str, str, int | None, list[str]]] = field(default_factory=list)

    def role_documents(self, role_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        return self.roles.get(role_name)

    def secret(self, secret_id: str) -> dict[str, Any] | None:
        return self.secrets.get(secret_id)

    def key(self, key_id: str) -> dict[str, Any] | None:
        return self.keys.get(key_id)

    def key_policy(self, key_arn: str) -> dict[str, Any]:
        return self.key_policies.get(key_arn) or default_key_policy()

    def simulate(self, role_arn: str, requests: list[Any]) -> None:
        return None  # IAM's simulator is not here (nor in moto): doctor's own evaluator judges

    def simulator_status(self) -> str:
        return "IAM's policy simulator was not asked"

    def value_fields(self, arn: str, wanted: tuple[str, ...]) -> ValueShape:
        value = self.values.get(arn)
        if value is None:
            return ValueShape(None, {}, "not a JSON object")
        return ValueShape(frozenset(value), {k: v for k in wanted if isinstance(v := value.get(k), str)})

    def databases(self) -> list[tuple[str, str, int | None, list[str]]]:
        return self.databases_

    # -- building the account ----------------------------------------------------------

    def add_secret(self, arn: str, *, kms_key: str | None = None, tags: dict[str, str] | None = None) -> None:
        name = arn.split(":secret:", 1)[1][: -len("-AbCdEf")]
        d: dict[str, Any] = {"ARN": arn, "Name": name}
        if kms_key:
            d["KmsKeyId"] = kms_key
            self.keys[kms_key] = {"Arn": kms_key, "KeyManager": "CUSTOMER", "KeyState": "Enabled"}
        if tags:
            d["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.secrets[arn] = self.secrets[name] = d


def load(tmp_path: Path, data: dict[str, Any], name: str = "m.yaml") -> model.Module:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    module, _ = api.load(path)
    return module


def check(
    module: model.Module,
    reader: DictReader,
    secret: str,
    *,
    before_apply: bool = False,
    role: str = ROLE,
    role_arn: str = ROLE_ARN,
) -> Finding:
    """The ``grants`` finding of ``secret`` with the account in ``reader``."""
    ctx = Context(reader, module, read_values=False, now=datetime.now(timezone.utc), before_apply=before_apply)  # type: ignore[arg-type]
    s = next(x for x in module.secrets if x.name == secret)
    fn = ctx.fn_by_key[s.function or ""]
    d = reader.secret(s.arn or s.name)
    assert d is not None, secret
    key_arn = ctx.secret_key(s, d)
    master_key = ctx.master_key(s)
    found = grants_check.grants(ctx, s, fn, d["ARN"], key_arn, master_key, role_arn, role, d)
    (f,) = [f for f in found if f.check == "grants"]
    return f


def policy_with_role(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A role's (identity policies, boundary) holding ``doc`` (a deep copy)."""
    return [json.loads(json.dumps(doc))], []
