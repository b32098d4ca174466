"""doctor's key checks (generator/live/checks/keys.py): ``kms-key`` (the manifest's key),
``key-state`` (enabled), ``key-policy`` (delegates to IAM or names the role) and
``master-secret`` (it exists with the manifest's key, which lets the role decrypt); a secret's
``grants`` follows from a failing ``key-policy``. In-process (tests/helpers/fake_account.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import fake_account as fa

from generator.live.client import Denied

OTHER_KEY = fa.arn("kms", "key/99999999-8888-7777-6666-555555555555")


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: bool) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account, **kw)


def keys(report: fa.Report, secret: str = fa.ORDERS) -> dict[str, str]:
    return {
        c: s
        for c, s in fa.statuses(report, secret).items()
        if c in ("kms-key", "key-state", "key-policy", "master-secret")
    }


def test_another_key_than_the_manifest_s_fails(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.add_key(OTHER_KEY)
    account.secrets[fa.SECRET_ARNS[fa.ORDERS]]["KmsKeyId"] = OTHER_KEY
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "kms-key")
    assert (f.status, f.message) == ("fail", f"the secret is encrypted with {OTHER_KEY}, not {fa.KEY}")
    assert f.fix == f"set secrets.{fa.ORDERS}.kms_key_arn: {OTHER_KEY}"
    assert keys(report) == {
        "kms-key": "fail",
        "key-state": "pass",
        "key-policy": "pass",
    }  # the real key is still judged


def test_the_aws_managed_key_instead_of_the_manifest_s_fails_and_no_key_is_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.secrets[fa.SECRET_ARNS[fa.ORDERS]]["KmsKeyId"]
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "kms-key")
    assert (f.status, f.message) == ("fail", f"the secret uses the AWS managed key aws/secretsmanager, not {fa.KEY}")
    assert keys(report) == {"kms-key": "fail"}
    f = fa.one(report, fa.BILLING, "kms-key")  # no kms_key_arn, the AWS managed key: as the manifest says
    assert (f.status, f.message) == ("pass", "encrypted with the AWS managed key aws/secretsmanager")


def test_a_key_that_cannot_be_described_is_unknown_and_stops_its_key_checks(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.keys[fa.KEY] = Denied("kms:DescribeKey")
    report = judge(tmp_path, account, data)
    assert keys(report) == {"kms-key": "unknown"}
    assert fa.one(report, fa.ORDERS, "kms-key").denied == "kms:DescribeKey"
    assert fa.one(report, fa.ORDERS, "grants").status == "pass"  # the manifest's key: judged as granted


def test_key_state(tmp_path: Path) -> None:
    for state, fix in (("Disabled", f"aws kms enable-key --key-id {fa.KEY}"),
                       ("PendingDeletion", f"aws kms cancel-key-deletion --key-id {fa.KEY} && aws kms enable-key --key-id {fa.KEY}")):  # fmt: skip
        account, data = fa.healthy()
        account.add_key(fa.KEY, state=state)
        report = judge(tmp_path, account, data)
        f = fa.one(report, fa.ORDERS, "key-state")
        assert (f.status, f.message, f.fix) == ("fail", f"key {fa.KEY} is {state}: the secret cannot be decrypted", fix)
        assert keys(report)["key-policy"] == "pass"  # the policy of a disabled key is still judged
    account, data = fa.healthy()
    for k in [k for k, v in account.keys.items() if v["Arn"] == fa.KEY]:
        del account.keys[k]
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "key-state")
    assert (f.status, f.message) == ("fail", f"key {fa.KEY} does not exist")
    assert "key-policy" not in keys(report)


def test_a_key_policy_that_lets_neither_iam_nor_the_role_fails_and_grants_follows_from_it(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.key_policies[fa.KEY] = fa.allow("kms:*")  # no principal the role is
    account.key_policies[fa.KEY]["Statement"][0]["Principal"] = {"AWS": f"arn:aws:iam::{fa.ACCOUNT}:role/admin"}
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "key-policy")
    assert f.status == "fail" and f.message == (
        f"the policy of key {fa.KEY} neither delegates to IAM nor names the role {fa.ROLE_ARN}: rotation cannot decrypt the secret"
    )
    assert f.fix.startswith(
        "add this statement to the key policy (the module writes it to kms-key-policy-statements.json): "
    )
    assert '"Sid": "AllowRotationRole"' in f.fix and fa.ROLE_ARN in f.fix
    g = fa.one(report, fa.ORDERS, "grants")
    assert (g.status, g.cause) == ("unknown", (fa.ORDERS, "key-policy"))


def test_a_key_policy_naming_the_role_passes(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.key_policies[fa.KEY] = fa.allow(["kms:Decrypt", "kms:GenerateDataKey"])
    account.key_policies[fa.KEY]["Statement"][0]["Principal"] = {"AWS": fa.ROLE_ARN}
    f = fa.one(judge(tmp_path, account, data), fa.ORDERS, "key-policy")
    assert (f.status, f.message) == ("pass", f"the policy of key {fa.KEY} names the role")


def test_a_key_policy_that_cannot_be_read_is_unknown(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.key_policies[fa.KEY] = Denied("kms:GetKeyPolicy")
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "key-policy")
    assert (f.status, f.denied) == ("unknown", "kms:GetKeyPolicy")
    assert fa.one(report, fa.ORDERS, "grants").status == "pass"  # IAM alone judged; key-policy says what is unknown


def test_master_secret(tmp_path: Path) -> None:
    master = fa.SECRET_ARNS[fa.ADMIN]
    account, data = fa.healthy()
    f = fa.one(judge(tmp_path, account, data), fa.USERS, "master-secret")
    assert (f.status, f.message) == ("pass", f"master secret {master} exists, key {fa.MASTER_KEY}")
    assert not fa.findings(judge(tmp_path, account, data), fa.ORDERS, "master-secret")  # single user: none
    # missing
    del account.secrets[master]
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.USERS, "master-secret")
    assert (f.status, f.message, f.fix) == (
        "fail", f"master secret {master} does not exist", f"fix secrets.{fa.USERS}.master_secret.arn")  # fmt: skip
    # what the role lacks on a master key that is not the manifest's follows from master-secret
    account.add_key(OTHER_KEY)
    account.secrets[master] = {"ARN": master, "Name": fa.ADMIN, "KmsKeyId": OTHER_KEY}
    report = judge(tmp_path, account, data)
    assert fa.one(report, fa.USERS, "master-secret").status == "fail"
    assert fa.one(report, fa.USERS, "grants").cause == (fa.USERS, "master-secret")
    # another key
    account, data = fa.healthy()
    account.secrets[master]["KmsKeyId"] = fa.KEY
    f = fa.one(judge(tmp_path, account, data), fa.USERS, "master-secret")
    assert f.status == "fail" and f.message == f"master secret {master} is encrypted with {fa.KEY}, not {fa.MASTER_KEY}"
    assert f.fix == f"set secrets.{fa.USERS}.master_secret.kms_key_arn: {fa.KEY}"
    # its key disabled
    account, data = fa.healthy()
    account.add_key(fa.MASTER_KEY, state="Disabled")
    f = fa.one(judge(tmp_path, account, data), fa.USERS, "master-secret")
    assert (f.status, f.message) == ("fail", f"the master secret's key {fa.MASTER_KEY} is Disabled")
    # its key policy denies the role
    account, data = fa.healthy()
    deny = {"Sid": "No", "Effect": "Deny", "Principal": {"AWS": fa.ROLE_ARN}, "Action": "kms:Decrypt", "Resource": "*"}
    account.key_policies[fa.MASTER_KEY] = fa.default_key_policy()
    account.key_policies[fa.MASTER_KEY]["Statement"].append(deny)
    f = fa.one(judge(tmp_path, account, data), fa.USERS, "master-secret")
    assert (
        f.status == "fail"
        and f.message == f"the policy of the master secret's key {fa.MASTER_KEY} does not let {fa.ROLE_ARN} decrypt"
    )
    # unreadable
    account, data = fa.healthy()
    account.secrets[master] = Denied("secretsmanager:DescribeSecret")
    f = fa.one(judge(tmp_path, account, data), fa.USERS, "master-secret")
    assert (f.status, f.denied) == ("unknown", "secretsmanager:DescribeSecret")
