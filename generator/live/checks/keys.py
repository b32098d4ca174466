"""The secret's KMS keys (subject: the secret's name): ``kms-key`` (the manifest's key;
none: ``aws/secretsmanager``), ``key-state`` (enabled), ``key-policy`` (delegates to IAM,
the default statement, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html,
or names the function's role) and ``master-secret`` (alternating users: it exists with the
manifest's key, and its key policy lets the role decrypt)."""

from __future__ import annotations

import json

from generator.live.checks.check import ASFF_KEY, ASFF_SECRET, BY_FUNCTION, SM_GUIDE, SecretSubject, secret_check
from generator.live.checks.context import secret_id
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS, UNKNOWN, WARN
from generator.live.reader import Reader

KMS_KEY = secret_check(
    "kms-key", "The secret's KMS key is the manifest's", "MEDIUM",
    "The module grants kms:Decrypt and kms:GenerateDataKey on the manifest's kms_key_arn only.",
    f"{SM_GUIDE}/security-encryption.html", ASFF_KEY,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,), reads=(Reader.key,),
)  # fmt: skip


@KMS_KEY.judged_by
def kms_key(on: SecretSubject) -> None:
    s, d = on.s, on.d
    n = s.name
    actual, _meta = on.ctx.resolve_key(d.get("KmsKeyId"))
    if actual != s.kms_key_arn:
        if actual is None:
            on.add(KMS_KEY, FAIL, f"the secret uses the AWS managed key aws/secretsmanager, not {s.kms_key_arn}",
                   f"remove secrets.{n}.kms_key_arn, or re-encrypt the secret: aws secretsmanager update-secret --secret-id {d['ARN']} --kms-key-id {s.kms_key_arn}")  # fmt: skip
        else:
            on.add(KMS_KEY, FAIL, f"the secret is encrypted with {actual}, not " + (s.kms_key_arn or "the AWS managed key (no kms_key_arn)"),
                   f"set secrets.{n}.kms_key_arn: {actual}")  # fmt: skip
    else:
        on.add(
            KMS_KEY,
            PASS,
            f"encrypted with {actual}" if actual else "encrypted with the AWS managed key aws/secretsmanager",
        )


KEY_STATE = secret_check(
    "key-state", "The secret's KMS key is enabled", "CRITICAL",
    "A disabled key, or one pending deletion, cannot decrypt the secret.",
    "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html", ASFF_KEY,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS, KMS_KEY), reads=(Reader.key,),
)  # fmt: skip


@KEY_STATE.judged_by
def key_state(on: SecretSubject) -> None:
    """A customer managed key only (the AWS managed key is AWS's to keep enabled)."""
    actual, meta = on.ctx.resolve_key(on.d.get("KmsKeyId"))
    if actual is None:
        on.stop()
        return
    if meta is None:
        on.add(KEY_STATE, FAIL, f"key {actual} does not exist", "fix the secret's key")
        on.stop()
        return
    if meta.get("KeyState") == "Enabled":
        on.add(KEY_STATE, PASS, f"key {meta['Arn']} is enabled")
    else:
        state = meta.get("KeyState", "?")
        fix = (f"aws kms cancel-key-deletion --key-id {meta['Arn']} && aws kms enable-key --key-id {meta['Arn']}"
               if state == "PendingDeletion" else f"aws kms enable-key --key-id {meta['Arn']}")  # fmt: skip
        on.add(KEY_STATE, FAIL, f"key {meta['Arn']} is {state}: the secret cannot be decrypted", fix)


KEY_POLICY = secret_check(
    "key-policy", "The key policy lets the function's role use the key", "HIGH",
    "The key policy delegates to IAM (the account's root principal) or names the function's role.",
    "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html", ASFF_KEY,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS, KMS_KEY, KEY_STATE),
    reads=(Reader.key, Reader.key_policy, Reader.function_conf),
)  # fmt: skip


@KEY_POLICY.judged_by
def key_policy(on: SecretSubject) -> None:
    """A customer managed key that exists (key-state stops otherwise), for the function's real role."""
    ctx, d = on.ctx, on.d
    key_arn, _meta = ctx.resolve_key(d.get("KmsKeyId"))
    assert key_arn is not None
    role_arn, _ = ctx.role_of(on.fn)
    actions = ("kms:Decrypt", "kms:GenerateDataKey")
    verdict, detail = ctx.key_allows(key_arn, role_arn or "", actions, {"kms:EncryptionContext:SecretARN": d["ARN"]})
    if role_arn is None and verdict != "iam":
        on.add(KEY_POLICY, UNKNOWN, f"could not check whether the policy of key {key_arn} lets the function's role: the role is unknown",
               "make the function readable (lambda:GetFunctionConfiguration)")  # fmt: skip
        return
    if verdict in ("role", "iam"):
        on.add(KEY_POLICY, PASS, f"the policy of key {key_arn} {detail}")
        return
    statement = {
        "Sid": "AllowRotationRole", "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": list(actions), "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.m.region}.amazonaws.com"}},
    }  # fmt: skip
    if verdict == "unsure":
        on.add(KEY_POLICY, WARN, f"the policy of key {key_arn} {detail}; the role {role_arn} may not be able to use it",
               f"check the key policy; the statement the role needs: {json.dumps(statement)}")  # fmt: skip
        return
    why = "denies" if verdict == "deny" else "neither delegates to IAM nor names"
    on.add(KEY_POLICY, FAIL, f"the policy of key {key_arn} {why} the role {role_arn}: rotation cannot decrypt the secret",
           f"add this statement to the key policy (the module writes it to kms-key-policy-statements.json): {json.dumps(statement)}")  # fmt: skip


MASTER_SECRET = secret_check(
    "master-secret", "The master secret exists and its key lets the role decrypt", "HIGH",
    "Alternating users: the function reads the master secret, so it must exist with the manifest's key.",
    f"{SM_GUIDE}/rotating-secrets_strategies.html", ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,),
    reads=(Reader.secret, Reader.key, Reader.key_policy, Reader.function_conf),
)  # fmt: skip


@MASTER_SECRET.judged_by
def master_secret(on: SecretSubject) -> None:
    """A secret with a master secret (alternating users) only."""
    s, ctx = on.s, on.ctx
    if not s.master_arn:
        return
    n = s.name
    md = ctx.read.secret(secret_id(s.master_arn))
    if md is None:
        on.add(
            MASTER_SECRET, FAIL, f"master secret {s.master_arn} does not exist", f"fix secrets.{n}.master_secret.arn"
        )
        return
    actual, meta = ctx.resolve_key(md.get("KmsKeyId"))
    if actual != s.master_kms_key_arn:
        on.add(MASTER_SECRET, FAIL,
                 f"master secret {s.master_arn} is encrypted with {actual or 'the AWS managed key aws/secretsmanager'}, "
                 f"not {s.master_kms_key_arn or 'the AWS managed key (no master_secret.kms_key_arn)'}",
               f"set secrets.{n}.master_secret.kms_key_arn: {actual}" if actual else f"remove secrets.{n}.master_secret.kms_key_arn")  # fmt: skip
        return
    if actual is not None and meta is not None and meta.get("KeyState") != "Enabled":
        on.add(MASTER_SECRET, FAIL, f"the master secret's key {actual} is {meta.get('KeyState')}",
               f"aws kms enable-key --key-id {actual}")  # fmt: skip
        return
    role_arn, _ = ctx.role_of(on.fn)
    if actual is not None:
        verdict, detail = ctx.key_allows(
            actual, role_arn or "", ("kms:Decrypt",), {"kms:EncryptionContext:SecretARN": md["ARN"]}
        )
        if verdict not in ("role", "iam"):
            statement = {
                "Sid": "AllowRotationRoleReadMaster", "Effect": "Allow", "Principal": {"AWS": role_arn},
                "Action": ["kms:Decrypt"], "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.m.region}.amazonaws.com"}},
            }  # fmt: skip
            on.add(MASTER_SECRET, FAIL if verdict in ("no", "deny") else WARN,
                   f"the policy of the master secret's key {actual} does not let {role_arn} decrypt",
                   f"add this statement to the policy of key {actual} (the module writes it to "
                   f"kms-key-policy-statements.json): {json.dumps(statement)}")  # fmt: skip
            return
    on.add(MASTER_SECRET, PASS, f"master secret {md['ARN']} exists" + (f", key {actual}" if actual else ""))
