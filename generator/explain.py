"""What a module will let each rotation role do, and why: the data behind ``rotation-tf
explain`` and the module README's tables.

:func:`facts` decides everything (plain data, JSON-ready, tested). The renderers only lay
it out: :mod:`generator.formats.explain` as text or JSON for ``explain``, the module README
template in Markdown (with :func:`diagram`, its Mermaid picture).
"""

from __future__ import annotations

from typing import Any

from generator import aws, partners
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
        "trust_source": partners.SECURITY_PAGE,
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
