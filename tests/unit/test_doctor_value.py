"""doctor's ``value`` (generator/live/checks/value.py, ``--read-values`` only): the current value
is JSON with the keys the engine's function reads; the value itself is never shown.
In-process (tests/helpers/fake_account.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fake_account as fa

from generator.live.client import Denied


def value(tmp_path: Path, account: fa.FakeAccount, data: dict, secret: str = fa.ORDERS) -> fa.Finding:
    return fa.one(fa.judge(fa.load(tmp_path, data), account, read_values=True), secret, "value")


def test_without_read_values_no_value_is_read(tmp_path: Path) -> None:
    account, data = fa.healthy()
    report = fa.judge(fa.load(tmp_path, data), account)
    assert not [f for f in report.findings if f.check in ("value", "replica")]
    assert account.calls["value_shape"] == account.calls["value_fields"] == 0


@pytest.mark.parametrize(
    ("stored", "status", "message"),
    [
        (dict(fa.VALUE, password="hunter2-never-shown"), "pass", "the current value has engine, host, username, password (values not shown)"),
        ("not json", "fail", "the current value is not a JSON object: "),
        ({"engine": "postgres", "host": "h"}, "fail", "the current value lacks username, password, which the postgresql rotation function reads"),
        (dict(fa.VALUE, masterarn="arn:x"), "warn", "the value names a master secret (masterarn), but the function rotates single_user"),
        (dict(fa.VALUE, engine="mysql"), "warn", "the value's engine is not 'postgres', which AWS's postgresql functions expect"),
    ],
)  # fmt: skip
def test_value(tmp_path: Path, stored: object, status: str, message: str) -> None:
    account, data = fa.healthy()
    account.values[fa.SECRET_ARNS[fa.ORDERS]] = stored
    f = value(tmp_path, account, data)
    assert f.status == status and f.message.startswith(message), f
    assert "hunter2" not in f.message + f.fix


def test_alternating_users_need_masterarn(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.values[fa.SECRET_ARNS[fa.USERS]] = dict(fa.VALUE)
    f = value(tmp_path, account, data, fa.USERS)
    assert (f.status, f.fix) == ("fail", "add masterarn to the secret's JSON")


def test_a_value_that_cannot_be_read_is_unknown_and_engine_other_is_not_read(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.values[fa.SECRET_ARNS[fa.ORDERS]] = Denied("secretsmanager:GetSecretValue")
    f = value(tmp_path, account, data)
    assert (f.status, f.denied) == ("unknown", "secretsmanager:GetSecretValue")
    data["functions"]["legacy"]["engine"] = "other"
    f = value(tmp_path, account, data)
    assert (f.status, f.message) == ("pass", "engine other: the function's needs are its own; not checked")
