"""Managed external secrets (subject: the secret's name): ``secret-type`` (the secret has the
manifest's type), ``external-trust`` (Secrets Manager may assume the module's role for this
secret, only from this account), ``external-grants`` (the role may rotate it, evaluated like
``grants``) and ``external-rotation`` (on, with the role and the metadata, no function);
``schedule`` and ``overdue`` judge it as any rotation (:mod:`.rotation`)
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/mes-security.html)."""

from __future__ import annotations

from functools import partial
from typing import Any

from generator import policies
from generator import policy_eval as pe
from generator.live.checks.check import ASFF_ROLE, ASFF_SECRET, BY_PARTNER, SM_GUIDE, SecretSubject, secret_check
from generator.live.checks.context import or_else, secret_id
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS, WARN
from generator.live.reader import Reader

SERVICE = "secretsmanager.amazonaws.com"

SECRET_TYPE = secret_check(
    "secret-type", "A managed external secret has the manifest's type", "HIGH",
    "external: Secrets Manager sets a secret's type at CreateSecret; rotation with a partner needs the type the "
    "manifest names.",
    f"{SM_GUIDE}/mes-partners.html", ASFF_SECRET,
    kinds=(BY_PARTNER,), needs=(SECRET_EXISTS,),
)  # fmt: skip


@SECRET_TYPE.judged_by
def secret_type(on: SecretSubject) -> None:
    x = on.s.external
    assert x is not None
    got_type = on.d.get("Type")
    if got_type != x.secret_type:
        what = f"its type is {got_type}" if got_type else "it has no type"
        on.add(SECRET_TYPE, FAIL, f"{what}, not {x.secret_type}",
               f"Secrets Manager sets a secret's type only when it is created: create a {x.secret_type} secret "
               f"({x.page}), move the fields there and point the manifest at it")  # fmt: skip
    else:
        on.add(SECRET_TYPE, PASS, f"type {got_type}")


def _role(on: SecretSubject) -> tuple[dict[str, Any] | None, Any]:
    """The module's external role and its (identity, boundary) policies; None, None: it does not
    exist yet. Both checks of the role read both: either unreadable leaves both unknown."""
    xr = on.ctx.m.external_role
    assert xr is not None
    role = on.read.role(xr.role_name)
    return role, (on.read.role_documents(xr.role_name) if role is not None else None)


EXTERNAL_TRUST = secret_check(
    "external-trust", "Secrets Manager may assume the external rotation role, only for this account and these secrets",
    "HIGH",
    "external: the role trusts secretsmanager.amazonaws.com for this secret, guarded by aws:SourceAccount and "
    "aws:SourceArn (the confused deputy).",
    f"{SM_GUIDE}/mes-security.html", ASFF_ROLE,
    kinds=(BY_PARTNER,), needs=(SECRET_EXISTS,), reads=(Reader.role, Reader.role_documents),
)  # fmt: skip


@EXTERNAL_TRUST.judged_by
def external_trust(on: SecretSubject) -> None:
    role, _docs = _role(on)
    _trust(on, on.d["ARN"], role)


EXTERNAL_GRANTS = secret_check(
    "external-grants", "The external rotation role may rotate the secret", "HIGH",
    "external: the role's inline, attached and boundary policies allow the rotation actions on the secret, "
    "its key and its admin secret.",
    f"{SM_GUIDE}/mes-security.html", ASFF_ROLE,
    kinds=(BY_PARTNER,), needs=(SECRET_EXISTS,),
    reads=(Reader.role, Reader.role_documents, Reader.secret, Reader.key, Reader.key_policy),
)  # fmt: skip


@EXTERNAL_GRANTS.judged_by
def external_grants(on: SecretSubject) -> None:
    _role_, docs = _role(on)
    _grants(on, on.d["ARN"], docs, on.d)


EXTERNAL_ROTATION = secret_check(
    "external-rotation", "Rotation is on with the manifest's role and metadata", "MEDIUM",
    "external: rotation is enabled with ExternalSecretRotationRoleArn the module's role, the manifest's "
    "metadata, and no Lambda function.",
    f"{SM_GUIDE}/mes-partners.html", ASFF_SECRET,
    kinds=(BY_PARTNER,), needs=(SECRET_EXISTS,), controls=("SecretsManager.1",),
)  # fmt: skip


def _trust(on: SecretSubject, arn: str, role: dict[str, Any] | None) -> None:
    ctx = on.ctx
    xr = ctx.m.external_role
    assert xr is not None
    if role is None:
        on.add(EXTERNAL_TRUST, WARN, f"role {xr.role_name} does not exist yet; terraform apply creates it",
               "run terraform apply, then doctor again")  # fmt: skip
        return
    trust = role.get("AssumeRolePolicyDocument") or {}

    def may(account: str, source: str) -> str:
        req = pe.Request("sts:AssumeRole", "*", {"aws:SourceAccount": account, "aws:SourceArn": source})
        return pe.evaluate([trust], req, principals=[SERVICE])

    fix = f"run terraform apply: the module sets the trust of {xr.role_name}"
    mine = may(ctx.m.account_id, arn)
    if mine != pe.ALLOWED:
        why = "under conditions doctor cannot evaluate" if mine == pe.UNSURE else "not"
        on.add(EXTERNAL_TRUST, FAIL if mine != pe.UNSURE else WARN,
               f"role {xr.role_name} trusts {SERVICE} {why} for this secret ({arn})", fix)  # fmt: skip
        return
    problems = []
    other_account = "000000000000" if ctx.m.account_id != "000000000000" else "111111111111"
    if may(other_account, arn) != pe.IMPLICIT:  # the trust must check the account itself
        problems.append("without aws:SourceAccount (another account's rotation could assume it)")
    stranger = (
        f"arn:{ctx.m.partition}:secretsmanager:{ctx.m.region}:{ctx.m.account_id}:secret:rotation-tf-doctor-probe-AbCdEf"
    )
    if not xr.trust_wide and may(ctx.m.account_id, stranger) != pe.IMPLICIT:
        problems.append("for secrets the manifest does not name (aws:SourceArn)")
    if problems:
        on.add(EXTERNAL_TRUST, FAIL, f"role {xr.role_name} trusts {SERVICE} " + " and ".join(problems), fix)
    else:
        on.add(EXTERNAL_TRUST, PASS, f"role {xr.role_name} trusts {SERVICE} for this secret, from this account only")


def _grants(on: SecretSubject, arn: str, docs: Any, d: dict[str, Any]) -> None:
    ctx, s = on.ctx, on.s
    x = s.external
    xr = ctx.m.external_role
    assert x is not None and xr is not None
    if docs is None:
        on.add(EXTERNAL_GRANTS, WARN, f"role {xr.role_name} does not exist yet; terraform apply creates it with the grants",
               "run terraform apply, then doctor again")  # fmt: skip
        return
    identity, boundary = docs
    # The requests the module's external_policy is built from, on what the account holds:
    # the secret's real ARN and key, the admin secret's key.
    key_arn = ctx.secret_key(s, d)
    admin_key = x.admin_kms_key_arn
    if x.admin_arn:
        admin = x.admin_arn

        def read_admin_key() -> str | None:
            ad = ctx.read.secret(secret_id(admin))
            return ctx.resolve_key(ad.get("KmsKeyId"))[0] if ad else x.admin_kms_key_arn

        admin_key = or_else(x.admin_kms_key_arn, read_admin_key)
    grant = policies.ExternalGrant(arn, x.secret_type, key_arn, x.admin_arn, admin_key)
    wanted = [(r.action, r.resource, ctx.request_context(r)) for r in policies.external_requests(grant)]
    missing: list[str] = []
    unsure: list[str] = []
    for action, resource, req_ctx in wanted:
        if action.startswith("kms:"):
            verdict, _ = or_else(("iam", ""), partial(ctx.key_allows, resource, xr.role_arn, (action,), req_ctx))
            if verdict == "role":
                continue
            if verdict in ("no", "deny"):
                missing.append(f"{action} on {resource} (the key policy allows neither the role nor IAM)")
                continue
        result = pe.evaluate(identity, pe.Request(action, resource, req_ctx))
        if result == pe.ALLOWED and boundary:
            result = pe.evaluate(boundary, pe.Request(action, resource, req_ctx))
            if result == pe.IMPLICIT:
                missing.append(f"{action} on {resource} (the permissions boundary does not allow it)")
                continue
        if result in (pe.IMPLICIT, pe.DENIED):
            missing.append(f"{action} on {resource}" + (" (explicitly denied)" if result == pe.DENIED else ""))
        elif result == pe.UNSURE:
            unsure.append(f"{action} on {resource}")
    if missing:
        on.add(EXTERNAL_GRANTS, FAIL, f"role {xr.role_name} may not: " + "; ".join(missing),
                f"run terraform apply: the module puts policy {xr.policy_name} with these grants on {xr.role_name}")  # fmt: skip
    elif unsure:
        on.add(EXTERNAL_GRANTS, WARN, f"role {xr.role_name} allows these only under conditions doctor cannot evaluate: "
                + "; ".join(unsure), "check the conditions of the role's policies")  # fmt: skip
    else:
        on.add(EXTERNAL_GRANTS, PASS, f"role {xr.role_name} may rotate it ({len(wanted)} requests checked)")


@EXTERNAL_ROTATION.judged_by
def external_rotation(on: SecretSubject) -> None:
    ctx, s, d = on.ctx, on.s, on.d
    x = s.external
    xr = ctx.m.external_role
    assert x is not None and xr is not None
    resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
    if not s.rotates:
        on.add(EXTERNAL_ROTATION, PASS, "rotation stays off until external.credentials_stored is true")
        return
    if not d.get("RotationEnabled"):
        on.add(EXTERNAL_ROTATION, FAIL, "rotation is off", f"run terraform apply ({resource} turns it on)")
        return
    problems = []
    if d.get("RotationLambdaARN"):
        problems.append(f"it uses the Lambda function {d['RotationLambdaARN']}")
    if d.get("ExternalSecretRotationRoleArn") != xr.role_arn:
        problems.append(f"its role is {d.get('ExternalSecretRotationRoleArn') or 'none'}, not {xr.role_arn}")
    got = sorted((i.get("Key", ""), i.get("Value", "")) for i in d.get("ExternalSecretRotationMetadata") or [])
    if got != sorted(x.metadata):
        want = ", ".join(k for k, _ in x.metadata) or "none"
        problems.append(f"its metadata ({', '.join(k for k, _ in got) or 'none'}) is not the manifest's ({want})")
    if problems:
        on.add(EXTERNAL_ROTATION, FAIL, "rotation is on, but " + "; ".join(problems),
               f"run terraform apply ({resource} sets the role and the metadata)")  # fmt: skip
    else:
        on.add(EXTERNAL_ROTATION, PASS, f"rotation is on with {xr.role_arn} and the manifest's metadata")
