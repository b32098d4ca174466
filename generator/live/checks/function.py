"""The function's own checks (subject: the function's key): ``function``, ``runtime``,
``vpc-config``, ``permission`` and ``role``; ``network`` and ``egress`` are in
:mod:`.network`."""

from __future__ import annotations

import re
from typing import Any

from generator import model as model_mod
from generator.live.checks import network
from generator.live.checks.context import APPLY_DOES, ROLE_ARN, SECRETS_PRINCIPAL, Context, Findings
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, WARN, Finding


def check(ctx: Context, fn: model_mod.FunctionPlan) -> list[Finding]:
    out = Findings()
    k = fn.key
    try:
        conf = ctx.read.function_conf(fn.function_name)
    except LiveError as exc:
        out.unknown(k, "function", exc)
        return out
    if conf is None:
        if fn.existing:
            out.add(k, "function", FAIL, f"function {fn.function_arn} does not exist",
                     "fix existing_function_arn, or create the function first")  # fmt: skip
            return out
        if ctx.before_apply:
            out.add(k, "function", WARN, f"{APPLY_DOES}creates function {fn.function_name}"
                    + (f" and its role {fn.role_name}" if fn.role_name else ""),
                    "run terraform apply, then doctor again without --before-apply")  # fmt: skip
        else:
            out.add(k, "function", WARN, f"function {fn.function_name} does not exist yet; terraform apply creates it",
                    "run terraform apply, then doctor again for the checks after apply")  # fmt: skip
        if fn.package:
            out += runtime(ctx, k, fn.package.runtime)
        if fn.in_vpc:
            out += network.network(ctx, k, fn.subnet_ids, fn.security_group_ids)
        return out
    out.add(k, "function", PASS, f"{conf['FunctionArn']} exists and runs as {conf.get('Role', '?')}")
    if conf.get("PackageType") == "Image" or not conf.get("Runtime"):
        out.add(k, "runtime", PASS, "a container image: no Lambda-managed runtime to deprecate")
    else:
        out += runtime(ctx, k, conf["Runtime"])
    vpc = conf.get("VpcConfig") or {}
    subnets = tuple(sorted(vpc.get("SubnetIds") or ()))
    groups = tuple(sorted(vpc.get("SecurityGroupIds") or ()))
    out += vpc_config(ctx, fn, subnets, groups)
    if subnets:
        out += network.network(ctx, k, subnets, groups)
    else:
        out.add(k, "network", PASS, "not in a VPC: Lambda reaches the public Secrets Manager endpoint")
    out += permission(ctx, fn)
    role = ROLE_ARN.match(conf.get("Role", ""))
    if role is None:
        out.add(
            k,
            "role",
            FAIL,
            f"cannot read the role name from {conf.get('Role')!r}",
            "check the function's configuration",
        )
        return out
    try:
        docs = ctx.read.role_documents(role.group(2))
    except LiveError as exc:
        out.unknown(k, "role", exc)
        return out
    if docs is None:
        out.add(k, "role", FAIL, f"the function runs as role {role.group(2)}, which does not exist",
                 "give the function an existing execution role")  # fmt: skip
    elif fn.existing and fn.role_arn is not None and fn.role_arn != conf.get("Role"):
        out.add(k, "role", FAIL, f"the function runs as {conf.get('Role')}, not functions.{k}.execution_role_arn {fn.role_arn}: "
                 "terraform plan fails its postcondition until they agree",
                 f"set functions.{k}.execution_role_arn to {conf.get('Role')}, or give the function that role back")  # fmt: skip
    else:
        out.add(k, "role", PASS, f"runs as {role.group(2)} ({len(docs[0])} identity policies"
                 + (", with a permissions boundary" if docs[1] else "") + ")")  # fmt: skip
    return out


def runtime(ctx: Context, k: str, runtime: str) -> list[Finding]:
    out = Findings()
    from generator import runtimes

    dep = runtimes.deprecation(runtime)
    today = runtimes.today()
    if dep is None:
        out.add(k, "runtime", PASS, f"{runtime}: no deprecation date in rotation-tf's table")
        return out
    if dep.deprecated <= today:
        when = f" and blocks updating it from {dep.block_update.isoformat()}" if dep.block_update else ""
        out.add(k, "runtime", FAIL,
                 f"{runtime} was deprecated on {dep.deprecated.isoformat()}: Lambda no longer patches it{when}",
                 f"move the function to a supported runtime ({', '.join(runtimes.supported_runtimes(_family(runtime), today)[:2]) or 'the newest of its language'})")  # fmt: skip
    elif (dep.deprecated - today).days <= runtimes.WARN_DAYS:
        out.add(k, "runtime", WARN, f"{runtime} is deprecated on {dep.deprecated.isoformat()}, in {(dep.deprecated - today).days} days",
                 "move the function to a newer runtime before then")  # fmt: skip
    else:
        out.add(k, "runtime", PASS, f"{runtime} is supported until {dep.deprecated.isoformat()}")
    return out


def vpc_config(
    ctx: Context, fn: model_mod.FunctionPlan, subnets: tuple[str, ...], groups: tuple[str, ...]
) -> list[Finding]:
    out = Findings()
    k = fn.key
    want_s, want_g = tuple(fn.subnet_ids), tuple(fn.security_group_ids)
    if (subnets, groups) == (want_s, want_g):
        out.add(
            k,
            "vpc-config",
            PASS,
            "in a VPC as the manifest says" if subnets else "not in a VPC, as the manifest says",
        )
        return out
    want = f"{{subnet_ids: [{', '.join(want_s)}], security_group_ids: [{', '.join(want_g)}]}}"
    have = f"{{subnet_ids: [{', '.join(subnets)}], security_group_ids: [{', '.join(groups)}]}}"
    if not want_s:
        now = (f"the function runs in a VPC (subnets {', '.join(subnets)}) but the manifest gives no vpc, "
               "so its role gets no network-interface grants")  # fmt: skip
        fix = f"add vpc: {have} to functions.{k}"
    elif not subnets:
        now = "the manifest gives a vpc, but the function does not run in a VPC"
        fix = f"remove functions.{k}.vpc" if fn.existing else "run terraform apply (it sets the function's VPC)"
    else:
        now = (f"the function runs in subnets {', '.join(subnets)} with groups {', '.join(groups)}; "
               f"the manifest says subnets {', '.join(want_s)} with groups {', '.join(want_g)}")  # fmt: skip
        fix = f"set functions.{k}.vpc to {have}" + (
            "" if fn.existing else ", or run terraform apply (it sets the manifest's)"
        )
    if fn.existing:  # the module does not manage an existing function's configuration
        out.add(k, "vpc-config", FAIL, now, fix)
    else:
        out.by_apply(ctx, k, "vpc-config", now, f"sets the function's VPC to the manifest's: {want}" if want_s
                     else "takes the function out of its VPC, as the manifest says", fix)  # fmt: skip
    return out


def permission(ctx: Context, fn: model_mod.FunctionPlan) -> list[Finding]:
    out = Findings()
    k = fn.key
    try:
        policy = ctx.read.function_policy(fn.function_name)
    except LiveError as exc:
        out.unknown(k, "permission", exc)
        return out
    statements = [
        s for s in (policy or {}).get("Statement", []) if _names_service(s.get("Principal"), SECRETS_PRINCIPAL)
    ]
    if not statements:
        out.by_apply(ctx, k, "permission", f"no statement lets {SECRETS_PRINCIPAL} invoke the function: rotation cannot start",
                     f"adds the module's aws_lambda_permission: {SECRETS_PRINCIPAL} may invoke the function, "
                     f"with aws:SourceAccount {ctx.m.account_id}",
                     "run terraform apply (the module's aws_lambda_permission adds it, with aws:SourceAccount)")  # fmt: skip
        return out
    bad = [
        s
        for s in statements
        if ctx.m.account_id not in _condition_values(s.get("Condition") or {}, "aws:SourceAccount")
    ]
    if bad:
        sids = ", ".join(str(s.get("Sid", "?")) for s in bad)
        fix = "; ".join(
            f"aws lambda remove-permission --function-name {fn.function_name} --statement-id {s.get('Sid', '?')}"
            for s in bad
        )
        if fn.app:
            fix += " (the rotation application's stack adds its own; remove it again after each stack update)"
        out.add(k, "permission", FAIL,
                 f"statement {sids} lets {SECRETS_PRINCIPAL} invoke the function without aws:SourceAccount {ctx.m.account_id}: "
                 "any account's secret could use it (the confused deputy)",
                 fix + "; the module's own statement keeps rotation working")  # fmt: skip
        return out
    out.add(
        k,
        "permission",
        PASS,
        f"{len(statements)} statement(s) for {SECRETS_PRINCIPAL}, each with aws:SourceAccount {ctx.m.account_id}",
    )
    return out


def _family(runtime: str) -> str:
    m = re.match(r"^[a-z]+", runtime)
    return m.group(0) if m else runtime


def _names_service(principal: Any, service: str) -> bool:
    if isinstance(principal, dict):
        svc = principal.get("Service")
        return service in (svc if isinstance(svc, list) else [svc])
    return bool(principal == "*")


def _condition_values(condition: dict[str, Any], key: str) -> list[str]:
    out: list[str] = []
    for _op, pairs in condition.items():
        if isinstance(pairs, dict):
            for k, v in pairs.items():
                if k.lower() == key.lower():
                    out.extend([v] if isinstance(v, str) else list(v))
    return out
