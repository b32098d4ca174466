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
from pathlib import Path

import pytest
from helpers.paths import ROOT
from helpers.quotas import (
    ACCOUNT,
    FN_ARN,
    KEYS,
    KMS_KEY,
    ROTATION_KEY,
    assert_exact_coverage,
    boundary,
    generate,
    iam_size,
    load,
    manifest,
    rendered_policy,
    write,
)

from generator import api, aws, policies


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
