"""The rotation surface applied in moto (issue 5): a rename plans as moves only, a created
secret keeps its password out of plan and state, and `rotation-tf imports` adopts what
exists. The rules themselves are tested without terraform in test_surface.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.harness import Root, seed_moto
from helpers.surface import BASE, _write

from generator import api

pytestmark = [pytest.mark.moto, pytest.mark.terraform]


def test_rename_plans_moves_only(terraform, moto, tmp_path: Path) -> None:
    seed_moto(moto, "eu-west-1", ["pg-rotator"], ["prod/a"])
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
        # an existing function: its role is not the module's, only the policy on it moves
        "module.rotation.aws_iam_role_policy.postgres": "module.rotation.aws_iam_role_policy.pg",
        "module.rotation.aws_lambda_permission.postgres": "module.rotation.aws_lambda_permission.pg",
    }
    root.apply_plan()
    again = root.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", check=False)
    assert again.returncode == 0, again.stdout + again.stderr


def test_created_secret_apply_keeps_password_out_of_state(terraform, moto, tmp_path: Path) -> None:
    """create: true in moto: the secret and its first version exist, the version holds the
    engine's fields plus a generated password, the password is in neither plan nor state,
    rotation is on, and the next plan is empty."""
    data = {
        "version": 1,
        "account_id": "111122223333",
        "region": "us-east-1",
        "functions": {
            "pg": {
                "strategy": "single_user",
                "engine": "postgresql",
                "existing_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:pg-rotator",
            }
        },
        "secrets": {
            "app/db": {
                "function": "pg",
                "create": True,
                "password_in_database": True,
                "description": 'quotes " and ${not_interpolated} and %{ if x }',
                "recovery_window_days": 0,
                "connection": {"host": "db.internal", "port": 5432, "username": "app", "dbname": "app"},
                "schedule": {"every_days": 30},
            }
        },
    }
    seed_moto(moto, "us-east-1", ["pg-rotator"], [])
    manifest = _write(tmp_path, data)
    out = tmp_path / "out"
    result = api.generate(manifest, out)
    assert result.exit == api.Exit.OK and result.module is not None
    created = result.module.secrets[0].managed
    assert created is not None
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
    assert len(password) == created.password_length and not set(password) & set(created.password_excluded)
    state = (tmp_path / "root" / "terraform.tfstate").read_text()
    assert password not in state and password not in applied.stdout
    again = root.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", check=False)
    assert again.returncode == 0, again.stdout + again.stderr


def test_import_adopts_existing_resources(terraform, moto, tmp_path: Path) -> None:
    """Resources made outside this state (here: by another root) are adopted by the import
    blocks `rotation-tf imports` prints: the plan imports them and changes nothing."""
    seed_moto(moto, "eu-west-1", ["pg-rotator"], ["prod/a"])
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
        capture_output=True,
        text=True,
        check=True,
    )
    second = Root(terraform, tmp_path / "second", out / "rotation", region="eu-west-1", endpoint=moto.url)
    (second.path / "imports.tf").write_text(proc.stdout)
    second.run("fmt", "-check", "imports.tf")
    second.init()
    plan = second.plan_json()
    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert {c["address"] for c in changes} == {
        "module.rotation.aws_iam_role_policy.pg",  # not the function's own role: the module does not manage it
        "module.rotation.aws_lambda_permission.pg",
        "module.rotation.aws_secretsmanager_secret_rotation.prod_a",
    }
    for c in changes:
        assert c["change"].get("importing"), c["address"]
        assert c["change"]["actions"] == ["no-op"], (c["address"], c["change"]["actions"])
