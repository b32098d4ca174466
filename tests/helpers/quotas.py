"""Manifests of N secrets and the measures of their policies (tests/unit/test_quotas.py, tests/terraform/test_terraform_quotas.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from generator import api, model, policies
from helpers.cli import Run, cli
from helpers.hclparse import expr_value, load_module, resources

ACCOUNT = "111122223333"
FN_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator"
OTHER_FN_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:someone-else"
KEYS = [
    f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd1234-ab12-cd34-ef56-abcdef123456",
]
ROTATION_KEY = "secretsmanager:resource/AllowRotationLambdaArn"
KMS_KEY = "kms:EncryptionContext:SecretARN"


def secret_arn(i: int) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{secret_name(i)}-Ab{i % 10000:04d}"


def secret_name(i: int) -> str:
    return f"prod/app-{i:05d}/db"


def manifest(n: int, *, kms: bool = False, strategy: str = "single_user", masters: int = 1) -> dict:
    secrets = {}
    for i in range(n):
        s: dict = {"function": "rotator", "arn": secret_arn(i), "schedule": {"every_days": 30}}
        if kms:
            s["kms_key_arn"] = KEYS[i % len(KEYS)]
        if strategy == "alternating_users":
            s["master_secret"] = {
                "arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:admin-{i % masters:05d}-Mst456"
            }
        secrets[secret_name(i)] = s
    return {
        "version": 1,
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "module": "scale",
        "functions": {"rotator": {"strategy": strategy, "engine": "postgresql", "existing_function_arn": FN_ARN}},
        "secrets": secrets,
    }


def write(tmp: Path, data: dict, name: str = "scale.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load(tmp: Path, data: dict) -> model.Module:
    m, _notes = api.load(write(tmp, data))
    return m


def iam_size(document: dict) -> int:
    """The size IAM counts: the JSON without whitespace (independent of RolePolicy.size)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


# ---- an evaluator of the statements we emit ---------------------------------------------


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


# Actions that have no resource type are granted on "*"; they are not about any secret.
UNSCOPED = {"secretsmanager:GetRandomPassword", *policies.ENI_ACTIONS}


def allowed(document: dict, resource: str, context: dict[str, str]) -> set[str]:
    """Actions the policy allows on ``resource`` for a request with ``context``, not
    counting the actions without a resource type (``UNSCOPED``)."""
    out: set[str] = set()
    for st in document["Statement"]:
        assert st["Effect"] == "Allow"
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        assert not any("*" in a for a in actions), "no action wildcards"
        res = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        if not any(_like(r, resource) for r in res):
            continue
        ok = True
        for op, kv in st.get("Condition", {}).items():
            for key, want in kv.items():
                want = [want] if isinstance(want, str) else want
                if key not in context:
                    ok = False
                elif op == "StringEquals":
                    ok = ok and context[key] in want
                elif op == "StringLike":
                    ok = ok and any(_like(p, context[key]) for p in want)
                else:  # pragma: no cover
                    raise AssertionError(f"unexpected condition operator {op}")
        if ok:
            out |= set(actions)
    return out - UNSCOPED


def assert_exact_coverage(document: dict, m: model.Module, fn_arn: str = FN_ARN) -> None:
    """Every secret gets exactly the rotation actions (and its key exactly the KMS actions);
    secrets of other functions and requests without the rotation context get nothing."""
    rotate = set(policies.ROTATION_ACTIONS)
    for s in m.secrets:
        arn = s.arn or s.policy_arn.replace("??????", "AbCdEf")
        assert allowed(document, arn, {ROTATION_KEY: fn_arn}) == rotate, s.name
        if s.kms_key_arn:
            assert allowed(document, s.kms_key_arn, {KMS_KEY: arn}) == set(policies.KMS_SECRET_ACTIONS), s.name
        if s.master_arn:
            assert allowed(document, s.master_arn, {ROTATION_KEY: OTHER_FN_ARN}) == {"secretsmanager:GetSecretValue"}
    stranger = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:not/mine-ZzZzZz"
    assert allowed(document, stranger, {ROTATION_KEY: OTHER_FN_ARN}) == set()
    assert allowed(document, stranger, {}) == set()
    other_account = "arn:aws:secretsmanager:us-east-1:444455556666:secret:x-ZzZzZz"
    assert allowed(document, other_account, {ROTATION_KEY: fn_arn}) == set()
    for key in KEYS:
        assert not allowed(document, key, {KMS_KEY: "arn:aws:secretsmanager:us-east-1:444455556666:secret:x-ZzZzZz"})


# ---- the boundary --------------------------------------------------------------------------


def boundary(tmp: Path, **kw) -> int:
    """The largest N whose explicit policy fits, found by bisection over real models."""
    lo, hi = 1, 400
    assert load(tmp, manifest(lo, **kw)).functions[0].policy.form == policies.EXPLICIT
    assert load(tmp, manifest(hi, **kw)).functions[0].policy.form == policies.COMPACT
    for _ in range(12):  # bounded: 2**12 > 400
        if hi - lo <= 1:
            break
        mid = (lo + hi) // 2
        if load(tmp, manifest(mid, **kw)).functions[0].policy.form == policies.EXPLICIT:
            lo = mid
        else:
            hi = mid
    return lo


def generate(tmp: Path, path: Path) -> Run:
    return cli("generate", path.name, "--out", "out", cwd=tmp)


def rendered_policy(module_dir: Path) -> dict:
    parsed = load_module(module_dir)
    return expr_value(resources(parsed, "aws_iam_role_policy")["rotator"]["policy"])
