"""The rotation tier's IAM evaluation (tests/helpers/iam_strict.py), held to a table of cases, and
doctor's evaluator (generator/policy_eval.py) held to the same table.

Each moto defect that would make the rotation proof hollow (issue 18) has rows here, both
ways (allowed and denied), so that a pass of the rotation tier cannot come from a check that
was skipped: a strict evaluator that ignored conditions, NotResource or ``?`` would fail a
row. Rows whose policy uses something the strict evaluator does not implement must raise
CannotEvaluate (the proxy denies those calls); doctor's evaluator answers UNSURE there.
"""

from __future__ import annotations

import pytest
from helpers.iam_strict import Call, CannotEvaluate, decide
from helpers.rotation_proxy import KMS_KEYS, SECRETS_KEYS

from generator import policy_eval

ACCT = "111122223333"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/orders/db-AbCdEf"
OTHER = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/other/db-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:pg-rotator"
ROLE = f"arn:aws:iam::{ACCT}:role/legacy/apps/legacy-app-exec"


def allow(action, resource, condition=None, *, not_resource=False):
    st = {"Effect": "Allow", "Action": action, ("NotResource" if not_resource else "Resource"): resource}
    if condition:
        st["Condition"] = condition
    return st


def deny(action, resource, condition=None):
    st = {"Effect": "Deny", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


SM_CTX = {
    "aws:PrincipalArn": ROLE,
    "secretsmanager:resource/AllowRotationLambdaArn": FN,
    "aws:ResourceTag/team": "orders",
    "secretsmanager:ResourceTag/team": "orders",
}
KMS_CTX = {"kms:EncryptionContext:SecretARN": SECRET, "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}

# id, statements, action, resource, context, expected: "allow" | "deny" | "cannot"
TABLE = [
    # moto checks Secrets Manager calls against "*": an exact ARN must allow, another must not.
    ("exact-arn", [allow("secretsmanager:GetSecretValue", SECRET)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("exact-arn-other", [allow("secretsmanager:GetSecretValue", SECRET)], "secretsmanager:GetSecretValue", OTHER, SM_CTX, "deny"),
    # moto crashes on "?": the partial-ARN form of a secret named without its ARN.
    ("name-6-marks", [allow("secretsmanager:GetSecretValue", SECRET[:-6] + "??????")], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("name-6-marks-longer-suffix", [allow("secretsmanager:GetSecretValue", SECRET[:-7] + "-??????")], "secretsmanager:GetSecretValue", SECRET + "x", SM_CTX, "deny"),
    ("name-6-marks-other-name", [allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/d-??????")], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("star-in-resource", [allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/*")], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("resource-case-sensitive", [allow("secretsmanager:GetSecretValue", SECRET.upper())], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    # moto matches actions case-sensitively; IAM does not.
    ("action-case", [allow("SecretsManager:getsecretVALUE", SECRET)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("action-wildcard", [allow("secretsmanager:Get*", SECRET)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("action-other", [allow("secretsmanager:DescribeSecret", SECRET)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("action-list", [allow(["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"], SECRET)], "secretsmanager:PutSecretValue", SECRET, SM_CTX, "allow"),
    # moto ignores NotResource.
    ("not-resource-excludes", [allow("secretsmanager:GetSecretValue", SECRET, not_resource=True)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("not-resource-others", [allow("secretsmanager:GetSecretValue", OTHER, not_resource=True)], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    # moto ignores the conditions of an Allow: the compact form's AllowRotationLambdaArn.
    ("rotation-lambda-right", [allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:*", {"StringEquals": {"secretsmanager:resource/AllowRotationLambdaArn": FN}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("rotation-lambda-wrong", [allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:*", {"StringEquals": {"secretsmanager:resource/AllowRotationLambdaArn": FN + "-other"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("rotation-lambda-absent", [allow("secretsmanager:GetSecretValue", SECRET, {"StringEquals": {"secretsmanager:resource/AllowRotationLambdaArn": FN}})], "secretsmanager:GetSecretValue", SECRET, {"aws:PrincipalArn": ROLE}, "deny"),
    ("rotation-lambda-key-case", [allow("secretsmanager:GetSecretValue", SECRET, {"StringEquals": {"SecretsManager:Resource/AllowRotationLambdaARN": FN}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    # ... and tag conditions.
    ("tag-right", [allow("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:ResourceTag/team": "orders"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("tag-wrong", [allow("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:ResourceTag/team": "billing"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("tag-like", [allow("secretsmanager:GetSecretValue", "*", {"StringLike": {"secretsmanager:ResourceTag/team": "ord*"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("tag-not-equals-absent", [allow("secretsmanager:GetSecretValue", "*", {"StringNotEquals": {"aws:ResourceTag/owner": "x"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    # moto applies a Deny whatever its condition.
    ("deny-condition-false", [allow("secretsmanager:*", SECRET), deny("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:ResourceTag/team": "billing"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("deny-condition-true", [allow("secretsmanager:*", SECRET), deny("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:ResourceTag/team": "orders"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("deny-plain", [allow("secretsmanager:*", SECRET), deny("secretsmanager:get*", "*")], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("deny-other-action", [allow("secretsmanager:*", SECRET), deny("secretsmanager:PutSecretValue", "*")], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "allow"),
    ("nothing", [], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "deny"),
    ("random-password", [allow("secretsmanager:GetRandomPassword", "*")], "secretsmanager:GetRandomPassword", "*", SM_CTX, "allow"),
    # moto does not enforce KMS at all: the module's key statements, conditioned on the secret.
    ("kms-context-right", [allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY, {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET}})], "kms:Decrypt", KEY, KMS_CTX, "allow"),
    ("kms-context-wrong", [allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY, {"StringEquals": {"kms:EncryptionContext:SecretARN": OTHER}})], "kms:Decrypt", KEY, KMS_CTX, "deny"),
    ("kms-other-action", [allow("kms:Decrypt", KEY, {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET}})], "kms:GenerateDataKey", KEY, KMS_CTX, "deny"),
    ("kms-other-key", [allow("kms:Decrypt", KEY)], "kms:Decrypt", KEY[:-1] + "c", KMS_CTX, "deny"),
    ("kms-via-service-ifexists", [allow("kms:Decrypt", KEY, {"StringEqualsIfExists": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}})], "kms:Decrypt", KEY, KMS_CTX, "allow"),
    ("kms-null-check", [allow("kms:Decrypt", KEY, {"Null": {"kms:EncryptionContext:SecretARN": "false"}})], "kms:Decrypt", KEY, KMS_CTX, "allow"),
    # What the strict evaluator does not implement fails closed.
    ("unknown-operator", [allow("secretsmanager:GetSecretValue", SECRET, {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "cannot"),
    ("unknown-key", [allow("secretsmanager:GetSecretValue", SECRET, {"StringEquals": {"aws:SourceVpce": "vpce-1"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "cannot"),
    ("multi-valued", [allow("secretsmanager:GetSecretValue", SECRET, {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "cannot"),
    ("unknown-in-deny", [allow("secretsmanager:*", SECRET), deny("secretsmanager:GetSecretValue", "*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})], "secretsmanager:GetSecretValue", SECRET, SM_CTX, "cannot"),
]  # fmt: skip


def _keys(action: str) -> frozenset[str]:
    return KMS_KEYS if action.startswith("kms:") else SECRETS_KEYS


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_strict_evaluator(row):
    _id, statements, action, resource, context, expected = row
    call = Call(action, resource, context, _keys(action))
    doc = {"Version": "2012-10-17", "Statement": statements}
    if expected == "cannot":
        with pytest.raises(CannotEvaluate):
            decide([doc], call)
    else:
        assert decide([doc], call) is (expected == "allow")


def test_doctor_without_known_keys_is_unsure_on_an_absent_key():
    """Without known_keys (what doctor passes today) an absent key stays UNSURE, never a guess."""
    doc = {"Statement": [allow("secretsmanager:GetSecretValue", SECRET, {"StringEquals": {"aws:ResourceTag/x": "y"}})]}
    req = policy_eval.Request("secretsmanager:GetSecretValue", SECRET, {})
    assert policy_eval.evaluate([doc], req) == policy_eval.UNSURE


def test_boundary_must_allow_too():
    call = Call("secretsmanager:GetSecretValue", SECRET, SM_CTX, SECRETS_KEYS)
    doc = {"Statement": [allow("secretsmanager:GetSecretValue", SECRET)]}
    assert decide([doc], call, boundary={"Statement": [allow("secretsmanager:*", "*")]})
    assert not decide([doc], call, boundary={"Statement": [allow("secretsmanager:DescribeSecret", "*")]})


def test_principal_in_identity_policy_cannot_be_evaluated():
    call = Call("secretsmanager:GetSecretValue", SECRET, SM_CTX, SECRETS_KEYS)
    doc = {"Statement": [{**allow("secretsmanager:GetSecretValue", SECRET), "Principal": "*"}]}
    with pytest.raises(CannotEvaluate):
        decide([doc], call)


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_doctor_agrees(row):
    """doctor's evaluator, given the same request context, reaches the same verdict."""
    _id, statements, action, resource, context, expected = row
    doc = {"Version": "2012-10-17", "Statement": statements}
    got = policy_eval.evaluate([doc], policy_eval.Request(action, resource, context, _keys(action)))
    want = {
        "allow": {policy_eval.ALLOWED},
        "deny": {policy_eval.DENIED, policy_eval.IMPLICIT},
        "cannot": {policy_eval.UNSURE},
    }[expected]
    assert got in want, f"doctor says {got}, IAM (strict evaluator) says {expected}"
