"""The secret's KMS keys (subject: the secret's name): ``kms-key`` (the manifest's key;
none: ``aws/secretsmanager``), ``key-state`` (enabled), ``key-policy`` (delegates to IAM,
the default statement, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html,
or names the function's role) and ``master-secret`` (alternating users: it exists with the
manifest's key, and its key policy lets the role decrypt)."""

from __future__ import annotations

import json
from typing import Any

from generator import model as model_mod
from generator.live.checks.context import Context, Findings, secret_id
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, UNKNOWN, WARN, Finding


def kms(ctx: Context, s: model_mod.SecretPlan, d: dict[str, Any], role_arn: str | None) -> list[Finding]:
    out = Findings()
    n = s.name
    try:
        actual, meta = ctx.resolve_key(d.get("KmsKeyId"))
    except LiveError as exc:
        out.unknown(n, "kms-key", exc)
        return out
    if actual != s.kms_key_arn:
        if actual is None:
            out.add(n, "kms-key", FAIL, f"the secret uses the AWS managed key aws/secretsmanager, not {s.kms_key_arn}",
                     f"remove secrets.{n}.kms_key_arn, or re-encrypt the secret: aws secretsmanager update-secret --secret-id {d['ARN']} --kms-key-id {s.kms_key_arn}")  # fmt: skip
        else:
            out.add(n, "kms-key", FAIL, f"the secret is encrypted with {actual}, not " + (s.kms_key_arn or "the AWS managed key (no kms_key_arn)"),
                     f"set secrets.{n}.kms_key_arn: {actual}")  # fmt: skip
    else:
        out.add(
            n,
            "kms-key",
            PASS,
            f"encrypted with {actual}" if actual else "encrypted with the AWS managed key aws/secretsmanager",
        )
    if actual is None:
        return out
    if meta is None:
        out.add(n, "key-state", FAIL, f"key {actual} does not exist", "fix the secret's key")
        return out
    out += key_state(ctx, n, meta)
    out += key_policy(
        ctx,
        n,
        actual,
        role_arn,
        {"kms:EncryptionContext:SecretARN": d["ARN"]},
        ("kms:Decrypt", "kms:GenerateDataKey"),
        "key-policy",
    )
    return out


def key_state(ctx: Context, n: str, meta: dict[str, Any]) -> list[Finding]:
    out = Findings()
    if meta.get("KeyState") == "Enabled":
        out.add(n, "key-state", PASS, f"key {meta['Arn']} is enabled")
    else:
        state = meta.get("KeyState", "?")
        fix = (f"aws kms cancel-key-deletion --key-id {meta['Arn']} && aws kms enable-key --key-id {meta['Arn']}"
               if state == "PendingDeletion" else f"aws kms enable-key --key-id {meta['Arn']}")  # fmt: skip
        out.add(n, "key-state", FAIL, f"key {meta['Arn']} is {state}: the secret cannot be decrypted", fix)
    return out


def key_policy(
    ctx: Context,
    n: str,
    key_arn: str,
    role_arn: str | None,
    context: dict[str, str],
    actions: tuple[str, ...],
    check: str,
) -> list[Finding]:
    out = Findings()
    try:
        verdict, detail = ctx.key_allows(key_arn, role_arn or "", actions, context)
        if role_arn is None and verdict != "iam":
            out.add(n, check, UNKNOWN, f"could not check whether the policy of key {key_arn} lets the function's role: the role is unknown",
                     "make the function readable (lambda:GetFunctionConfiguration)")  # fmt: skip
            return out
    except LiveError as exc:
        out.unknown(n, check, exc)
        return out
    if verdict in ("role", "iam"):
        out.add(n, check, PASS, f"the policy of key {key_arn} {detail}")
        return out
    statement = {
        "Sid": "AllowRotationRole", "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": list(actions), "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.m.region}.amazonaws.com"}},
    }  # fmt: skip
    if verdict == "unsure":
        out.add(n, check, WARN, f"the policy of key {key_arn} {detail}; the role {role_arn} may not be able to use it",
                 f"check the key policy; the statement the role needs: {json.dumps(statement)}")  # fmt: skip
        return out
    why = "denies" if verdict == "deny" else "neither delegates to IAM nor names"
    out.add(n, check, FAIL, f"the policy of key {key_arn} {why} the role {role_arn}: rotation cannot decrypt the secret",
             f"add this statement to the key policy (the module writes it to kms-key-policy-statements.json): {json.dumps(statement)}")  # fmt: skip
    return out


def master(ctx: Context, s: model_mod.SecretPlan, role_arn: str | None) -> list[Finding]:
    out = Findings()
    if not s.master_arn:
        return out
    n = s.name
    try:
        md = ctx.read.secret(secret_id(s.master_arn))
        if md is None:
            out.add(
                n,
                "master-secret",
                FAIL,
                f"master secret {s.master_arn} does not exist",
                f"fix secrets.{n}.master_secret.arn",
            )
            return out
        actual, meta = ctx.resolve_key(md.get("KmsKeyId"))
    except LiveError as exc:
        out.unknown(n, "master-secret", exc)
        return out
    if actual != s.master_kms_key_arn:
        out.add(n, "master-secret", FAIL,
                 f"master secret {s.master_arn} is encrypted with {actual or 'the AWS managed key aws/secretsmanager'}, "
                 f"not {s.master_kms_key_arn or 'the AWS managed key (no master_secret.kms_key_arn)'}",
                 f"set secrets.{n}.master_secret.kms_key_arn: {actual}" if actual else f"remove secrets.{n}.master_secret.kms_key_arn")  # fmt: skip
        return out
    if actual is not None and meta is not None and meta.get("KeyState") != "Enabled":
        out.add(
            n,
            "master-secret",
            FAIL,
            f"the master secret's key {actual} is {meta.get('KeyState')}",
            f"aws kms enable-key --key-id {actual}",
        )
        return out
    if actual is not None:
        try:
            verdict, detail = ctx.key_allows(
                actual, role_arn or "", ("kms:Decrypt",), {"kms:EncryptionContext:SecretARN": md["ARN"]}
            )
        except LiveError as exc:
            out.unknown(n, "master-secret", exc)
            return out
        if verdict not in ("role", "iam"):
            statement = {
                "Sid": "AllowRotationRoleReadMaster", "Effect": "Allow", "Principal": {"AWS": role_arn},
                "Action": ["kms:Decrypt"], "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.m.region}.amazonaws.com"}},
            }  # fmt: skip
            out.add(n, "master-secret", FAIL if verdict in ("no", "deny") else WARN,
                     f"the policy of the master secret's key {actual} does not let {role_arn} decrypt",
                     f"add this statement to the policy of key {actual} (the module writes it to "
                     f"kms-key-policy-statements.json): {json.dumps(statement)}")  # fmt: skip
            return out
    out.add(n, "master-secret", PASS, f"master secret {md['ARN']} exists" + (f", key {actual}" if actual else ""))
    return out
