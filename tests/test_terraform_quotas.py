"""2,000 secrets on one function through terraform plan (moto): the compact form as the
provider plans it covers every secret exactly. The boundary itself is tested without
terraform in test_quotas.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from harness import Root
from lifecycle import World
from test_quotas import FN_ARN, assert_exact_coverage, generate, iam_size, load, manifest, write

from generator import aws

pytestmark = pytest.mark.terraform


def test_2000_secrets_on_one_function_plan(terraform, moto, tmp_path: Path) -> None:
    data = manifest(2000, kms=True)
    path = write(tmp_path, data)
    t0 = time.monotonic()
    proc = generate(tmp_path, path)
    t_generate = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert "switched to the compact form" in proc.stderr
    module_dir = tmp_path / "out" / "scale"
    m = load(tmp_path, data)

    World(moto, data["region"]).function(FN_ARN)  # the plan reads the existing function's role
    root = Root(terraform, tmp_path / "root", module_dir, endpoint=moto.url)
    root.init()
    t0 = time.monotonic()
    plan = root.plan_json()
    t_plan = time.monotonic() - t0
    print(f"\n2,000 secrets: generate {t_generate:.1f} s, plan + show {t_plan:.1f} s")

    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    rotations = {c["name"]: c["change"]["after"] for c in changes if c["type"] == "aws_secretsmanager_secret_rotation"}
    assert set(rotations) == {s.ident for s in m.secrets}
    for s in m.secrets:
        assert rotations[s.ident]["secret_id"] == s.arn
        assert rotations[s.ident]["rotation_lambda_arn"] == FN_ARN
    roles = [c["change"]["after"] for c in changes if c["type"] == "aws_iam_role"]
    role_policies = [c["change"]["after"] for c in changes if c["type"] == "aws_iam_role_policy"]
    # the existing function keeps its own role: one inline policy on it, no role created
    assert len(roles) == 0 and len(role_policies) == 1
    assert len(role_policies[0]["name"]) <= aws.POLICY_NAME_MAX
    doc = json.loads(role_policies[0]["policy"])
    size = iam_size(doc)
    print(f"role policy as planned: {size} of {aws.ROLE_INLINE_POLICIES_MAX} characters")
    assert size <= aws.ROLE_INLINE_POLICIES_MAX
    assert_exact_coverage(doc, m)
