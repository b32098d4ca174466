"""doctor's ``permission`` and ``role`` (generator/live/checks/invocation.py): Secrets Manager
may invoke the function only for this account (the confused deputy), and the role the function
really runs as exists and is the manifest's; a secret's ``grants`` follows from a failing
``role``. In-process on an account held in dicts (tests/helpers/fake_account.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import fake_account as fa

from generator.live.client import Denied

LEGACY = "legacy"


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: bool) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account, **kw)


def test_no_statement_for_secrets_manager_fails_and_the_apply_adds_it(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.function_policies[fa.FUNCTION]
    f = fa.one(judge(tmp_path, account, data), LEGACY, "permission")
    assert (f.status, f.message) == (
        "fail",
        "no statement lets secretsmanager.amazonaws.com invoke the function: rotation cannot start",
    )
    assert f.fix == "run terraform apply (the module's aws_lambda_permission adds it, with aws:SourceAccount)"
    f = fa.one(judge(tmp_path, account, data, before_apply=True), LEGACY, "permission")
    assert f.status == "warn" and f.message == (
        "the apply does this: adds the module's aws_lambda_permission: secretsmanager.amazonaws.com may invoke the "
        f"function, with aws:SourceAccount {fa.ACCOUNT}"
    )


def test_a_statement_without_source_account_fails_naming_it(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.function_policies[fa.FUNCTION] = fa.permission_policy(fa.FUNCTION_ARN, account=None, sid="Open")
    f = fa.one(judge(tmp_path, account, data), LEGACY, "permission")
    assert f.status == "fail" and f.message.startswith(
        f"statement Open lets secretsmanager.amazonaws.com invoke the function without aws:SourceAccount {fa.ACCOUNT}"
    )
    assert f.fix == (f"aws lambda remove-permission --function-name {fa.FUNCTION} --statement-id Open; "
                     "the module's own statement keeps rotation working")  # fmt: skip
    # another account's id is no guard either
    account.function_policies[fa.FUNCTION] = fa.permission_policy(fa.FUNCTION_ARN, account="444455556666")
    assert fa.one(judge(tmp_path, account, data), LEGACY, "permission").status == "fail"


def test_a_policy_that_cannot_be_read_is_unknown(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.function_policies[fa.FUNCTION] = Denied("lambda:GetPolicy")
    f = fa.one(judge(tmp_path, account, data), LEGACY, "permission")
    assert (f.status, f.denied) == ("unknown", "lambda:GetPolicy")


def test_a_role_that_does_not_exist_fails_and_the_secrets_grants_follow_from_it(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.roles[fa.ROLE]
    report = judge(tmp_path, account, data)
    f = fa.one(report, LEGACY, "role")
    assert (f.status, f.message) == ("fail", f"the function runs as role {fa.ROLE}, which does not exist")
    # one root cause: both functions run as it; each secret's grants is unknown, naming its function's role
    g = fa.one(report, fa.ORDERS, "grants")
    assert (g.status, g.cause, g.message) == (
        "unknown",
        (LEGACY, "role"),
        "not judged: it follows from role of legacy, which fails",
    )
    assert g.subjects == (fa.BILLING, fa.ORDERS)  # one cause, one fix: grouped, in the manifest's (sorted) order
    assert fa.one(report, fa.USERS, "grants").cause == ("legacy-alt", "role")


def test_a_function_running_as_another_role_than_the_manifest_s_fails(tmp_path: Path) -> None:
    account, data = fa.healthy()
    data["functions"][LEGACY]["execution_role_arn"] = f"arn:aws:iam::{fa.ACCOUNT}:role/other"
    f = fa.one(judge(tmp_path, account, data), LEGACY, "role")
    assert f.status == "fail" and f.message.startswith(
        f"the function runs as {fa.ROLE_ARN}, not functions.legacy.execution_role_arn"
    )
    assert f.fix == f"set functions.legacy.execution_role_arn to {fa.ROLE_ARN}, or give the function that role back"


def test_the_role_s_policies_that_cannot_be_read_are_unknown(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.roles[fa.ROLE] = Denied("iam:ListRolePolicies")
    report = judge(tmp_path, account, data)
    assert (fa.one(report, LEGACY, "role").status, fa.one(report, LEGACY, "role").denied) == (
        "unknown",
        "iam:ListRolePolicies",
    )
    g = fa.one(report, fa.ORDERS, "grants")  # not a failure to follow from: judged, and unknown for its own reason
    assert (g.status, g.cause, g.denied) == ("unknown", None, "iam:ListRolePolicies")


def test_a_role_arn_doctor_cannot_parse_fails(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.functions[fa.FUNCTION]["Role"] = "not-an-arn"
    f = fa.one(judge(tmp_path, account, data), LEGACY, "role")
    assert (f.status, f.message) == ("fail", "cannot read the role name from 'not-an-arn'")


def test_the_passing_role_counts_its_policies_and_boundary(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.add_role(fa.ROLE, fa.rotation_policy(), fa.allow("s3:GetObject"), boundary=fa.allow("*"))
    f = fa.one(judge(tmp_path, account, data), LEGACY, "role")
    assert (f.status, f.message) == ("pass", f"runs as {fa.ROLE} (2 identity policies, with a permissions boundary)")
