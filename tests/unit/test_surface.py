"""The wider rotation surface (issue 5): hardening, lock_to_secret, renames, one account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.surface import BASE, _write

from generator import api
from generator.errors import Failed


def _errors(tmp_path: Path, data: dict) -> list[str]:
    with pytest.raises(Failed) as exc:
        api.load(_write(tmp_path, data))
    return [d.render() for d in exc.value.diagnostics]


def test_lock_to_secret_needs_exactly_one_secret(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["functions"]["pg"]["lock_to_secret"] = True
    data["secrets"]["prod/b"] = {"function": "pg", "schedule": {"every_days": 30}}
    errs = _errors(tmp_path, data)
    assert any(
        "functions.pg.lock_to_secret: lock_to_secret needs exactly one secret using function 'pg'; 2 do (prod/a, prod/b)"
        in e
        for e in errs
    ), errs
    del data["secrets"]["prod/b"]
    m, _ = api.load(_write(tmp_path, data))
    assert m.functions[0].lock_secret == "prod/a"


def test_previous_names_rules(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["functions"]["other"] = dict(data["functions"]["pg"], previous_names=["pg"])
    errs = _errors(tmp_path, data)
    assert any(
        "functions.other.previous_names[0]: 'pg' is still the name of an entry in functions" in e for e in errs
    ), errs


def test_secrets_that_share_a_terraform_name_are_an_error(tmp_path: Path) -> None:
    """Each secret's blocks are named after it (prod/a -> prod_a): two secrets may not map
    to the same address."""
    data = json.loads(json.dumps(BASE))
    data["secrets"]["prod.a"] = {"function": "pg", "schedule": {"every_days": 30}}
    errs = _errors(tmp_path, data)
    assert any(
        e.startswith(f"{tmp_path / 'rotation.yaml'}:")
        and "error: secrets[\"prod/a\"]: secrets 'prod.a' and 'prod/a' would both be named 'prod_a' in Terraform" in e
        for e in errs
    ), errs


def test_secret_renames_are_refused_with_the_reason(tmp_path: Path) -> None:
    """Secrets Manager cannot rename a secret: previous_names on a secret is an error, on the
    field, that says what the new name really does; no moved block is ever written for one."""
    data = json.loads(json.dumps(BASE))
    data["secrets"] = {"prod/b": {"function": "pg", "schedule": {"every_days": 30}, "previous_names": ["prod/a"]}}
    (err,) = _errors(tmp_path, data)
    assert 'secrets["prod/b"].previous_names: Secrets Manager cannot rename a secret' in err
    assert "the plan deletes the rotation of 'prod/a' and creates one for 'prod/b'" in err
    del data["secrets"]["prod/b"]["previous_names"]
    m, _ = api.load(_write(tmp_path, data))
    assert m.moves == ()
    out = tmp_path / "out"
    assert api.generate(_write(tmp_path, data), out).exit == api.Exit.OK
    assert not (out / "rotation" / "moved.tf").exists()


def test_created_alternating_secret_without_rotate_immediately_warns(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["functions"]["multi"] = dict(BASE["functions"]["pg"], strategy="alternating_users")
    data["secrets"]["app/reporting"] = {
        "function": "multi",
        "create": True,
        "connection": {"host": "db", "username": "reporting"},
        "master_secret": {"arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/admin-Adm123"},
        "schedule": {"every_days": 7},
    }
    _m, notes = api.load(_write(tmp_path, data))
    assert [d.render().split(": ", 1)[1] for d in notes if d.level.value == "warning"] == [
        'warning: secrets["app/reporting"].rotate_immediately: without rotate_immediately, Secrets Manager tests '
        "the new rotation with the secret's current version (the testSecret step), whose random password the "
        "database does not know; rotate_immediately: true lets the master secret set the password first"
    ]
    data["secrets"]["app/reporting"]["rotate_immediately"] = True
    _m, notes = api.load(_write(tmp_path, data))
    assert not [d for d in notes if d.level.value == "warning"]


def test_permissions_boundary_must_be_a_policy_arn(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["roles"] = {"permissions_boundary": "arn:aws:iam::111122223333:role/x", "max_session_duration": 100}
    errs = _errors(tmp_path, data)
    assert any("roles.permissions_boundary" in e and "not an IAM managed policy ARN" in e for e in errs), errs
    assert any("roles.max_session_duration" in e and "out of range" in e for e in errs), errs


def test_one_account_and_region_per_manifest(tmp_path: Path) -> None:
    """Several accounts or regions in one manifest are a clear error: a manifest is one
    module for one (account, region); use one manifest per pair."""
    data = json.loads(json.dumps(BASE))
    data["secrets"]["prod/a"]["arn"] = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/a-AbCdEf"
    data["functions"]["pg"]["existing_function_arn"] = "arn:aws:lambda:eu-west-1:444455556666:function:pg-rotator"
    errs = _errors(tmp_path, data)
    assert any(
        'secrets["prod/a"].arn' in e and "is in region 'us-east-1', but the manifest's region is 'eu-west-1'" in e
        for e in errs
    ), errs
    assert any("functions.pg.existing_function_arn" in e and "is in account 444455556666" in e for e in errs), errs
