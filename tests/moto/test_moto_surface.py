"""The rotation surface applied in moto (issue 5): a rename plans as moves only, a created
secret keeps its password out of plan and state, and `rotation-tf imports` adopts what
exists. The rules themselves are tested without terraform in test_surface.py.

The rename and the created secret apply first and then plan, so they share one root (one
terraform command per step for both); each case's module has a provider and a moto server of
its own. What the rename's module applied is what another state adopts by import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.harness import Module, MotoServer, Root, seed_moto
from helpers.surface import BASE, _write

from generator import api

pytestmark = [pytest.mark.moto, pytest.mark.terraform]


CREATED = {
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


def test_rename_created_secret_and_import_in_moto(terraform, tmp_path: Path) -> None:
    """* A rename plans as moves only, and the moved state re-plans empty.
    * create: true: the secret and its first version exist, the version holds the engine's
      fields plus a generated password, the password is in neither plan nor state, rotation
      is on, and the next plan is empty.
    * Resources made outside a state (here: the rename's module before the rename, in the
      shared root) are adopted by the import blocks `rotation-tf imports` prints: the plan
      imports them and changes nothing."""
    cases = {
        "rename": (BASE, "eu-west-1", ["prod/a"]),
        "created": (CREATED, "us-east-1", []),
    }
    servers: dict[str, MotoServer] = {}
    try:
        modules, manifests, results = [], {}, {}
        for case, (data, region, secrets) in cases.items():
            servers[case] = server = MotoServer().start()
            seed_moto(server, region, ["pg-rotator"], secrets)
            (tmp_path / case).mkdir()
            manifests[case] = manifest = _write(tmp_path / case, json.loads(json.dumps(data)))
            results[case] = result = api.generate(manifest, tmp_path / case / "out")
            assert result.exit == api.Exit.OK and result.module is not None, [str(d) for d in result.diagnostics]
            modules.append(Module(case, result.target, region, servers[case].url))
        root = Root(terraform, tmp_path / "root", modules=modules)
        root.init()
        applied = root.apply()

        # create: true, read back.
        created = results["created"].module.secrets[0].managed
        assert created is not None
        sm = servers["created"].client("secretsmanager")
        described = sm.describe_secret(SecretId="app/db")
        assert described["Description"] == CREATED["secrets"]["app/db"]["description"]
        assert described["RotationEnabled"] is True
        assert described["RotationLambdaARN"] == "arn:aws:lambda:us-east-1:111122223333:function:pg-rotator"
        value = json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"])
        password = value.pop("password")
        assert value == {"engine": "postgres", "host": "db.internal", "port": 5432, "username": "app", "dbname": "app"}
        assert len(password) == created.password_length and not set(password) & set(created.password_excluded)
        state = (root.path / "terraform.tfstate").read_text()
        assert password not in state and password not in applied.stdout

        # What module.rename made is adopted by another state through the printed import blocks.
        data = json.loads(json.dumps(BASE))
        data["functions"]["pg"]["import"] = True
        data["secrets"]["prod/a"]["import"] = True
        manifest = _write(tmp_path / "rename", data, name="adopt.yaml")
        adopt = api.generate(manifest, tmp_path / "rename" / "adopt")
        assert adopt.exit == api.Exit.OK, [str(d) for d in adopt.diagnostics]
        proc = subprocess.run(
            [sys.executable, "-m", "generator", "imports", str(manifest), "--module-address", "module.rotation"],
            capture_output=True,
            text=True,
            check=True,
        )
        second = Root(terraform, tmp_path / "second", adopt.target, region="eu-west-1", endpoint=servers["rename"].url)
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

        # The rename: moves only; every other module's plan is empty.
        renamed = json.loads(json.dumps(BASE))
        renamed["functions"] = {"postgres": dict(BASE["functions"]["pg"], previous_names=["pg"])}
        renamed["secrets"]["prod/a"]["function"] = "postgres"
        _write(tmp_path / "rename", renamed)
        assert api.generate(manifests["rename"], tmp_path / "rename" / "out").exit == api.Exit.OK
        plan = root.plan_json()
        actions = {c["address"]: (c["change"]["actions"], c.get("previous_address")) for c in plan["resource_changes"]}
        assert all(acts in (["no-op"], ["read"]) for acts, _ in actions.values()), actions
        moved = {a: p for a, (acts, p) in actions.items() if p}
        assert moved == {
            # an existing function: its role is not the module's, only the policy on it moves
            "module.rename.aws_iam_role_policy.postgres": "module.rename.aws_iam_role_policy.pg",
            "module.rename.aws_lambda_permission.postgres": "module.rename.aws_lambda_permission.pg",
        }
        assert any(a.startswith("module.created.aws_secretsmanager_secret_version.") for a in actions), actions
        root.apply_plan()
        again = root.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", check=False)
        assert again.returncode == 0, again.stdout + again.stderr

    finally:
        for server in servers.values():
            server.stop()
