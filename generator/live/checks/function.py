"""The function itself (subject: the function's key): ``function`` (it exists), ``runtime``
(not deprecated) and ``vpc-config`` (its VPC is the manifest's); reaching Secrets Manager is
in :mod:`.network`, who may invoke it and as whom it runs in :mod:`.invocation`."""

from __future__ import annotations

import re
from typing import Any

from generator.live.checks.check import APPLY_DOES, ASFF_FUNCTION, FunctionSubject, function_check
from generator.live.findings import FAIL, PASS, WARN
from generator.live.reader import Reader

FUNCTION_EXISTS = function_check(
    "function", "The rotation function exists", "HIGH",
    "The function the manifest names (existing_function_arn) must exist; one the module creates may not, before apply.",
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html", ASFF_FUNCTION,
    reads=(Reader.function_conf,),
)  # fmt: skip


@FUNCTION_EXISTS.judged_by
def function(on: FunctionSubject) -> None:
    fn = on.fn
    conf = on.conf = on.read.function_conf(fn.function_name)
    if conf is None:
        if fn.existing:
            on.add(FUNCTION_EXISTS, FAIL, f"function {fn.function_arn} does not exist",
                   "fix existing_function_arn, or create the function first")  # fmt: skip
            on.stop()
        elif on.ctx.before_apply:
            on.add(FUNCTION_EXISTS, WARN, f"{APPLY_DOES}creates function {fn.function_name}"
                   + (f" and its role {fn.role_name}" if fn.role_name else ""),
                   "run terraform apply, then doctor again without --before-apply")  # fmt: skip
        else:
            on.add(FUNCTION_EXISTS, WARN, f"function {fn.function_name} does not exist yet; terraform apply creates it",
                   "run terraform apply, then doctor again for the checks after apply")  # fmt: skip
        return
    on.add(FUNCTION_EXISTS, PASS, f"{conf['FunctionArn']} exists and runs as {conf.get('Role', '?')}")


RUNTIME = function_check(
    "runtime", "The function's runtime is not deprecated", "MEDIUM",
    "Lambda stops patching a deprecated runtime and later blocks updating the function.",
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html", ASFF_FUNCTION,
    needs=(FUNCTION_EXISTS,),
)  # fmt: skip


@RUNTIME.judged_by
def runtime(on: FunctionSubject) -> None:
    """The deployed function's runtime; before it exists, the runtime of the module's package."""
    conf = on.conf
    if conf is None:
        if on.fn.package:
            _runtime(on, on.fn.package.runtime)
    elif conf.get("PackageType") == "Image" or not conf.get("Runtime"):
        on.add(RUNTIME, PASS, "a container image: no Lambda-managed runtime to deprecate")
    else:
        _runtime(on, conf["Runtime"])


def _runtime(on: FunctionSubject, runtime: str) -> None:
    from generator import runtimes

    dep = runtimes.deprecation(runtime)
    today = runtimes.today()
    if dep is None:
        on.add(RUNTIME, PASS, f"{runtime}: no deprecation date in rotation-tf's table")
        return
    if dep.deprecated <= today:
        when = f" and blocks updating it from {dep.block_update.isoformat()}" if dep.block_update else ""
        on.add(RUNTIME, FAIL,
               f"{runtime} was deprecated on {dep.deprecated.isoformat()}: Lambda no longer patches it{when}",
               f"move the function to a supported runtime ({', '.join(runtimes.supported_runtimes(_family(runtime), today)[:2]) or 'the newest of its language'})")  # fmt: skip
    elif (dep.deprecated - today).days <= runtimes.WARN_DAYS:
        on.add(RUNTIME, WARN, f"{runtime} is deprecated on {dep.deprecated.isoformat()}, in {(dep.deprecated - today).days} days",
               "move the function to a newer runtime before then")  # fmt: skip
    else:
        on.add(RUNTIME, PASS, f"{runtime} is supported until {dep.deprecated.isoformat()}")


VPC_CONFIG = function_check(
    "vpc-config", "The function's VPC is the manifest's", "MEDIUM",
    "The module grants network-interface actions only when the manifest gives the function's VPC.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html", ASFF_FUNCTION,
    needs=(FUNCTION_EXISTS,),
)  # fmt: skip


@VPC_CONFIG.judged_by
def vpc_config(on: FunctionSubject) -> None:
    """The deployed function's subnets and groups against the manifest's (none before it exists)."""
    if on.conf is None:
        return
    fn = on.fn
    k = fn.key
    subnets, groups = in_vpc(on.conf)
    want_s, want_g = tuple(fn.subnet_ids), tuple(fn.security_group_ids)
    if (subnets, groups) == (want_s, want_g):
        on.add(VPC_CONFIG, PASS, "in a VPC as the manifest says" if subnets else "not in a VPC, as the manifest says")
        return
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
        on.add(VPC_CONFIG, FAIL, now, fix)
    else:
        on.by_apply(VPC_CONFIG, now, f"sets the function's VPC to the manifest's: {want}" if want_s
                    else "takes the function out of its VPC, as the manifest says", fix)  # fmt: skip


def in_vpc(conf: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(subnet ids, security group ids) of a function's configuration, sorted (none: not in a VPC)."""
    vpc = conf.get("VpcConfig") or {}
    return tuple(sorted(vpc.get("SubnetIds") or ())), tuple(sorted(vpc.get("SecurityGroupIds") or ()))


def _family(runtime: str) -> str:
    m = re.match(r"^[a-z]+", runtime)
    return m.group(0) if m else runtime
