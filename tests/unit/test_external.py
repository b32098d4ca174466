"""Managed external secrets (``external:``): the role Secrets Manager assumes, compared with
AWS's example on mes-security, under the evaluator doctor uses (generator/policy_eval.py);
the metadata limits at their exact boundaries; one role per manifest; the deployer's PassRole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.paths import ROOT

from generator import api, other_policies, partners
from generator.errors import Failed
from generator.policy_eval import ALLOWED, IMPLICIT, Request, evaluate

EXAMPLE = ROOT / "examples" / "external-secrets.yaml"
ACCOUNT, REGION = "111122223333", "us-east-1"
ROTATION = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


def _aws_example(secret_type: str) -> dict[str, Any]:
    """The permissions policy of AWS's mes-security page, for one type."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowRotationAccess",
                "Action": list(ROTATION),
                "Resource": "*",
                "Effect": "Allow",
                "Condition": {"StringEquals": {"secretsmanager:resource/Type": secret_type}},
            },
            {
                "Sid": "AllowPasswordGenerationAccess",
                "Action": ["secretsmanager:GetRandomPassword"],
                "Resource": "*",
                "Effect": "Allow",
            },
        ],
    }


def _secret(name: str, suffix: str = "Zz9Yy8") -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}"


def _module(path: Path = EXAMPLE) -> Any:
    module, _notes = api.load(path)
    return module


def test_the_role_allows_exactly_the_manifests_secrets_where_aws_example_allows_every_one_of_the_type() -> None:
    m = _module()
    xr = m.external_role
    assert xr is not None
    ours = xr.policy.document()
    for s in m.externals:
        concrete = s.arn or _secret(s.name)
        ctx = {"secretsmanager:resource/Type": s.external.secret_type}
        for action in ROTATION:
            assert evaluate([ours], Request(action, concrete, ctx)) == ALLOWED, (s.name, action)
            assert evaluate([_aws_example(s.external.secret_type)], Request(action, concrete, ctx)) == ALLOWED
        # Another secret of the same type in the account: AWS's example allows it, the role does not.
        other = _secret("prod/other-team/" + s.external.secret_type.lower())
        assert (
            evaluate([_aws_example(s.external.secret_type)], Request("secretsmanager:PutSecretValue", other, ctx))
            == ALLOWED
        )
        assert evaluate([ours], Request("secretsmanager:PutSecretValue", other, ctx)) == IMPLICIT
        # The same name re-created with another type: the type condition still holds it back.
        wrong = {"secretsmanager:resource/Type": "DatadogAdminKey"}
        assert evaluate([ours], Request("secretsmanager:PutSecretValue", concrete, wrong)) == IMPLICIT
    # The admin secret is read, never written.
    admin = next(s.external.admin_arn for s in m.externals if s.external.admin_arn)
    assert evaluate([ours], Request("secretsmanager:GetSecretValue", admin, {})) == ALLOWED
    assert evaluate([ours], Request("secretsmanager:PutSecretValue", admin, {})) == IMPLICIT
    assert evaluate([ours], Request("secretsmanager:GetRandomPassword", "*", {})) == ALLOWED
    # Resources: never "*" for a secret action; every rotation resource is a manifest secret.
    names = {s.policy_arn for s in m.externals}
    for st in ours["Statement"]:
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if st["Sid"].startswith("Rotate"):
            assert set(resources) <= names and st["Condition"]["StringEquals"]["secretsmanager:resource/Type"]
        if any(a.startswith("secretsmanager:") and a != "secretsmanager:GetRandomPassword" for a in st["Action"]):
            assert "*" not in resources, st


def test_the_trust_is_secrets_manager_for_this_account_and_these_secrets() -> None:
    m = _module()
    (st,) = m.external_role.trust["Statement"]
    assert st["Principal"] == {"Service": "secretsmanager.amazonaws.com"} and st["Action"] == "sts:AssumeRole"
    assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert sorted(st["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(s.policy_arn for s in m.externals)
    assert not m.external_role.trust_wide
    # The service sends the secret's ARN as aws:SourceArn (mes-security's example conditions on it).
    trust = m.external_role.trust
    for s in m.externals:
        ctx = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": s.arn or _secret(s.name)}
        assert (
            evaluate([trust], Request("sts:AssumeRole", "*", ctx), principals=["secretsmanager.amazonaws.com"])
            == ALLOWED
        )
    for ctx in (
        {"aws:SourceAccount": "444455556666", "aws:SourceArn": _secret("prod/paddle/billing")},
        {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _secret("prod/someone-else")},
    ):
        assert (
            evaluate([trust], Request("sts:AssumeRole", "*", ctx), principals=["secretsmanager.amazonaws.com"])
            == IMPLICIT
        )


def _write(tmp_path: Path, secrets: str, extra: str = "") -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(f'version: 1\naccount_id: "{ACCOUNT}"\nregion: {REGION}\n{extra}secrets:\n{secrets}')
    return p


def test_one_role_per_manifest_whatever_the_partners(tmp_path: Path) -> None:
    body = "".join(
        f"  prod/{t.lower()}:\n    external: {{type: {t}}}\n    schedule: {{every_days: 10}}\n"
        for t in partners.TYPES
        if not partners.partner(t).required
    )
    m = _module(_write(tmp_path, body))
    assert m.external_role is not None
    types = {st.sid for st in m.external_role.policy.statements if st.sid.startswith("Rotate")}
    assert types == {f"Rotate{t}" for t in partners.TYPES if not partners.partner(t).required}
    roles = [n for kind, n, _p in m.global_names if kind == "IAM role"]
    assert roles == ["m-external-rotation-use1"]


def test_a_long_list_of_secrets_falls_back_to_the_trust_aws_shows(tmp_path: Path) -> None:
    body = "".join(
        f"  prod/team-{i:03d}/paddle-key:\n    external: {{type: PaddleApiKey}}\n    schedule: {{every_days: 10}}\n"
        for i in range(40)
    )
    m = _module(_write(tmp_path, body))
    assert m.external_role.trust_wide
    (st,) = m.external_role.trust["Statement"]
    assert st["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"
    (rotate,) = [s for s in m.external_role.policy.statements if s.sid.startswith("Rotate")]
    assert len(rotate.resources) == 40, "the inline policy still names each secret"


@pytest.mark.parametrize("length,ok", [(partners.METADATA_VALUE_MAX, True), (partners.METADATA_VALUE_MAX + 1, False)])
def test_metadata_value_limit_at_its_boundary(tmp_path: Path, length: int, ok: bool) -> None:
    body = f'  prod/p:\n    external:\n      type: PaddleApiKey\n      metadata: {{gracePeriodSeconds: "{"9" * length}"}}\n    schedule: {{every_days: 10}}\n'
    path = _write(tmp_path, body)
    if ok:
        _module(path)
    else:
        with pytest.raises(Failed) as info:
            api.load(path)
        assert any("must be 1-2,048 characters" in d.message for d in info.value.diagnostics)


def test_the_deployer_passes_the_role_to_secrets_manager_only() -> None:
    m = _module()
    doc = other_policies.deployer_policy(m)
    assert doc is not None
    (st,) = [s for s in doc["Statement"] if s["Sid"] == "PassExternalRotationRoleToSecretsManagerOnly"]
    assert st["Resource"] == m.external_role.role_arn
    assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "secretsmanager.amazonaws.com"}}
    roles = other_policies.role_pattern(m)
    import fnmatch

    assert fnmatch.fnmatchcase(m.external_role.role_arn, roles), "the boundary statements cover the external role"


def test_key_policy_statements_name_the_external_role() -> None:
    m = _module()
    keys = other_policies.key_policy_statements(m)
    (stmts,) = keys.values()
    assert all(s["Principal"] == {"AWS": [m.external_role.role_arn]} for s in stmts)


def test_a_created_external_secret_waits_for_its_fields(tmp_path: Path) -> None:
    body = "  prod/p:\n    create: true\n    external: {type: PaddleApiKey, credentials_stored: false}\n    schedule: {every_days: 10}\n"
    files = api.render(_write(tmp_path, body), tmp_path / "out").files
    assert 'type                    = "PaddleApiKey"' in files["secrets.tf"]
    assert "aws_secretsmanager_secret_version" not in files["secrets.tf"]
    assert "aws_secretsmanager_secret_rotation" not in files["rotation.tf"].split("# Not here")[0] + "".join(
        line for line in files["rotation.tf"].splitlines() if line.startswith("resource")
    )
    assert 'output "credentials_to_store"' in files["outputs.tf"]
    assert ">= 1.11.0" not in files["versions.tf"], "no write-only value: Terraform 1.5 is enough"
