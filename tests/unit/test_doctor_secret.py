"""doctor's ``secret`` (generator/live/checks/secret.py): the secret exists, for each kind of
secret (rotated by a function, by its own service, or a managed external secret); every other
check of a secret needs it, so none is judged where it is missing or cannot be read.
In-process on an account held in dicts (tests/helpers/fake_account.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import fake_account as fa

from generator.live.client import Denied

RDS_MASTER = "rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4"
RDS_MASTER_ARN = fa.arn("secretsmanager", f"secret:{RDS_MASTER}-AbCdEf")


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: bool) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account, **kw)


def test_a_secret_that_does_not_exist_fails_and_nothing_else_of_it_is_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.secrets[fa.SECRET_ARNS[fa.ORDERS]]
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "secret")
    assert (f.status, f.message) == ("fail", f"secret {fa.SECRET_ARNS[fa.ORDERS]} does not exist in us-east-1")
    assert f.fix == "fix the secret's name or arn in the manifest, or create the secret"
    assert list(fa.statuses(report, fa.ORDERS)) == ["secret"]


def test_a_secret_that_cannot_be_read_is_unknown_and_nothing_else_of_it_is_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[fa.SECRET_ARNS[fa.ORDERS]] = Denied("secretsmanager:DescribeSecret")
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.ORDERS, "secret")
    assert (f.status, f.message) == ("unknown", "could not check: access denied to secretsmanager:DescribeSecret")
    assert list(fa.statuses(report, fa.ORDERS)) == ["secret"]


def test_a_secret_the_module_creates_warns_before_it_exists(tmp_path: Path) -> None:
    account, data = fa.healthy()
    data["secrets"]["app/new"] = {"function": "legacy", "create": True, "password_in_database": True, "schedule": {"every_days": 30},
                                  "connection": {"host": "db.example.internal", "username": "app"}}  # fmt: skip
    report = judge(tmp_path, account, data)
    f = fa.one(report, "app/new", "secret")
    assert (f.status, f.message, f.fix) == (
        "warn", "does not exist yet; terraform apply creates it", "run terraform apply, then doctor again")  # fmt: skip
    assert list(fa.statuses(report, "app/new")) == ["secret"]
    f = fa.one(judge(tmp_path, account, data, before_apply=True), "app/new", "secret")
    assert (f.status, f.message) == ("warn", "the apply does this: creates the secret")


def _service_rotated(account: fa.FakeAccount, data: dict) -> None:
    data["secrets"][RDS_MASTER] = {"managed": True, "arn": RDS_MASTER_ARN, "schedule": {"every_days": 7}}


def test_a_secret_its_service_rotates_is_judged_without_a_function(tmp_path: Path) -> None:
    account, data = fa.healthy()
    _service_rotated(account, data)
    account.add_secret(RDS_MASTER_ARN, OwningService="rds", RotationEnabled=True,
                       RotationRules={"AutomaticallyAfterDays": 7}, LastRotatedDate=fa.NOW)  # fmt: skip
    report = judge(tmp_path, account, data)
    assert fa.statuses(report, RDS_MASTER) == {
        "secret": "pass",
        "rotation": "pass",
        "schedule": "pass",
        "overdue": "pass",
    }
    assert fa.one(report, RDS_MASTER, "secret").message == f"{RDS_MASTER_ARN} exists (owned by rds)"
    assert fa.one(report, RDS_MASTER, "rotation").message == "rotation is on, managed by the secret's service"


def test_a_secret_its_service_rotates_that_does_not_exist_fails(tmp_path: Path) -> None:
    account, data = fa.healthy()
    _service_rotated(account, data)
    f = fa.one(judge(tmp_path, account, data), RDS_MASTER, "secret")
    assert (f.status, f.fix) == (
        "fail", "a managed secret exists once its database has manage_master_user_password; fix the name or arn")  # fmt: skip
