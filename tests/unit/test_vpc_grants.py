"""The grants a function in a VPC needs (issue 11, point 6), read from the module's policy.

Sources: Lambda's VPC guide (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html:
CreateNetworkInterface, DescribeNetworkInterfaces on "*", DeleteNetworkInterface on all
resource IDs or the function may lose the VPC, Assign/UnassignPrivateIpAddresses) and the
managed policy AWSLambdaVPCAccessExecutionRole v3 (January 2024,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html),
whose EC2 actions are listed below as that page gives them. The checks evaluate the
rendered policy (iam.tf, parsed back) with a small independent matcher, not the model.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.hclparse import load_module, role_policy_statements
from helpers.paths import GOLDEN, ROOT

from generator import policies

# AWSLambdaVPCAccessExecutionRole v3, EC2 part (its logs actions are the module's WriteOwnLogs).
MANAGED_POLICY_EC2 = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
SEED_EC2 = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DetachNetworkInterface",
)
EC2 = "arn:aws:ec2:us-east-1:111122223333"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719")
SG = "sg-0a1b2c3d4e5f60718"


def _like(pattern: str, value: str) -> bool:
    return re.fullmatch("".join(".*" if c == "*" else re.escape(c) for c in pattern), value) is not None


def _allows(document: dict, action: str, resource: str) -> bool:
    for st in document["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if (
            st["Effect"] == "Allow"
            and action in actions
            and any(_like(r, resource) for r in resources)
            and not st.get("Condition")
        ):
            return True
    return False


def _role_policy(function_key: str) -> dict:
    """A role's policy as the rotation example's iam.tf holds it (its mysql-alt function runs in a VPC)."""
    return {"Statement": role_policy_statements(load_module(GOLDEN / "rotation"), function_key)}


@pytest.fixture(scope="module")
def vpc_policy() -> dict:
    return _role_policy("mysql-alt")


def test_every_action_of_lambdas_managed_vpc_policy_and_the_seed_is_granted(vpc_policy: dict) -> None:
    eni = f"{EC2}:network-interface/eni-0123456789abcdef0"
    granted = {
        a
        for st in vpc_policy["Statement"]
        for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    }
    assert set(MANAGED_POLICY_EC2) | set(SEED_EC2) <= granted
    assert {a for a in granted if a.startswith("ec2:")} == set(MANAGED_POLICY_EC2) | set(SEED_EC2), (
        "no other EC2 action"
    )
    for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"):
        assert _allows(vpc_policy, action, "*")  # no resource-level permissions: only "*" works
    # any interface ID Lambda may create, in this account and region (AWS's DeleteNetworkInterface warning)
    for action in (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:DetachNetworkInterface",
    ):
        assert _allows(vpc_policy, action, eni), action
    assert _allows(vpc_policy, "ec2:CreateNetworkInterface", eni)
    for subnet in SUBNETS:
        assert _allows(vpc_policy, "ec2:CreateNetworkInterface", f"{EC2}:subnet/{subnet}")
    assert _allows(vpc_policy, "ec2:CreateNetworkInterface", f"{EC2}:security-group/{SG}")


def test_network_grants_are_scoped_to_the_functions_subnets_account_and_region(vpc_policy: dict) -> None:
    assert not _allows(vpc_policy, "ec2:CreateNetworkInterface", f"{EC2}:subnet/subnet-0ffffffffffffffff")
    assert not _allows(vpc_policy, "ec2:CreateNetworkInterface", f"{EC2}:security-group/sg-0ffffffffffffffff")
    for action in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses"):
        assert not _allows(
            vpc_policy, action, "arn:aws:ec2:eu-west-1:111122223333:network-interface/eni-0123456789abcdef0"
        )
        assert not _allows(
            vpc_policy, action, "arn:aws:ec2:us-east-1:444455556666:network-interface/eni-0123456789abcdef0"
        )
    assert not _allows(vpc_policy, "ec2:DeleteNetworkInterface", f"{EC2}:subnet/{SUBNETS[0]}")
    # a function outside a VPC gets no EC2 grant at all
    plain = _role_policy("pg-single")
    assert not any(
        a.startswith("ec2:")
        for st in plain["Statement"]
        for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    )


def test_explain_and_the_module_readme_give_the_reason_and_its_source() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "explain", "examples/rotation.yaml", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    roles = {r["function"]: r for r in json.loads(proc.stdout)["roles"]}
    sids = {st["sid"]: st for st in roles["mysql-alt"]["statements"]}
    assert sids["ManageNetworkInterfaces"]["source"] == policies.LAMBDA_VPC_GUIDE
    assert "cut the function off from the VPC" in sids["ManageNetworkInterfaces"]["reason"]
    assert sids["DescribeNetworking"]["source"] == policies.VPC_MANAGED_POLICY
    plain = subprocess.run(
        [sys.executable, "-m", "generator", "explain", "examples/rotation.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert policies.LAMBDA_VPC_GUIDE in plain and policies.VPC_MANAGED_POLICY in plain
    readme = (GOLDEN / "rotation" / "README.md").read_text()
    assert f"([source]({policies.LAMBDA_VPC_GUIDE}))" in readme
    assert f"([source]({policies.VPC_MANAGED_POLICY}))" in readme


def test_docs_list_what_the_module_grants() -> None:
    text = (ROOT / "docs" / "rotation-surface.md").read_text()
    for sid in ("CreateNetworkInterfaces", "ManageNetworkInterfaces", "DetachNetworkInterfaces", "DescribeNetworking"):
        assert f"| `{sid}` |" in text
    assert "(docs/rotation-surface.md#the-statements-of-a-role)" in (ROOT / "README.md").read_text()
    assert "[details](#functions-in-a-vpc)" in text.split("## The statements of a role", 1)[1]
    assert Path(GOLDEN / "rotation" / "iam.tf").read_text().count('Sid    = "ManageNetworkInterfaces"') == 1
