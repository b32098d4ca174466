"""Across accounts, without AWS: docs/organization.md's StackSet template grants exactly what
`caller-policy --assume-role` prints, its Terraform parses, and the options that cannot work
together are usage errors (exit 2) before any call. The runs themselves are in
tests/moto/test_moto_accounts.py."""

from __future__ import annotations

import json
import re

import hcl2
import pytest
import yaml
from helpers.cli import cli
from helpers.paths import ROOT

from generator.live import caller_policy
from generator.live.accounts import AssumeRole

DOC = ROOT / "docs" / "organization.md"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a call would exit 3, not 2


def _block(lang: str, after: str = "") -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    m = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert m, f"no {lang} block in {DOC}"
    return m.group(1)


def test_stackset_template_grants_what_caller_policy_prints_for_the_role():
    template = yaml.safe_load(_block("yaml", "<!-- rotation-tf:stackset-template -->"))
    role = template["Resources"]["ReadOnlyRole"]["Properties"]
    [policy] = role["Policies"]
    printed = json.loads(cli("caller-policy", "all", "--assume-role", "RotationTfReadOnly").stdout)
    assert policy["PolicyDocument"] == printed["role"]
    assert printed["role"] == caller_policy.policy("all")
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole" and trust["Principal"] == {"AWS": {"Ref": "AuditPrincipal"}}


def test_caller_needs_assume_role_on_that_role_and_list_accounts():
    printed = json.loads(cli("caller-policy", "doctor", "--assume-role", "audit/RotationTfReadOnly").stdout)
    caller = {s["Sid"]: s for s in printed["caller"]["Statement"]}
    assert caller["RotationTfAssumeReadOnlyRole"]["Resource"] == "arn:*:iam::*:role/audit/RotationTfReadOnly"
    assert "organizations:ListAccounts" in caller["RotationTfListAccounts"]["Action"]
    assert cli("caller-policy", "--assume-role", "no spaces").returncode == 2


def test_terraform_snippet_parses():
    parsed = hcl2.loads(_block("hcl"))
    names = [next(iter(r)).strip(chr(34)) for r in parsed["resource"]]
    assert names == ["aws_cloudformation_stack_set", "aws_cloudformation_stack_set_instance"]


def test_assume_role_arn_and_rules():
    assert AssumeRole("ro").arn("aws-cn", "111122223333") == "arn:aws-cn:iam::111122223333:role/ro"
    assert AssumeRole("ro").problems() == []
    assert AssumeRole("path/ro", external_id="ext-id:1/2", session_name="ci@org").problems() == []
    assert len(AssumeRole("r o", external_id="x", session_name="s").problems()) == 3


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["discover", "--organization", "--accounts", "111122223333", "--regions", "us-east-1"], "not both"),
        (["discover", "--organization", "--regions", "us-east-1", "--out", "x"], "--assume-role"),
        (["discover", "--accounts", "111122223333", "--regions", "us-east-1", "--assume-role", "r"], "--out DIR"),
        (["discover", "--accounts", "12", "--regions", "us-east-1", "--assume-role", "r", "--out", "x"], "12-digit"),
        (["discover", "--organization", "--regions", "us-est-1", "--assume-role", "r", "--out", "x"], "did you mean"),
        (["discover", "--organization", "--assume-role", "r", "--out", "x"], "--regions"),
        (["discover", "--organization", "--region", "us-east-1", "--assume-role", "r", "--out", "x"], "--regions"),
        (["discover", "--region", "us-east-1", "--assume-role", "r"], "--organization"),
        (["discover", "--region", "us-east-1", "--external-id", "abc"], "--external-id needs --assume-role"),
        (["doctor", "examples/rotation.yaml", "--assume-role", "r", "--role-session-name", "x"], "2-64"),
        (["doctor", "examples/rotation.yaml", "--assume-role", "r", "--max-accounts", "0"], "max-accounts"),
    ],
)
def test_usage_errors_exit_2_before_any_call(args, says, tmp_path):
    run = cli(*args, "--endpoint-url", NOWHERE, cwd=ROOT)
    assert run.returncode == 2, run
    assert says in run.stderr and "Traceback" not in run.stderr
