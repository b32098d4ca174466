"""managed: true -- secrets that their own service rotates (RDS, Aurora, Redshift and
DocumentDB with manage_master_user_password). The module writes their rotation schedule
only: no function, no permission, no grant; their names (rds!db-<id>) are valid here.

Managed rotation: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_managed.html
Provider: rotation_lambda_arn is optional since hashicorp/terraform-provider-aws#34180.
"""

from __future__ import annotations

import json
from pathlib import Path

import hcl2
import pytest
from helpers.harness import ACCOUNT, Root
from helpers.paths import ROOT

from generator import api, explain
from generator.errors import Failed
from generator.formats import explain as explain_formats
from generator.live import client, doctor

EXAMPLE = ROOT / "examples" / "managed-rotation.yaml"
HEAD = f'version: 1\naccount_id: "{ACCOUNT}"\nregion: us-east-1\n'


def _errors(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + body)
    with pytest.raises(Failed) as caught:
        api.load(path)
    return [f"{'.'.join(map(str, d.path))}: {d.message}" for d in caught.value.diagnostics]


def test_the_example_writes_a_schedule_only() -> None:
    m, _ = api.load(EXAMPLE)
    assert [s.name for s in m.service_rotated] == [
        "rds!cluster-7e2b1a90-5c1d-4e8f-9a3b-2c4d6e8f0a1b",
        "rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4",
    ]
    files = api.render(EXAMPLE, Path("/nonexistent")).files
    rotations = {}
    for entry in hcl2.loads(files["rotation.tf"])["resource"]:
        for body in entry['"aws_secretsmanager_secret_rotation"'].values():
            rotations[body["secret_id"]] = body
    managed = [b for b in rotations.values() if "rotation_lambda_arn" not in b]
    assert len(managed) == 2 and all("depends_on" not in b for b in managed)
    by_arn = rotations[
        '"arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4-fGbVUQ"'
    ]
    assert by_arn["rotation_rules"][0]["schedule_expression"] == '"cron(0 4 ? * SUN *)"'
    assert by_arn["rotate_immediately"] is False
    # Looked up by name, as other secrets given without an ARN.
    assert 'name = "rds!cluster-7e2b1a90-5c1d-4e8f-9a3b-2c4d6e8f0a1b"' in files["rotation.tf"]
    # The only function's role grants its own secret and reads the managed master secret,
    # never rotates a managed secret.
    (fn,) = m.functions
    doc = json.dumps(fn.policy.document())
    assert "rds!cluster" not in doc
    assert [s.name for s in fn.secrets] == ["analytics/app"]
    assert "2 secrets rotated by their own service" in explain_formats.summary_line(explain.facts(m))
    assert "managed by its service" in files["README.md"]


def test_only_managed_secrets_need_no_function(tmp_path: Path) -> None:
    path = tmp_path / "only.yaml"
    path.write_text(HEAD + "secrets:\n  rds!db-1234:\n    managed: true\n    schedule: {every_days: 7}\n")
    m, _ = api.load(path)
    files = api.render(path, tmp_path / "out").files
    assert m.functions == () and "aws_lambda_permission" not in files["lambda.tf"]
    assert "aws_iam_role" not in files["iam.tf"]


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            "secrets:\n  rds!db-1:\n    function: f\n    schedule: {every_days: 7}\n",
            "secrets.rds!db-1: secret name 'rds!db-1' holds '!', which only secrets created by an AWS service carry",
        ),
        (
            "secrets:\n  s:\n    managed: true\n    function: f\n    schedule: {every_days: 7}\n",
            "secrets.s.function: a managed secret is rotated by the service that owns it",
        ),
        (
            "secrets:\n  s:\n    managed: true\n    master_secret: {arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:m-Abc123'}\n"
            "    schedule: {every_days: 7}\n",
            "secrets.s.master_secret: master_secret does not apply to a managed secret",
        ),
        (
            "secrets:\n  s:\n    managed: true\n    create: true\n    schedule: {every_days: 7}\n",
            "secrets.s.create: a managed secret is created by its service",
        ),
        (
            "secrets:\n  s:\n    schedule: {every_days: 7}\n",
            "secrets.s.function: give function (the key of a rotation function), managed: true",
        ),
        (
            "secrets:\n  rds!db-1:\n    managed: true\n    arn: arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-2-Abc123\n"
            "    schedule: {every_days: 7}\n",
            "is the ARN of secret 'rds!db-2', not 'rds!db-1'",
        ),
    ],
    ids=["bang-needs-managed", "managed-and-function", "managed-master", "managed-create", "neither", "arn-other"],
)
def test_mistakes(tmp_path: Path, body: str, expected: str) -> None:
    fn = "functions:\n  f: {strategy: single_user, engine: postgresql, existing_function_arn: 'arn:aws:lambda:us-east-1:111122223333:function:f'}\n"
    errors = _errors(tmp_path, fn + body)
    assert any(expected in e for e in errors), errors


@pytest.mark.terraform
@pytest.mark.moto
def test_plan_apply_replan_in_moto(terraform, moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto models RDS's managed master secrets (rds!db-<id>, owned by rds) and a
    RotateSecret without a Lambda ARN: apply the schedule, read it back, re-plan empty,
    and `doctor` finds both secrets rotating on the manifest's schedule."""
    rds = moto.client("rds")
    inst = rds.create_db_instance(
        DBInstanceIdentifier="orders",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )["DBInstance"]["MasterUserSecret"]["SecretArn"]
    sm = moto.client("secretsmanager")
    by_arn = sm.describe_secret(SecretId=inst)
    assert by_arn["Name"].startswith("rds!db-") and by_arn.get("OwningService") == "rds"
    # A second managed secret, given by name only (moto names it as RDS does).
    other = sm.create_secret(Name="rds!cluster-7e2b1a90-5c1d-4e8f-9a3b-2c4d6e8f0a1b", SecretString="{}")["ARN"]
    manifest = tmp_path / "managed.yaml"
    manifest.write_text(
        HEAD
        + f"secrets:\n  {by_arn['Name']}:\n    managed: true\n    arn: {inst}\n    schedule: {{every_days: 14}}\n"
        + "  rds!cluster-7e2b1a90-5c1d-4e8f-9a3b-2c4d6e8f0a1b:\n    managed: true\n    schedule: {every_days: 21}\n"
    )
    result = api.generate(manifest, tmp_path / "out")
    assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
    root = Root(terraform, tmp_path / "root", result.target, region="us-east-1", endpoint=moto.url)
    root.init()
    plan = root.plan_json()
    managed = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert sorted(c["type"] for c in managed) == ["aws_secretsmanager_secret_rotation"] * 2
    for c in managed:
        after = c["change"]["after"]
        assert c["change"]["actions"] == ["create"]
        assert after.get("rotation_lambda_arn") is None and after["rotate_immediately"] is False
    root.apply_plan()
    for arn, days in ((inst, 14), (other, 21)):
        d = sm.describe_secret(SecretId=arn)
        assert d.get("RotationEnabled") is True
        assert d["RotationRules"]["AutomaticallyAfterDays"] == days
        assert not d.get("RotationLambdaARN"), d.get("RotationLambdaARN")
    code, planned = root.plan_changes()
    assert code == 0, f"second plan is not empty: {planned}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert result.module is not None
    report = doctor.Doctor(client.Aws(region="us-east-1", endpoint_url=moto.url, max_attempts=2), result.module).run()
    found = {(f.subject, f.check): f.status for f in report.findings}
    for name in (by_arn["Name"], "rds!cluster-7e2b1a90-5c1d-4e8f-9a3b-2c4d6e8f0a1b"):
        for check in ("secret", "rotation", "schedule"):
            assert found.get((name, check)) == doctor.PASS, (name, check, report.findings)
    # moto limit: CancelRotateSecret (what destroying the rotation calls) refuses a secret
    # without a Lambda ARN in moto, so destroy fails here (the root is thrown away after).
    destroyed = root.run("destroy", "-auto-approve", "-input=false", "-no-color", "-lock=false", check=False)
    assert destroyed.returncode != 0 and "CancelRotateSecret" in destroyed.stdout + destroyed.stderr
