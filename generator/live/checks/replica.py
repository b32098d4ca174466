"""``replica`` (``--read-values``, secrets whose function reads a master secret): the host in
the secret's value is its master's, or the manifest says it is a replica of the master's
database (``replica_of_master``).

AWS's alternating-users functions (and Db2's single-user one) refuse a secret whose host is
not its master's, unless ``is_rds_replica_database`` finds it is a read replica of the
master's DB instance (``rds:DescribeDBInstances`` on the host's first label) or, for Aurora
(PostgreSQL and MySQL), a reader of the master's cluster (``rds:DescribeDBClusters`` on the
master's host's first label); the MongoDB and Redshift functions refuse it outright
(aws_calls.REPLICA_PATHS). The module grants those calls only for a secret that says so, on
the instance or cluster it names: this check holds the manifest to the values.

Only hosts and ``engine`` leave :func:`generator.live.client.current_value_fields`; the
master's host of an RDS-managed master (which holds none) is its database's endpoint, read
from RDS by the ARN its tag names.
"""

from __future__ import annotations

import re

from generator import aws_calls
from generator import model as model_mod
from generator.live.checks.check import ASFF_SECRET, BY_FUNCTION, SM_GUIDE, SecretSubject, secret_check
from generator.live.checks.context import Context
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS, UNKNOWN, WARN
from generator.live.reader import Reader

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")  # manifest.RDS_IDENTIFIER_PATTERN


def label(host: str) -> str:
    """What AWS's code takes for an instance or cluster identifier: the host's first label."""
    return host.split(".")[0]


def is_cluster_endpoint(host: str) -> bool:
    """AWS's test of a cluster (writer) endpoint: ``cluster`` in the host's second label."""
    parts = host.split(".")
    return len(parts) > 1 and "cluster" in parts[1]


REPLICA = secret_check(
    "replica", "The secret's host is its master's, or the manifest says it is a replica", "HIGH",
    "--read-values: AWS's alternating-users function refuses a host other than the master's unless RDS says it "
    "is a read replica or an Aurora reader of the master's database, which the role may ask only where "
    "replica_of_master names the instance or cluster.",
    f"{SM_GUIDE}/rotating-secrets_strategies.html", ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,), reads=(Reader.value_fields, Reader.secret, Reader.databases),
)  # fmt: skip


@REPLICA.judged_by
def replica(on: SecretSubject) -> None:
    """--read-values, a secret with a master secret only."""
    s, fn, ctx = on.s, on.fn, on.ctx
    n = s.name
    if not ctx.read_values or not s.master_arn or fn.engine == "other":
        return
    function = aws_calls.function_for(fn.engine, fn.strategy)
    field = f"secrets.{n}.replica_of_master"
    mine = ctx.read.value_fields(on.d["ARN"], ("host",))
    master_arn = ctx.master_arn(s.master_arn)
    theirs = ctx.read.value_fields(master_arn, ("host", "engine"))
    host = mine.fields.get("host")
    if not host:
        return  # the value check reports a value without host
    master = theirs.fields
    master_host, engine = master.get("host"), master.get("engine")
    if not master_host and s.master_kind in aws_calls.SERVICE_MANAGED_KINDS:
        master_host = _managed_host(ctx, s)
        if master_host is None and s.master_kind == aws_calls.REDSHIFT_MANAGED_NAMESPACE:
            on.add(REPLICA, UNKNOWN, f"could not compare the host with the master's: master secret {master_arn} "
                    "is a Redshift Serverless namespace's, whose host is its workgroup's endpoint, which doctor does "
                    "not read", "check that the secret's host is its namespace's workgroup endpoint")  # fmt: skip
            return
        if master_host is None:
            on.add(REPLICA, UNKNOWN, f"could not compare the host with the master's: the database of master "
                    f"secret {master_arn} (its tag) was not found", "check the master secret's aws:rds:* / "
                    "aws:redshift:* tag and that its database exists")  # fmt: skip
            return
    if not master_host:
        on.add(REPLICA, FAIL, f"master secret {master_arn} holds no host, which AWS's {function} reads",
                "add host (and engine) to the master secret's JSON")  # fmt: skip
        return
    if host == master_host:
        if s.replica is not None:
            on.add(REPLICA, WARN, f"the secret's host is its master's, yet {field} says it is a replica: AWS's "
                    f"function makes no replica check, and the grant for it is unused", f"remove {field}")  # fmt: skip
        else:
            on.add(REPLICA, PASS, "the secret's host is its master's")
        return
    differ = f"the secret's host {host} is not its master's {master_host}"
    supported = aws_calls.REPLICA_PATHS.get(function, ())
    if not supported:
        on.add(REPLICA, FAIL, f"{differ}: AWS's {function} rotates only a user of its master's host",
                "give the secret and its master secret the same host")  # fmt: skip
        return
    aurora = (engine or "").startswith("aurora")
    if s.replica is None:
        on.add(REPLICA, FAIL, f"{differ}: AWS's {function} then asks RDS whether it is a replica "
                "(is_rds_replica_database), which the module grants only for a secret that says so",
                _suggest(field, host, master_host, aurora and aws_calls.REPLICA_CLUSTER in supported))  # fmt: skip
        return
    kind, ident = s.replica
    problem = ""
    if kind == aws_calls.REPLICA_INSTANCE:
        if aurora and aws_calls.REPLICA_CLUSTER in supported:
            problem = (f"the master's engine is {engine}, so AWS's function checks an Aurora reader of the master's "
                       "cluster, not a read replica: " + _suggest(field, host, master_host, True))  # fmt: skip
        elif label(host) != ident:
            problem = f"AWS's function describes the instance {label(host)!r} (the host's first label), not {ident!r}: " + _suggest(field, host, master_host, False)  # fmt: skip
    else:
        if engine is not None and not aurora:
            problem = (f"the master's engine is {engine}, so AWS's function checks a read replica of the master's "
                       "instance, not an Aurora reader: " + _suggest(field, host, master_host, False))  # fmt: skip
        elif not is_cluster_endpoint(master_host):
            problem = (f"the master's host {master_host} is not its cluster's endpoint: AWS's function then describes "
                       "that instance first (rds:DescribeDBInstances), which the module does not grant; give the master "
                       "secret the cluster's (writer) endpoint")  # fmt: skip
        elif label(master_host) != ident:
            problem = f"AWS's function describes the cluster {label(master_host)!r} (the master's host's first label), not {ident!r}: " + _suggest(field, host, master_host, True)  # fmt: skip
    if problem:
        on.add(REPLICA, FAIL, f"{differ}, and {field}.{kind} is {ident!r}", problem)
    else:
        what = "a read replica of the master's instance" if kind == aws_calls.REPLICA_INSTANCE else "an Aurora reader of the master's cluster"  # fmt: skip
        on.add(REPLICA, PASS, f"{differ}; {field}.{kind} ({ident}) says it is {what}, which AWS's function asks RDS")  # fmt: skip


def _suggest(field: str, host: str, master_host: str, cluster: bool) -> str:
    kind, ident = ("db_cluster", label(master_host)) if cluster else ("db_instance", label(host))
    what = "an Aurora reader of the master's cluster" if cluster else "a read replica of the master's DB instance"
    if not _IDENTIFIER.match(ident):
        return (
            f"if the host is {what}, set {field}.{kind} to its identifier; otherwise give the secret its master's host"
        )
    return f"if the host is {what}, set {field}.{kind}: {ident}; otherwise give the secret its master's host"


def _managed_host(ctx: Context, s: model_mod.SecretPlan) -> str | None:
    """The endpoint of the database a service-managed master's tag names (AWS's code reads it
    from RDS or Redshift the same way): None when it is not in the region's databases."""
    tagged = ctx.master_resource(s)
    if tagged is None:
        return None
    ident = tagged.rsplit(":", 1)[-1]
    kind = {
        aws_calls.RDS_MANAGED_DB: "RDS instance",
        aws_calls.RDS_MANAGED_CLUSTER: "RDS cluster",
        aws_calls.REDSHIFT_MANAGED_CLUSTER: "Redshift cluster",
    }.get(s.master_kind or "")
    return next((address for what, address, _port, _sgs in ctx.read.databases() if what == f"{kind} {ident}"), None)
