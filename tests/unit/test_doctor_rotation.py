"""doctor's rotation checks (generator/live/checks/rotation.py): ``rotation`` (on, with the
manifest's function), ``schedule`` (the manifest's, field by field), ``overdue`` (within the
schedule) and ``pending`` (no rotation left unfinished). In-process (tests/helpers/fake_account.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from helpers import fake_account as fa

ORDERS_ARN = fa.SECRET_ARNS[fa.ORDERS]
RESOURCE = "aws_secretsmanager_secret_rotation.prod_orders_db"


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: bool) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account, **kw)


def rotation(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: bool) -> dict[str, fa.Finding]:
    report = judge(tmp_path, account, data, **kw)
    return {c: fa.one(report, fa.ORDERS, c) for c in ("rotation", "schedule", "overdue", "pending")
            if fa.findings(report, fa.ORDERS, c)}  # fmt: skip


def test_rotation_off_fails_and_the_apply_turns_it_on(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[ORDERS_ARN]["RotationEnabled"] = False
    got = rotation(tmp_path, account, data)
    assert list(got) == ["rotation", "pending"]  # no schedule or age of a rotation that is off
    f = got["rotation"]
    assert (f.status, f.message) == ("fail", f"rotation is off (it was set up with {fa.FUNCTION_ARN})")
    assert f.fix == f"run terraform apply ({RESOURCE} turns it on)"
    f = rotation(tmp_path, account, data, before_apply=True)["rotation"]
    assert (f.status, f.message) == (
        "warn", f"the apply does this: {RESOURCE} turns rotation on with {fa.FUNCTION_ARN}, every 30 days")  # fmt: skip


def test_rotation_with_another_function_fails(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[ORDERS_ARN]["RotationLambdaARN"] = fa.ALT_FUNCTION_ARN
    f = rotation(tmp_path, account, data)["rotation"]
    assert (
        f.status == "fail"
        and f.message == f"rotation uses {fa.ALT_FUNCTION_ARN}, not the manifest's function {fa.FUNCTION_ARN}"
    )


def test_rotation_follows_from_a_function_that_does_not_exist(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.functions[fa.FUNCTION]
    f = rotation(tmp_path, account, data)["rotation"]
    assert (f.status, f.cause) == ("unknown", ("legacy", "function"))


@pytest.mark.parametrize(
    ("rules", "message", "field"),
    [
        ({"AutomaticallyAfterDays": 7}, "rotates every 7 days, not every 30 days", ("schedule", "every_days")),
        ({"ScheduleExpression": "rate(30 days)"}, None, None),  # the same schedule, written another way
        ({"AutomaticallyAfterDays": 30, "Duration": "2h"}, None, None),  # no window in the manifest: any
        ({}, "rotates on no schedule, not every 30 days", ("schedule", "every_days")),
    ],
)
def test_schedule(tmp_path: Path, rules: dict, message: str | None, field: tuple | None) -> None:
    account, data = fa.healthy()
    account.secrets[ORDERS_ARN]["RotationRules"] = rules
    f = rotation(tmp_path, account, data)["schedule"]
    if message is None:
        assert (f.status, f.message) == ("pass", "schedule every 30 days")
        return
    assert (f.status, f.message, f.field) == ("fail", message, field)
    assert (
        f.fix
        == f"run terraform apply ({RESOURCE} sets the schedule to the manifest's: every 30 days); rotation is already on"
    )


def test_a_window_that_differs_is_named_by_its_field(tmp_path: Path) -> None:
    account, data = fa.healthy()
    data["secrets"][fa.ORDERS]["schedule"] = {"every_days": 30, "window": "3h"}
    account.secrets[ORDERS_ARN]["RotationRules"] = {"AutomaticallyAfterDays": 30, "Duration": "2h"}
    f = rotation(tmp_path, account, data)["schedule"]
    assert (f.status, f.message, f.field) == ("fail", "window 2h, not 3h", ("schedule", "window"))
    assert f.fix.startswith(f"run terraform apply ({RESOURCE} sets the window to the manifest's")


def test_overdue(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[ORDERS_ARN]["LastRotatedDate"] = fa.NOW - timedelta(days=32)  # 30 days and a day's grace
    f = rotation(tmp_path, account, data)["overdue"]
    assert (f.status, f.message) == ("fail", "last rotated 2026-10-28, 32 days ago; the schedule allows 30 days")
    account.secrets[ORDERS_ARN]["LastRotatedDate"] = fa.NOW - timedelta(days=30, hours=12)
    assert rotation(tmp_path, account, data)["overdue"].status == "pass"
    # never rotated: its age counts from its creation
    del account.secrets[ORDERS_ARN]["LastRotatedDate"]
    account.secrets[ORDERS_ARN]["CreatedDate"] = fa.NOW - timedelta(days=40)
    f = rotation(tmp_path, account, data)["overdue"]
    assert (f.status, f.message) == ("fail", "never rotated, and created 2026-10-20, more than 30 days ago")
    account.secrets[ORDERS_ARN]["CreatedDate"] = fa.NOW - timedelta(days=3)
    f = rotation(tmp_path, account, data)["overdue"]
    assert (f.status, f.message) == ("pass", "not rotated yet; the first rotation is not yet due")


def test_a_cron_schedule_s_bound_is_its_coarsest_field(tmp_path: Path) -> None:
    account, data = fa.healthy()
    data["secrets"][fa.ORDERS]["schedule"] = {"expression": "cron(0 4 ? * SUN *)"}
    account.secrets[ORDERS_ARN]["RotationRules"] = {"ScheduleExpression": "cron(0 4 ? * SUN *)"}
    account.secrets[ORDERS_ARN]["LastRotatedDate"] = fa.NOW - timedelta(days=9)  # a week and a day's grace
    f = rotation(tmp_path, account, data)["overdue"]
    assert (f.status, f.message) == ("fail", "last rotated 2026-11-20, 9 days ago; the schedule allows 7 days")


def test_a_rotation_left_pending_fails_even_with_rotation_off(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[ORDERS_ARN]["VersionIdsToStages"] = {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
    f = rotation(tmp_path, account, data)["pending"]
    assert f.status == "fail" and f.message.startswith("version v2 holds AWSPENDING without AWSCURRENT")
    drop, rotate = "--version-stage AWSPENDING --remove-from-version-id v2", "rotate-secret --secret-id"
    assert drop in f.fix and f.fix.index(drop) < f.fix.index(rotate)  # RotateSecret errors while AWSPENDING is there
    account.secrets[ORDERS_ARN]["RotationEnabled"] = False
    assert rotation(tmp_path, account, data)["pending"].status == "fail"


def test_a_secret_its_service_rotates_with_rotation_off(tmp_path: Path) -> None:
    name = "rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4"
    secret_arn = fa.arn("secretsmanager", f"secret:{name}-AbCdEf")
    account, data = fa.healthy()
    data["secrets"][name] = {"managed": True, "arn": secret_arn, "schedule": {"every_days": 7}}
    account.add_secret(secret_arn, OwningService="rds")
    report = judge(tmp_path, account, data)
    assert fa.statuses(report, name) == {"secret": "pass", "rotation": "fail"}
    f = fa.one(report, name, "rotation")
    assert (f.message, f.fix) == ("rotation is off", "run terraform apply (aws_secretsmanager_secret_rotation."
                                  "rds_db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4 turns it on with the manifest's schedule)")  # fmt: skip
