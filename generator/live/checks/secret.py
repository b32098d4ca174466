"""Every check of one secret, in order (subject: the secret's name): ``secret`` (it exists),
then its keys, grants, rotation, database, value and replica host."""

from __future__ import annotations

from generator import model as model_mod
from generator.live.checks import database, external, grants, keys, last_rotation, replica, rotation, value
from generator.live.checks.context import APPLY_DOES, Context, Findings
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, WARN, Finding


def check(ctx: Context, s: model_mod.SecretPlan) -> list[Finding]:
    out = Findings()
    n = s.name
    if s.external is not None:  # Secrets Manager rotates it as the module's external role
        out += external.check(ctx, s)
        return out
    if s.function is None:
        out += rotation.service_rotated(ctx, s)
        return out
    fn = ctx.fn_by_key[s.function]
    try:
        d = ctx.read.secret(s.arn or s.name)
    except LiveError as exc:
        out.unknown(n, "secret", exc)
        return out
    if d is None:
        if s.managed is not None and ctx.before_apply:
            out.add(
                n,
                "secret",
                WARN,
                f"{APPLY_DOES}creates the secret",
                "run terraform apply, then doctor again without --before-apply",
            )
        elif s.managed is not None:
            out.add(
                n,
                "secret",
                WARN,
                "does not exist yet; terraform apply creates it",
                "run terraform apply, then doctor again",
            )
        else:
            out.add(n, "secret", FAIL, f"secret {s.arn or s.name} does not exist in {ctx.m.region}",
                     "fix the secret's name or arn in the manifest, or create the secret")  # fmt: skip
        return out
    out.add(n, "secret", PASS, f"{d['ARN']} exists")
    arn = d["ARN"]
    role_arn, role_name = ctx.role_of(fn)
    out += keys.kms(ctx, s, d, role_arn)
    out += keys.master(ctx, s, role_arn)
    key_arn = ctx.secret_key(s, d)
    master_key = ctx.master_key(s)
    out += grants.grants(ctx, s, fn, arn, key_arn, master_key, role_arn, role_name, d,
                         key_differs=out.status(n, "kms-key") == FAIL, master_failed=out.status(n, "master-secret") == FAIL)  # fmt: skip
    out += rotation.rotation(ctx, s, fn, d)
    if d.get("RotationEnabled"):  # why the last rotation failed, if it did
        out += last_rotation.last_rotation(ctx, s, fn, d)
    if s.managed is not None:
        out += database.database(ctx, s, fn)
    if ctx.read_values:
        out += value.value(ctx, s, fn, arn)
        out += replica.replica(ctx, s, fn, arn)
    return out
