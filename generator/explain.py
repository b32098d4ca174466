"""What a module will let each rotation role do, and why: the data behind ``rotation-tf
explain`` and the module README's tables.

:func:`facts` decides everything (plain data, JSON-ready, tested). The renderers only lay
it out: :func:`plain` for pipes and CI logs, :func:`rich_tables` for a terminal (rich is
imported lazily, only there), and the module README template for Markdown.
"""

from __future__ import annotations

import json
from typing import Any

from generator import aws
from generator.model import FunctionPlan, Module
from generator.policies import Statement


def _keys(fn: FunctionPlan) -> list[str]:
    keys = {s.kms_key_arn for s in fn.secrets if s.kms_key_arn}
    keys |= {s.master_kms_key_arn for s in fn.secrets if s.master_kms_key_arn}
    return sorted(keys)


def _source(fn: FunctionPlan) -> str:
    if fn.existing:
        return f"existing {fn.function_name}"
    if fn.app is not None:
        app = fn.app.application_id.rsplit("/", 1)[1]
        return f"AWS rotation app {app} {fn.app.semantic_version} (brings its own role)"
    assert fn.package is not None
    return f"zip {fn.package.filename} ({fn.package.runtime})"


def _vpc(fn: FunctionPlan) -> str:
    if not fn.in_vpc:
        return "no"
    subnets, groups = len(fn.subnet_ids), len(fn.security_group_ids)
    return f"{subnets} subnet{'s' if subnets != 1 else ''}, {groups} security group{'s' if groups != 1 else ''}"


def condition_text(condition: dict[str, dict[str, Any]]) -> list[str]:
    """One line per condition key: ``StringEquals aws:Key = value[, value]``."""
    lines = []
    for operator in sorted(condition):
        for key in sorted(condition[operator]):
            values = condition[operator][key]
            values = values if isinstance(values, list) else [values]
            lines.append(f"{operator} {key} = {', '.join(str(v) for v in values)}")
    return lines


def _statement(st: Statement, max_resources: int | None) -> dict[str, Any]:
    resources = list(st.resources)
    shown = resources if max_resources is None else resources[:max_resources]
    return {
        "sid": st.sid,
        "actions": list(st.actions),
        "resources": shown,
        "resources_total": len(resources),
        "condition": st.condition,
        "condition_text": condition_text(st.condition),
        "reason": st.reason,
    }


def facts(module: Module, max_resources: int | None = None) -> dict[str, Any]:
    """Everything ``explain`` shows. ``max_resources`` caps the resources listed per
    statement (``resources_total`` always gives the full count)."""
    return {
        "module": module.name,
        "manifest": module.manifest_name,
        "account_id": module.account_id,
        "region": module.region,
        "partition": module.partition,
        "functions": [
            {
                "function": fn.key,
                "strategy": fn.strategy,
                "engine": fn.engine,
                "source": fn.source,
                "source_text": _source(fn),
                "function_name": fn.function_name,
                "function_arn": fn.function_arn,
                "vpc": fn.in_vpc,
                "vpc_text": _vpc(fn),
                "subnet_ids": list(fn.subnet_ids),
                "security_group_ids": list(fn.security_group_ids),
                "kms_keys": _keys(fn),
                "secrets": [s.name for s in fn.secrets],
                "secret_count": len(fn.secrets),
            }
            for fn in module.functions
        ],
        "roles": [
            {
                "function": fn.key,
                "role_name": fn.role_name,
                "policy_name": fn.policy_name,
                "form": fn.policy.form,
                "policy_size": fn.policy.size,
                "policy_size_limit": aws.ROLE_INLINE_POLICIES_MAX,
                "statements": [_statement(st, max_resources) for st in fn.policy.statements],
            }
            for fn in module.functions
            if fn.policy is not None
        ],
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------
# Layout

FUNCTION_COLUMNS = ("FUNCTION", "STRATEGY", "ENGINE", "SOURCE", "VPC", "KEYS", "SECRETS")
STATEMENT_COLUMNS = ("SID", "ACTIONS", "RESOURCES", "CONDITION", "WHY")


def summary_line(data: dict[str, Any]) -> str:
    n_fn = len(data["functions"])
    n_sec = sum(f["secret_count"] for f in data["functions"])
    return (
        f"Module {data['module']} (from {data['manifest']}): account {data['account_id']}, "
        f"region {data['region']}, partition {data['partition']}; "
        f"{n_fn} function{'s' if n_fn != 1 else ''}, {n_sec} secret{'s' if n_sec != 1 else ''}"
    )


def role_title(role: dict[str, Any]) -> str:
    return (
        f"Role {role['role_name']} (function {role['function']}): inline policy {role['policy_name']}, "
        f"{role['form']} form, {role['policy_size']:,} of {role['policy_size_limit']:,} characters"
    )


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


def statement_rows(role: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for st in role["statements"]:
        resources = list(st["resources"])
        if st["resources_total"] > len(resources):
            resources.append(f"... and {st['resources_total'] - len(resources)} more")
        rows.append(
            (
                st["sid"],
                "\n".join(st["actions"]),
                "\n".join(resources),
                "\n".join(st["condition_text"]) or "-",
                st["reason"],
            )
        )
    return rows


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
                "  ".join((cell[j] if j < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
    return out


def plain(data: dict[str, Any]) -> str:
    lines = [summary_line(data), "", "Functions"]
    lines += _plain_table(FUNCTION_COLUMNS, function_rows(data))
    for role in data["roles"]:
        lines += ["", role_title(role)]
        lines += _plain_table(STATEMENT_COLUMNS, statement_rows(role))
    return "\n".join(lines) + "\n"


def rich_tables(data: dict[str, Any]) -> list[Any]:
    """Renderables for a rich Console (imported here so that plain output never loads rich).

    Every string goes in as ``Text``: manifest values must never be read as rich markup
    (``[bold]``) or emoji codes (``:secret:`` in every secret ARN)."""
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = [Text(summary_line(data), style="bold")]
    table = Table(title=Text("Functions"), title_justify="left")
    for col in FUNCTION_COLUMNS:
        table.add_column(Text(col.title()), overflow="fold", justify="right" if col in ("KEYS", "SECRETS") else "left")
    for row in function_rows(data):
        table.add_row(*(Text(cell) for cell in row))
    out.append(table)
    styles = ("bold", "cyan", "", "yellow", "green")
    for role in data["roles"]:
        t = Table(title=Text(role_title(role)), title_justify="left", show_lines=True)
        for col, style in zip(STATEMENT_COLUMNS, styles, strict=True):
            t.add_column(Text(col.title()), style=style or None, overflow="fold")
        for row in statement_rows(role):
            t.add_row(*(Text(cell) for cell in row))
        out.append(t)
    return out
