"""The deployer's policy (issue 5): sufficient for what Terraform really calls, and
refusing roles without the configured permissions boundary.

moto's IAM enforcement evaluates actions but not Resource patterns or conditions, so
sufficiency is tested against the API calls Terraform makes (recorded from the provider's
debug log during a real apply and destroy in moto), and refusal with a small evaluator of
the policy's own statements.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers.deployer import _module, allowed
from helpers.paths import ROOT

from generator import api, other_policies


def test_refuses_roles_without_the_boundary(tmp_path: Path) -> None:
    _, m = _module(tmp_path)
    policy = other_policies.deployer_policy(m)
    assert policy is not None
    role = next(f.role_arn for f in m.functions if f.creates_role)
    boundary = m.roles.permissions_boundary
    assert allowed(policy, "iam:CreateRole", role, {"iam:PermissionsBoundary": boundary})
    assert not allowed(policy, "iam:CreateRole", role), "a role without a boundary is refused"
    assert not allowed(
        policy, "iam:CreateRole", role, {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/admin"}
    )
    assert not allowed(policy, "iam:PutRolePolicy", role)
    assert allowed(policy, "iam:PutRolePolicy", role, {"iam:PermissionsBoundary": boundary})
    assert not allowed(policy, "iam:DeleteRolePermissionsBoundary", role, {"iam:PermissionsBoundary": boundary})
    assert not allowed(policy, "iam:AttachRolePolicy", role, {"iam:PermissionsBoundary": boundary})
    # Only the rotation roles: not another role of the account, not another path.
    other = f"arn:aws:iam::111122223333:role{m.roles.path}admin"
    assert not allowed(policy, "iam:CreateRole", other, {"iam:PermissionsBoundary": boundary})
    assert not allowed(policy, "iam:CreateRole", role.replace("/rotation/", "/"), {"iam:PermissionsBoundary": boundary})
    # An existing function's role: only the module's own inline policy, never the role itself.
    for fn in (f for f in m.functions if not f.creates_role):
        assert allowed(policy, "iam:PutRolePolicy", fn.role_arn)
        assert allowed(policy, "lambda:GetFunction", fn.function_arn)
        for action in (
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
            "iam:TagRole",
        ):
            assert not allowed(policy, action, fn.role_arn, {"iam:PermissionsBoundary": boundary}), action


def test_pass_role_only_to_lambda() -> None:
    m, _ = api.load(ROOT / "examples" / "rotation.yaml")
    assert other_policies.deployer_policy(m) is None, "no boundary configured, no deployer policy"
    data = yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text())
    data["roles"] = {"permissions_boundary": "arn:aws:iam::111122223333:policy/boundary"}
    data["functions"]["pg-single"]["execution_role_arn"] = "arn:aws:iam::111122223333:role/pg-rotator-exec"
    path = ROOT / ".tf-work" / "deployer-pass-role.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    (ROOT / ".tf-work" / "build").mkdir(exist_ok=True)
    (ROOT / ".tf-work" / "build" / "rotator.zip").write_bytes(
        (ROOT / "examples" / "build" / "rotator.zip").read_bytes()
    )
    m, _ = api.load(path)
    policy = other_policies.deployer_policy(m)
    role = next(f.role_arn for f in m.functions if f.package)
    assert allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(
        policy, "iam:PassRole", "arn:aws:iam::111122223333:role/admin", {"iam:PassedToService": "lambda.amazonaws.com"}
    )
