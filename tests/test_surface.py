"""The wider rotation surface (issue 5): hardening, lock_to_secret, renames, one account."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from harness import Root

from generator import api, model
from generator.errors import Failed

BASE = {
    "version": 1,
    "account_id": "111122223333",
    "region": "eu-west-1",
    "functions": {
        "pg": {
            "strategy": "single_user",
            "engine": "postgresql",
            "existing_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:pg-rotator",
        }
    },
    "secrets": {"prod/a": {"function": "pg", "schedule": {"every_days": 30}}},
}


def _write(tmp_path: Path, data: dict, name: str = "rotation.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _errors(tmp_path: Path, data: dict) -> list[str]:
    with pytest.raises(Failed) as exc:
        model.load(_write(tmp_path, data))
    return [d.render() for d in exc.value.diagnostics]


def test_lock_to_secret_needs_exactly_one_secret(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["functions"]["pg"]["lock_to_secret"] = True
    data["secrets"]["prod/b"] = {"function": "pg", "schedule": {"every_days": 30}}
    errs = _errors(tmp_path, data)
    assert any("functions.pg.lock_to_secret: lock_to_secret needs exactly one secret using function 'pg'; 2 do (prod/a, prod/b)" in e for e in errs), errs
    del data["secrets"]["prod/b"]
    m, _ = model.load(_write(tmp_path, data))
    assert m.functions[0].lock_secret == "prod/a"


def test_previous_names_rules(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["functions"]["other"] = dict(data["functions"]["pg"], previous_names=["pg"])
    errs = _errors(tmp_path, data)
    assert any("functions.other.previous_names[0]: 'pg' is still the name of an entry in functions" in e for e in errs), errs


def test_secrets_that_share_a_terraform_name_are_an_error(tmp_path: Path) -> None:
    """Each secret's blocks are named after it (prod/a -> prod_a): two secrets, or a secret
    and another's previous name, may not map to the same address."""
    data = json.loads(json.dumps(BASE))
    data["secrets"]["prod.a"] = {"function": "pg", "schedule": {"every_days": 30}}
    data["secrets"]["prod/b"] = {"function": "pg", "schedule": {"every_days": 30}, "previous_names": ["prod+a"]}
    errs = _errors(tmp_path, data)
    assert any(
        e.startswith(f"{tmp_path / 'rotation.yaml'}:")
        and "error: secrets[\"prod/a\"]: secrets 'prod.a' and 'prod/a' would both be named 'prod_a' in Terraform" in e
        for e in errs
    ), errs
    assert any("secrets[\"prod/b\"].previous_names[0]: 'prod+a' would be named 'prod_a' in Terraform, already the name of secret 'prod.a'" in e for e in errs), errs


def test_secret_renames_move_by_terraform_name(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["secrets"] = {
        "prod/b": {"function": "pg", "schedule": {"every_days": 30}, "previous_names": ["old/b", "old.b", "prod/a"]},
        "prod.c": {"function": "pg", "schedule": {"every_days": 30}, "previous_names": ["prod/c"]},
    }
    m, _ = model.load(_write(tmp_path, data))
    # old/b and old.b share a name (nothing to move between them); prod/c -> prod.c keeps it
    assert m.moves == (("secret", "old_b", "prod_a"), ("secret", "prod_a", "prod_b"))
    out = tmp_path / "out"
    assert api.generate(_write(tmp_path, data), out).exit == api.Exit.OK
    moved = (out / "rotation" / "moved.tf").read_text()
    assert "from = aws_secretsmanager_secret_rotation.old_b\n  to   = aws_secretsmanager_secret_rotation.prod_a\n" in moved
    assert "from = aws_secretsmanager_secret_rotation.prod_a\n  to   = aws_secretsmanager_secret_rotation.prod_b\n" in moved
    assert moved.count("moved {") == 2
    assert 'resource "aws_secretsmanager_secret_rotation" "prod_c"' in (out / "rotation" / "rotation.tf").read_text()


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
    assert any("secrets[\"prod/a\"].arn" in e and "is in region 'us-east-1', but the manifest's region is 'eu-west-1'" in e for e in errs), errs
    assert any("functions.pg.existing_function_arn" in e and "is in account 444455556666" in e for e in errs), errs


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", "def lambda_handler(e, c):\n    return None\n")
    return buf.getvalue()


def _prepare_moto(moto, region: str, functions: list[str], secrets: list[str]) -> None:
    iam = moto.client("iam", region)
    role = iam.create_role(
        RoleName="existing-rotator-role",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    lam = moto.client("lambda", region)
    for name in functions:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="lambda_function.lambda_handler", Code={"ZipFile": _dummy_zip()})
    sm = moto.client("secretsmanager", region)
    for name in secrets:
        sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "password": "p"}))


@pytest.mark.terraform
def test_rename_plans_moves_only(terraform, moto, tmp_path: Path) -> None:
    _prepare_moto(moto, "eu-west-1", ["pg-rotator"], ["prod/a"])
    manifest = _write(tmp_path, BASE)
    out = tmp_path / "out"
    assert api.generate(manifest, out).exit == api.Exit.OK
    root = Root(terraform, tmp_path / "root", out / "rotation", region="eu-west-1", endpoint=moto.url)
    root.init()
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")

    renamed = json.loads(json.dumps(BASE))
    renamed["functions"] = {"postgres": dict(BASE["functions"]["pg"], previous_names=["pg"])}
    renamed["secrets"]["prod/a"]["function"] = "postgres"
    _write(tmp_path, renamed)
    assert api.generate(manifest, out).exit == api.Exit.OK
    plan = root.plan_json()
    actions = {c["address"]: (c["change"]["actions"], c.get("previous_address")) for c in plan["resource_changes"]}
    moved = {a: p for a, (acts, p) in actions.items() if p}
    assert all(acts in (["no-op"], ["read"]) for acts, _ in actions.values()), actions
    assert moved == {
        "module.rotation.aws_iam_role.postgres": "module.rotation.aws_iam_role.pg",
        "module.rotation.aws_iam_role_policy.postgres": "module.rotation.aws_iam_role_policy.pg",
        "module.rotation.aws_iam_role_policies_exclusive.postgres": "module.rotation.aws_iam_role_policies_exclusive.pg",
        "module.rotation.aws_lambda_permission.postgres": "module.rotation.aws_lambda_permission.pg",
    }
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    again = root.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", check=False)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.terraform
def test_created_secret_apply_keeps_password_out_of_state(terraform, moto, tmp_path: Path) -> None:
    """create: true in moto: the secret and its first version exist, the version holds the
    engine's fields plus a generated password, the password is in neither plan nor state,
    rotation is on, and the next plan is empty."""
    data = {
        "version": 1,
        "account_id": "111122223333",
        "region": "us-east-1",
        "functions": {
            "pg": {"strategy": "single_user", "engine": "postgresql",
                   "existing_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:pg-rotator"}
        },
        "secrets": {
            "app/db": {
                "function": "pg",
                "create": True,
                "description": 'quotes " and ${not_interpolated} and %{ if x }',
                "recovery_window_days": 0,
                "connection": {"host": "db.internal", "port": 5432, "username": "app", "dbname": "app"},
                "schedule": {"every_days": 30},
            }
        },
    }
    _prepare_moto(moto, "us-east-1", ["pg-rotator"], [])
    manifest = _write(tmp_path, data)
    out = tmp_path / "out"
    assert api.generate(manifest, out).exit == api.Exit.OK
    root = Root(terraform, tmp_path / "root", out / "rotation", region="us-east-1", endpoint=moto.url)
    root.init()
    applied = root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")

    sm = moto.client("secretsmanager")
    described = sm.describe_secret(SecretId="app/db")
    assert described["Description"] == data["secrets"]["app/db"]["description"]
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == "arn:aws:lambda:us-east-1:111122223333:function:pg-rotator"
    value = json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"])
    password = value.pop("password")
    assert value == {"engine": "postgres", "host": "db.internal", "port": 5432, "username": "app", "dbname": "app"}
    assert len(password) == 32 and not set(password) & set("/@\"'\\")
    state = (tmp_path / "root" / "terraform.tfstate").read_text()
    assert password not in state and password not in applied.stdout
    again = root.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", check=False)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.terraform
def test_import_adopts_existing_resources(terraform, moto, tmp_path: Path) -> None:
    """Resources made outside this state (here: by another root) are adopted by the import
    blocks `rotation-tf imports` prints: the plan imports them and changes nothing."""
    _prepare_moto(moto, "eu-west-1", ["pg-rotator"], ["prod/a"])
    data = json.loads(json.dumps(BASE))
    manifest = _write(tmp_path, data)
    out = tmp_path / "out"
    assert api.generate(manifest, out).exit == api.Exit.OK
    first = Root(terraform, tmp_path / "first", out / "rotation", region="eu-west-1", endpoint=moto.url)
    first.init()
    first.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")

    data["functions"]["pg"]["import"] = True
    data["secrets"]["prod/a"]["import"] = True
    _write(tmp_path, data)
    assert api.generate(manifest, out).exit == api.Exit.OK
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "imports", str(manifest), "--module-address", "module.rotation"],
        capture_output=True, text=True, check=True,
    )
    second = Root(terraform, tmp_path / "second", out / "rotation", region="eu-west-1", endpoint=moto.url)
    (second.path / "imports.tf").write_text(proc.stdout)
    second.run("fmt", "-check", "imports.tf")
    second.init()
    plan = second.plan_json()
    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert {c["address"] for c in changes} == {
        "module.rotation.aws_iam_role.pg",
        "module.rotation.aws_iam_role_policy.pg",
        "module.rotation.aws_iam_role_policies_exclusive.pg",
        "module.rotation.aws_lambda_permission.pg",
        "module.rotation.aws_secretsmanager_secret_rotation.prod_a",
    }
    for c in changes:
        assert c["change"].get("importing"), c["address"]
        assert c["change"]["actions"] == ["no-op"], (c["address"], c["change"]["actions"])
