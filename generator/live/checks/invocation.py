"""How Secrets Manager invokes the function (subject: the function's key): ``permission``
(the function's resource policy lets ``secretsmanager.amazonaws.com`` invoke it, only for this
account) and ``role`` (the role it really runs as exists, and is the manifest's)."""

from __future__ import annotations

from typing import Any

from generator.live.checks.check import ASFF_FUNCTION, ASFF_ROLE, SM_GUIDE, FunctionSubject, function_check
from generator.live.checks.context import ROLE_ARN, SECRETS_PRINCIPAL
from generator.live.checks.function import FUNCTION_EXISTS
from generator.live.findings import FAIL, PASS
from generator.live.reader import Reader

PERMISSION = function_check(
    "permission", "Secrets Manager may invoke the function, only for this account", "HIGH",
    "Every statement letting secretsmanager.amazonaws.com invoke the function carries aws:SourceAccount "
    "(the confused deputy).",
    f"{SM_GUIDE}/rotating-secrets-required-permissions-function.html", ASFF_FUNCTION,
    needs=(FUNCTION_EXISTS,), reads=(Reader.function_policy,),
)  # fmt: skip


@PERMISSION.judged_by
def permission(on: FunctionSubject) -> None:
    """The deployed function's resource policy (before it exists, the module adds it)."""
    if on.conf is None:
        return
    fn, m = on.fn, on.ctx.m
    policy = on.read.function_policy(fn.function_name)
    statements = [
        s for s in (policy or {}).get("Statement", []) if _names_service(s.get("Principal"), SECRETS_PRINCIPAL)
    ]
    if not statements:
        on.by_apply(PERMISSION, f"no statement lets {SECRETS_PRINCIPAL} invoke the function: rotation cannot start",
                    f"adds the module's aws_lambda_permission: {SECRETS_PRINCIPAL} may invoke the function, "
                    f"with aws:SourceAccount {m.account_id}",
                    "run terraform apply (the module's aws_lambda_permission adds it, with aws:SourceAccount)")  # fmt: skip
        return
    bad = [
        s for s in statements if m.account_id not in _condition_values(s.get("Condition") or {}, "aws:SourceAccount")
    ]
    if bad:
        sids = ", ".join(str(s.get("Sid", "?")) for s in bad)
        fix = "; ".join(
            f"aws lambda remove-permission --function-name {fn.function_name} --statement-id {s.get('Sid', '?')}"
            for s in bad
        )
        if fn.app:
            fix += " (the rotation application's stack adds its own; remove it again after each stack update)"
        on.add(PERMISSION, FAIL,
               f"statement {sids} lets {SECRETS_PRINCIPAL} invoke the function without aws:SourceAccount {m.account_id}: "
               "any account's secret could use it (the confused deputy)",
               fix + "; the module's own statement keeps rotation working")  # fmt: skip
        return
    on.add(PERMISSION, PASS,
           f"{len(statements)} statement(s) for {SECRETS_PRINCIPAL}, each with aws:SourceAccount {m.account_id}")  # fmt: skip


ROLE = function_check(
    "role", "The function's real execution role exists and is the manifest's", "HIGH",
    "The module's policy goes on the role the function runs as; it must exist and match execution_role_arn.",
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html", ASFF_ROLE,
    needs=(FUNCTION_EXISTS,), reads=(Reader.role_documents,),
)  # fmt: skip


@ROLE.judged_by
def role(on: FunctionSubject) -> None:
    """The role the deployed function runs as (before it exists, the module creates it)."""
    conf = on.conf
    if conf is None:
        return
    fn, k = on.fn, on.fn.key
    role = ROLE_ARN.match(conf.get("Role", ""))
    if role is None:
        on.add(ROLE, FAIL, f"cannot read the role name from {conf.get('Role')!r}", "check the function's configuration")
        return
    docs = on.read.role_documents(role.group(2))
    if docs is None:
        on.add(ROLE, FAIL, f"the function runs as role {role.group(2)}, which does not exist",
               "give the function an existing execution role")  # fmt: skip
    elif fn.existing and fn.role_arn is not None and fn.role_arn != conf.get("Role"):
        on.add(ROLE, FAIL, f"the function runs as {conf.get('Role')}, not functions.{k}.execution_role_arn {fn.role_arn}: "
               "terraform plan fails its postcondition until they agree",
               f"set functions.{k}.execution_role_arn to {conf.get('Role')}, or give the function that role back")  # fmt: skip
    else:
        on.add(ROLE, PASS, f"runs as {role.group(2)} ({len(docs[0])} identity policies"
               + (", with a permissions boundary" if docs[1] else "") + ")")  # fmt: skip


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
