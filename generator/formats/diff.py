"""``rotation-tf diff``'s formats: a :class:`generator.diff.Diff` as text (coloured on a
terminal), as a pull-request comment in Markdown, or as JSON. The comparison itself, which
decides what changed, is :func:`generator.diff.compare`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from generator import markdown as markdown_mod
from generator.diff import Diff
from generator.terminal import Screen, safe_tree

MARKDOWN_ROWS = 50
"""Rows the markdown shows before the rest goes into a collapsed <details> block."""


ROUTINE_SERVICES = ("logs:", "ec2:")
"""Grants that every new function gets for itself: its own CloudWatch logs and, in a VPC, its
network interfaces. In a pull-request comment they go into one collapsed row group, so that
the grants on secrets and keys lead."""


def schedule_text(s: dict[str, Any]) -> str:
    from generator.explain import schedule_text as text

    out = text(s["every_days"], s["expression"])
    out += f", window {s['window']}" if s["window"] else ", default window"
    if s["rotate_immediately"]:
        out += ", rotate immediately"
    return out


def condition_text(condition: dict[str, dict[str, str]] | None) -> str:
    if not condition:
        return ""
    return " and ".join(
        f"{op} {key} = {value}" for op in sorted(condition) for key, value in sorted(condition[op].items())
    )


# --------------------------------------------------------------------------------------
# Summaries and layouts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(diff: Diff) -> str:
    if not diff.changed:
        return "no change to grants, invocation, rotation or created resources"
    parts = []
    added, removed = grant_rows(diff, "added"), grant_rows(diff, "removed")
    if added or removed:
        # what the tables count: a privilege is one row (one function's actions on one
        # resource under one condition); the actions in brackets where they are more
        parts.append(
            f"{_plural(len(added), 'privilege')} added{_actions(added)}, {len(removed)} removed{_actions(removed)}"
        )
    counts = [
        (len(diff.of("permission", "added")), "invoke permission", "added"),
        (len(diff.of("permission", "removed")), "invoke permission", "removed"),
        (len(diff.of("rotation", "added")), "secret", "starts rotating"),
        (len(diff.of("rotation", "removed")), "secret", "stops rotating"),
        (len(diff.of("secret_function")), "secret", "moves to another function"),
        (len(diff.of("schedule")), "schedule", "changed"),
        (len(diff.of("resource", "created")), "resource", "created"),
        (len(diff.of("resource", "destroyed")), "resource", "destroyed"),
        (len(diff.of("policy_form")), "policy", "switches form"),
        (len(diff.of("function_source")), "function", "changes source"),
    ]
    for n, word, what in counts:
        if n:
            verb = (
                what
                if n == 1 or not what.startswith(("starts", "stops", "moves", "switches", "changes"))
                else _plural_verb(what)
            )
            parts.append(f"{_plural(n, word)} {verb}")
    return "; ".join(parts)


def _actions(rows: list[GrantRow]) -> str:
    n = sum(len(row[4]) for row in rows)
    return f" ({_plural(n, 'action')})" if n != len(rows) else ""


def _plural_verb(what: str) -> str:
    head, _, rest = what.partition(" ")
    head = {"starts": "start", "stops": "stop", "moves": "move", "switches": "switch", "changes": "change"}[head]
    return f"{head} {rest}".strip()


EXTERNAL_ROLE_OWNER = "managed external secrets"
"""Whom the role Secrets Manager assumes for managed external secrets belongs to, in the rows."""
EXTERNAL_ROLE_LABEL = f"{EXTERNAL_ROLE_OWNER}: role"
GrantRow = tuple[str, str, str, str, tuple[str, ...]]  # function, resource, condition, reason, actions


def grant_rows(diff: Diff, change: str) -> list[GrantRow]:
    """Grants grouped as a reviewer reads them: per function, resource and condition, the
    actions together."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for c in diff.of("grant", change):
        who = c["function"] if c["function"] is not None else f"{EXTERNAL_ROLE_LABEL} {c['role']}"
        key = (who, c["resource"], condition_text(c["condition"]), c["reason"])
        groups.setdefault(key, []).append(c["action"])
    return [(f, r, cond, why, tuple(actions)) for (f, r, cond, why), actions in sorted(groups.items())]


def _by(function: str | None, external: str | None = None) -> str:
    """Who rotates a secret: its function, Secrets Manager with a partner (external), or
    (managed: true) the service that owns it."""
    if function is not None:
        return function
    if external is not None:
        return f"Secrets Manager with its partner (external {external})"
    return "its own service (managed rotation)"


def other_rows(diff: Diff) -> list[tuple[str, str, str, str]]:
    """(sign, what, subject, detail) for every change that is not a grant."""
    rows: list[tuple[str, str, str, str]] = []
    for c in diff.changes:
        kind = c["kind"]
        if kind == "permission":
            rows.append(("+" if c["change"] == "added" else "-", "invoke permission", c["function"], c["permission"]))
        elif kind == "rotation":
            if c["change"] == "added":
                rows.append(
                    (
                        "+",
                        "rotation",
                        c["secret"],
                        f"rotated by {_by(c['function'], c.get('external'))}, {schedule_text(c['schedule'])}",
                    )
                )
            else:
                rows.append(
                    ("-", "rotation", c["secret"], f"no longer rotated (was {_by(c['function'], c.get('external'))})")
                )
        elif kind == "secret_function":
            before = _by(c["before"], c.get("external_before"))
            after = _by(c["after"], c.get("external_after"))
            rows.append(("~", "function", c["secret"], f"{before} -> {after}"))
        elif kind == "schedule":
            rows.append(("~", "schedule", c["secret"], f"{schedule_text(c['before'])} -> {schedule_text(c['after'])}"))
        elif kind == "resource":  # of its function or secret, as every other row; the AWS name in the detail
            # the external-secrets role belongs to no function or secret (_resources): it has neither key
            of = c.get("secret" if c["type"] == "secret" else "function") or EXTERNAL_ROLE_OWNER
            detail = c["change"] if c["name"] == of else f"{c['change']}: {c['name']}"
            rows.append(("+" if c["change"] == "created" else "-", c["type"], of, detail))
        elif kind == "policy_form":
            rows.append(("~", "policy form", c["function"], f"{c['before']} -> {c['after']}"))
        elif kind == "function_source":
            rows.append(("~", "source", c["function"], f"{c['before']} -> {c['after']}"))
    return rows


def title(diff: Diff, name: Callable[[str], str] = str) -> str:
    """The heading; ``name`` shows each manifest and module name (markdown: a code span)."""
    modules = [name(m) for m in sorted({m for m in (diff.base_module, diff.new_module) if m})]
    where = f" (module {' -> '.join(modules)})" if modules else ""
    return f"rotation-tf diff {name(diff.base)} -> {name(diff.new)}{where}"


_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def text(diff: Diff, color: bool = False) -> str:
    def paint(s: str, code: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    sign_color = {"+": _GREEN, "-": _RED, "~": _YELLOW}
    lines = [paint(title(diff), _BOLD), summary(diff)]
    for change, sign in (("added", "+"), ("removed", "-")):
        rows = grant_rows(diff, change)
        if not rows:
            continue
        lines += ["", paint(f"Privileges {change}", _BOLD)]
        function = None
        for fn, resource, cond, why, actions in rows:
            if fn != function:
                lines.append(f"  {fn}" if fn.startswith(EXTERNAL_ROLE_LABEL) else f"  function {fn}")
                function = fn
            lines.append(paint(f"    {sign} {', '.join(actions)}", sign_color[sign]))
            lines.append(paint(f"        on {resource}", sign_color[sign]))
            if cond:
                lines.append(paint(f"        if {cond}", sign_color[sign]))
            lines.append(f"        ({why})")
    rows2 = other_rows(diff)
    if rows2:
        lines += ["", paint("Rotation, invocation and resources", _BOLD)]
        for sign, what, subject, detail in rows2:
            lines.append(paint(f"  {sign} {what} {subject}: {detail}", sign_color[sign]))
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    """Text in a table cell: nothing in it starts a link, HTML or a code span (generator.markdown)."""
    return markdown_mod.text(value, cell=True)


def _code(value: str) -> str:
    """A value in a table cell: one code span, whatever it holds (generator.markdown)."""
    return markdown_mod.code(value, cell=True) if value else "–"


def markdown(diff: Diff, max_rows: int = MARKDOWN_ROWS) -> str:
    """A pull-request comment: the summary, then added privileges first, then removed ones,
    then rotation and resources; past ``max_rows`` rows the rest is collapsed."""
    out = [f"### {title(diff, markdown_mod.code)}", "", f"**{markdown_mod.text(summary(diff))}**"]
    if not diff.changed:
        return "\n".join(out) + "\n"
    budget = max_rows
    sections: list[tuple[str, list[str], list[str]]] = []
    grant_header = ["| Function | Actions | Resource | Condition | Why |", "|---|---|---|---|---|"]
    routine: list[str] = []
    routine_of: set[str] = set()
    for change, heading in (("added", "Privileges added"), ("removed", "Privileges removed")):
        rows = []
        for row in grant_rows(diff, change):
            fn, resource, cond, why, actions = row
            line = f"| {_code(fn)} | {'<br>'.join(_code(a) for a in actions)} | {_code(resource)} | {_code(cond)} | {_cell(why)} |"
            if change == "added" and is_routine(diff, row):
                routine.append(line)
                routine_of.add(fn)
            else:
                rows.append(line)
        if rows:
            sections.append((heading, grant_header, rows))
    others = [
        f"| {sign} | {_cell(what)} | {_code(subject)} | {_cell(detail)} |"
        for sign, what, subject, detail in other_rows(diff)
    ]
    if others:
        sections.append(
            ("Rotation, invocation and resources", ["| | Change | Of | Detail |", "|---|---|---|---|"], others)
        )
    hidden: list[tuple[str, list[str], list[str]]] = []
    for heading, header, rows in sections:
        shown, rest = rows[: max(budget, 0)], rows[max(budget, 0) :]
        budget -= len(shown)
        if shown:
            out += ["", f"#### {heading}", "", *header, *shown]
        if rest:
            hidden.append((heading, header, rest))
        if heading == "Privileges added" and routine:
            out += _routine_group(sorted(routine_of), grant_header, routine)
    if routine and not any(heading == "Privileges added" for heading, _h, _r in sections):
        out += ["", "#### Privileges added", *_routine_group(sorted(routine_of), grant_header, routine)]
    if hidden:
        n = sum(len(rows) for _h, _hd, rows in hidden)
        out += ["", f"<details><summary>{_plural(n, 'more row')}</summary>"]
        for heading, header, rows in hidden:
            out += ["", f"#### {heading} (continued)", "", *header, *rows]
        out += ["", "</details>"]
    out += ["", "<sub>rotation-tf diff: grants, invocation, rotation and created resources of the two manifests.</sub>"]
    return "\n".join(out) + "\n"


def is_routine(diff: Diff, row: GrantRow) -> bool:
    """A grant that a new function gets for itself alone: its own logs, its network interfaces."""
    return row[0] in diff.new_functions and all(a.startswith(ROUTINE_SERVICES) for a in row[4])


def _routine_group(functions: list[str], header: list[str], rows: list[str]) -> list[str]:
    """The routine grants of new functions, collapsed under the privileges that matter."""
    # inside <summary>, HTML: CommonMark reads no Markdown there (keys are [A-Za-z0-9_-] anyway)
    names = ", ".join(f"`{html.escape(f)}`" for f in functions)
    return [
        "",
        f"<details><summary>{_plural(len(rows), 'routine row')} of new function{'s' if len(functions) != 1 else ''} "
        f"{names}: {'their' if len(functions) != 1 else 'its'} own logs and network interfaces</summary>",
        "",
        *header,
        *rows,
        "",
        "</details>",
    ]


def to_json(diff: Diff) -> str:
    doc = {
        "base": diff.base,
        "new": diff.new,
        "base_module": diff.base_module,
        "new_module": diff.new_module,
        "summary": summary(diff),
        "changes": diff.changes,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def as_text(diff: Diff, screen: Screen) -> str:
    """The ``text`` format (:func:`text`), coloured where the screen takes colour; terminal
    text, so no name or value becomes an escape (generator.terminal)."""
    return text(safe_tree(diff), color=screen.colour)


def as_markdown(diff: Diff, screen: Screen) -> str:
    """The ``markdown`` format: a pull-request comment (:func:`markdown`)."""
    return markdown(diff)


def as_json(diff: Diff, screen: Screen) -> str:
    """The ``json`` format (:func:`to_json`)."""
    return to_json(diff)
