"""doctor's ``last-rotation`` rules in-process (generator/live/checks/last_rotation.py), on an
account held in dicts (tests/helpers/fake_account.py) with the committed captures of AWS's code failing
for real (tests/data/rotation_logs/) as the function's log: which secrets send doctor to the
log, what it says when the log cannot, and the causes it names. The same against moto, and
every format: tests/moto/test_doctor_last_rotation.py."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from helpers import fake_account as fa
from helpers import paths

from generator.live.client import Denied

DATA = paths.DATA / "rotation_logs"
BILLING_ARN = fa.SECRET_ARNS[fa.BILLING]
GROUP = f"/aws/lambda/{fa.FUNCTION}"


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account)


def ship(account: fa.FakeAccount, scenario: str, secret_arn: str = BILLING_ARN) -> None:
    """A capture's events, its secret's ARN replaced by ``secret_arn``, into the function's log group."""
    doc = json.loads((DATA / f"{scenario}.text.json").read_text())
    events = [dict(e, message=e["message"].replace(doc["secret_arn"], secret_arn)) for e in doc["events"]]
    account.logs.setdefault(GROUP, []).extend(events)


def pending(account: fa.FakeAccount, secret_arn: str = BILLING_ARN) -> None:
    account.secrets[secret_arn]["VersionIdsToStages"] = {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}


def test_a_secret_without_a_sign_passes_without_reading_a_log(tmp_path: Path) -> None:
    account, data = fa.healthy()
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert f.status == "pass" and f.message.startswith("no sign of a failed rotation since the last one, 2026-11-28")
    assert f.message.endswith("(CloudTrail's rotation events not read: LookupEvents is not answered here)")
    assert account.calls["rotation_log"] == 0


def test_a_rotation_left_pending_is_read_in_the_log_and_its_cause_named(tmp_path: Path) -> None:
    account, data = fa.healthy()
    pending(account)
    ship(account, "password-changed")
    report = judge(tmp_path, account, data)
    f = fa.one(report, fa.BILLING, "last-rotation")
    assert f.status == "fail" and f.message.startswith("setSecret failed at "), f
    assert "password no longer matches any version of the secret" in f.message
    assert f.details is not None and (f.details["step"], f.details["cause_id"]) == ("setSecret", "no-version-logs-in")
    assert f.details["log_group"] == GROUP and "AWSPENDING" in f.details["signs"][0]
    assert "see pending" in f.fix  # the version left pending is tried again
    assert fa.one(report, fa.ORDERS, "last-rotation").status == "pass"


def test_what_the_log_cannot_say_follows_from_the_failure_that_sent_doctor_there(tmp_path: Path) -> None:
    account, data = fa.healthy()
    pending(account)  # and no log group
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert (f.status, f.cause) == ("unknown", (fa.BILLING, "pending")), f
    assert f"the function's log group {GROUP} does not exist" in f.message
    # RotateSecret returns an error while v2 holds AWSPENDING: the fix drops it first
    drop = "--version-stage AWSPENDING --remove-from-version-id v2) and rotate again: aws secretsmanager rotate-secret"
    assert drop in f.fix, f.fix
    account, data = fa.healthy()
    account.secrets[BILLING_ARN]["LastRotatedDate"] = fa.NOW - timedelta(days=40)  # overdue, and no log group
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert (f.status, f.cause) == ("unknown", (fa.BILLING, "overdue")), f
    assert "update-secret-version-stage" not in f.fix and f.fix.endswith(f"rotate-secret --secret-id {BILLING_ARN}")


def test_a_next_rotation_long_past_due_is_a_sign(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.secrets[BILLING_ARN]["NextRotationDate"] = fa.NOW - timedelta(hours=2)  # after the last rotation, a day ago
    ship(account, "password-changed")
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert f.status == "fail" and f.details is not None, f
    assert f.details["signs"] == ["its next rotation was due by 2026-11-29 10:00:00 UTC"]
    assert f.cause is None  # nothing else fails: this finding is the failure


def test_a_log_the_caller_may_not_read_is_unknown_naming_the_signs(tmp_path: Path) -> None:
    account, data = fa.healthy()
    pending(account)
    account.logs[GROUP] = Denied("logs:FilterLogEvents")
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert (f.status, f.denied, f.cause) == ("unknown", "logs:FilterLogEvents", None), f
    assert f.message.startswith(
        "could not check: access denied to logs:FilterLogEvents, so why it failed is not known ("
    )
    assert f.details is not None and f.details["log_group"] == GROUP


def test_a_function_that_does_not_exist_has_no_log(tmp_path: Path) -> None:
    account, data = fa.healthy()
    pending(account)
    del account.functions[fa.FUNCTION]
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert (f.status, f.cause) == ("unknown", ("legacy", "function")), f
    assert f.message == "not judged: reading why its rotation failed follows from function of legacy, which fails"
    # unreadable: last-rotation says what it could not learn, with the signs
    account, data = fa.healthy()
    pending(account)
    account.functions[fa.FUNCTION] = Denied("lambda:GetFunctionConfiguration")
    f = fa.one(judge(tmp_path, account, data), fa.BILLING, "last-rotation")
    assert f.status == "unknown" and f.message.startswith(
        "could not check: access denied to lambda:GetFunctionConfiguration, so why it failed is not known ("
    ), f


def test_a_secret_whose_rotation_is_off_has_no_last_rotation(tmp_path: Path) -> None:
    account, data = fa.healthy()
    pending(account)
    account.secrets[BILLING_ARN]["RotationEnabled"] = False
    report = judge(tmp_path, account, data)
    assert not fa.findings(report, fa.BILLING, "last-rotation")
    assert fa.one(report, fa.BILLING, "pending").status == "fail"  # what is left pending is pending's to say
