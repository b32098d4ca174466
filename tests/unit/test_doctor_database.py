"""doctor's ``database`` (generator/live/checks/database.py): a created secret whose host is an
RDS or Redshift endpoint of the account: its security groups admit the function's on the port.
In-process (tests/helpers/fake_account.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import fake_account as fa

from generator.live.client import Denied

HOST = "orders.cluster-abc123.us-east-1.rds.amazonaws.com"
DB_SG = "sg-0d1a2b3c4d5e60718"
NEW = "app/new"


def world() -> tuple[fa.FakeAccount, dict]:
    account, data = fa.healthy()
    data["secrets"][NEW] = {"function": "legacy-alt", "create": True, "schedule": {"every_days": 30},
                            "connection": {"host": HOST, "username": "app"},
                            "master_secret": {"arn": fa.SECRET_ARNS[fa.ADMIN], "kms_key_arn": fa.MASTER_KEY}}  # fmt: skip
    new_arn = fa.arn("secretsmanager", f"secret:{NEW}-AbCdEf")
    account.add_secret(new_arn)
    account.rotate(new_arn, fa.ALT_FUNCTION_ARN)
    account.databases_ = [("RDS cluster orders", HOST, 5432, [DB_SG])]
    account.security_groups_[DB_SG] = {"GroupId": DB_SG, "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": fa.FN_SG}]}]}  # fmt: skip
    return account, data


def database(tmp_path: Path, account: fa.FakeAccount, data: dict) -> list[fa.Finding]:
    return fa.findings(fa.judge(fa.load(tmp_path, data), account), NEW, "database")


def test_a_database_that_admits_the_function_passes(tmp_path: Path) -> None:
    account, data = world()
    [f] = database(tmp_path, account, data)
    assert (f.status, f.message) == ("pass", "RDS cluster orders admits the function's security groups on port 5432")
    # only secrets the module creates name their host
    assert not fa.findings(fa.judge(fa.load(tmp_path, data), account), fa.USERS, "database")


def test_a_database_that_does_not_admit_the_function_fails(tmp_path: Path) -> None:
    account, data = world()
    account.security_groups_[DB_SG]["IpPermissions"][0]["FromPort"] = 3306
    account.security_groups_[DB_SG]["IpPermissions"][0]["ToPort"] = 3306
    [f] = database(tmp_path, account, data)
    assert f.status == "fail" and f.message == (
        f"the security groups of RDS cluster orders ({DB_SG}) do not admit the function's ({fa.FN_SG}) on port 5432"
    )
    assert f.fix == f"add an inbound rule to {DB_SG}: TCP 5432 from {fa.FN_SG}"


def test_a_function_outside_any_vpc_cannot_reach_it(tmp_path: Path) -> None:
    account, data = world()
    account.functions[fa.ALT_FUNCTION]["VpcConfig"] = {}
    del data["functions"]["legacy-alt"]["vpc"]
    [f] = database(tmp_path, account, data)
    assert (f.status, f.message) == (
        "fail",
        f"{HOST} is RDS cluster orders, in a VPC, but the function does not run in a VPC",
    )


def test_a_host_that_is_no_database_of_the_account_is_not_judged_and_an_unreadable_list_is_unknown(
    tmp_path: Path,
) -> None:
    account, data = world()
    account.databases_ = []
    assert database(tmp_path, account, data) == []
    account.databases_ = Denied("rds:DescribeDBInstances")
    [f] = database(tmp_path, account, data)
    assert (f.status, f.denied) == ("unknown", "rds:DescribeDBInstances")
