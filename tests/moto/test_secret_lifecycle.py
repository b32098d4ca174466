"""What renaming a secret and creating one really do in the account (issue 11.3 and 11.4).

* Secrets Manager cannot rename a secret. A new name in the manifest is another secret: the
  plan deletes the old rotation and creates a new one (for a created secret, the secret and
  its password too). ``previous_names`` on a secret is refused with that reason, and a
  created secret that leaves the manifest is a warning naming the delete.
* A created secret of a single_user function starts without rotation until its password is
  in the database (``password_in_database: false``), then rotation is turned on.

Each is applied in moto and read back with boto3. The three cases take the same steps (apply,
regenerate, plan, apply the plan, re-plan), so they share one root: each case's module has a
provider and a moto server of its own (no case sees another's secrets or grants), and each
step is one terraform command for all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.harness import Module, MotoServer, Root
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


def _addr(kind: str, name: str) -> str:
    return f"{PREFIX}{kind}.{secret_ident(name)}"


RENAMED, CREATED_RENAMED, PASSWORD_LATER = "renamed", "created_renamed", "password_later"
CREATED = {
    "function": "pg",
    "create": True,
    "password_in_database": True,
    "recovery_window_days": 7,
    "connection": {"host": "db.internal", "username": "app"},
    "schedule": {"every_days": 30},
}
NOT_IN_DATABASE = {
    "function": "pg",
    "create": True,
    "password_in_database": False,
    "connection": {"host": "db.internal", "username": "app"},
    "schedule": {"every_days": 30},
}
FIRST = {
    RENAMED: {"prod/orders/db": {"function": "pg", "schedule": {"every_days": 30}}},
    CREATED_RENAMED: {"app/one": dict(CREATED)},
    PASSWORD_LATER: {"app/db": dict(NOT_IN_DATABASE)},
}


def _renamed(tmp_path: Path) -> dict:
    """A renamed secret is another secret: previous_names is refused, with the reason."""
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
    return {
        _addr("aws_secretsmanager_secret_rotation", "prod/orders/db"): ["delete"],
        _addr("aws_secretsmanager_secret_rotation", "prod/orders/db-v2"): ["create"],
        f"{PREFIX}aws_iam_role_policy.pg": ["update"],  # the grants follow: another secret
    }


def _created_renamed(tmp_path: Path) -> dict:
    """Renaming a created secret deletes it loudly: refused with previous_names, a warning without."""
    refused = _generate(tmp_path, _data({"app/two": dict(CREATED, previous_names=["app/one"])}))
    assert refused.exit == api.Exit.USAGE
    (msg,) = [d.render() for d in refused.diagnostics]
    assert "this module created 'app/one': the apply deletes it (restorable for 7 days)" in msg, msg

    result = _generate(tmp_path, _data({"app/two": dict(CREATED)}))
    assert result.exit == api.Exit.OK
    warnings = [d.render() for d in result.diagnostics]
    assert any(
        "warning: secrets: created secret 'app/one' is in" in w
        and "the next apply deletes it and its password (restorable for 7 days)" in w
        for w in warnings
    ), warnings
    kinds = ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "aws_secretsmanager_secret_rotation")
    return {
        **{_addr(k, "app/one"): ["delete"] for k in kinds},
        **{_addr(k, "app/two"): ["create"] for k in kinds},
        f"{PREFIX}aws_iam_role_policy.pg": ["update"],  # the grants follow: another secret
    }


def _password_set(tmp_path: Path) -> dict:
    """The team sets the password in the database, then says so: only the rotation is added."""
    assert _generate(tmp_path, _data({"app/db": dict(NOT_IN_DATABASE, password_in_database=True)})).exit == api.Exit.OK
    return {_addr("aws_secretsmanager_secret_rotation", "app/db"): ["create"]}


def test_renames_and_a_password_set_later_in_the_account(terraform, tmp_path: Path) -> None:
    """A renamed secret is another secret; renaming a created secret deletes it loudly; a
    created single_user secret rotates only once its password is set."""
    servers: dict[str, MotoServer] = {}
    try:
        worlds: dict[str, World] = {}
        modules = []
        for case, secrets in FIRST.items():
            servers[case] = server = MotoServer().start()
            worlds[case] = world = World(server, REGION)
            world.function(FUNCTION_ARN)
            if case == RENAMED:
                world.secret("prod/orders/db")
                world.secret("prod/orders/db-v2")
            (tmp_path / case).mkdir()
            result = _generate(tmp_path / case, _data(secrets))
            assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
            modules.append(Module(case, result.target, REGION, server.url))
        root = Root(terraform, tmp_path / "root", modules=modules)
        root.init()
        root.apply()

        sm = {case: world.client("secretsmanager") for case, world in worlds.items()}
        first = json.loads(sm[CREATED_RENAMED].get_secret_value(SecretId="app/one")["SecretString"])["password"]
        described = sm[PASSWORD_LATER].describe_secret(SecretId="app/db")
        assert not described.get("RotationEnabled"), "no rotation before the database knows the password"
        outputs = json.loads(root.run("output", "-json").stdout)[PASSWORD_LATER]["value"]
        assert outputs["passwords_to_set"] == {"app/db": described["ARN"]}
        code, planned = root.plan_changes()
        assert code == 0, f"second plan is not empty: {planned}"

        expected = {
            RENAMED: _renamed(tmp_path / RENAMED),
            CREATED_RENAMED: _created_renamed(tmp_path / CREATED_RENAMED),
            PASSWORD_LATER: _password_set(tmp_path / PASSWORD_LATER),
        }
        _code, planned = root.plan_changes(out="tfplan")
        for case, changes in expected.items():
            assert Root.of_module(planned, case) == changes, (case, planned)
        root.apply_plan()  # what was planned, and only that

        old, new = worlds[RENAMED].secret_arns["prod/orders/db"], worlds[RENAMED].secret_arns["prod/orders/db-v2"]
        assert not sm[RENAMED].describe_secret(SecretId=old).get("RotationEnabled")
        described = sm[RENAMED].describe_secret(SecretId=new)
        assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == FUNCTION_ARN

        gone = sm[CREATED_RENAMED].describe_secret(SecretId="app/one")
        assert "DeletedDate" in gone, "the old secret is scheduled for deletion"
        second = json.loads(sm[CREATED_RENAMED].get_secret_value(SecretId="app/two")["SecretString"])["password"]
        assert second != first, "the new secret has a new random password"

        described = sm[PASSWORD_LATER].describe_secret(SecretId="app/db")
        assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == FUNCTION_ARN
        assert "passwords_to_set" not in json.loads(root.run("output", "-json").stdout)[PASSWORD_LATER]["value"]

        code, planned = root.plan_changes()
        assert code == 0, f"the plan after the change is not empty: {planned}"
        # The warning is about the change, not about every later run.
        assert not _generate(tmp_path / CREATED_RENAMED, _data({"app/two": dict(CREATED)})).diagnostics
    finally:
        for server in servers.values():
            server.stop()
