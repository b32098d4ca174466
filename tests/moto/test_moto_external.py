"""Managed external secrets against moto: what the module's role becomes in IAM, read back
and evaluated, and exactly what moto does not model.

The module itself cannot be applied here: it needs hashicorp/aws 6.x (generator/versions.py
EXTERNAL) and the provider mirror has 5.100.0. So the role is created with boto3 from the
same documents iam.tf renders (tests/unit/test_module_facts.py proves iam.tf holds these), and
read back from moto's IAM.

moto limits (moto 5.2), shown below rather than worked around: CreateSecret drops ``Type``;
RotateSecret accepts ``ExternalSecretRotationRoleArn`` and ``ExternalSecretRotationMetadata``
and drops them (DescribeSecret returns neither), assumes no role and calls no partner. Nothing
here proves that Secrets Manager accepts the role for a rotation.
"""

from __future__ import annotations

import json

from helpers.paths import ROOT

from generator import api
from generator.policy_eval import ALLOWED, IMPLICIT, Request, evaluate

EXAMPLE = ROOT / "examples" / "external-secrets.yaml"


def test_the_external_role_reads_back_from_iam_as_the_model_says(aws_server) -> None:
    aws_server.reset()
    module, _ = api.load(EXAMPLE)
    xr = module.external_role
    assert xr is not None
    iam = aws_server.client("iam")
    iam.create_role(
        RoleName=xr.role_name,
        Path=module.roles.path,
        AssumeRolePolicyDocument=json.dumps(xr.trust),
        PermissionsBoundary=module.roles.permissions_boundary,
        MaxSessionDuration=module.roles.max_session_duration,
    )
    iam.put_role_policy(
        RoleName=xr.role_name, PolicyName=xr.policy_name, PolicyDocument=json.dumps(xr.policy.document())
    )
    role = iam.get_role(RoleName=xr.role_name)["Role"]
    assert role["Arn"] == xr.role_arn
    assert role["AssumeRolePolicyDocument"] == xr.trust
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == module.roles.permissions_boundary
    assert iam.list_role_policies(RoleName=xr.role_name)["PolicyNames"] == [xr.policy_name]
    held = iam.get_role_policy(RoleName=xr.role_name, PolicyName=xr.policy_name)["PolicyDocument"]
    assert held == xr.policy.document()
    # The secrets, as moto names them, are rotatable by the role read back; another is not.
    sm = aws_server.client("secretsmanager")
    for s in module.externals:
        assert s.external is not None
        kwargs = {}
        if s.arn is not None:  # moto's random suffix otherwise: its _custom_id_ tag (tests/helpers/lifecycle.py)
            kwargs["Tags"] = [{"Key": "_custom_id_", "Value": s.arn.rsplit("-", 1)[1]}]
        created = sm.create_secret(Name=s.name, SecretString="{}", Type=s.external.secret_type, **kwargs)
        assert s.arn is None or created["ARN"] == s.arn
        ctx = {"secretsmanager:resource/Type": s.external.secret_type}
        assert evaluate([held], Request("secretsmanager:PutSecretValue", created["ARN"], ctx)) == ALLOWED, s.name
    other = sm.create_secret(Name="prod/other/paddle", SecretString="{}", Type="PaddleApiKey")["ARN"]
    ctx = {"secretsmanager:resource/Type": "PaddleApiKey"}
    assert evaluate([held], Request("secretsmanager:PutSecretValue", other, ctx)) == IMPLICIT


def test_what_moto_does_not_model(aws_server) -> None:
    aws_server.reset()
    sm = aws_server.client("secretsmanager")
    arn = sm.create_secret(Name="prod/paddle/billing", SecretString="{}", Type="PaddleApiKey")["ARN"]
    sm.rotate_secret(
        SecretId=arn,
        ExternalSecretRotationRoleArn="arn:aws:iam::123456789012:role/acme-external-rotation-use1",
        ExternalSecretRotationMetadata=[{"Key": "gracePeriodSeconds", "Value": "600"}],
        RotationRules={"AutomaticallyAfterDays": 60},
        RotateImmediately=False,
    )
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] and d["RotationRules"]["AutomaticallyAfterDays"] == 60
    # If one of these starts to hold a value, moto models it now: update this file's docstring,
    # docs/rotation-surface.md and the read-back above.
    assert d.get("Type") is None, "moto now keeps Type"
    assert d.get("ExternalSecretRotationRoleArn") is None, "moto now keeps ExternalSecretRotationRoleArn"
    assert d.get("ExternalSecretRotationMetadata") is None, "moto now keeps ExternalSecretRotationMetadata"


# ---------------------------------------------------------------------------------------
# doctor and discover on managed external secrets
#
# moto limit EXTERNAL (moto 5.2, shown by test_what_moto_does_not_model): moto drops a
# secret's Type and RotateSecret's ExternalSecretRotationRoleArn / Metadata. The shim below
# keeps what the caller sent and adds it to moto's DescribeSecret and ListSecrets answers, the
# fields AWS returns (botocore's SecretListEntry and DescribeSecretResponse shapes). It is the
# only workaround here; IAM (the role, its trust and policies) and KMS are moto's own.

import io  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from generator.live import commands  # noqa: E402

ROLE_NAME = "acme-external-secrets-external-rotation-use1"


@pytest.fixture
def shim(monkeypatch):
    import botocore.client

    real = botocore.client.BaseClient._make_api_call
    kept: dict[str, dict] = {}  # secret name -> extra fields

    def name_of(secret_id: str) -> str:
        return secret_id.split(":secret:", 1)[1].rsplit("-", 1)[0] if ":secret:" in secret_id else secret_id

    def call(self, operation_name, api_params):
        got = real(self, operation_name, api_params)
        if operation_name == "CreateSecret" and "Type" in api_params:
            kept.setdefault(api_params["Name"], {})["Type"] = api_params["Type"]
        elif operation_name == "RotateSecret" and "ExternalSecretRotationRoleArn" in api_params:
            extra = kept.setdefault(name_of(api_params["SecretId"]), {})
            extra["ExternalSecretRotationRoleArn"] = api_params["ExternalSecretRotationRoleArn"]
            extra["ExternalSecretRotationMetadata"] = api_params.get("ExternalSecretRotationMetadata", [])
        elif operation_name == "DescribeSecret" and got.get("Name") in kept:
            got = {**got, **kept[got["Name"]]}
            if "ExternalSecretRotationRoleArn" in got:
                got["RotationLambdaARN"] = None
        elif operation_name == "ListSecrets":
            entries = []
            for e in got.get("SecretList", []):
                if e["Name"] in kept:
                    e = {**e, **kept[e["Name"]]}
                    if "ExternalSecretRotationRoleArn" in e:
                        e.pop("RotationLambdaARN", None)
                entries.append(e)
            got = {**got, "SecretList": entries}
        return got

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return kept


def _apply_like_terraform(server, module, *, trust=None) -> dict[str, str]:
    """What the module's apply leaves, done with boto3 from the model (terraform cannot run a
    6.x module here): the role, its policy, the secrets with their types, their rotation."""
    xr = module.external_role
    iam = server.client("iam")
    iam.create_role(RoleName=xr.role_name, Path=module.roles.path, AssumeRolePolicyDocument=json.dumps(trust or xr.trust),
                    PermissionsBoundary=module.roles.permissions_boundary)  # fmt: skip
    iam.put_role_policy(
        RoleName=xr.role_name, PolicyName=xr.policy_name, PolicyDocument=json.dumps(xr.policy.document())
    )
    iam.create_policy(PolicyName="rotation-boundary", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))  # fmt: skip
    kms = server.client("kms")
    sm = server.client("secretsmanager")
    arns: dict[str, str] = {}
    key_ids = {}
    for s in module.externals:
        for key_arn in filter(None, (s.kms_key_arn, s.external.admin_kms_key_arn)):
            if key_arn not in key_ids:  # moto's key ids are random: map the manifest's key to a real one
                key_ids[key_arn] = kms.create_key()["KeyMetadata"]["Arn"]
    admins = {s.external.admin_arn for s in module.externals if s.external.admin_arn}
    for admin in sorted(admins):
        name = admin.split(":secret:", 1)[1].rsplit("-", 1)[0]
        sm.create_secret(Name=name, SecretString="{}", Tags=[{"Key": "_custom_id_", "Value": admin.rsplit("-", 1)[1]}])
    for s in module.externals:
        kwargs = {}
        if s.arn is not None:
            kwargs["Tags"] = [{"Key": "_custom_id_", "Value": s.arn.rsplit("-", 1)[1]}]
        arn = sm.create_secret(Name=s.name, SecretString="{}", Type=s.external.secret_type, **kwargs)["ARN"]
        arns[s.name] = arn
        rules = {"AutomaticallyAfterDays": s.schedule.every_days} if s.schedule.every_days else {
            "ScheduleExpression": s.schedule.expression, **({"Duration": s.schedule.window} if s.schedule.window else {})}  # fmt: skip
        sm.rotate_secret(SecretId=arn, ExternalSecretRotationRoleArn=xr.role_arn, RotationRules=rules,
                         ExternalSecretRotationMetadata=[{"Key": k, "Value": v} for k, v in s.external.metadata],
                         RotateImmediately=False)  # fmt: skip
    return arns


def _manifest_without_keys(tmp_path: Path) -> Path:
    """The example without customer managed keys (moto's key ARNs are random; the key checks
    are the same code as for functions and tested there), and with every_days schedules (moto
    does not model schedule_expression or duration: the lifecycle harness's limit too)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    for sec in data["secrets"].values():
        sec.pop("kms_key_arn", None)
        sec["schedule"] = {"every_days": sec["schedule"].get("every_days", 7)}
        sec.get("external", {}).pop("admin_kms_key_arn", None)
    path = tmp_path / "external-secrets.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _doctor(server, path: Path) -> tuple[int, list[dict[str, str]]]:
    out = io.StringIO()
    code = commands.doctor(path, commands.Connection(endpoint_url=server.url, max_attempts=2), fmt="json", out=out)
    return code, json.loads(out.getvalue())["findings"]


def test_doctor_passes_an_applied_module_and_names_each_fault(aws_server, shim, tmp_path) -> None:
    aws_server.reset()
    path = _manifest_without_keys(tmp_path)
    module, _ = api.load(path)
    _apply_like_terraform(aws_server, module)
    code, findings = _doctor(aws_server, path)
    ours = [f for f in findings if f["subject"] in {s.name for s in module.externals}]
    assert code == 0, [f for f in ours if f["status"] != "pass"]
    checks = {(f["subject"], f["check"]): f["status"] for f in ours}
    for s in module.externals:
        for check in ("secret", "secret-type", "external-trust", "external-grants", "external-rotation", "schedule"):
            assert checks.get((s.name, check)) == "pass", (s.name, check, checks)

    # A trust without aws:SourceAccount, a secret of another type, metadata that drifted.
    aws_server.reset()
    shim.clear()
    loose = json.loads(json.dumps(module.external_role.trust))
    del loose["Statement"][0]["Condition"]["StringEquals"]
    _apply_like_terraform(aws_server, module, trust=loose)
    shim["prod/snowflake/loader"]["Type"] = "SnowflakePat"
    shim["prod/paddle/billing"]["ExternalSecretRotationMetadata"] = [{"Key": "gracePeriodSeconds", "Value": "0"}]
    code, findings = _doctor(aws_server, path)
    failed = {(f["subject"], f["check"]) for f in findings if f["status"] == "fail"}
    assert code == 1
    assert ("prod/snowflake/loader", "secret-type") in failed
    assert ("prod/paddle/billing", "external-rotation") in failed
    # one role, one trust: one failure naming every secret it rotates (one cause, one fix)
    trust = [f for f in findings if f["check"] == "external-trust" and f["status"] == "fail"]
    assert len(trust) == 1, trust
    assert sorted(trust[0]["subjects"]) == sorted(s.name for s in module.externals)
    assert "aws:SourceAccount" in trust[0]["message"]


def test_discover_writes_external_entries_that_validate_and_import(aws_server, shim, tmp_path) -> None:
    aws_server.reset()
    path = _manifest_without_keys(tmp_path)
    module, _ = api.load(path)
    arns = _apply_like_terraform(aws_server, module)
    out_path = tmp_path / "discovered.yaml"
    code = commands.discover(
        commands.Connection(region="us-east-1", endpoint_url=aws_server.url, max_attempts=2), out_path=out_path
    )
    assert code == 0
    result = api.validate(out_path)
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    data = yaml.safe_load(out_path.read_text())
    for s in module.externals:
        sec = data["secrets"][s.name]
        assert sec["import"] is True and sec["arn"] == arns[s.name]
        assert sec["external"]["type"] == s.external.secret_type
        assert sec["external"].get("metadata", {}) == s.external.metadata_map
        assert "function" not in sec and "managed" not in sec
    assert "functions" not in data
