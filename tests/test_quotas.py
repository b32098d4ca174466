"""Quotas, computed before anything is written, and tested at their boundaries.

* IAM: all inline policies of a role share 10,240 characters (whitespace not counted).
  The tests measure the policy as terraform would send it (parsed back from iam.tf or
  taken from the plan), not with the generator's own ``RolePolicy.size``.
* The explicit -> compact switch happens exactly when the explicit form would overflow:
  N secrets stay explicit, N+1 switch, and the switch is said on stderr and in README.md.
* The compact form still gives every secret exactly the actions it needs, and nothing to
  secrets of other functions: checked with a small evaluator of IAM's wildcard and
  condition semantics (StringEquals / StringLike on the request context).
* Scale: 2,000 secrets on one function plan with terraform (against moto).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers.cli import Run, cli
from helpers.hclparse import expr_value, load_module, resources
from helpers.paths import ROOT

from generator import api, aws, model, policies

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


@pytest.mark.parametrize("kms", [False, True], ids=["plain", "kms"])
def test_switch_happens_exactly_at_the_boundary(tmp_path: Path, kms: bool) -> None:
    n = boundary(tmp_path, kms=kms)
    print(f"\nboundary ({'with' if kms else 'without'} KMS): {n} secrets explicit, {n + 1} compact")

    below = tmp_path / "below"
    below.mkdir()
    proc = generate(below, write(below, manifest(n, kms=kms)))
    assert proc.returncode == 0, proc.stderr
    doc = rendered_policy(below / "out" / "scale")
    size_n = iam_size(doc)
    assert size_n <= aws.ROLE_INLINE_POLICIES_MAX
    assert "compact" not in proc.stderr
    assert "explicit form" in (below / "out" / "scale" / "README.md").read_text()
    assert len(doc["Statement"][0]["Resource"]) == n
    assert_exact_coverage(doc, load(below, manifest(n, kms=kms)))

    above = tmp_path / "above"
    above.mkdir()
    data = manifest(n + 1, kms=kms)
    m = load(above, data)
    explicit = policies.build(
        tuple(policies.SecretGrant(s.policy_arn, s.kms_key_arn, s.master_arn, s.master_kms_key_arn) for s in m.secrets),
        ctx=policies.Context("aws", "us-east-1", ACCOUNT),
        function_name="rotator",
        function_arn=FN_ARN,
        in_vpc=False,
    )
    size_explicit = iam_size(explicit.document())
    assert size_explicit > aws.ROLE_INLINE_POLICIES_MAX, "N+1 secrets really overflow the explicit form"
    proc = generate(above, write(above, data))
    assert proc.returncode == 0, proc.stderr
    doc = rendered_policy(above / "out" / "scale")
    size_compact = iam_size(doc)
    print(f"explicit {size_n} chars at N, {size_explicit} at N+1; compact {size_compact}")
    assert size_compact <= aws.ROLE_INLINE_POLICIES_MAX
    rotate = doc["Statement"][0]
    assert rotate["Resource"] == f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*"
    assert rotate["Condition"] == {"StringEquals": {ROTATION_KEY: FN_ARN}}
    if kms:
        kms_statements = [s for s in doc["Statement"] if s["Sid"].startswith("UseSecretKey")]
        assert len(kms_statements) == len(KEYS)
        for st in kms_statements:
            assert st["Condition"] == {"StringLike": {KMS_KEY: f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*"}}
    assert_exact_coverage(doc, m)
    warning = (
        f"scale.yaml:7:5: warning: functions.rotator: listing its {n + 1} secrets would take {size_explicit:,} "
        f"characters of inline policy, over IAM's 10,240 per role; switched to the compact form ({size_compact:,} characters)"
    )
    assert warning in proc.stderr, proc.stderr
    readme = (above / "out" / "scale" / "README.md").read_text()
    assert "compact form" in readme and f"would need {size_explicit} characters" in readme


def test_compact_size_does_not_grow_with_secrets(tmp_path: Path) -> None:
    sizes = {n: load(tmp_path, manifest(n, kms=True)).functions[0].policy.size for n in (300, 1000, 2000)}
    assert len(set(sizes.values())) == 1, sizes


def test_masters_that_overflow_even_the_compact_form_are_an_error(tmp_path: Path) -> None:
    """Master secrets are read, not rotated, so AllowRotationLambdaArn cannot cover them:
    they stay listed, and too many distinct masters on one function are refused."""
    ok = load(tmp_path, manifest(2000, strategy="alternating_users", masters=3))
    assert ok.functions[0].policy.form == policies.COMPACT
    assert_exact_coverage(ok.functions[0].policy.document(), ok)
    proc = generate(tmp_path, write(tmp_path, manifest(400, strategy="alternating_users", masters=400)))
    assert proc.returncode == 2
    assert "even in compact form; IAM allows 10,240. Split the secrets over more functions" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_lambda_resource_policy_size_is_computed() -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        m, _ = api.load(example)
        for fn in m.functions:
            doc = policies.permission_document(
                function_arn=fn.function_arn, account=m.account_id, statement_id=fn.statement_id
            )
            assert fn.permission_size == len(json.dumps(doc, separators=(",", ":")).encode())
            assert fn.permission_size <= aws.LAMBDA_RESOURCE_POLICY_MAX
