"""``database`` (created secrets whose ``connection.host`` is an RDS or Redshift endpoint in
the account and region): the database's security groups admit the function's on the
port."""

from __future__ import annotations

from generator import model as model_mod
from generator.live.checks.context import Context, Findings
from generator.live.checks.network import ingress_admits
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, Finding


def database(ctx: Context, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan) -> list[Finding]:
    out = Findings()
    assert s.managed is not None
    n = s.name
    fields = s.managed.field_map
    host = str(fields.get("host", "")).lower().rstrip(".")
    if not host:
        return out
    try:
        dbs = ctx.read.databases()
    except LiveError as exc:
        out.unknown(n, "database", exc)
        return out
    match = next((db for db in dbs if db[1].lower().rstrip(".") == host), None)
    if match is None:
        return out
    what, _addr, db_port, db_groups = match
    port = int(str(fields.get("port") or db_port or 0))
    known, conf = ctx.conf_or_none(fn)
    if conf is not None:
        groups = tuple((conf.get("VpcConfig") or {}).get("SecurityGroupIds") or ())
        subnets = tuple((conf.get("VpcConfig") or {}).get("SubnetIds") or ())
    else:
        groups, subnets = fn.security_group_ids, fn.subnet_ids
    if not groups:
        out.add(n, "database", FAIL, f"{host} is {what}, in a VPC, but the function does not run in a VPC",
                 f"give functions.{fn.key} a vpc in the database's VPC")  # fmt: skip
        return out
    try:
        db_sgs = ctx.read.security_groups(db_groups)
        cidrs = [sub.get("CidrBlock", "") for sub in ctx.read.subnets(tuple(subnets)).values()]
    except LiveError as exc:
        out.unknown(n, "database", exc)
        return out
    if any(ingress_admits(g, port, groups, cidrs) for g in db_sgs.values() if g):
        out.add(n, "database", PASS, f"{what} admits the function's security groups on port {port}")
    else:
        out.add(n, "database", FAIL,
                 f"the security groups of {what} ({', '.join(db_groups)}) do not admit the function's ({', '.join(groups)}) on port {port}",
                 f"add an inbound rule to {db_groups[0] if db_groups else 'the database security group'}: TCP {port} from {groups[0]}")  # fmt: skip
    return out
