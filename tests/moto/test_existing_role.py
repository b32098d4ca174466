"""An existing function keeps its own execution role, and that role gets the grants (issue 11.1).

Proved in moto against the account's state, not the plan: a function whose role has a name
that has nothing to do with the module (``legacy-app-exec``, under a path) is generated,
applied and read back with boto3. The role named by the function's configuration must allow
the four rotation actions on each of its secrets (the statements are evaluated, not just
found), nothing of the role that the module does not own may change, no other role may
appear, rotation must be on with that function, and the re-plan must be empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.harness import Module, MotoServer, Root
from helpers.lifecycle import (
    HARNESS_ROLE,
    HARNESS_ROLE_PATH,
    ROTATION_ACTIONS,
    World,
    role_allows,
    role_policies,
)

from generator import api, render

pytestmark = [pytest.mark.moto, pytest.mark.terraform]

REGION = "eu-west-1"
ACCOUNT = "111122223333"
FUNCTION = "orders-rotator"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role{HARNESS_ROLE_PATH}{HARNESS_ROLE}"
SECRETS = ("prod/orders/db", "prod/billing/db")
# What the application team already gave its role; the module must leave both alone.
OWN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::legacy-app/*"}],
}
MANAGED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}


def _world(moto) -> tuple[World, str]:
    world = World(moto, REGION)
    world.function(FUNCTION_ARN)  # runs as HARNESS_ROLE under HARNESS_ROLE_PATH
    iam = world.client("iam")
    iam.put_role_policy(RoleName=HARNESS_ROLE, PolicyName="legacy-app-own", PolicyDocument=json.dumps(OWN_POLICY))
    managed = iam.create_policy(PolicyName="legacy-app-queue", PolicyDocument=json.dumps(MANAGED))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=HARNESS_ROLE, PolicyArn=managed)
    world.secret(SECRETS[0])
    world.secret(SECRETS[1])
    world.secret("prod/unrelated/db")
    return world, managed


def _manifest(tmp_path: Path, world: World, role_arn: str | None) -> Path:
    fn: dict = {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": FUNCTION_ARN}
    if role_arn is not None:
        fn["execution_role_arn"] = role_arn
    data = {
        "version": 1,
        "account_id": ACCOUNT,
        "region": REGION,
        "name_prefix": "team-",
        "functions": {"orders": fn},
        "secrets": {
            # one by its ARN, one by name (the module looks the ARN up)
            SECRETS[0]: {"function": "orders", "arn": world.secret_arns[SECRETS[0]], "schedule": {"every_days": 30}},
            SECRETS[1]: {"function": "orders", "schedule": {"every_days": 7}},
        },
    }
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _apply(terraform, moto, tmp_path: Path, manifest: Path) -> tuple[Root, object]:
    result = api.generate(manifest, tmp_path / "out")
    assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
    root = Root(terraform, tmp_path / "root", result.target, region=REGION, endpoint=moto.url)
    root.init()
    return root, result.module


# The cases that apply take the same steps, so they share one root (one terraform command
# per step for all): each case's module has a provider and a moto server of its own, so no
# case sees another's roles or policies.
GRANT_MODES = ("execution_role_arn", "read_at_plan_time")
NEW_ROLE = "new_role"  # without execution_role_arn, as read_at_plan_time; its function changes role


def _check_granted(world: World, m, managed: str, outputs: dict) -> None:
    """The role the function runs as allows the four actions on each of its secrets and on
    nothing else; the role's own policy and attachment are untouched; no role was made."""
    iam, lam, sm = world.client("iam"), world.client("lambda"), world.client("secretsmanager")
    role_arn = lam.get_function(FunctionName=FUNCTION)["Configuration"]["Role"]
    assert role_arn == ROLE_ARN
    role = role_arn.rsplit("/", 1)[1]
    (fn,) = m.functions
    for name in SECRETS:
        arn = world.secret_arns[name]
        for action in ROTATION_ACTIONS:
            assert role_allows(iam, role, action, arn), f"{role} may not {action} on {arn}"
        described = sm.describe_secret(SecretId=arn)
        assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == FUNCTION_ARN
    # ...and nothing more: not another secret of the account.
    other = world.secret_arns["prod/unrelated/db"]
    assert not any(role_allows(iam, role, action, other) for action in ROTATION_ACTIONS)
    # The role's own policy and attachment are untouched; the module's policy sits beside them.
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == sorted(["legacy-app-own", fn.policy_name])
    assert iam.get_role_policy(RoleName=role, PolicyName="legacy-app-own")["PolicyDocument"] == OWN_POLICY
    assert [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]] == [managed]
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == render._trust_policy()
    # No made-up role: the account holds exactly the role the harness made.
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} == {HARNESS_ROLE}
    assert outputs["role_arns"] == {"orders": ROLE_ARN} and outputs["role_names"] == {"orders": HARNESS_ROLE}


def test_grants_land_on_the_role_the_function_runs_as_and_follow_a_new_one(terraform, tmp_path: Path) -> None:
    """With execution_role_arn and with the role read at plan time, the grants land on the
    role the function runs as (checked in the account), the re-plan is empty, and destroy
    leaves the role as it was before the module. Without execution_role_arn the module
    follows the function: after someone gives the function another role, the next plan
    replaces the policy onto that role, and the apply leaves the old role as it was."""
    servers: dict[str, MotoServer] = {}
    try:
        cases: dict[str, tuple[World, str, object]] = {}
        modules = []
        for case in (*GRANT_MODES, NEW_ROLE):
            servers[case] = server = MotoServer().start()
            world, managed = _world(server)
            (tmp_path / case).mkdir()
            manifest = _manifest(tmp_path / case, world, ROLE_ARN if case == "execution_role_arn" else None)
            result = api.generate(manifest, tmp_path / case / "out")
            assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
            iam_tf = (result.target / "iam.tf").read_text()
            assert 'resource "aws_iam_role"' not in iam_tf and "aws_iam_role_policies_exclusive" not in iam_tf
            cases[case] = (world, managed, result.module)
            modules.append(Module(case, result.target, REGION, server.url))
        root = Root(terraform, tmp_path / "root", modules=modules)
        root.init()
        root.apply()
        outputs = json.loads(root.run("output", "-json").stdout)
        for case in GRANT_MODES:
            world, managed, m = cases[case]
            _check_granted(world, m, managed, outputs[case]["value"])

        world, _, m = cases[NEW_ROLE]
        other = world.role(f"arn:aws:iam::{ACCOUNT}:role/some/path/other-exec")
        world.client("lambda").update_function_configuration(FunctionName=FUNCTION, Role=other)
        _code, planned = root.plan_changes(out="tfplan")
        for case in GRANT_MODES:
            assert Root.of_module(planned, case) == {}, f"{case}: second plan is not empty: {planned}"
        assert Root.of_module(planned, NEW_ROLE) == {
            "module.rotation.aws_iam_role_policy.orders": ["delete", "create"]
        }, planned
        root.apply_plan()
        iam = world.client("iam")
        (fn,) = m.functions
        assert iam.list_role_policies(RoleName="other-exec")["PolicyNames"] == [fn.policy_name]
        assert iam.list_role_policies(RoleName=HARNESS_ROLE)["PolicyNames"] == ["legacy-app-own"]
        for name in SECRETS:
            assert role_allows(iam, "other-exec", "secretsmanager:PutSecretValue", world.secret_arns[name])

        root.run("destroy", "-auto-approve", "-input=false", "-no-color", "-lock=false")
        for case in GRANT_MODES:
            world, managed, _m = cases[case]
            iam = world.client("iam")
            assert iam.list_role_policies(RoleName=HARNESS_ROLE)["PolicyNames"] == ["legacy-app-own"], case
            assert [
                a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=HARNESS_ROLE)["AttachedPolicies"]
            ] == [managed], case
            assert len(role_policies(iam, HARNESS_ROLE)) == 2, case
    finally:
        for server in servers.values():
            server.stop()


def test_plan_fails_when_the_function_runs_as_another_role(terraform, moto, tmp_path: Path) -> None:
    """execution_role_arn is checked against the function at plan time: a function whose role
    was changed fails the plan with a message that names both roles, and nothing is applied."""
    world, _ = _world(moto)
    other = f"arn:aws:iam::{ACCOUNT}:role/some/path/other-exec"
    world.role(other)
    world.client("lambda").update_function_configuration(FunctionName=FUNCTION, Role=other)
    root, _m = _apply(terraform, moto, tmp_path, _manifest(tmp_path, world, ROLE_ARN))
    plan = root.run("plan", "-input=false", "-no-color", "-lock=false", check=False)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    text = " ".join((plan.stdout + plan.stderr).split())
    assert f"Function {FUNCTION} runs as {other}, not as {ROLE_ARN}" in text, text
    assert "Set execution_role_arn to the role the function runs as" in text, text
