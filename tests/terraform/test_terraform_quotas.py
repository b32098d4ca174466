"""2,000 secrets on one function through terraform plan (moto): the compact form as the
provider plans it covers every secret exactly. The boundary itself is tested without
terraform in test_quotas.py. The plan is a plan-only case of tests/helpers/plans.py (one root for
all of them)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import plans
from helpers.quotas import FN_ARN, assert_exact_coverage, generate, iam_size, load, manifest, write

from generator import aws

pytestmark = pytest.mark.terraform

DATA = manifest(2000, kms=True)


@plans.case("scale")
def _scale_case(folder: Path, worlds: plans.Worlds) -> plans.Case:
    folder.mkdir(parents=True)
    path = write(folder, DATA)
    t0 = time.monotonic()
    proc = generate(folder, path)
    t_generate = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr  # no module to plan (the test says so too)
    worlds.function(DATA["region"], FN_ARN)  # the plan reads the existing function's role
    return plans.Case(folder / "out" / "scale", DATA["region"], {"proc": proc, "t_generate": t_generate})


@plans.GROUP
def test_2000_secrets_on_one_function_plan(planned: plans.Results, tmp_path: Path) -> None:
    case = planned["scale"]
    proc = case.info["proc"]
    assert proc.returncode == 0, proc.stderr
    assert "switched to the compact form" in proc.stderr
    m = load(tmp_path, DATA)
    plan = case.plan
    print(f"\n2,000 secrets: generate {case.info['t_generate']:.1f} s (planned with the other plan-only cases)")

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
