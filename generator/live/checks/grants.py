"""``grants`` (subject: the secret's name): the function's real role allows every request
the rotation makes for the secret on its path, by evaluating the role's inline, attached and
boundary policies (:mod:`generator.policy_eval`) and the key policies
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).

The requests are the module's own (:func:`generator.policies.secret_requests`, from the table
of AWS's calls): the statements the module writes are built from them, so what ``grants``
checks is exactly what the module grants, on the account's real ARNs and keys (and, for an
RDS- or Redshift-managed master, on the database its tag names). There is no second list."""

from __future__ import annotations

from functools import partial
from typing import Any

from generator import policy_eval as pe
from generator.live.checks.check import APPLY_DOES, ASFF_ROLE, BY_FUNCTION, SM_GUIDE, SecretSubject, secret_check
from generator.live.checks.context import or_else
from generator.live.checks.function import FUNCTION_EXISTS
from generator.live.checks.invocation import ROLE
from generator.live.checks.keys import KEY_POLICY, KMS_KEY, MASTER_SECRET
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS, UNKNOWN, WARN
from generator.live.reader import Reader

GRANTS = secret_check(
    "grants", "The function's real role may rotate the secret", "HIGH",
    "The role's inline, attached and boundary policies allow every request the rotation makes for the secret "
    "on its path, the module's own list: on the secret, its key, its master secret and the master's key and "
    "database, and a replica host's instance or cluster.",
    f"{SM_GUIDE}/rotating-secrets-required-permissions-function.html", ASFF_ROLE,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,),
    # whose grants, on which role, and what the role lacks on a key or a master secret that is not the manifest's
    follows_from=(FUNCTION_EXISTS, ROLE, KMS_KEY, KEY_POLICY, MASTER_SECRET),
    reads=(Reader.function_conf, Reader.role_documents, Reader.secret, Reader.key, Reader.key_policy, Reader.simulate,
           Reader.simulator_status),
)  # fmt: skip
GRANTS_JUDGES = secret_check(
    "grants-judges", "IAM's policy simulator and doctor's evaluator agree on the grants", "LOW",
    "Where the caller may call iam:SimulatePrincipalPolicy, grants follows IAM's answer; doctor's own evaluator "
    "judges too, and a disagreement is reported with both answers.",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html", ASFF_ROLE,
    kinds=(BY_FUNCTION,), reported_by=GRANTS,
)  # fmt: skip


@GRANTS.judged_by
def grants(on: SecretSubject) -> None:
    """What the role lacks on a key that is not the manifest's (kms-key fails), or on a master
    secret that is not (master-secret fails), follows from that check."""
    s, fn, d, ctx = on.s, on.fn, on.d, on.ctx
    n = s.name
    arn = d["ARN"]
    role_arn, role_name = ctx.role_of(fn)
    key_arn = ctx.secret_key(s, d)
    master_key = ctx.master_key(s)
    cause = on.cause(FUNCTION_EXISTS, ROLE)
    if cause:  # whose grants, on which role: the function or role check says what is wrong
        on.caused(GRANTS, cause)
        return
    if role_name is None or role_arn is None:
        on.add(GRANTS, UNKNOWN, "could not check: the function's role is unknown (the function could not be read, or does not exist)",
               "make the function readable (lambda:GetFunctionConfiguration), or fix its ARN")  # fmt: skip
        return
    key_differs = on.status(KMS_KEY) == FAIL
    master_failed = on.status(MASTER_SECRET) == FAIL
    docs = ctx.read.role_documents(role_name)
    if docs is None:
        if not fn.existing and role_name == fn.role_name:
            if ctx.before_apply:
                on.add(GRANTS, WARN, f"{APPLY_DOES}creates role {role_name} with policy {fn.policy_name}, which grants the rotation",
                       "run terraform apply, then doctor again without --before-apply")  # fmt: skip
            else:
                on.add(GRANTS, WARN, f"role {role_name} does not exist yet; terraform apply creates it with the grants",
                       "run terraform apply, then doctor again")  # fmt: skip
        else:
            on.add(GRANTS, FAIL, f"role {role_name} does not exist", "give the function an existing role")
        return
    identity, boundary = docs
    # The module's inline policy goes on the module's role, or on the role an existing
    # function runs as: what it grants, the apply grants.
    module_doc = fn.policy.document() if fn.policy is not None and (fn.existing or role_name == fn.role_name) else None
    rotation_fn = d.get("RotationLambdaARN") or fn.function_arn
    # The module's requests for this secret's path, on what the account holds: the secret's
    # real ARN and key, its master's real ARN and key, the database a managed master's tag names.
    wanted = [
        (r.about, r.action, r.resource, ctx.request_context(r))
        for r in ctx.m.requests(fn, ctx.account_grant(s, arn, key_arn, master_key), function_arn=rotation_fn)
    ]
    by_apply: list[str] = []  # missing now; the module's policy grants them
    stuck: list[str] = []  # missing, and the apply does not change that
    stuck_why: set[str] = set()
    caused_by: list[tuple[str, str]] = []  # missing because another check fails
    unsure: list[str] = []
    # what IAM policies decide: (what it is for, action, resource, context, doctor's verdict)
    judged: list[tuple[str, str, str, dict[str, str], str]] = []
    for what, action, resource, rctx in wanted:
        if action.startswith("kms:"):
            # an unreadable key policy is key-policy's to report: judge IAM alone
            verdict, _ = or_else(("iam", ""), partial(ctx.key_allows, resource, role_arn, (action,), rctx))
            if verdict == "role":
                continue  # the key policy alone lets the role (same account)
            if verdict in ("no", "deny"):  # the key-policy (or master-secret) check fails, with the statement
                caused_by.append((n, MASTER_SECRET.id if what == "master" else KEY_POLICY.id))
                continue
        result = pe.evaluate(identity, pe.Request(action, resource, rctx))
        if result == pe.ALLOWED and boundary:
            result = pe.evaluate(boundary, pe.Request(action, resource, rctx))
            if result == pe.IMPLICIT:
                result = BOUNDARY
        judged.append((what, action, resource, rctx, result))
    simulated = ctx.read.simulate(role_arn, [(a, r, c) for _w, a, r, c, _ in judged]) if judged else None
    judge = (
        SIMULATOR if simulated is not None else f"; judged by doctor's own evaluator ({ctx.read.simulator_status()})"
    )
    disagree: list[str] = []
    for what, action, resource, rctx, ours in judged:
        item = f"{action} on {resource}"
        result = ours
        if simulated is not None:
            theirs = simulated.get((action, resource))
            result = _FROM_SIMULATOR.get(theirs or "", pe.UNSURE)
            if ours != pe.UNSURE and _agrees(ours) != result:
                disagree.append(f"{action} on {resource}: IAM's simulator says {theirs or 'nothing'}, doctor's evaluator "
                                f"{_SAYS[ours]}")  # fmt: skip
        if result == pe.IMPLICIT and ((what == "key" and key_differs) or (what == "master" and master_failed)):
            caused_by.append((n, KMS_KEY.id if what == "key" else MASTER_SECRET.id))
            continue
        request = pe.Request(action, resource, rctx)
        if result == pe.IMPLICIT and module_doc is not None:
            if pe.evaluate([*identity, module_doc], request) in (pe.ALLOWED, pe.UNSURE):
                if boundary and pe.evaluate(boundary, request) == pe.IMPLICIT:
                    result = BOUNDARY
                else:
                    by_apply.append(item)
                    continue
        if result == BOUNDARY:
            stuck.append(f"{item} (the permissions boundary does not allow it)")
            stuck_why.add("boundary")
        elif result == pe.DENIED:
            stuck.append(f"{item} (explicitly denied)")
            stuck_why.add("deny")
        elif result == pe.IMPLICIT:
            stuck.append(item)
            stuck_why.add("grant")
        elif result == pe.UNSURE:
            unsure.append(item)
    if simulated is not None and judged:
        if disagree:
            on.add(GRANTS_JUDGES, WARN, "IAM's policy simulator and doctor's own evaluator disagree (the grants check "
                    "follows the simulator): " + "; ".join(disagree),
                    "the simulator is IAM's own answer; if the role's policies are what you expect, report the case to "
                    "rotation-tf with the policies, so that its evaluator learns it")  # fmt: skip
        else:
            on.add(GRANTS_JUDGES, PASS, f"IAM's policy simulator and doctor's own evaluator agree on {len(judged)} "
                    "request(s)")  # fmt: skip
    policy = f"policy {fn.policy_name}"
    if stuck:
        fixes = []
        if "boundary" in stuck_why:
            fixes.append(
                f"allow them in the permissions boundary of role {role_name}: the module's policy cannot go past it"
            )
        if "deny" in stuck_why:
            fixes.append(
                f"remove the statements of role {role_name}'s policies that deny them: a deny wins over the module's allow"
            )
        if "grant" in stuck_why:
            fixes.append(
                f"grant them to role {role_name}, the role the function really runs as (rotation-tf explain lists the statements)"
            )
        if by_apply:
            fixes.append(f"then run terraform apply ({policy} grants the rest)")
        on.add(GRANTS, FAIL, f"role {role_name} may not: " + "; ".join(stuck) + judge, "; ".join(fixes))
    elif caused_by:
        on.caused(GRANTS, caused_by[0])
    elif by_apply:
        on.by_apply(GRANTS, f"role {role_name} may not: " + "; ".join(by_apply) + judge,
                     f"puts {policy} on role {role_name}, granting the {_count(by_apply)} it lacks: " + "; ".join(by_apply),
                     f"run terraform apply: the module puts {policy} with these grants on role {role_name}")  # fmt: skip
    elif unsure:
        on.add(GRANTS, WARN, f"role {role_name} allows these only under conditions doctor cannot evaluate: " + "; ".join(unsure) + judge,
                 "check the conditions of the role's policies")  # fmt: skip
    else:
        on.add(GRANTS, PASS, f"role {role_name} may rotate it ({_count(wanted)} checked){judge}")


def _count(items: list[Any]) -> str:
    """How many requests, as the message lists them (one per action and resource)."""
    return f"{len(items)} request{'s' if len(items) != 1 else ''}"


BOUNDARY = "boundary"  # allowed by the role's policies, not by its permissions boundary
SIMULATOR = "; judged by IAM's policy simulator"
# EvalDecision / EvalResourceDecision of SimulatePrincipalPolicy
# (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)
_FROM_SIMULATOR = {"allowed": pe.ALLOWED, "explicitDeny": pe.DENIED, "implicitDeny": pe.IMPLICIT}
_SAYS = {
    pe.ALLOWED: "allowed",
    pe.DENIED: "explicitDeny",
    pe.IMPLICIT: "implicitDeny",
    BOUNDARY: "implicitDeny (boundary)",
}


def _agrees(ours: str) -> str:
    """Our verdict as the simulator states it: a boundary's refusal is an implicit deny."""
    return pe.IMPLICIT if ours == BOUNDARY else ours
