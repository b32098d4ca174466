"""What renaming a secret and creating one really do in the account (issue 11.3 and 11.4).

* Secrets Manager cannot rename a secret. A new name in the manifest is another secret: the
  plan deletes the old rotation and creates a new one (for a created secret, the secret and
  its password too). ``previous_names`` on a secret is refused with that reason, and a
  created secret that leaves the manifest is a warning naming the delete.
* A created secret of a single_user function starts without rotation until its password is
  in the database (``password_in_database: false``), then rotation is turned on.

Each is applied in moto and read back with boto3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.harness import Root
from helpers.lifecycle import World

from generator import api
from generator.naming import secret_ident

pytestmark = [pytest.mark.moto, pytest.mark.terraform]

REGION = "eu-west-1"
ACCOUNT = "111122223333"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pg-rotator"
PREFIX = "module.rotation."


def _data(secrets: dict) -> dict:
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": REGION,
        "functions": {"pg": {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": FUNCTION_ARN}},
        "secrets": secrets,
    }


def _generate(tmp_path: Path, data: dict) -> api.Result:
    manifest = tmp_path / "rotation.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    return api.generate(manifest, tmp_path / "out")


def _apply(root: Root) -> None:
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")


def _root(terraform, moto, tmp_path: Path, data: dict) -> Root:
    result = _generate(tmp_path, data)
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    root = Root(terraform, tmp_path / "root", result.target, region=REGION, endpoint=moto.url)
    root.init()
    _apply(root)
    return root


def _addr(kind: str, name: str) -> str:
    return f"{PREFIX}{kind}.{secret_ident(name)}"


def test_a_renamed_secret_is_another_secret(terraform, moto, tmp_path: Path) -> None:
    world = World(moto, REGION)
    world.function(FUNCTION_ARN)
    old, new = world.secret("prod/orders/db"), world.secret("prod/orders/db-v2")
    root = _root(
        terraform, moto, tmp_path, _data({"prod/orders/db": {"function": "pg", "schedule": {"every_days": 30}}})
    )

    # previous_names is refused, with the reason.
    renamed = _data(
        {"prod/orders/db-v2": {"function": "pg", "previous_names": ["prod/orders/db"], "schedule": {"every_days": 30}}}
    )
    refused = _generate(tmp_path, renamed)
    assert refused.exit == api.Exit.USAGE
    (msg,) = [d.render() for d in refused.diagnostics]
    assert 'secrets["prod/orders/db-v2"].previous_names: Secrets Manager cannot rename a secret' in msg, msg

    # Without it, the plan says what AWS does: one rotation deleted, another created.
    del renamed["secrets"]["prod/orders/db-v2"]["previous_names"]
    assert _generate(tmp_path, renamed).exit == api.Exit.OK
    code, planned = root.plan_changes(out="tfplan")
    assert code == 2 and planned == {
        _addr("aws_secretsmanager_secret_rotation", "prod/orders/db"): ["delete"],
        _addr("aws_secretsmanager_secret_rotation", "prod/orders/db-v2"): ["create"],
        f"{PREFIX}aws_iam_role_policy.pg": ["update"],  # the grants follow: another secret
    }, planned
    root.apply_plan()  # what was planned, and only that
    sm = world.client("secretsmanager")
    assert not sm.describe_secret(SecretId=old).get("RotationEnabled")
    described = sm.describe_secret(SecretId=new)
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == FUNCTION_ARN
    assert root.plan_changes()[0] == 0


def test_renaming_a_created_secret_deletes_it_loudly(terraform, moto, tmp_path: Path) -> None:
    world = World(moto, REGION)
    world.function(FUNCTION_ARN)
    created = {
        "function": "pg",
        "create": True,
        "password_in_database": True,
        "recovery_window_days": 7,
        "connection": {"host": "db.internal", "username": "app"},
        "schedule": {"every_days": 30},
    }
    root = _root(terraform, moto, tmp_path, _data({"app/one": dict(created)}))
    sm = world.client("secretsmanager")
    first = json.loads(sm.get_secret_value(SecretId="app/one")["SecretString"])["password"]

    refused = _generate(tmp_path, _data({"app/two": dict(created, previous_names=["app/one"])}))
    assert refused.exit == api.Exit.USAGE
    (msg,) = [d.render() for d in refused.diagnostics]
    assert "this module created 'app/one': the apply deletes it (restorable for 7 days)" in msg, msg

    result = _generate(tmp_path, _data({"app/two": dict(created)}))
    assert result.exit == api.Exit.OK
    warnings = [d.render() for d in result.diagnostics]
    assert any(
        "warning: secrets: created secret 'app/one' is in" in w
        and "the next apply deletes it and its password (restorable for 7 days)" in w
        for w in warnings
    ), warnings
    code, planned = root.plan_changes(out="tfplan")
    assert code == 2 and planned == {
        **{
            _addr(k, "app/one"): ["delete"]
            for k in (
                "aws_secretsmanager_secret",
                "aws_secretsmanager_secret_version",
                "aws_secretsmanager_secret_rotation",
            )
        },
        **{
            _addr(k, "app/two"): ["create"]
            for k in (
                "aws_secretsmanager_secret",
                "aws_secretsmanager_secret_version",
                "aws_secretsmanager_secret_rotation",
            )
        },
        f"{PREFIX}aws_iam_role_policy.pg": ["update"],  # the grants follow: another secret
    }, planned
    root.apply_plan()
    gone = sm.describe_secret(SecretId="app/one")
    assert "DeletedDate" in gone, "the old secret is scheduled for deletion"
    second = json.loads(sm.get_secret_value(SecretId="app/two")["SecretString"])["password"]
    assert second != first, "the new secret has a new random password"
    assert root.plan_changes()[0] == 0
    # The warning is about the change, not about every later run.
    assert not _generate(tmp_path, _data({"app/two": dict(created)})).diagnostics


def test_created_single_user_secret_rotates_only_once_its_password_is_set(terraform, moto, tmp_path: Path) -> None:
    world = World(moto, REGION)
    world.function(FUNCTION_ARN)
    secret = {
        "function": "pg",
        "create": True,
        "password_in_database": False,
        "connection": {"host": "db.internal", "username": "app"},
        "schedule": {"every_days": 30},
    }
    root = _root(terraform, moto, tmp_path, _data({"app/db": dict(secret)}))
    sm = world.client("secretsmanager")
    described = sm.describe_secret(SecretId="app/db")
    assert not described.get("RotationEnabled"), "no rotation before the database knows the password"
    outputs = json.loads(root.run("output", "-json").stdout)["rotation"]["value"]
    assert outputs["passwords_to_set"] == {"app/db": described["ARN"]}
    assert root.plan_changes()[0] == 0

    # The team sets the password in the database, then says so: only the rotation is added.
    assert _generate(tmp_path, _data({"app/db": dict(secret, password_in_database=True)})).exit == api.Exit.OK
    code, planned = root.plan_changes(out="tfplan")
    assert code == 2 and planned == {_addr("aws_secretsmanager_secret_rotation", "app/db"): ["create"]}, planned
    root.apply_plan()
    described = sm.describe_secret(SecretId="app/db")
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == FUNCTION_ARN
    assert "passwords_to_set" not in json.loads(root.run("output", "-json").stdout)["rotation"]["value"]
    assert root.plan_changes()[0] == 0
