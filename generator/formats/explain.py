"""``rotation-tf explain``'s formats: the facts of :func:`generator.explain.facts` laid out
as text (:func:`plain` for pipes and CI logs, :func:`rich_tables` for a terminal; rich is
imported lazily, only there) or as JSON. The module README lays out the same facts in
Markdown (templates/README.md.j2).
"""

from __future__ import annotations

import json
from typing import Any

from generator.terminal import Screen, break_token_wise, safe_tree


def role_note(role: dict[str, Any]) -> str:
    """The line under the role's title: the policy's size and where the role comes from."""
    size = f"{role['form']} form, {role['policy_size']:,} of {role['policy_size_limit']:,} characters"
    if role["role_source"] == "created":
        return f"{size}; created by the module"
    if role["role_source"] == "execution_role_arn":
        return f"{size}; the function's own role (execution_role_arn, checked at plan time): the module adds only this policy"
    return f"{size}; the function's own role, read at plan time: the module adds only this policy"


def to_json(data: dict[str, Any] | list[dict[str, Any]]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------
# Layout
#
# Functions and secrets are tables (short cells). Statements are blocks, one field a line,
# one resource or condition value a line: piped, no line is longer than its longest ARN
# (conditions used to run to hundreds of characters on one line); on a terminal, a value
# wider than the terminal is broken only after a ':' or '/', never inside a token of an ARN.

FUNCTION_COLUMNS = ("FUNCTION", "STRATEGY", "ENGINE", "SOURCE", "VPC", "KEYS", "SECRETS")
SECRET_COLUMNS = ("SECRET", "FUNCTION", "SCHEDULE", "WINDOW", "ROTATE NOW")
_LABEL = 15  # "    resources  "
_INDENT = " " * _LABEL


def summary_line(data: dict[str, Any]) -> str:
    n_fn = len(data["functions"])
    n_sec = sum(f["secret_count"] for f in data["functions"])
    n_own = len(data.get("service_rotated", ()))
    own = (
        f"; {n_own} secret{'s' if n_own != 1 else ''} rotated by {'their' if n_own != 1 else 'its'} own service (no function, no grant)"
        if n_own
        else ""
    )
    xr = data.get("external_role")
    n_ext = len(xr["secrets"]) if xr else 0
    ext = (
        f"; {n_ext} managed external secret{'s' if n_ext != 1 else ''} rotated by Secrets Manager as role {xr['role_name']}"
        if xr
        else ""
    )
    return (
        f"Module {data['module']} (from {data['manifest']}): account {data['account_id']}, "
        f"region {data['region']}, partition {data['partition']}; "
        f"{n_fn} function{'s' if n_fn != 1 else ''}, {n_sec} secret{'s' if n_sec != 1 else ''}{own}{ext}"
    )


def role_heading(role: dict[str, Any]) -> str:
    """``Role NAME (function KEY)``; for a role read at plan time ``Role that F runs as (function KEY)``."""
    if role["role_name"] is None:
        return f"Role that {role['function_name']} runs as (function {role['function']})"
    return f"Role {role['role_name']} (function {role['function']})"


def role_title(role: dict[str, Any]) -> str:
    return f"{role_heading(role)}: inline policy {role['policy_name']}"


def function_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            f["function"],
            f["strategy"],
            f["engine"],
            f["source_text"],
            f["vpc_text"],
            str(len(f["kms_keys"])),
            str(f["secret_count"]),
        )
        for f in data["functions"]
    ]


def secret_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            s["secret"],
            s["function"] or (f"(external: {s['external']})" if s.get("external") else "(managed by its service)"),
            s["schedule_text"],
            s["window"] or "default",
            "yes" if s["rotate_immediately"] else "no",
        )
        for s in data.get("secrets", ())
    ]


def condition_lines(condition: dict[str, dict[str, Any]]) -> list[str]:
    """A condition one value a line: the operator and key, then each value indented below
    it (with several, any one matches)."""
    lines = []
    for operator in sorted(condition):
        for key in sorted(condition[operator]):
            values = condition[operator][key]
            values = values if isinstance(values, list) else [values]
            lines.append(f"{operator} {key} =" if len(values) == 1 else f"{operator} {key} = any of:")
            lines.extend(f"  {v}" for v in values)
    return lines


def statement_fields(st: dict[str, Any]) -> list[tuple[str, list[str]]]:
    resources = list(st["resources"])
    if st["resources_total"] > len(resources):
        resources.append(f"... and {st['resources_total'] - len(resources)} more")
    fields = [("actions", list(st["actions"])), ("resources", resources)]
    if st["condition"]:
        fields.append(("condition", condition_lines(st["condition"])))
    if st.get("source"):
        fields.append(("source", [st["source"]]))
    if st.get("code"):
        fields.append(("code", [f"AWS's {st['code']['function']}:", *(f"  {c}" for c in st["code"]["calls"])]))
    return fields


def statement_block(st: dict[str, Any], width: int | None = None) -> list[tuple[str, str]]:
    """(text, style) lines of one statement. With ``width``, values are broken to fit it
    (continuation lines indented two more spaces) by :func:`break_token_wise`."""
    head_line = f"  {st['sid']}: {st['reason']}"
    if width is None:
        out = [(head_line, "sid")]
    else:
        pieces = break_token_wise(head_line, max(width - 4, 20))
        out = [(pieces[0], "sid")] + [("    " + piece, "sid") for piece in pieces[1:]]
    for label, values in statement_fields(st):
        for i, value in enumerate(values):
            head = f"    {label}".ljust(_LABEL) if i == 0 else _INDENT
            if width is None:
                out.append((head + value, label))
                continue
            pieces = break_token_wise(value, max(width - _LABEL - 2, 20))
            out.append((head + pieces[0], label))
            out.extend((_INDENT + "  " + piece, label) for piece in pieces[1:])
    return out


def _plain_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest line; multi-line cells continue on the next lines."""
    split = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in cell))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in split:
        height = max(len(cell) for cell in row)
        for j in range(height):
            out.append(
                "  ".join(
                    (cell[j] if j < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=True)
                ).rstrip()
            )
    return out


def plain(data: dict[str, Any]) -> str:
    lines = [summary_line(data), "", "Functions"]
    lines += _plain_table(FUNCTION_COLUMNS, function_rows(data))
    if data.get("secrets"):
        lines += ["", "Secrets"]
        lines += _plain_table(SECRET_COLUMNS, secret_rows(data))
    for role in data["roles"]:
        lines += ["", role_title(role), role_note(role)]
        for st in role["statements"]:
            lines += [text for text, _style in statement_block(st)]
    xr = data.get("external_role")
    if xr:
        lines += ["", external_title(xr), external_note(xr)]
        for st in xr["statements"]:
            lines += [text for text, _style in statement_block(st)]
    return "\n".join(lines) + "\n"


def external_title(xr: dict[str, Any]) -> str:
    return f"Role {xr['role_name']} (managed external secrets): inline policy {xr['policy_name']}"


def external_note(xr: dict[str, Any]) -> str:
    """The trust of the external rotation role in one line, then the policy's size."""
    return (
        f"trusts {xr['trust_principal']} when {' and '.join(xr['trust_condition_text'])}; "
        f"{xr['form']} form, {xr['policy_size']:,} of {xr['policy_size_limit']:,} characters; created by the module"
    )


_STYLES = {"sid": "bold", "actions": "cyan", "resources": "", "condition": "yellow"}


def _role_block(title: str, note: str, statements: list[dict[str, Any]], width: int) -> Any:
    """A role's heading, its note and every statement, broken to ``width`` (rich Text)."""
    from rich.text import Text

    block = Text(no_wrap=True, overflow="ignore")
    for piece in break_token_wise(title, width):
        block.append(piece + "\n", style="bold")
    for piece in break_token_wise(note, width):
        block.append(piece + "\n")
    for st in statements:
        for text, style in statement_block(st, width):
            block.append(text + "\n", style=_STYLES.get(style) or None)
    block.rstrip()
    return block


def rich_tables(data: dict[str, Any], width: int = 80) -> list[Any]:
    """Renderables for a rich Console of ``width`` columns (rich is imported here, so that
    plain output never loads it).

    Every string goes in as ``Text``: manifest values must never be read as rich markup
    (``[bold]``) or emoji codes (``:secret:`` in every secret ARN). Statement lines come
    pre-broken (:func:`statement_block`) and are printed without rich's own wrapping, which
    would cut an ARN anywhere."""
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = [Text(summary_line(data), style="bold")]
    table = Table(title=Text("Functions"), title_justify="left")
    for col in FUNCTION_COLUMNS:
        table.add_column(Text(col.title()), overflow="fold", justify="right" if col in ("KEYS", "SECRETS") else "left")
    for row in function_rows(data):
        table.add_row(*(Text(cell) for cell in row))
    out.append(table)
    if data.get("secrets"):
        secrets = Table(title=Text("Secrets"), title_justify="left")
        for col in SECRET_COLUMNS:
            secrets.add_column(Text(col.title()), overflow="fold")
        for row in secret_rows(data):
            secrets.add_row(*(Text(cell) for cell in row))
        out.append(secrets)
    for role in data["roles"]:
        out.append(_role_block(role_title(role), role_note(role), role["statements"], width))
    xr = data.get("external_role")
    if xr:
        out.append(_role_block(external_title(xr), external_note(xr), xr["statements"], width))
    return out


def as_text(results: list[dict[str, Any]], screen: Screen) -> str:
    """The ``text`` format: plain lines for a pipe (:func:`plain`), or on a terminal the
    tables rich draws at its width (:func:`rich_tables`), for each manifest's facts."""
    results = safe_tree(results)  # terminal text: no name or value becomes an escape (generator.terminal)
    if not screen.tables:
        return "\n".join(plain(d) for d in results)
    console = screen.console()
    with console.capture() as captured:
        for d in results:
            for renderable in rich_tables(d, console.width):
                console.print(renderable)
                console.print()
    return str(captured.get())


def as_json(results: list[dict[str, Any]], screen: Screen) -> str:
    """The ``json`` format: one manifest's facts, or a list of them for several."""
    return to_json(results[0] if len(results) == 1 else results)
