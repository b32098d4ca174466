"""`doctor --to-security-hub` keeps Security Hub true: a finding an earlier run sent that no
longer holds is archived (Compliance PASSED, RecordState ARCHIVED); a run that could not
judge everything archives nothing; another module's findings are never touched. Against a
dict-backed Security Hub that, unlike moto's, applies GetFindings' filters and pages; the
round trip through moto is in tests/moto/test_moto_accounts.py."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from generator.formats import asff
from generator.live import securityhub
from generator.live.findings import Finding
from generator.live.securityhub import Scope

ACCOUNT, OTHER, HUB, REGION = "111122223333", "444455556666", "999988887777", "us-east-1"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
SUBJECTS = frozenset({"pg-single", "prod/orders/db", "prod/billing/db"})


def _finding(subject: str, check: str, status: str = "fail", module: str = "rotation", account: str = ACCOUNT):
    return Finding(subject, check, status, f"{check} of {subject} is off", "fix it", account=account, region=REGION,
                   resource=f"arn:aws:secretsmanager:{REGION}:{account}:secret:{subject}-AbCdEf", module=module)  # fmt: skip


class FakeHub:
    """One account's Security Hub: BatchImportFindings updates by Id; GetFindings applies the
    PREFIX / EQUALS string filters rotation-tf sends and pages ``page`` findings at a time."""

    def __init__(self, page: int = 2):
        self.findings: dict[str, dict[str, Any]] = {}
        self.page = page
        self.calls: list[str] = []

    def call(self, service: str, op: str, method: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(op)
        if op == "BatchImportFindings":
            for f in kw["Findings"]:
                self.findings[f["Id"]] = {**self.findings.get(f["Id"], {}), **f}
            return {"SuccessCount": len(kw["Findings"]), "FailedCount": 0, "FailedFindings": []}
        assert op == "GetFindings"
        hits = [f for f in self.findings.values() if self._matches(f, kw["Filters"])]
        start = int(kw.get("NextToken") or 0)
        out: dict[str, Any] = {"Findings": hits[start : start + self.page]}
        if start + self.page < len(hits):
            out["NextToken"] = str(start + self.page)
        return out

    @staticmethod
    def _matches(f: dict[str, Any], filters: dict[str, list[dict[str, str]]]) -> bool:
        for key, conds in filters.items():
            value = str(f.get(key, "ACTIVE" if key == "RecordState" else ""))
            for c in conds:
                ok = value.startswith(c["Value"]) if c["Comparison"] == "PREFIX" else value == c["Value"]
                if not ok:
                    return False
        return True

    def close(self) -> None:
        pass


def _run(hubs: dict[str, FakeHub], findings: list[Finding], scopes: list[Scope], hub_account: str | None = None):
    sent = asff.render(findings, NOW, hub_account=hub_account)
    return securityhub.send(sent, lambda account, region: hubs[account], scopes=scopes, now=NOW,
                            hub_account=hub_account)  # fmt: skip


def _scope(judged: bool = True, module: str = "rotation", account: str = ACCOUNT) -> Scope:
    return Scope(account, REGION, module, SUBJECTS, judged)


def _states(hub: FakeHub) -> dict[str, tuple[str, str]]:
    return {i: (f.get("RecordState", "ACTIVE"), f["Compliance"]["Status"]) for i, f in hub.findings.items()}


def test_a_fixed_check_and_a_removed_subject_are_archived_as_passed():
    hub = FakeHub()
    hubs = {ACCOUNT: hub}
    first = [
        _finding("prod/orders/db", "rotation"),
        _finding("prod/old/db", "overdue"),
        _finding("pg-single", "egress"),
    ]
    _run(hubs, first, [_scope()])
    assert set(_states(hub).values()) == {("ACTIVE", "FAILED")}
    # fixed: rotation of prod/orders/db passes; prod/old/db left the manifest; egress still fails
    [result] = _run(hubs, [_finding("pg-single", "egress")], [_scope()])
    assert _states(hub) == {
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db": ("ARCHIVED", "PASSED"),
        f"rotation-tf/{ACCOUNT}/{REGION}/overdue/prod/old/db": ("ARCHIVED", "PASSED"),
        f"rotation-tf/{ACCOUNT}/{REGION}/egress/pg-single": ("ACTIVE", "FAILED"),
    }
    assert result.sent == 3 and result.archived == 2 and not result.failed
    assert "(2 of them archived" in result.line()
    fixed = hub.findings[f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db"]
    gone = hub.findings[f"rotation-tf/{ACCOUNT}/{REGION}/overdue/prod/old/db"]
    assert fixed["Description"] == "resolved: rotation of prod/orders/db passes now"
    assert gone["Description"] == "resolved: overdue of prod/old/db is no longer in the manifest"
    assert fixed["UpdatedAt"] == "2026-12-06T12:00:00.000Z" and fixed["Compliance"]["RelatedRequirements"]
    # a third run has nothing left to archive: archived findings are not read back
    [result] = _run(hubs, [_finding("pg-single", "egress")], [_scope()])
    assert result.archived == 0 and result.sent == 1


def test_a_run_that_could_not_judge_everything_archives_nothing():
    hub = FakeHub()
    _run({ACCOUNT: hub}, [_finding("prod/orders/db", "rotation")], [_scope()])
    unknown = _finding("prod/orders/db", "key-policy", status="unknown")
    hub.calls.clear()
    [result] = _run({ACCOUNT: hub}, [unknown], [_scope(judged=False)])
    assert _states(hub)[f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db"] == ("ACTIVE", "FAILED")
    assert result.archived == 0 and "GetFindings" not in hub.calls


def test_another_modules_findings_in_the_same_account_are_never_touched():
    hub = FakeHub()
    theirs = _finding("prod/payments/db", "rotation", module="payments")
    _run({ACCOUNT: hub}, [theirs, _finding("prod/orders/db", "rotation")], [_scope(), _scope(module="payments")])
    [result] = _run({ACCOUNT: hub}, [], [_scope()])  # this module is clean now; payments was not run
    assert _states(hub) == {
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/payments/db": ("ACTIVE", "FAILED"),
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db": ("ARCHIVED", "PASSED"),
    }
    assert result.archived == 1


def test_findings_sent_before_modules_were_named_are_owned_by_subject():
    hub = FakeHub()
    old = asff.render([_finding("prod/orders/db", "rotation"), _finding("prod/payments/db", "rotation")], NOW)
    for f in old:
        del f["ProductFields"]["rotation-tf/module"]
        hub.findings[f["Id"]] = f
    _run({ACCOUNT: hub}, [], [_scope()])
    assert _states(hub) == {
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db": ("ARCHIVED", "PASSED"),
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/payments/db": ("ACTIVE", "FAILED"),  # not this manifest's
    }


def test_with_a_hub_account_the_hub_is_read_and_only_the_audited_accounts_findings_archived():
    hub = FakeHub()
    _run({HUB: hub}, [_finding("prod/orders/db", "rotation"), _finding("prod/orders/db", "rotation", account=OTHER)],
         [_scope(), _scope(account=OTHER)], hub_account=HUB)  # fmt: skip
    [result] = _run({HUB: hub}, [], [_scope()], hub_account=HUB)
    assert _states(hub) == {
        f"rotation-tf/{ACCOUNT}/{REGION}/rotation/prod/orders/db": ("ARCHIVED", "PASSED"),
        f"rotation-tf/{OTHER}/{REGION}/rotation/prod/orders/db": ("ACTIVE", "FAILED"),
    }
    assert (result.account, result.archived) == (HUB, 1)


def test_too_many_earlier_findings_archives_none_and_says_so(monkeypatch):
    monkeypatch.setattr(securityhub, "MAX_PAGES", 2)
    hub = FakeHub(page=1)
    _run({ACCOUNT: hub}, [_finding(s, "rotation") for s in ("a", "b", "c")], [_scope()])
    [result] = _run({ACCOUNT: hub}, [], [_scope()])
    assert set(_states(hub).values()) == {("ACTIVE", "FAILED")}
    assert result.failed == [f"earlier findings of rotation not read, none archived: more than 2 pages of earlier "
                             f"findings for rotation-tf/{ACCOUNT}/{REGION}/"]  # fmt: skip


@pytest.mark.parametrize("field", ["Id", "GeneratorId"])
def test_a_finding_that_is_not_rotation_tfs_is_never_archived(field):
    """Even where the endpoint ignores the filters (moto does), each finding is judged again."""
    hub = FakeHub()
    [f] = asff.render([_finding("prod/orders/db", "rotation")], NOW)
    f[field] = "someone-else/" + f[field]
    hub.findings[f["Id"]] = f
    hub._matches = lambda finding, filters: True  # type: ignore[method-assign]  # an endpoint without filters
    _run({ACCOUNT: hub}, [], [_scope()])
    assert _states(hub) == {f["Id"]: ("ACTIVE", "FAILED")}
