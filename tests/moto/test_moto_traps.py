"""Known perpetual-diff traps, each next to a hand-written counter-example.

One root holds a module generated from a small manifest and, beside it, hand-written
resources that make the choices the generator avoids. It is applied once against moto and
planned once; each test reads what that plan says about its own resources.

Findings on terraform 1.11 + hashicorp/aws 5.100.0 + moto (what the tests assert):
* secret_id given as a name: the provider stores the ARN, so the name plans a replacement
  forever. The module looks the ARN up by name. (Counter-example replaces; module: no-op.)
* qualified function name in aws_lambda_permission: the provider stores the unqualified
  name (and the qualifier apart), so "fn:alias" plans a replacement forever. The module
  names the function unqualified, and the manifest rejects a qualified ARN.
* rotate_immediately unset: the provider defaults it to true and never reads it back, so
  there is no diff, but applying rotates every secret at once (moto runs all four rotation
  steps). The module writes it explicitly (manifest default false).
* days and expression both set: the provider rejects it at validate; the module writes the
  unused one as null, and the manifest rejects both.
* JSON policy ordering: the provider compares policies semantically, so a reordered
  hand-written document does not diff either; the module's canonical order is what keeps
  its own text byte-stable (tests/unit/test_determinism.py) and what IAM then holds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers.harness import MotoServer, Root, tf_env
from helpers.lifecycle import World

from generator import api, errors

# One worker builds the traps root and runs every test that reads it (pytest -n 2 runs with
# --dist loadgroup, pyproject.toml).
pytestmark = [pytest.mark.moto, pytest.mark.terraform, pytest.mark.xdist_group("traps")]

ACCOUNT = "111122223333"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:trap-fn"
INITIAL = json.dumps({"username": "app", "password": "initial"})

MANIFEST = {
    "version": 1,
    "account_id": ACCOUNT,
    "region": "us-east-1",
    "module": "traps",
    "functions": {"rotator": {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": FN}},
    "secrets": {"trap/generated": {"function": "rotator", "schedule": {"every_days": 7}}},
}

HANDWRITTEN = f"""
locals {{
  trap_fn = "{FN}"
}}

# Trap 1: secret_id given as the secret's name.
resource "aws_secretsmanager_secret_rotation" "by_name" {{
  secret_id           = "trap/by-name"
  rotation_lambda_arn = local.trap_fn
  rotate_immediately  = false
  rotation_rules {{
    automatically_after_days = 7
  }}
}}

# Trap 2: a qualified function name (alias) in the permission.
resource "aws_lambda_permission" "qualified" {{
  statement_id   = "qualified"
  action         = "lambda:InvokeFunction"
  function_name  = "trap-fn:live"
  principal      = "secretsmanager.amazonaws.com"
  source_account = "{ACCOUNT}"
}}

# Trap 3: rotate_immediately left unset.
data "aws_secretsmanager_secret" "unset" {{
  name = "trap/immediate-unset"
}}

resource "aws_secretsmanager_secret_rotation" "unset" {{
  secret_id           = data.aws_secretsmanager_secret.unset.arn
  rotation_lambda_arn = local.trap_fn
  rotation_rules {{
    automatically_after_days = 7
  }}
}}

# Trap 5: the same grants as JSON in another order (statements, keys, actions, resources).
resource "aws_iam_role" "reordered" {{
  name               = "trap-reordered"
  assume_role_policy = <<-JSON
    {{"Statement":[{{"Principal":{{"Service":"lambda.amazonaws.com"}},"Action":"sts:AssumeRole","Effect":"Allow"}}],"Version":"2012-10-17"}}
  JSON
}}

resource "aws_iam_role_policy" "reordered" {{
  name   = "trap-reordered"
  role   = aws_iam_role.reordered.id
  policy = <<-JSON
    {{"Statement":[
      {{"Resource":"*","Action":["secretsmanager:GetRandomPassword"],"Effect":"Allow","Sid":"GetRandomPassword"}},
      {{"Sid":"RotateSecrets","Effect":"Allow",
       "Action":["secretsmanager:UpdateSecretVersionStage","secretsmanager:PutSecretValue","secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],
       "Resource":["arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trap/z-??????","arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trap/a-??????"]}}
    ],"Version":"2012-10-17"}}
  JSON
}}
"""


@pytest.fixture(scope="module")
def traps(terraform, tmp_path_factory):
    """Apply the generated module and the counter-examples once; plan once.

    Its own moto server: other tests reset the shared one between tests. Built once: the
    tests of this file are one xdist group.
    """
    moto_server = MotoServer().start()
    try:
        yield from _traps(terraform, moto_server, tmp_path_factory)
    finally:
        moto_server.stop()


def _traps(terraform, moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("traps")
    world = World(moto_server, "us-east-1")
    world.function(FN)
    lam = world.client("lambda")
    version = lam.publish_version(FunctionName="trap-fn")["Version"]
    lam.create_alias(FunctionName="trap-fn", Name="live", FunctionVersion=version)
    for name in ("trap/generated", "trap/by-name", "trap/immediate-unset"):
        world.secret(name)
    manifest = work / "traps.yaml"
    manifest.write_text(yaml.safe_dump(MANIFEST))
    result = api.generate(manifest, work / "out")
    assert result.exit == api.Exit.OK
    root = Root(terraform, work / "root", result.target, endpoint=moto_server.url)
    (root.path / "handwritten.tf").write_text(HANDWRITTEN)
    root.init()
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    code, changes = root.plan_changes()
    # No destroy: this moto server is stopped with everything in it (the lifecycle tests
    # check destroy).
    yield {"module": result.module, "target": result.target, "world": world, "code": code, "changes": changes}


def _module_changes(changes: dict) -> dict:
    return {a: c for a, c in changes.items() if a.startswith("module.rotation.")}


def test_generated_module_plans_empty_beside_the_traps(traps) -> None:
    assert _module_changes(traps["changes"]) == {}
    # Exactly the counter-examples that diff, and nothing else.
    assert traps["changes"] == {
        "aws_secretsmanager_secret_rotation.by_name": ["delete", "create"],
        "aws_lambda_permission.qualified": ["delete", "create"],
    }
    assert traps["code"] == 2


def test_secret_id_as_name_replaces_forever(traps) -> None:
    assert traps["changes"]["aws_secretsmanager_secret_rotation.by_name"] == ["delete", "create"]
    sm = traps["world"].client("secretsmanager")
    arn = traps["world"].secret_arns["trap/generated"]
    # The generated rotation is held against the ARN, which the module looked up by name.
    assert sm.describe_secret(SecretId=arn)["RotationEnabled"] is True
    assert "aws_secretsmanager_secret_rotation.trap_generated" not in str(traps["changes"])
    assert 'data "aws_secretsmanager_secret" "trap_generated"' in (traps["target"] / "rotation.tf").read_text()


def test_qualified_function_name_replaces_forever(traps, tmp_path: Path) -> None:
    assert traps["changes"]["aws_lambda_permission.qualified"] == ["delete", "create"]
    assert "module.rotation.aws_lambda_permission.rotator" not in traps["changes"]
    assert 'function_name  = "trap-fn"' in (traps["target"] / "lambda.tf").read_text()
    # And the manifest cannot ask for the qualified form.
    data = json.loads(json.dumps(MANIFEST))
    data["functions"]["rotator"]["existing_function_arn"] = FN + ":live"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(errors.Failed) as exc:
        api.load(bad)
    assert "is qualified (:live)" in str([d.message for d in exc.value.diagnostics])


def test_rotate_immediately_unset_rotates_at_apply(traps) -> None:
    # No perpetual diff either way (the provider does not read it back) ...
    assert "aws_secretsmanager_secret_rotation.unset" not in traps["changes"]
    sm = traps["world"].client("secretsmanager")
    # ... but unset means true: applying ran the whole rotation (create/set/test/finish)
    # at once, and moto's no-op function left no readable current value.
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="trap/immediate-unset")
    # The generated form (rotate_immediately = false) only tested the rotation.
    assert sm.get_secret_value(SecretId="trap/generated")["SecretString"] == INITIAL
    assert traps["module"].secrets[0].rotate_immediately is False
    assert "rotate_immediately  = false" in (traps["target"] / "rotation.tf").read_text()


def test_days_and_expression_both_set(terraform, tmp_path: Path) -> None:
    root = tmp_path / "both"
    root.mkdir()
    (root / "main.tf").write_text(
        'resource "aws_secretsmanager_secret_rotation" "both" {\n'
        f'  secret_id           = "arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:x-AbCdEf"\n'
        f'  rotation_lambda_arn = "{FN}"\n'
        "  rotate_immediately  = false\n"
        "  rotation_rules {\n"
        "    automatically_after_days = 7\n"
        '    schedule_expression      = "rate(7 days)"\n'
        "  }\n}\n"
    )
    env = tf_env(terraform)
    subprocess.run(
        [terraform.binary, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    proc = subprocess.run(
        [terraform.binary, "validate", "-no-color"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1 and "only one of" in proc.stderr, proc.stderr
    # The manifest rejects both; the module passes the unused one as null (see the plan
    # test, which checks automatically_after_days is null for expression schedules).
    data = json.loads(json.dumps(MANIFEST))
    data["secrets"]["trap/generated"]["schedule"] = {"every_days": 7, "expression": "rate(7 days)"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(errors.Failed) as exc:
        api.load(bad)
    assert "not both" in str([d.message for d in exc.value.diagnostics])


def test_json_policy_ordering(traps) -> None:
    # The provider compares policies semantically: neither form diffs.
    assert "aws_iam_role_policy.reordered" not in traps["changes"]
    assert "aws_iam_role.reordered" not in traps["changes"]
    assert "module.rotation.aws_iam_role_policy.rotator" not in traps["changes"]
    # IAM holds the generated document in the model's canonical order, statement for
    # statement; the hand-written one is held as written.
    iam = traps["world"].client("iam")
    fn = traps["module"].functions[0]
    # on the role the function really runs as (an existing function keeps its own role)
    role_arn = traps["world"].client("lambda").get_function(FunctionName="trap-fn")["Configuration"]["Role"]
    held = iam.get_role_policy(RoleName=role_arn.rsplit("/", 1)[1], PolicyName=fn.policy_name)["PolicyDocument"]
    assert held == fn.policy.document()
    other = iam.get_role_policy(RoleName="trap-reordered", PolicyName="trap-reordered")["PolicyDocument"]
    assert other["Statement"][0]["Sid"] == "GetRandomPassword"
