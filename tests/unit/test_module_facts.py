"""Parse every generated .tf with python-hcl2 and compare what it says with the model and
with AWS's "Permissions for rotation" text (tests/data/seed)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
from helpers.hclparse import Expr, expr_value, load_module, normalise, resources, role_policy_statements
from helpers.paths import EXAMPLES, GOLDEN, ROOT

from generator import api, policies
from generator.model import FunctionPlan, SecretPlan
from generator.render import EXTERNAL_BLOCK

SEED = ROOT / "tests" / "data" / "seed"


def _secret_ref(s: SecretPlan) -> str:
    """What a secret's blocks must pass as its ARN, written out independently of render.py."""
    if s.managed is not None:
        return f"aws_secretsmanager_secret.{s.ident}.arn"
    return s.arn if s.arn is not None else f"data.aws_secretsmanager_secret.{s.ident}.arn"


def _function_ref(fn: FunctionPlan) -> str:
    if fn.existing:
        return fn.function_arn
    if fn.app:
        return f'aws_serverlessapplicationrepository_cloudformation_stack.{fn.key}.outputs["RotationLambdaARN"]'
    return f"aws_lambda_function.{fn.key}.arn"


def _load(example: Path):
    module, _ = api.load(example)
    return module, load_module(GOLDEN / module.name)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_file_parses_and_matches_the_model(example: Path) -> None:
    m, parsed = _load(example)
    roles = resources(parsed, "aws_iam_role")
    role_policies = resources(parsed, "aws_iam_role_policy")
    _external_role(m, roles.pop(EXTERNAL_BLOCK, None), role_policies.pop(EXTERNAL_BLOCK, None), parsed)
    permissions = resources(parsed, "aws_lambda_permission")
    lambdas = resources(parsed, "aws_lambda_function")
    stacks = resources(parsed, "aws_serverlessapplicationrepository_cloudformation_stack")
    assert set(roles) == {f.key for f in m.functions if f.creates_role}
    assert set(role_policies) == {f.key for f in m.functions if f.has_role}
    looked_up = {n: body for (t, n), body in parsed["data"].items() if t == "aws_lambda_function"}
    assert set(looked_up) == {f.key for f in m.functions if f.has_role and not f.creates_role}
    assert set(permissions) == {f.key for f in m.functions}
    assert set(lambdas) == {f.key for f in m.functions if f.package}
    assert set(stacks) == {f.key for f in m.functions if f.app}
    for fn in m.functions:
        if fn.app:
            stack = stacks[fn.key]
            assert stack["application_id"] == fn.app.application_id
            assert stack["semantic_version"] == fn.app.semantic_version
            assert stack["capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"]
            assert stack["parameters"] == fn.app.parameter_map
            assert stack["parameters"]["functionName"] == fn.function_name
            perm = permissions[fn.key]
            assert perm["function_name"] == fn.function_name
            assert perm["source_account"] == "local.account_id"
            assert perm["depends_on"] == [f"aws_serverlessapplicationrepository_cloudformation_stack.{fn.key}"]
            continue
        if not fn.creates_role:
            # An existing function: the policy goes on the role it runs as, read from it.
            data = looked_up[fn.key]
            assert data["function_name"] == fn.function_name
            rp = role_policies[fn.key]
            assert rp["name"] == fn.policy_name
            assert expr_value(rp["policy"]) == fn.policy.document()
            if fn.role_arn:
                assert rp["role"] == fn.role_name == fn.role_arn.rsplit("/", 1)[1]
                (post,) = data["lifecycle"][0]["postcondition"]
                assert post["condition"] == f'self.role == "{fn.role_arn}"'
                assert "${self.role}" in post["error_message"] and fn.role_arn in post["error_message"]
            else:
                assert rp["role"] == f'reverse(split("/", data.aws_lambda_function.{fn.key}.role))[0]'
                assert "lifecycle" not in data
            assert permissions[fn.key]["function_name"] == fn.function_name
            continue
        role = roles[fn.key]
        assert role["name"] == fn.role_name
        assert role["path"] == m.roles.path
        assert role["max_session_duration"] == m.roles.max_session_duration
        assert role.get("permissions_boundary") == m.roles.permissions_boundary
        exclusive = resources(parsed, "aws_iam_role_policies_exclusive")
        if m.roles.exclusive_policies:
            assert exclusive[fn.key]["role_name"] == f"aws_iam_role.{fn.key}.name"
            assert exclusive[fn.key]["policy_names"] == [f"aws_iam_role_policy.{fn.key}.name"]
        else:
            assert fn.key not in exclusive
        if fn.tags:  # the function's own tags merged over the manifest's
            text = str(role["tags"]).replace(" ", "").removeprefix("${").removesuffix("}")
            assert text.startswith("merge(local.tags,{") and text.endswith("})"), text
            assert all(f'{k}="{v}"' in text or f'"{k}"="{v}"' in text for k, v in fn.tag_map.items()), text
        else:
            assert role["tags"] == "local.tags"
        trust = expr_value(role["assume_role_policy"])
        assert trust["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        rp = role_policies[fn.key]
        assert rp["name"] == fn.policy_name
        assert rp["role"] == f"aws_iam_role.{fn.key}.id"
        assert expr_value(rp["policy"]) == fn.policy.document()

        perm = permissions[fn.key]
        assert perm["principal"] == "secretsmanager.amazonaws.com"
        assert perm["action"] == "lambda:InvokeFunction"
        assert perm["source_account"] == "local.account_id"
        if fn.lock_secret:
            locked = next(x for x in m.secrets if x.name == fn.lock_secret)
            assert perm["source_arn"] == _secret_ref(locked)
        else:
            assert "source_arn" not in perm, "source_arn would tie the function to one secret"
        assert "qualifier" not in perm
        if fn.existing:
            assert perm["function_name"] == fn.function_name
            assert ":" not in perm["function_name"], "the permission must use the unqualified function name"
        else:
            assert perm["function_name"] == f"aws_lambda_function.{fn.key}.function_name"
            fnres = lambdas[fn.key]
            assert fnres["function_name"] == fn.function_name
            assert fnres["role"] == f"aws_iam_role.{fn.key}.arn"
            assert fnres["filename"] == '"${path.module}/../../../examples/build/rotator.zip"'
            assert fnres["tracing_config"] == [{"mode": fn.package.tracing_mode}]
            assert fnres.get("reserved_concurrent_executions") == fn.package.reserved_concurrency
            assert fnres.get("code_signing_config_arn") == fn.package.code_signing_config_arn
            if fn.in_vpc:
                vpc = fnres["vpc_config"][0]
                assert vpc["subnet_ids"] == list(fn.subnet_ids)
                assert vpc["security_group_ids"] == list(fn.security_group_ids)
            else:
                assert "vpc_config" not in fnres

    loc = parsed["locals"]
    assert loc["account_id"] == m.account_id
    assert loc["tags"] == dict(m.tags)
    assert "rotations" not in loc, "no for_each map: one literal block per secret"
    for fn in m.functions:
        ref = loc["function_arns"][fn.key]
        assert ref == _function_ref(fn)
        assert isinstance(ref, Expr) != fn.existing

    # One rotation block per secret, named after it, with literal values.
    rotations = resources(parsed, "aws_secretsmanager_secret_rotation")
    assert set(rotations) == {s.ident for s in m.secrets}
    fns = {fn.key: fn for fn in m.functions}
    for s in m.secrets:
        r = rotations[s.ident]
        assert r["secret_id"] == _secret_ref(s)
        assert r["rotate_immediately"] is s.rotate_immediately
        if s.external is not None:  # Secrets Manager rotates it as the external role: no function
            assert "rotation_lambda_arn" not in r
            assert r["external_secret_rotation_role_arn"] == f"aws_iam_role.{EXTERNAL_BLOCK}.arn"
            assert r["rotate_immediately"] is True
            assert [(b["key"], b["value"]) for b in r.get("external_secret_rotation_metadata", [])] == list(
                s.external.metadata
            )
            assert r["depends_on"] == [f"aws_iam_role_policy.{EXTERNAL_BLOCK}"]
            continue
        if s.function is None:  # managed: true -- the schedule only
            assert s.service_rotated and "rotation_lambda_arn" not in r and "depends_on" not in r
            continue
        fn = fns[s.function]
        assert r["rotation_lambda_arn"] == _function_ref(fn)
        rules = dict(r["rotation_rules"][0])
        expected = {
            "automatically_after_days": s.schedule.every_days,
            "schedule_expression": s.schedule.expression,
            "duration": s.schedule.window,
        }
        assert rules == {k: v for k, v in expected.items() if v is not None}
        # exactly one schedule form, never both (a perpetual diff otherwise)
        assert ("automatically_after_days" in rules) != ("schedule_expression" in rules)
        # after the version (created secrets) and its own function's permission and grants
        assert r["depends_on"] == (
            ([f"aws_secretsmanager_secret_version.{s.ident}"] if s.managed else [])
            + [f"aws_lambda_permission.{fn.key}"]
            + ([f"aws_iam_role_policy.{fn.key}"] if fn.has_role else [])
        )

    lookups = {n: body for (t, n), body in parsed["data"].items() if t == "aws_secretsmanager_secret"}
    assert lookups == {s.ident: {"name": s.name} for s in m.lookups}
    assert parsed["output"]["secret_arns"]["value"] == {s.name: _secret_ref(s) for s in m.secrets}

    managed = resources(parsed, "aws_secretsmanager_secret")
    versions = resources(parsed, "aws_secretsmanager_secret_version")
    passwords = {n: body for (t, n), body in parsed["ephemeral"].items() if t == "aws_secretsmanager_random_password"}
    assert set(managed) == {s.ident for s in m.managed}
    assert set(versions) == set(passwords) == {s.ident for s in m.valued}
    for s in m.managed:
        sec = managed[s.ident]
        assert sec.get("type") == (s.external.secret_type if s.external else None)
        if s.external is not None:
            continue  # no first version: the partner's fields are the user's to put in
        assert sec["name"] == s.name
        assert sec.get("kms_key_id") == s.kms_key_arn
        assert sec.get("description") == s.managed.description
        assert sec["recovery_window_in_days"] == s.managed.recovery_window_days
        assert sec.get("replica", []) == [{k: v for k, v in r.items() if v is not None} for r in s.managed.replica_list]
        version = versions[s.ident]
        assert "secret_string" not in version, "only the write-only attribute may carry the value"
        assert version["secret_id"] == f"aws_secretsmanager_secret.{s.ident}.id"
        assert version["secret_string_wo_version"] == 1
        value = expr_value(version["secret_string_wo"])
        assert "password" not in s.managed.field_map, "the password never appears in the output"
        assert value == {
            **s.managed.field_map,
            "password": f"ephemeral.aws_secretsmanager_random_password.{s.ident}.random_password",
        }
        assert passwords[s.ident]["password_length"] == 32
    text = "".join(p.read_text() for p in (GOLDEN / m.name).glob("*.tf"))
    assert 'provider "aws"' not in text, "a module must not configure providers"


def _seed(name: str, **placeholders: str) -> list[tuple]:
    text = (SEED / name).read_text()
    for k, v in placeholders.items():
        text = text.replace(f'"{k}"', json.dumps(v))
    doc = json.loads(text)
    statements = doc.get("Statement", [doc])
    return [normalise(s) for s in statements]


def _statements(example: str, fn_key: str):
    m, parsed = _load(ROOT / "examples" / example)
    fn = next(f for f in m.functions if f.key == fn_key)
    return fn, [normalise(s) for s in role_policy_statements(parsed, fn_key)]


def _logs(fn) -> tuple:
    group = f"arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/{fn.function_name}"
    return ("Allow", tuple(sorted(policies.LOG_ACTIONS)), (group, f"{group}:*"), ())


def test_single_user_without_vpc_or_cmk_equals_the_seed() -> None:
    """No VPC and no CMK: exactly the seed's statements (without the VPC one), plus logs."""
    fn, got = _statements("minimal.yaml", "rotator")
    secret = fn.secrets[0].arn
    expected = _seed("single_user.json", SecretARN=secret)
    eni = [s for s in expected if s[1][0].startswith("ec2:")]
    expected = [s for s in expected if s not in eni]
    assert sorted(got) == sorted(expected + [_logs(fn)])


def test_single_user_with_cmk_and_two_secrets() -> None:
    fn, got = _statements("rotation.yaml", "pg-single")
    arns = sorted(s.policy_arn for s in fn.secrets)
    assert "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/billing/db-??????" in arns
    rotate = [s for s in got if "secretsmanager:PutSecretValue" in s[1]]
    assert rotate == [("Allow", _seed("single_user.json", SecretARN="x")[0][1], tuple(arns), ())]
    kms = [s for s in got if s[1][0].startswith("kms:")]
    seed_kms = _seed("customer_managed_key.json", KMSKeyARN="k")[0]
    assert len(kms) == 1
    assert kms[0][1] == seed_kms[1], "exactly the seed's KMS actions"
    assert kms[0][2] == (fn.secrets[1].kms_key_arn,)
    # Current AWS guidance: limit the key to the secrets this function rotates.
    assert kms[0][3] == (("StringLike", "kms:EncryptionContext:SecretARN", (fn.secrets[1].arn,)),)
    assert not [s for s in got if s[1][0].startswith("ec2:")], "no VPC, no network-interface actions"


def test_alternating_users_in_vpc_equals_the_seed_plus_keys() -> None:
    fn, got = _statements("rotation.yaml", "mysql-alt")
    sec = fn.secrets[0]
    expected = _seed("alternating_users.json", SecretARN=sec.arn, SeparateSecretARN=sec.master_arn)
    kms = [s for s in got if s[1][0].startswith("kms:")]
    # The seed grants four network-interface actions on "*"; Lambda's VPC guide and the
    # current AWSLambdaVPCAccessExecutionRole add Assign/UnassignPrivateIpAddresses and
    # DescribeSubnets (tests/unit/test_vpc_grants.py). The module grants the seed's four plus
    # those, each on the narrowest resource IAM authorises it on. Everything else is
    # exactly the seed's.
    seed_eni = [s for s in expected if s[1][0].startswith("ec2:")]
    assert len(seed_eni) == 1 and seed_eni[0][2] == ("*",)
    eni = [s for s in got if s[1][0].startswith("ec2:")]
    extra = {"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "ec2:DescribeSubnets"}
    assert sorted(a for s in eni for a in s[1]) == sorted([*seed_eni[0][1], *extra]), (
        "the seed's four ec2 actions and Lambda's"
    )
    ec2 = "arn:aws:ec2:us-east-1:111122223333"
    assert sorted(eni) == sorted(
        [
            ("Allow", ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"), ("*",), ()),
            (
                "Allow",
                ("ec2:CreateNetworkInterface",),
                tuple(
                    sorted(
                        (
                            f"{ec2}:network-interface/*",
                            f"{ec2}:security-group/sg-0a1b2c3d4e5f60718",
                            f"{ec2}:subnet/subnet-0a1b2c3d4e5f60718",
                            f"{ec2}:subnet/subnet-0a1b2c3d4e5f60719",
                        )
                    )
                ),
                (),
            ),
            (
                "Allow",
                ("ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"),
                (f"{ec2}:network-interface/*",),
                (),
            ),
            ("Allow", ("ec2:DetachNetworkInterface",), (f"{ec2}:instance/*", f"{ec2}:network-interface/*"), ()),
        ]
    )
    for resource_type in (
        "network-interface/eni-0123456789abcdef0",
        "subnet/subnet-0a1b2c3d4e5f60718",
        "security-group/sg-0a1b2c3d4e5f60718",
    ):
        assert any(
            fnmatch.fnmatchcase(f"{ec2}:{resource_type}", r)
            for s in eni
            if "ec2:CreateNetworkInterface" in s[1]
            for r in s[2]
        )
    rest = [s for s in got if s not in kms and s not in eni]
    assert sorted(rest) == sorted([s for s in expected if s not in seed_eni] + [_logs(fn)])
    by_key = {s[2][0]: s for s in kms}
    # The seed's two KMS actions (kms:DescribeKey carries no encryption context, so under
    # this condition it could never be allowed; it is not granted).
    assert by_key[sec.kms_key_arn][1] == ("kms:Decrypt", "kms:GenerateDataKey")
    assert by_key[sec.kms_key_arn][3] == (("StringLike", "kms:EncryptionContext:SecretARN", (sec.arn,)),)
    # The master secret is read only: no write action, no GenerateDataKey on its key.
    assert by_key[sec.master_kms_key_arn][1] == ("kms:Decrypt",)
    assert by_key[sec.master_kms_key_arn][3] == (("StringLike", "kms:EncryptionContext:SecretARN", (sec.master_arn,)),)
    writes = [s for s in got if sec.master_arn in s[2] and set(s[1]) - {"secretsmanager:GetSecretValue"}]
    assert not writes, "the role must not be able to write the master secret"


def test_permission_matches_the_seed_resource_policy() -> None:
    seed = json.loads((SEED / "lambda_resource_policy.json").read_text())["Statement"][0]
    for example in EXAMPLES:
        m, parsed = _load(example)
        for fn in m.functions:
            perm = resources(parsed, "aws_lambda_permission")[fn.key]
            assert perm["source_account"] == "local.account_id"
            assert perm["principal"] == seed["Principal"]["Service"]
            assert perm["action"] == seed["Action"]
            assert parsed["locals"]["account_id"] == m.account_id
            assert list(seed["Condition"]["StringEquals"]) == ["aws:SourceAccount"]


def _external_role(m: Any, role: dict[str, Any] | None, policy: dict[str, Any] | None, parsed: dict[str, Any]) -> None:
    """The external rotation role as iam.tf declares it, against the model."""
    xr = m.external_role
    assert (role is None) == (policy is None) == (xr is None) == (not m.externals)
    if xr is None:
        return
    assert role is not None and policy is not None
    assert role["name"] == xr.role_name
    assert role["path"] == m.roles.path
    assert role.get("permissions_boundary") == m.roles.permissions_boundary
    assert expr_value(role["assume_role_policy"]) == xr.trust
    assert policy["name"] == xr.policy_name
    assert policy["role"] == f"aws_iam_role.{EXTERNAL_BLOCK}.id"
    assert expr_value(policy["policy"]) == xr.policy.document()
    assert parsed["output"]["external_rotation_role_arn"]["value"] == f"aws_iam_role.{EXTERNAL_BLOCK}.arn"
