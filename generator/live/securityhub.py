"""``doctor --to-security-hub``: send the ASFF findings with BatchImportFindings.

Each finding goes to the account in its ``AwsAccountId`` (the audited account, or
``--security-hub-account``) and its region, at most 100 a call, with the credentials the
audit used there (the assumed role, or the caller's own in the caller's account). Whatever
Security Hub refuses (``FailedFindings``) or a call that fails is reported, never dropped
(https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.live import asff
from generator.live.client import LiveError, ServiceFailure


@dataclass
class Sent:
    account: str
    region: str
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # "id: code message", or the call's error

    def line(self) -> str:
        head = f"security hub: account {self.account}, {self.region}: {self.sent} finding(s) imported"
        if not self.failed:
            return head
        return head + f", {len(self.failed)} failed:\n" + "\n".join(f"  {x}" for x in self.failed)


def send(findings: list[dict[str, Any]], open_aws: Callable[[str, str], Any]) -> list[Sent]:
    """``open_aws(account, region)`` gives an Aws with a ``securityhub`` client acting in that
    account (it raises LiveError when the account cannot be entered)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault((f["AwsAccountId"], f["Region"]), []).append(f)
    out = []
    for (account, region), mine in sorted(groups.items()):
        result = Sent(account, region)
        out.append(result)
        try:
            aws = open_aws(account, region)
        except (LiveError, ServiceFailure) as exc:
            result.failed.append(f"{len(mine)} finding(s) not sent: {exc}")
            continue
        try:
            for batch in asff.batches(mine):
                try:
                    answer = aws.call("securityhub", "BatchImportFindings", "batch_import_findings", Findings=batch)
                except (LiveError, ServiceFailure) as exc:
                    result.failed += [f"{f['Id']}: {exc}" for f in batch]
                    continue
                result.sent += int(answer.get("SuccessCount", 0))
                for failed in answer.get("FailedFindings") or []:
                    result.failed.append(
                        f"{failed.get('Id', '?')}: {failed.get('ErrorCode', '?')} {failed.get('ErrorMessage', '')}".rstrip()
                    )
        finally:
            aws.close()
    return out
