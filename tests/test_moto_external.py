"""Managed external secrets against moto: what the module's role becomes in IAM, read back
and evaluated, and exactly what moto does not model.

The module itself cannot be applied here: it needs hashicorp/aws 6.x (generator/versions.py
EXTERNAL) and the provider mirror has 5.100.0. So the role is created with boto3 from the
same documents iam.tf renders (tests/test_module_facts.py proves iam.tf holds these), and
read back from moto's IAM.

moto limits (moto 5.2), shown below rather than worked around: CreateSecret drops ``Type``;
RotateSecret accepts ``ExternalSecretRotationRoleArn`` and ``ExternalSecretRotationMetadata``
and drops them (DescribeSecret returns neither), assumes no role and calls no partner. Nothing
here proves that Secrets Manager accepts the role for a rotation.
"""

from __future__ import annotations

import json

from conftest import ROOT

from generator import api
from generator.live.policy_eval import ALLOWED, IMPLICIT, Request, evaluate

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
        if s.arn is not None:  # moto's random suffix otherwise: its _custom_id_ tag (tests/lifecycle.py)
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
