"""``database`` (created secrets whose ``connection.host`` is an RDS or Redshift endpoint in
the account and region): the database's security groups admit the function's on the
port."""

from __future__ import annotations

from generator.live.checks.check import ASFF_SECRET, BY_FUNCTION, TROUBLESHOOT, SecretSubject, secret_check
from generator.live.checks.network import ingress_admits
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS
from generator.live.reader import Reader

DATABASE = secret_check(
    "database", "The database admits the function on its port", "HIGH",
    "The security groups of the RDS or Redshift endpoint the secret names admit the function's groups.",
    TROUBLESHOOT, ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,),
    reads=(Reader.databases, Reader.function_conf, Reader.security_groups, Reader.subnets),
)  # fmt: skip


@DATABASE.judged_by
def database(on: SecretSubject) -> None:
    """A secret the module creates (its connection names the host) only."""
    s, fn, ctx = on.s, on.fn, on.ctx
    if s.managed is None:
        return
    fields = s.managed.field_map
    host = str(fields.get("host", "")).lower().rstrip(".")
    if not host:
        return
    dbs = ctx.read.databases()
    match = next((db for db in dbs if db[1].lower().rstrip(".") == host), None)
    if match is None:
        return
    what, _addr, db_port, db_groups = match
    port = int(str(fields.get("port") or db_port or 0))
    _known, conf = ctx.conf_or_none(fn)
    if conf is not None:
        groups = tuple((conf.get("VpcConfig") or {}).get("SecurityGroupIds") or ())
        subnets = tuple((conf.get("VpcConfig") or {}).get("SubnetIds") or ())
    else:
        groups, subnets = fn.security_group_ids, fn.subnet_ids
    if not groups:
        on.add(DATABASE, FAIL, f"{host} is {what}, in a VPC, but the function does not run in a VPC",
               f"give functions.{fn.key} a vpc in the database's VPC")  # fmt: skip
        return
    db_sgs = ctx.read.security_groups(db_groups)
    cidrs = [sub.get("CidrBlock", "") for sub in ctx.read.subnets(tuple(subnets)).values()]
    if any(ingress_admits(g, port, groups, cidrs) for g in db_sgs.values() if g):
        on.add(DATABASE, PASS, f"{what} admits the function's security groups on port {port}")
    else:
        on.add(DATABASE, FAIL,
                 f"the security groups of {what} ({', '.join(db_groups)}) do not admit the function's ({', '.join(groups)}) on port {port}",
               f"add an inbound rule to {db_groups[0] if db_groups else 'the database security group'}: TCP {port} from {groups[0]}")  # fmt: skip
