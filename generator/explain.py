"""What a module will let each rotation role do, and why: the data behind ``rotation-tf
explain`` and the module README's tables.

:func:`facts` decides everything (plain data, JSON-ready, tested). The renderers only lay
it out: :func:`plain` for pipes and CI logs, :func:`rich_tables` for a terminal (rich is
imported lazily, only there), and the module README template for Markdown.
"""

from __future__ import annotations

import json
from typing import Any

from generator import aws, external
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


def _role_source(fn: FunctionPlan) -> str:
    """Where the role comes from: ``created``, ``execution_role_arn`` (named in the manifest,
    checked at plan time) or ``read at plan time`` (from the existing function)."""
    if fn.creates_role:
        return "created"
    return "execution_role_arn" if fn.role_arn else "read at plan time"


def role_note(role: dict[str, Any]) -> str:
    """The line under the role's title: the policy's size and where the role comes from."""
    size = f"{role['form']} form, {role['policy_size']:,} of {role['policy_size_limit']:,} characters"
    if role["role_source"] == "created":
        return f"{size}; created by the module"
    if role["role_source"] == "execution_role_arn":
        return f"{size}; the function's own role (execution_role_arn, checked at plan time): the module adds only this policy"
    return f"{size}; the function's own role, read at plan time: the module adds only this policy"


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
        "source": st.source,
        "code": {"function": st.code[0], "calls": list(st.code[1:])} if st.code else None,
    }


def schedule_text(every_days: int | None, expression: str | None) -> str:
    return f"every {every_days} day{'s' if every_days != 1 else ''}" if every_days else str(expression)


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
                "tags": {**dict(module.tags), **fn.tag_map},
                "secrets": [s.name for s in fn.secrets],
                "secret_count": len(fn.secrets),
            }
            for fn in module.functions
        ],
        "secrets": [
            {
                "secret": s.name,
                "function": s.function,
                "every_days": s.schedule.every_days,
                "expression": s.schedule.expression,
                "schedule_text": ("off until password_in_database: true; then " if not s.rotates else "")
                + schedule_text(s.schedule.every_days, s.schedule.expression),
                "rotation_on": s.rotates,
                "window": s.schedule.window,
                "rotate_immediately": s.rotate_immediately,
                "created": s.managed is not None,
                "external": s.external.secret_type if s.external else None,
            }
            for s in module.secrets
        ],
        "roles": [
            {
                "function": fn.key,
                "role_name": fn.role_name,
                "role_arn": fn.role_arn,
                "role_source": _role_source(fn),
                "role_text": fn.role_text,
                "function_name": fn.function_name,
                "policy_name": fn.policy_name,
                "form": fn.policy.form,
                "policy_size": fn.policy.size,
                "policy_size_limit": aws.ROLE_INLINE_POLICIES_MAX,
                "statements": [_statement(st, max_resources) for st in fn.policy.statements],
            }
            for fn in module.functions
            if fn.policy is not None
        ],
        # managed: true -- rotated by the service that owns them: a schedule, no function or grant.
        "service_rotated": [s.name for s in module.service_rotated],
        "external_role": _external_role(module, max_resources),
    }


def _external_role(module: Module, max_resources: int | None) -> dict[str, Any] | None:
    """The role Secrets Manager assumes for the managed external secrets: its trust, each
    grant, and each secret's type and metadata."""
    xr = module.external_role
    if xr is None:
        return None
    trust = xr.trust["Statement"]
    assert isinstance(trust, list)
    condition = trust[0]["Condition"]
    return {
        "role_name": xr.role_name,
        "role_arn": xr.role_arn,
        "policy_name": xr.policy_name,
        "form": xr.policy.form,
        "policy_size": xr.policy.size,
        "policy_size_limit": aws.ROLE_INLINE_POLICIES_MAX,
        "trust_principal": "secretsmanager.amazonaws.com",
        "trust_condition": condition,
        "trust_condition_text": condition_text(condition),
        "trust_wide": xr.trust_wide,
        "trust_source": external.SECURITY_PAGE,
        "secrets": [
            {
                "secret": s.name,
                "type": s.external.secret_type,
                "partner": s.external.partner,
                "page": s.external.page,
                "metadata": s.external.metadata_map,
            }
            for s in module.externals
            if s.external is not None
        ],
        "statements": [_statement(st, max_resources) for st in xr.policy.statements],
    }


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


def break_token_wise(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, broken only after ':' or '/'
    (an ARN's own separators) or at a space; a single token longer than ``width`` is the
    only thing ever cut, since nothing else fits."""
    if width <= 0 or len(text) <= width:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > width:
        cut = max(rest.rfind(":", 0, width), rest.rfind("/", 0, width), rest.rfind(" ", 0, width))
        cut = cut + 1 if cut > 0 else width
        pieces.append(rest[:cut].rstrip(" "))
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


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


# --------------------------------------------------------------------------------------
# The picture reviewers look for: which function may touch which secrets and keys

DIAGRAM_MAX_SECRETS = 50
"""Up to this many secrets the diagram draws each one; above it, one node per function."""


def _short_key(arn: str) -> str:
    return "key " + arn.rsplit("/", 1)[-1]


def diagram_role(fn: FunctionPlan) -> str:
    """The role under a function's name in the diagram: the role's name where the module
    knows it; for an existing function without execution_role_arn, the role it runs as,
    read at plan time (there is no name to print)."""
    if not fn.has_role:
        return "its own role (AWS rotation application)"
    return f"role {fn.role_name}" if fn.role_name is not None else fn.role_text


def diagram(module: Module, max_secrets: int = DIAGRAM_MAX_SECRETS) -> list[str]:
    """A Mermaid flowchart (GitHub renders it in the module README): each function, the
    secrets it rotates, the master secrets it may read and the KMS keys it may use. Above
    ``max_secrets`` secrets, each function's secrets and masters are summarised as counts.
    Node ids are positional; labels are names, which hold no characters Mermaid treats
    specially inside quotes (secret names are [A-Za-z0-9/_+=.@-], keys are hex ids)."""
    summarise = len(module.secrets) > max_secrets
    lines = ["flowchart LR"]
    keys: dict[str, str] = {}
    masters: dict[str, str] = {}
    edges: list[str] = []

    def key_node(arn: str) -> str:
        if arn not in keys:
            keys[arn] = f"k{len(keys)}"
        return keys[arn]

    for i, fn in enumerate(module.functions):
        fid = f"f{i}"
        role = diagram_role(fn)
        lines.append(f'  {fid}["function {fn.key}<br/>{role}"]')
        if summarise:
            n = len(fn.secrets)
            lines.append(f'  {fid}_s["{n} secret{"s" if n != 1 else ""}"]')
            edges.append(f"  {fid} -->|rotates| {fid}_s")
            n_masters = len({s.master_arn for s in fn.secrets if s.master_arn})
            if n_masters:
                lines.append(f'  {fid}_m["{n_masters} master secret{"s" if n_masters != 1 else ""}"]')
                edges.append(f"  {fid} -.->|reads| {fid}_m")
        else:
            for j, sec in enumerate(fn.secrets):
                sid = f"{fid}s{j}"
                lines.append(f'  {sid}["{sec.name}"]')
                edges.append(f"  {fid} -->|rotates| {sid}")
                if sec.master_arn:
                    if sec.master_arn not in masters:
                        masters[sec.master_arn] = f"m{len(masters)}"
                        name = aws.parse_arn(sec.master_arn)
                        label = name.resource.removeprefix("secret:") if name else sec.master_arn
                        lines.append(f'  {masters[sec.master_arn]}["master {label}"]')
                    edge = f"  {fid} -.->|reads| {masters[sec.master_arn]}"
                    if edge not in edges:
                        edges.append(edge)
        for arn in sorted(
            {s.kms_key_arn for s in fn.secrets if s.kms_key_arn}
            | {s.master_kms_key_arn for s in fn.secrets if s.master_kms_key_arn}
        ):
            node = key_node(arn)
            edge = f"  {fid} -.->|decrypts with| {node}"
            if edge not in edges:
                edges.append(edge)
    externals = module.externals
    if externals:  # rotated by Secrets Manager as the external rotation role
        role = module.external_role.role_name if module.external_role else ""
        lines.append(f'  ext(["Secrets Manager<br/>role {role}"])')
        if summarise:
            n = len(externals)
            lines.append(f'  ext_s["{n} external secret{"s" if n != 1 else ""}"]')
            edges.append("  ext -->|rotates| ext_s")
        else:
            for j, sec in enumerate(externals):
                label = f"{sec.name}<br/>{sec.external.secret_type}" if sec.external else sec.name
                lines.append(f'  exts{j}["{label}"]')
                edges.append(f"  ext -->|rotates| exts{j}")
    by_service = [s for s in module.secrets if s.function is None and s.external is None]
    if by_service:  # managed: true -- rotated by the service that owns the secret
        lines.append('  svc(["managed rotation: the owning service"])')
        if summarise:
            n = len(by_service)
            lines.append(f'  svc_s["{n} secret{"s" if n != 1 else ""}"]')
            edges.append("  svc -->|rotates| svc_s")
        else:
            for j, sec in enumerate(by_service):
                lines.append(f'  svcs{j}["{sec.name}"]')
                edges.append(f"  svc -->|rotates| svcs{j}")
    for arn, node in keys.items():
        lines.append(f'  {node}[("{_short_key(arn)}")]')
    return lines + edges
