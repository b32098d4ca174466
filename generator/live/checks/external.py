"""Managed external secrets (subject: the secret's name): ``secret-type`` (the secret has the
manifest's type), ``external-trust`` (Secrets Manager may assume the module's role for this
secret, only from this account), ``external-grants`` (the role may rotate it, evaluated like
``grants``), ``external-rotation`` (on, with the role and the metadata, no function), then
``schedule`` and ``overdue`` as for any rotation
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/mes-security.html)."""

from __future__ import annotations

from typing import Any

from generator import model as model_mod
from generator import policies
from generator.live import policy_eval as pe
from generator.live.checks import rotation as rotation_checks
from generator.live.checks.context import Context, Findings, secret_id
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, WARN, Finding

SERVICE = "secretsmanager.amazonaws.com"


def check(ctx: Context, s: model_mod.SecretPlan) -> list[Finding]:
    out = Findings()
    n = s.name
    x = s.external
    xr = ctx.m.external_role
    assert x is not None and xr is not None
    try:
        d = ctx.read.secret(s.arn or s.name)
    except LiveError as exc:
        out.unknown(n, "secret", exc)
        return out
    if d is None:
        if s.managed is not None:
            out.add(n, "secret", WARN, "does not exist yet; terraform apply creates it with its type",
                    "run terraform apply, put the partner's fields in it, then doctor again")  # fmt: skip
        else:
            out.add(n, "secret", FAIL, f"secret {s.arn or s.name} does not exist in {ctx.m.region}",
                    f"create it as a {x.secret_type} secret with the partner's fields ({x.page}), or fix its name or arn")  # fmt: skip
        return out
    arn = d["ARN"]
    out.add(n, "secret", PASS, f"{arn} exists")
    got_type = d.get("Type")
    if got_type != x.secret_type:
        what = f"its type is {got_type}" if got_type else "it has no type"
        out.add(n, "secret-type", FAIL, f"{what}, not {x.secret_type}",
                f"Secrets Manager sets a secret's type only when it is created: create a {x.secret_type} secret "
                f"({x.page}), move the fields there and point the manifest at it")  # fmt: skip
    else:
        out.add(n, "secret-type", PASS, f"type {got_type}")
    try:
        role = ctx.read.role(xr.role_name)
        docs = ctx.read.role_documents(xr.role_name) if role is not None else None
    except LiveError as exc:
        out.unknown(n, "external-trust", exc)
        out.unknown(n, "external-grants", exc)
    else:
        out += _trust(ctx, s, arn, role)
        out += _grants(ctx, s, arn, docs, d)
    out += _rotation(ctx, s, d)
    return out


def _trust(ctx: Context, s: model_mod.SecretPlan, arn: str, role: dict[str, Any] | None) -> list[Finding]:
    out = Findings()
    n = s.name
    xr = ctx.m.external_role
    assert xr is not None
    if role is None:
        out.add(n, "external-trust", WARN, f"role {xr.role_name} does not exist yet; terraform apply creates it",
                "run terraform apply, then doctor again")  # fmt: skip
        return out
    trust = role.get("AssumeRolePolicyDocument") or {}

    def may(account: str, source: str) -> str:
        req = pe.Request("sts:AssumeRole", "*", {"aws:SourceAccount": account, "aws:SourceArn": source})
        return pe.evaluate([trust], req, principals=[SERVICE])

    fix = f"run terraform apply: the module sets the trust of {xr.role_name}"
    mine = may(ctx.m.account_id, arn)
    if mine != pe.ALLOWED:
        why = "under conditions doctor cannot evaluate" if mine == pe.UNSURE else "not"
        out.add(n, "external-trust", FAIL if mine != pe.UNSURE else WARN,
                f"role {xr.role_name} trusts {SERVICE} {why} for this secret ({arn})", fix)  # fmt: skip
        return out
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
        out.add(n, "external-trust", FAIL, f"role {xr.role_name} trusts {SERVICE} " + " and ".join(problems), fix)
    else:
        out.add(
            n, "external-trust", PASS, f"role {xr.role_name} trusts {SERVICE} for this secret, from this account only"
        )
    return out


def _grants(ctx: Context, s: model_mod.SecretPlan, arn: str, docs: Any, d: dict[str, Any]) -> list[Finding]:
    out = Findings()
    n = s.name
    x = s.external
    xr = ctx.m.external_role
    assert x is not None and xr is not None
    if docs is None:
        out.add(n, "external-grants", WARN, f"role {xr.role_name} does not exist yet; terraform apply creates it with the grants",
                "run terraform apply, then doctor again")  # fmt: skip
        return out
    identity, boundary = docs
    # The requests the module's external_policy is built from, on what the account holds:
    # the secret's real ARN and key, the admin secret's key.
    key_arn = ctx.secret_key(s, d)
    admin_key = x.admin_kms_key_arn
    if x.admin_arn:
        try:
            ad = ctx.read.secret(secret_id(x.admin_arn))
            admin_key = ctx.resolve_key(ad.get("KmsKeyId"))[0] if ad else x.admin_kms_key_arn
        except LiveError:
            admin_key = x.admin_kms_key_arn
    grant = policies.ExternalGrant(arn, x.secret_type, key_arn, x.admin_arn, admin_key)
    wanted = [(r.action, r.resource, ctx.request_context(r)) for r in policies.external_requests(grant)]
    missing: list[str] = []
    unsure: list[str] = []
    for action, resource, req_ctx in wanted:
        if action.startswith("kms:"):
            try:
                verdict, _ = ctx.key_allows(resource, xr.role_arn, (action,), req_ctx)
            except LiveError:
                verdict = "iam"
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
        out.add(n, "external-grants", FAIL, f"role {xr.role_name} may not: " + "; ".join(missing),
                f"run terraform apply: the module puts policy {xr.policy_name} with these grants on {xr.role_name}")  # fmt: skip
    elif unsure:
        out.add(n, "external-grants", WARN, f"role {xr.role_name} allows these only under conditions doctor cannot evaluate: "
                + "; ".join(unsure), "check the conditions of the role's policies")  # fmt: skip
    else:
        out.add(n, "external-grants", PASS, f"role {xr.role_name} may rotate it ({len(wanted)} requests checked)")
    return out


def _rotation(ctx: Context, s: model_mod.SecretPlan, d: dict[str, Any]) -> list[Finding]:
    out = Findings()
    n = s.name
    x = s.external
    xr = ctx.m.external_role
    assert x is not None and xr is not None
    resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
    if not s.rotates:
        out.add(n, "external-rotation", PASS, "rotation stays off until external.credentials_stored is true")
        return out
    if not d.get("RotationEnabled"):
        out.add(n, "external-rotation", FAIL, "rotation is off", f"run terraform apply ({resource} turns it on)")
        return out
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
        out.add(n, "external-rotation", FAIL, "rotation is on, but " + "; ".join(problems),
                f"run terraform apply ({resource} sets the role and the metadata)")  # fmt: skip
    else:
        out.add(n, "external-rotation", PASS, f"rotation is on with {xr.role_arn} and the manifest's metadata")
    problems = rotation_checks._schedule_problems(s.schedule, d.get("RotationRules") or {})
    if problems:
        out.add(n, "schedule", FAIL, "; ".join(problems), rotation_checks._schedule_fix(resource, s.schedule, problems),
                field=rotation_checks.schedule_field(s.schedule, d.get("RotationRules") or {}))  # fmt: skip
    else:
        out.add(n, "schedule", PASS, f"schedule {rotation_checks._describe_schedule(s.schedule)}")
    out += rotation_checks.overdue(ctx, s, d)
    return out
