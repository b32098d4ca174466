"""terraform fmt, init (from the offline provider mirror), validate and plan on every example.

The plan runs against a moto server on 127.0.0.1: secrets given by name are looked up
through the API, so moto holds them (with a first version) as they would exist in AWS.
Every example is a plan-only case of tests/helpers/plans.py: one root plans them all (the plan
validates the configuration first),
and each test reads its module's part of the plan.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import plans
from helpers.harness import tf_env
from helpers.lifecycle import HARNESS_ROLE
from helpers.paths import EXAMPLES, GOLDEN, PLANNABLE

from generator import api

pytestmark = pytest.mark.terraform


def _example_case(example: Path) -> plans.Builder:
    def build(folder: Path, worlds: plans.Worlds) -> plans.Case:
        m, _ = api.load(example)
        for fn in m.functions:  # the plan reads each existing function's role (data.aws_lambda_function)
            if fn.existing:
                worlds.function(m.region, fn.function_arn, fn.role_arn)
        looked_up = {s.name: worlds(m.region).secret(s.name) for s in m.lookups}
        return plans.Case(GOLDEN / m.name, m.region, {"looked_up": looked_up})

    return build


for _example in PLANNABLE:
    plans.case(_example.stem)(_example_case(_example))


def test_fmt_check_on_every_golden_module(terraform) -> None:
    for example in EXAMPLES:
        m, _ = api.load(example)
        proc = subprocess.run(
            [terraform.binary, "fmt", "-check", "-diff", "-recursive", str(GOLDEN / m.name)],
            capture_output=True,
            text=True,
            env=tf_env(terraform),
            timeout=120,
        )
        assert proc.returncode == 0, f"terraform fmt would change {m.name}:\n{proc.stdout}{proc.stderr}"


@plans.GROUP
@pytest.mark.parametrize("example", PLANNABLE, ids=lambda p: p.stem)
def test_init_validate_plan(example: Path, planned: plans.Results) -> None:
    m, _ = api.load(example)
    case = planned[example.stem]
    plan, looked_up = case.plan, case.info["looked_up"]

    changes = plan["resource_changes"]
    assert all(c["change"]["actions"] in (["create"], ["read"]) for c in changes), [
        c["change"]["actions"] for c in changes
    ]
    by_type: dict[str, list[dict]] = {}
    for c in changes:
        if c["mode"] == "managed":
            by_type.setdefault(c["type"], []).append(c)
    n = len(m.functions)
    with_role = sum(1 for f in m.functions if f.has_role)
    created_roles = sum(1 for f in m.functions if f.creates_role)
    assert len(by_type.get("aws_iam_role", [])) == created_roles
    assert len(by_type.get("aws_iam_role_policy", [])) == with_role
    assert len(by_type["aws_lambda_permission"]) == n
    stacks = by_type.get("aws_serverlessapplicationrepository_cloudformation_stack", [])
    assert len(stacks) == sum(1 for f in m.functions if f.app)
    assert len(by_type.get("aws_lambda_function", [])) == sum(1 for f in m.functions if f.package)
    assert len(by_type["aws_secretsmanager_secret_rotation"]) == len(m.secrets)

    fns = {f.key: f for f in m.functions}
    secrets = {s.name: s for s in m.secrets}
    by_ident = {s.ident: s for s in m.secrets}
    assert len(by_type.get("aws_iam_role_policies_exclusive", [])) == (
        created_roles if m.roles.exclusive_policies else 0
    )
    for c in stacks:  # plan only: moto does not serve the Serverless Application Repository
        fn = fns[c["name"]]
        after = c["change"]["after"]
        assert after["application_id"] == fn.app.application_id
        assert after["semantic_version"] == fn.app.semantic_version
        assert sorted(after["capabilities"]) == ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"]
        assert after["parameters"] == fn.app.parameter_map
    for c in by_type["aws_lambda_permission"]:
        after = c["change"]["after"]
        fn = fns[c["name"]]
        assert after["principal"] == "secretsmanager.amazonaws.com"
        assert after["action"] == "lambda:InvokeFunction"
        assert after["source_account"] == m.account_id
        if fn.lock_secret:
            assert after["source_arn"] == (secrets[fn.lock_secret].arn or looked_up[fn.lock_secret])
        else:
            assert after.get("source_arn") is None
        assert after["statement_id"] == fn.statement_id
        if fn.existing:
            assert after["function_name"] == fn.function_name
    for c in by_type.get("aws_iam_role_policy", []):
        fn = fns[c["name"]]
        assert json.loads(c["change"]["after"]["policy"]) == fn.policy.document()
        if fn.existing:  # on the role the function runs as, as the plan read it from the function
            assert c["change"]["after"]["role"] == (fn.role_name or HARNESS_ROLE)
    for c in by_type.get("aws_iam_role", []):
        after = c["change"]["after"]
        assert after["name"] == fns[c["name"]].role_name
        assert after["path"] == m.roles.path
        assert after["max_session_duration"] == m.roles.max_session_duration
        assert after.get("permissions_boundary") == m.roles.permissions_boundary
        assert after["tags"] == ({**dict(m.tags), **fns[c["name"]].tag_map} or None)
    for c in by_type["aws_secretsmanager_secret_rotation"]:
        assert "index" not in c, "one literal block per secret, no for_each"
        s = by_ident[c["name"]]
        after = c["change"]["after"]
        assert after["rotate_immediately"] is s.rotate_immediately
        if s.managed:  # created by this apply, so not known at plan time
            assert c["change"]["after_unknown"]["secret_id"] is True
        else:
            assert after["secret_id"] == (s.arn or looked_up[s.name])
        rules = after["rotation_rules"][0]
        assert rules.get("automatically_after_days") == s.schedule.every_days
        assert rules.get("schedule_expression") == s.schedule.expression
        assert rules.get("duration") == s.schedule.window
        if s.function is None:  # managed: true -- the owning service rotates it
            assert s.service_rotated and after.get("rotation_lambda_arn") is None
            continue
        fn = fns[s.function]
        if fn.existing:
            assert after["rotation_lambda_arn"] == fn.function_arn
