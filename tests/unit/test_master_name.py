"""master_secret: {name: ...} (issue 14): the same partial-ARN form as a rotated secret
given by name, wherever the role's grants name the master secret; refused where AWS needs
the full ARN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.paths import ROOT

from generator import api, other_policies
from generator.errors import Failed

MASTER_KEY = "arn:aws:kms:us-east-1:111122223333:key/abcd1234-ab12-cd34-ef56-abcdef123456"
PATTERN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/users/db-admin-??????"


def example(master: dict[str, Any]) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())
    data["secrets"]["prod/users/db"]["master_secret"] = master
    return data


def load(tmp_path: Path, data: dict[str, Any]):
    path = tmp_path / "rotation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "build").mkdir(exist_ok=True)
    (tmp_path / "build" / "rotator.zip").write_bytes((ROOT / "examples" / "build" / "rotator.zip").read_bytes())
    return api.load(path)


def errors(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(Failed) as info:
        load(tmp_path, data)
    return [d.render() for d in info.value.diagnostics]


def test_a_master_by_name_is_granted_by_its_partial_arn(tmp_path: Path) -> None:
    module, _ = load(tmp_path, example({"name": "prod/users/db-admin", "kms_key_arn": MASTER_KEY}))
    fn = {f.key: f for f in module.functions}["mysql-alt"]
    assert fn.policy is not None
    st = {s.sid: s for s in fn.policy.statements}
    assert st["ReadMasterSecrets"].resources == (PATTERN,) and st["ReadMasterSecrets"].actions == (
        "secretsmanager:GetSecretValue",
    )
    assert st["ReadMasterSecretKey1"].condition == {"StringLike": {"kms:EncryptionContext:SecretARN": PATTERN}}
    key_policy = other_policies.key_policy_statements(module)[MASTER_KEY]
    assert any(PATTERN in str(s.get("Condition")) for s in key_policy)


@pytest.mark.parametrize(
    "master,message",
    [
        (
            {"name": "prod/users/db-admin", "arn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf"},
            "give the master secret's arn or its name, not both",
        ),
        ({"kms_key_arn": MASTER_KEY}, "give the master secret's arn or its name"),
        ({"name": "prod/users/db"}, "the master secret must be a different secret from the one it rotates"),
        ({"name": "bad name!"}, "must be 1-512 of letters, digits and /_+=.@-"),
    ],
)
def test_bad_master_names(tmp_path: Path, master: dict[str, Any], message: str) -> None:
    found = errors(tmp_path, example(master))
    assert any('secrets["prod/users/db"].master_secret' in e and message in e for e in found), found


def test_where_aws_needs_the_arn_a_name_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "examples" / "managed-secrets.yaml").read_text())
    created = next(name for name, s in data["secrets"].items() if s.get("create") and s.get("master_secret"))
    data["secrets"][created]["master_secret"] = {"name": "payments/admin"}
    found = errors(tmp_path, data)
    assert any("names its master secret by ARN (masterarn); give master_secret.arn" in e for e in found), found
    data = yaml.safe_load((ROOT / "examples" / "rotation-app.yaml").read_text())
    alt = next(name for name, s in data["secrets"].items() if s.get("master_secret"))
    data["secrets"][alt]["master_secret"] = {"name": "some/admin"}
    found = errors(tmp_path, data)
    assert any("takes the master secret's ARN (masterSecretArn); give master_secret.arn" in e for e in found), found
