"""``doctor --to-security-hub``: send the ASFF findings with BatchImportFindings, and
archive the ones an earlier run sent that no longer hold.

Each finding goes to the account in its ``AwsAccountId`` (the audited account, or
``--security-hub-account``) and its region, at most 100 a call, with the credentials the
audit used there (the assumed role, or the caller's own in the caller's account). Whatever
Security Hub refuses (``FailedFindings``) or a call that fails is reported, never dropped
(https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html).

Before sending, each audited manifest whose every check was judged (:class:`Scope`) reads
the ACTIVE findings rotation-tf sent earlier for its account and region (GetFindings, ids
``rotation-tf/<account>/<region>/...``) and archives those of its own module that this run
did not find again: a check that passes now, or a subject that left the manifest
(:func:`generator.formats.asff.archived`). A run with a check it could not judge, or an
account it could not read, archives nothing there: what it did not see may still fail.
Findings of another manifest's module in the same account are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from generator.formats import asff
from generator.live.client import LiveError, ServiceFailure


@dataclass
class Sent:
    account: str
    region: str
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # "id: code message", or the call's error
    archived: int = 0  # of ``sent``: earlier findings archived (fixed, or no longer in the manifest)

    def line(self) -> str:
        head = f"security hub: account {self.account}, {self.region}: {self.sent} finding(s) imported"
        if self.archived:
            head += f" ({self.archived} of them archived: fixed, or no longer in the manifest)"
        if not self.failed:
            return head
        return head + f", {len(self.failed)} failed:\n" + "\n".join(f"  {x}" for x in self.failed)


@dataclass(frozen=True)
class Scope:
    """One audited manifest, for archiving: the findings it may archive are those rotation-tf
    sent for ``account`` and ``region`` about ``module`` (or, sent before findings named their
    module, about one of ``subjects``)."""

    account: str  # the audited account
    region: str
    module: str
    subjects: frozenset[str]
    judged: bool  # every check judged and the account read: only then is anything archived

    @property
    def prefix(self) -> str:
        return f"rotation-tf/{self.account}/{self.region}/"

    def owns(self, finding: dict[str, Any]) -> bool:
        fields = finding.get("ProductFields") or {}
        if not str(finding.get("Id", "")).startswith(self.prefix):
            return False
        if "rotation-tf/module" in fields:
            return bool(fields["rotation-tf/module"] == self.module)
        return fields.get("rotation-tf/subject") in self.subjects


MAX_PAGES = 100  # GetFindings pages of 100 read per account and region before giving up on archiving


class TooMany(Exception):
    pass


def earlier(aws: Any, scope: Scope) -> list[dict[str, Any]]:
    """The ACTIVE findings rotation-tf sent earlier that ``scope`` owns. The filters keep the
    answer small where the endpoint applies them; each finding is judged here again all the
    same, so that nothing but rotation-tf's own findings of this module is ever touched."""
    filters = {
        "Id": [{"Value": scope.prefix, "Comparison": "PREFIX"}],
        "GeneratorId": [{"Value": "rotation-tf/", "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        kw: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
        if token:
            kw["NextToken"] = token
        page = aws.call("securityhub", "GetFindings", "get_findings", **kw)
        out += [
            f
            for f in page.get("Findings") or []
            if f.get("RecordState", "ACTIVE") == "ACTIVE" and str(f.get("GeneratorId", "")).startswith("rotation-tf/")
            and scope.owns(f)
        ]  # fmt: skip
        token = page.get("NextToken")
        if not token:
            return out
    raise TooMany(f"more than {MAX_PAGES} pages of earlier findings for {scope.prefix}")


def send(
    findings: list[dict[str, Any]],
    open_aws: Callable[[str, str], Any],
    *,
    scopes: Sequence[Scope] = (),
    now: datetime | None = None,
    hub_account: str | None = None,
) -> list[Sent]:
    """``open_aws(account, region)`` gives an Aws with a ``securityhub`` client acting in that
    account (it raises LiveError when the account cannot be entered). ``scopes``: the audited
    manifests, whose earlier findings that this run did not find again are archived."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault((f["AwsAccountId"], f["Region"]), []).append(f)
    judged: dict[tuple[str, str], list[Scope]] = {}
    for scope in scopes:
        if scope.judged:
            target = (hub_account or scope.account, scope.region)
            judged.setdefault(target, []).append(scope)
            groups.setdefault(target, [])
    out = []
    for (account, region), mine in sorted(groups.items()):
        result = Sent(account, region)
        try:
            aws = open_aws(account, region)
        except (LiveError, ServiceFailure) as exc:
            result.failed.append(f"{len(mine)} finding(s) not sent: {exc}")
            out.append(result)
            continue
        try:
            current = {f["Id"] for f in mine}
            archiving: dict[str, dict[str, Any]] = {}
            for scope in judged.get((account, region), []):
                try:
                    previous = earlier(aws, scope)
                except (LiveError, ServiceFailure, TooMany) as exc:
                    result.failed.append(f"earlier findings of {scope.module} not read, none archived: {exc}")
                    continue
                for f in previous:
                    if f["Id"] in current:
                        continue
                    subject = (f.get("ProductFields") or {}).get("rotation-tf/subject")
                    why = asff.PASSED_NOW if subject in scope.subjects else asff.GONE
                    archiving[f["Id"]] = asff.archived(f, now or datetime.now(), why)
            mine = mine + [archiving[i] for i in sorted(archiving)]
            if mine or result.failed:
                out.append(result)
            refused: set[str] = set()
            for batch in asff.batches(mine):
                try:
                    answer = aws.call("securityhub", "BatchImportFindings", "batch_import_findings", Findings=batch)
                except (LiveError, ServiceFailure) as exc:
                    result.failed += [f"{f['Id']}: {exc}" for f in batch]
                    refused |= {f["Id"] for f in batch}
                    continue
                result.sent += int(answer.get("SuccessCount", 0))
                for failed in answer.get("FailedFindings") or []:
                    refused.add(str(failed.get("Id", "")))
                    result.failed.append(
                        f"{failed.get('Id', '?')}: {failed.get('ErrorCode', '?')} {failed.get('ErrorMessage', '')}".rstrip()
                    )
            result.archived = len(set(archiving) - refused)
        finally:
            aws.close()
    return out
