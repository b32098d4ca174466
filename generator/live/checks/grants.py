"""``grants`` (subject: the secret's name): the function's real role allows the rotation
actions on the secret (and on its key and master secret), by evaluating the role's inline,
attached and boundary policies (:mod:`generator.live.policy_eval`) and the key policies
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html)."""

from __future__ import annotations

from typing import Any

from generator import model as model_mod
from generator.live import policy_eval as pe
from generator.live.checks.context import Context, Findings
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, UNKNOWN, WARN, Finding

ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


def grants(ctx: Context, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, arn: str, key_arn: str | None, master_key: str | None,
            role_arn: str | None, role_name: str | None, d: dict[str, Any]) -> list[Finding]:  # fmt: skip
    out = Findings()
    n = s.name
    if role_name is None or role_arn is None:
        out.add(n, "grants", UNKNOWN, "could not check: the function's role is unknown (the function could not be read, or does not exist)",
                 "make the function readable (lambda:GetFunctionConfiguration), or fix its ARN")  # fmt: skip
        return out
    try:
        docs = ctx.read.role_documents(role_name)
    except LiveError as exc:
        out.unknown(n, "grants", exc)
        return out
    if docs is None:
        if not fn.existing and role_name == fn.role_name:
            out.add(n, "grants", WARN, f"role {role_name} does not exist yet; terraform apply creates it with the grants",
                     "run terraform apply, then doctor again")  # fmt: skip
        else:
            out.add(n, "grants", FAIL, f"role {role_name} does not exist", "give the function an existing role")
        return out
    identity, boundary = docs
    rotation_fn = d.get("RotationLambdaARN") or fn.function_arn
    sm_ctx = {"secretsmanager:resource/AllowRotationLambdaArn": rotation_fn, "aws:PrincipalAccount": ctx.m.account_id,
              "secretsmanager:SecretId": arn}  # fmt: skip
    wanted: list[tuple[str, str, dict[str, str]]] = [(a, arn, sm_ctx) for a in ROTATION_ACTIONS]
    wanted.append(("secretsmanager:GetRandomPassword", "*", {"aws:PrincipalAccount": ctx.m.account_id}))
    kms_wanted: list[tuple[str, str, dict[str, str]]] = []
    if key_arn:
        kms_wanted += [
            (a, key_arn, ctx.kms_context({"kms:EncryptionContext:SecretARN": arn}))
            for a in ("kms:Decrypt", "kms:GenerateDataKey")
        ]
    if s.master_arn:
        master = ctx.master_arn(s.master_arn)  # the real ARN when the manifest gives a name
        wanted.append(("secretsmanager:GetSecretValue", master, {"aws:PrincipalAccount": ctx.m.account_id,
                                                                "secretsmanager:SecretId": master}))  # fmt: skip
        if master_key:
            kms_wanted.append(("kms:Decrypt", master_key, ctx.kms_context({"kms:EncryptionContext:SecretARN": master})))
    missing: list[str] = []
    unsure: list[str] = []
    judged: list[
        tuple[str, str, dict[str, str], str]
    ] = []  # what IAM policies decide: (action, resource, context, ours)
    for action, resource, request_ctx in wanted + kms_wanted:
        if action.startswith("kms:"):
            try:
                verdict, _ = ctx.key_allows(resource, role_arn, (action,), request_ctx)
            except LiveError:
                verdict = "iam"  # unreadable key policy: reported by key-policy; judge IAM alone
            if verdict == "role":
                continue  # the key policy alone lets the role (same account)
            if verdict in ("no", "deny"):
                missing.append(
                    f"{action} on {resource} (the key policy allows neither the role nor IAM; see key-policy)"
                )
                continue
        result = pe.evaluate(identity, pe.Request(action, resource, request_ctx))
        if result == pe.ALLOWED and boundary:
            result = pe.evaluate(boundary, pe.Request(action, resource, request_ctx))
            if result == pe.IMPLICIT:
                result = BOUNDARY
        judged.append((action, resource, request_ctx, result))
    simulated = ctx.read.simulate(role_arn, [(a, r, c) for a, r, c, _ in judged]) if judged else None
    judge = (
        SIMULATOR if simulated is not None else f"; judged by doctor's own evaluator ({ctx.read.simulator_status()})"
    )
    disagree: list[str] = []
    for action, resource, _c, ours in judged:
        result = ours
        if simulated is not None:
            theirs = simulated.get((action, resource))
            result = _FROM_SIMULATOR.get(theirs or "", pe.UNSURE)
            if ours != pe.UNSURE and _agrees(ours) != result:
                disagree.append(f"{action} on {resource}: IAM's simulator says {theirs or 'nothing'}, doctor's evaluator "
                                f"{_SAYS[ours]}")  # fmt: skip
        if result == BOUNDARY:
            missing.append(f"{action} on {resource} (the permissions boundary does not allow it)")
        elif result in (pe.IMPLICIT, pe.DENIED):
            missing.append(f"{action} on {resource}" + (" (explicitly denied)" if result == pe.DENIED else ""))
        elif result == pe.UNSURE:
            unsure.append(f"{action} on {resource}")
    if simulated is not None and judged:
        if disagree:
            out.add(n, "grants-judges", WARN, "IAM's policy simulator and doctor's own evaluator disagree (the grants check "
                    "follows the simulator): " + "; ".join(disagree),
                    "the simulator is IAM's own answer; if the role's policies are what you expect, report the case to "
                    "rotation-tf with the policies, so that its evaluator learns it")  # fmt: skip
        else:
            out.add(n, "grants-judges", PASS, f"IAM's policy simulator and doctor's own evaluator agree on {len(judged)} "
                    "request(s)")  # fmt: skip
    if missing:
        if role_name == fn.role_name or (fn.existing and fn.role_name is None):
            # the module's role, or an existing function's own role (read at plan time)
            fix = f"run terraform apply: the module puts policy {fn.policy_name} with these grants on role {role_name}"
        elif fn.existing:
            fix = (f"set functions.{fn.key}.execution_role_arn to {role_arn}, the role the function runs as (the plan fails "
                   f"while it names {fn.role_name}), then run terraform apply: the module puts policy {fn.policy_name} on it")  # fmt: skip
        else:
            fix = f"grant them to role {role_name}, the role the function really runs as (rotation-tf explain lists the statements)"
        out.add(n, "grants", FAIL, f"role {role_name} may not: " + "; ".join(missing) + judge, fix)
    elif unsure:
        out.add(n, "grants", WARN, f"role {role_name} allows these only under conditions doctor cannot evaluate: " + "; ".join(unsure) + judge,
                 "check the conditions of the role's policies")  # fmt: skip
    else:
        out.add(
            n,
            "grants",
            PASS,
            f"role {role_name} may rotate it ({len(wanted) + len(kms_wanted)} actions checked){judge}",
        )
    return out


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
