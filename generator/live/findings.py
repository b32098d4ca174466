"""What ``doctor`` reports: :class:`Finding` records, the :class:`Report` of one account and
the :class:`Audit` of one manifest.

The renderers (:mod:`generator.formats.doctor`: text and JSON, with SARIF and ASFF) read
these and the check registry (:mod:`generator.live.registry`) only; nothing here reads AWS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generator.live.client import Denied, LiveError

PASS, WARN, FAIL, UNKNOWN = "pass", "warn", "fail", "unknown"
STATUSES = (PASS, WARN, FAIL, UNKNOWN)


@dataclass(frozen=True)
class Finding:
    """One finding. ``subjects``: every subject it is about (one cause, one fix; the first is
    ``subject``). ``cause``: (subject, check) of the failing finding this one follows from; such
    a finding is ``unknown`` and is judged again once that one is fixed."""

    subject: str
    check: str
    status: str
    message: str
    fix: str = ""
    # Where it is, stamped by generator.live.commands on every finding it reports: the
    # account and region, the manifest file (relative to ``root``, the repository's root or
    # the working directory; absolute where it is under neither) and the line and column of
    # the exact field (for SARIF), and the ARN of the resource the check is about (for ASFF).
    account: str = ""
    region: str = ""
    file: str = ""
    line: int = 0
    resource: str = ""
    module: str = ""  # the manifest's module: whose earlier Security Hub findings a run may archive
    subjects: tuple[str, ...] = ()
    cause: tuple[str, str] | None = None
    denied: str = ""  # unknown because the caller may not take this action (what caller-policy prints)
    field: tuple[str, ...] = ()  # the manifest field it is about, within its subject's entry (set by the check)
    column: int = 0
    root: str = ""  # the absolute folder ``file`` is relative to ('' when ``file`` is absolute)
    # What a check read that backs the finding, as JSON values (``last-rotation``: the log line,
    # the request id, the step, the cause...; see :func:`evidence`); None for most checks. (The
    # attribute ``field`` above hides dataclasses.field in this class body.)
    details: Mapping[str, Any] | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.subjects:
            object.__setattr__(self, "subjects", (self.subject,))

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "subject": self.subject,
            "subjects": list(self.subjects),
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "cause": None if self.cause is None else {"subject": self.cause[0], "check": self.cause[1]},
            "details": None if self.details is None else dict(self.details),
        }


# The lines of a finding's details that the text format shows under it, in this order:
# (label, key of details). Every value is one printable line already (the check made it so).
EVIDENCE = (("log", "log_line"), ("request", "request"), ("where", "site"), ("note", "notes"))


def evidence(f: Finding) -> list[tuple[str, str]]:
    """(label, text) of what backs a finding, for the text format (and SARIF's and ASFF's text)."""
    d = f.details or {}
    out: list[tuple[str, str]] = []
    for label, key in EVIDENCE:
        value = d.get(key)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and item:
                out.append((label, item))
    return out


def caused(subject: str, check: str, cause: tuple[str, str], what: str = "") -> Finding:
    """The finding of a check that follows from the failing ``cause`` (subject, check): not a
    second failure, but ``unknown`` until that one is fixed."""
    by, by_check = cause
    return Finding(
        subject,
        check,
        UNKNOWN,
        f"not judged: {what or 'it'} follows from {by_check} of {by}, which fails",
        f"fix {by_check} of {by} first, then run doctor again",
        cause=cause,
    )


def group(findings: list[Finding]) -> list[Finding]:
    """One root cause, one finding: findings other than passes with the same check, status,
    message, fix and cause (one cause, one fix) become one, naming every subject in order,
    at the place of the first."""
    first: dict[tuple[Any, ...], int] = {}
    merged: list[Finding] = []
    for f in findings:
        if f.status == PASS or f.details is not None:  # what backs a finding is its subject's own
            merged.append(f)
            continue
        key = (f.check, f.status, f.message, f.fix, f.cause)
        if key not in first:
            first[key] = len(merged)
            merged.append(f)
            continue
        i = first[key]
        had = merged[i]
        subjects = had.subjects + tuple(s for s in f.subjects if s not in had.subjects)
        merged[i] = replace(had, subjects=subjects)
    return merged


def denied_fix(action: str) -> str:
    return f"allow {action} for the caller (rotation-tf caller-policy doctor prints every action doctor needs)"


def unknown(subject: str, check: str, exc: LiveError) -> Finding:
    """The finding of a check that could not run: denied names the action; never a pass."""
    if isinstance(exc, Denied):
        return Finding(
            subject,
            check,
            UNKNOWN,
            f"could not check: access denied to {exc.action}",
            denied_fix(exc.action),
            denied=exc.action,
        )
    return Finding(
        subject,
        check,
        UNKNOWN,
        f"could not check: {exc}",
        "re-run doctor; if it persists, the AWS error in the message says why",
    )


def unseen(findings: list[Finding], accepted: frozenset[str] = frozenset()) -> list[Finding]:
    """The findings that keep a run from exit 0 without being failures: every ``unknown`` that
    no failure explains (a ``caused`` finding is judged once its cause, a failure, is fixed)
    and whose check the user did not accept as unknown (``doctor --allow-unknown``)."""
    return [f for f in findings if f.status == UNKNOWN and f.cause is None and f.check not in accepted]


@dataclass
class Report:
    account: str
    region: str
    findings: list[Finding] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    before_apply: bool = False  # judged as the account will be once the module is applied

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {"findings": [f.to_json() for f in self.findings]}


@dataclass
class Audit:
    """One manifest's run: its report, or why its account could not be read."""

    manifest: Path
    module: Any
    report: Any
    unreadable: str = ""  # the reason, when the account could not be read (exit 3)
    error: Any = None  # the LiveError or ServiceFailure behind it
