"""``rotation-tf doctor``'s formats: the audits of every manifest (their findings, each
stamped with where it is) as text, a table grouped by function that fits the terminal's
width, as JSON, as SARIF (:mod:`.sarif`) or as ASFF (:mod:`.asff`); and the lines that say
what doctor did not see.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from generator.live.findings import STATUSES, Audit, Finding
from generator.terminal import MIN_WIDTH, PIPE_WIDTH, Screen, wrap

_COLOURS = {"pass": "\x1b[32m", "warn": "\x1b[33m", "fail": "\x1b[31;1m", "unknown": "\x1b[35m"}


def render_text(report: Any, module: Any, colour: bool, width: int = PIPE_WIDTH) -> str:
    """A table grouped by function: each function's own checks, then each of its secrets'.
    No line is wider than ``width``. A finding about several subjects (one cause, one fix)
    is shown once, under its first subject, naming the others; a heading with nothing under
    it is left out (an account-level failure prints no function headings)."""
    from generator.live.findings import STATUSES, evidence

    width = max(width, MIN_WIDTH)
    by_subject: dict[str, list[Any]] = {}
    for f in report.findings:
        by_subject.setdefault(f.subject, []).append(f)
    check_w = max((len(f.check) for f in report.findings), default=8)

    def paint(status: str, line: str, indent: str) -> str:
        word = status.upper()
        if not colour:
            return line
        return f"{indent}{_COLOURS[status]}{word}\x1b[0m{line[len(indent) + len(word) :]}"

    def rows(findings: list[Any], indent: str) -> list[str]:
        out = []
        body = " " * (8 + check_w + 2)
        for f in findings:
            head = f"{indent}{f.status.upper().ljust(7)} {f.check.ljust(check_w)}  "
            lines = wrap(f.message, head, indent + body, width)
            out.append(paint(f.status, lines[0], indent))
            out += lines[1:]
            for label, text in evidence(f):  # what backs it (last-rotation: the log line, the request)
                out += wrap(text, f"{indent}{body}{label}: ", f"{indent}{body}{' ' * (len(label) + 2)}", width)
            others = [s for s in f.subjects if s != f.subject]
            if others:
                out += wrap(", ".join(others), f"{indent}{body}also: ", f"{indent}{body}      ", width)
            if f.fix and f.status != "pass":
                out += wrap(f.fix, f"{indent}{body}fix: ", f"{indent}{body}     ", width)
        return out

    def heading(text: str, indent: str = "") -> list[str]:
        return wrap(text, indent, indent + "  ", width)

    title = f"rotation-tf doctor{' --before-apply' if report.before_apply else ''}: account {report.account}, region {report.region}"
    lines = heading(title)
    if report.before_apply:
        lines += heading("what terraform apply will do is a warning; what it cannot fix fails")
    lines.append("")
    grouped = {fn.key for fn in module.functions} | {s.name for s in module.secrets}
    for s in (s for s in by_subject if s not in grouped):
        lines += heading(s) + rows(by_subject[s], "  ") + [""]
    for fn in module.functions:
        block = rows(by_subject.get(fn.key, []), "  ")
        for sec in fn.secrets:
            if sec.name in by_subject:
                block += heading(f"secret {sec.name}", "  ") + rows(by_subject[sec.name], "    ")
        if block:
            lines += heading(f"function {fn.key} ({fn.function_name})") + block + [""]
    own = [s for s in module.secrets if s.function is None and s.name in by_subject]
    if own:  # managed: true
        lines += heading("secrets rotated by their own service")
        for sec in own:
            lines += heading(f"secret {sec.name}", "  ") + rows(by_subject[sec.name], "    ")
        lines.append("")
    counts = report.counts()
    lines += heading(
        ", ".join(f"{counts[s]} {s}" for s in STATUSES)
        + f" ({len(report.findings)} checks, {sum(report.calls.values())} API calls)"
    )
    return "\n".join(lines) + "\n"


def as_text(audits: list[Audit], screen: Screen) -> str:
    """The ``text`` format: each manifest's table (:func:`render_text`), then, with several,
    the totals."""
    texts = [render_text(a.report, a.module, screen.colour, screen.width) for a in audits]
    if len(audits) == 1:
        return texts[0]
    counts = {s: sum(a.report.counts()[s] for a in audits) for s in STATUSES}
    unread = sorted({a.module.account_id for a in audits if a.unreadable})
    total = (
        f"{len(audits)} manifests, {len({a.module.account_id for a in audits})} accounts: "
        + ", ".join(f"{counts[s]} {s}" for s in STATUSES)
        + (f"; could not read account(s) {', '.join(unread)}" if unread else "")
    )
    return "\n".join(texts) + "\n" + total + "\n"


def as_json(audits: list[Audit], screen: Screen) -> str:
    """The ``json`` format: every finding, and each manifest's account and whether it was read."""
    doc = {
        "findings": [f.to_json() for a in audits for f in a.report.findings],
        "accounts": [
            {"manifest": str(a.manifest), "account": a.module.account_id, "region": a.module.region,
             "read": not a.unreadable}
            for a in audits
        ],
    }  # fmt: skip
    return json.dumps(doc, indent=2) + "\n"


def as_sarif(audits: list[Audit], screen: Screen) -> str:
    """The ``sarif`` format (:mod:`generator.formats.sarif`)."""
    from generator.formats import sarif

    return json.dumps(sarif.render([f for a in audits for f in a.report.findings]), indent=2) + "\n"


def as_asff(audits: list[Audit], screen: Screen) -> str:
    """The ``asff`` format (:mod:`generator.formats.asff`), stamped with doctor's clock."""
    from generator.formats import asff
    from generator.live.checks.context import now

    return json.dumps(asff.render([f for a in audits for f in a.report.findings], now()), indent=2) + "\n"


def unseen_lines(
    audits: list[Audit],
    accepted: frozenset[str],
    *,
    read_values: bool = False,
    assume: Any = None,
    width: int = PIPE_WIDTH,
) -> list[str]:
    """doctor's summary of what it did not see (the accounts it read): each unknown check and
    how many subjects, why, the caller permissions that would let it see them (the actions as
    ``rotation-tf caller-policy`` prints them), and the flag that accepts them as unknown."""
    from generator.live.caller_policy import READ_VALUES
    from generator.live.findings import UNKNOWN, unseen

    findings = [f for a in audits if not a.unreadable for f in a.report.findings]
    missing = unseen(findings, accepted)
    taken = [f for f in findings if f.status == UNKNOWN and f.cause is None and f.check in accepted]
    lines: list[str] = []
    if missing:
        checks = _subjects_per_check(missing)
        listed = ", ".join(f"{c} ({n} subject{'s' if n != 1 else ''})" for c, n in sorted(checks.items()))
        lines += wrap(f"not seen: {listed}; doctor exits 3, since exit 0 needs every check judged", "", "  ", width)
        denied = sorted({f.denied for f in missing if f.denied})
        if denied:
            command = (
                "rotation-tf caller-policy doctor"
                + (" --read-values" if read_values or any(a in READ_VALUES for a in denied) else "")
                + (f" --assume-role {assume.name}" if assume is not None else "")
            )
            who = "the caller (or the role it assumes)" if assume is not None else "the caller"
            lines += wrap(
                f"to see them, let {who} call {', '.join(denied)}, as `{command}` prints it", "  ", "    ", width
            )
        reasons = sorted(
            {" ".join(f.message.removeprefix("could not check: ").split())[:200] for f in missing if not f.denied}
        )
        if reasons:
            shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more (above)" if len(reasons) > 3 else "")
            lines += wrap(f"not seen because: {shown}", "  ", "    ", width)
        lines += wrap(f"to accept them unseen: --allow-unknown {','.join(sorted(checks))}", "  ", "    ", width)
    if taken:
        counted = _subjects_per_check(taken)
        listed = ", ".join(f"{c} ({n})" for c, n in sorted(counted.items()))
        lines += wrap(f"accepted as unknown (--allow-unknown): {listed}", "", "  ", width)
    return lines


def _subjects_per_check(findings: list[Finding]) -> Counter[str]:
    counted = Counter[str]()
    for f in findings:
        counted[f.check] += len(f.subjects)
    return counted
