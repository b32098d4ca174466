"""What ``doctor`` reports: :class:`Finding` records and the :class:`Report` of one account.

Renderers (text, JSON; later SARIF and ASFF) read these and the check registry
(:mod:`generator.live.registry`) only; nothing here reads AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.live.client import Denied, LiveError

PASS, WARN, FAIL, UNKNOWN = "pass", "warn", "fail", "unknown"
STATUSES = (PASS, WARN, FAIL, UNKNOWN)


@dataclass(frozen=True)
class Finding:
    subject: str
    check: str
    status: str
    message: str
    fix: str = ""
    # Where it is, stamped by generator.live.commands on every finding it reports: the
    # account and region, the manifest file and the line of the entry (for SARIF), and the
    # ARN of the resource the check is about (for ASFF).
    account: str = ""
    region: str = ""
    file: str = ""
    line: int = 0
    resource: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "subject": self.subject,
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


def denied_fix(action: str) -> str:
    return f"allow {action} for the caller (rotation-tf caller-policy doctor prints every action doctor needs)"


def unknown(subject: str, check: str, exc: LiveError) -> Finding:
    """The finding of a check that could not run: denied names the action; never a pass."""
    if isinstance(exc, Denied):
        return Finding(
            subject, check, UNKNOWN, f"could not check: access denied to {exc.action}", denied_fix(exc.action)
        )
    return Finding(
        subject,
        check,
        UNKNOWN,
        f"could not check: {exc}",
        "re-run doctor; if it persists, the AWS error in the message says why",
    )


@dataclass
class Report:
    account: str
    region: str
    findings: list[Finding] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {"findings": [f.to_json() for f in self.findings]}
