"""``rotation-tf doctor``: for the account a manifest describes, can each rotation succeed?

Every check yields :class:`Finding` records (subject, check, status, message, fix). A check
that could not run because the caller was denied an action is ``unknown`` and names the
action; it is never a pass. The checks, and the AWS pages each rule comes from:

Per function (subject: the function's key)
  ``function``   the function exists (a function the module creates may not, before apply).
  ``runtime``    its runtime is not deprecated (``generator.runtimes``, Lambda's dated table).
  ``vpc-config`` its VPC subnets and security groups are the manifest's.
  ``network``    from its subnets Secrets Manager is reachable: an interface endpoint for
                 ``com.amazonaws.<region>.secretsmanager`` in the VPC with private DNS on and
                 security groups admitting 443 from the function's groups, or a 0.0.0.0/0
                 route to a (public) NAT gateway from every subnet. A Lambda function in a
                 VPC gets no public IP address, so a route to an internet gateway alone does
                 not work (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html,
                 https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html,
                 https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html:
                 "The most common reason for a timeout during rotation is that the rotation
                 function cannot access either Secrets Manager or the target database").
  ``egress``     its security groups allow outbound TCP 443.
  ``permission`` (after apply) every statement that lets ``secretsmanager.amazonaws.com``
                 invoke it carries ``aws:SourceAccount`` (the confused deputy,
                 https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).
  ``role``       its real execution role (read from the function, not assumed) can be read
                 and, for an existing function, is the manifest's ``execution_role_arn``
                 when one is given (the module's policy goes on that role).

Per secret (subject: the secret's name)
  ``secret``        it exists.
  ``kms-key``       its KMS key is the manifest's ``kms_key_arn`` (none: ``aws/secretsmanager``).
  ``key-state``     that key is enabled.
  ``key-policy``    the key policy delegates to IAM (the account's root principal, the
                    default statement, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)
                    or names the function's role; otherwise, the statement to add.
  ``master-secret`` (alternating users) the master secret exists with the manifest's key,
                    and its key policy lets the role decrypt.
  ``grants``        the function's real role allows the rotation actions on the secret
                    (and on its key and master secret), by evaluating the role's inline,
                    attached and boundary policies (:mod:`generator.live.policy_eval`).
  ``rotation``      (after apply) rotation is on, with the manifest's function.
  ``schedule``      (after apply) the schedule is the manifest's.
  ``overdue``       (after apply) ``LastRotatedDate`` is within the schedule.
  ``pending``       (after apply) no version holds ``AWSPENDING`` without ``AWSCURRENT``.
  ``database``      (created secrets whose ``connection.host`` is an RDS or Redshift endpoint
                    here) the database's security groups admit the function's on the port.
  ``value``         (``--read-values`` only) the value is JSON with the keys the engine's
                    function needs. The value is never printed, logged or kept.

API calls: one ``DescribeSecret`` per secret (it carries the key, the rotation, the
schedule, ``LastRotatedDate`` and the version stages), ``GetSecretValue`` only with
``--read-values``; everything per function, role, policy, key, VPC and security group is
fetched once (:class:`generator.live.client.Memo`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from ipaddress import ip_network
from typing import Any

from generator import engines
from generator import model as model_mod
from generator.live import policy_eval as pe
from generator.live.client import Aws, Denied, LiveError, Memo, NotFound

PASS, WARN, FAIL, UNKNOWN = "pass", "warn", "fail", "unknown"
STATUSES = (PASS, WARN, FAIL, UNKNOWN)

FUNCTION_CHECKS = ("function", "runtime", "vpc-config", "network", "egress", "permission", "role")
SECRET_CHECKS = ("secret", "kms-key", "key-state", "key-policy", "master-secret", "grants", "rotation", "schedule",
                 "overdue", "pending", "database", "value")  # fmt: skip
_ORDER = {c: i for i, c in enumerate(("account", *FUNCTION_CHECKS, *SECRET_CHECKS))}

SECRETS_PRINCIPAL = "secretsmanager.amazonaws.com"
ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
TROUBLESHOOT = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html"
# The keys AWS's rotation functions read from a database secret
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
VALUE_KEYS = ("engine", "host", "username", "password")


@dataclass(frozen=True)
class Finding:
    subject: str
    check: str
    status: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


def denied_fix(action: str) -> str:
    return f"allow {action} for the caller (rotation-tf caller-policy doctor prints every action doctor needs)"


@dataclass
class Report:
    account: str
    region: str
    findings: list[Finding] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {"findings": [f.to_json() for f in self.findings]}


_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def _now() -> datetime:
    """Now, or noon UTC of ``$ROTATION_TF_TODAY`` (YYYY-MM-DD) when set, the date the runtime
    table also uses: tests and CI pin the clock with it."""
    from generator import runtimes

    pinned = os.environ.get(runtimes.TODAY_ENV, "").strip()
    if pinned:
        try:
            return datetime.combine(date.fromisoformat(pinned), time(12, 0), tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.now(timezone.utc)


class Doctor:
    def __init__(self, aws: Aws, module: model_mod.Module, *, read_values: bool = False, now: datetime | None = None):
        self.aws = aws
        self.m = module
        self.read_values = read_values
        self.now = now or _now()
        self.memo = Memo()
        self._findings: list[tuple[tuple[int, int, str, int], Finding]] = []
        self._subject_order: dict[str, int] = {}
        for i, fn in enumerate(module.functions):  # each function, then its secrets (the text table's grouping)
            self._subject_order[fn.key] = 1 + i * 1_000_000
            for j, sec in enumerate(fn.secrets, 1):
                self._subject_order.setdefault(sec.name, 1 + i * 1_000_000 + j)
        self._fn_by_key = {fn.key: fn for fn in module.functions}
        self.root_arn = f"arn:{module.partition}:iam::{module.account_id}:root"

    # ---- recording --------------------------------------------------------------------
    def add(self, subject: str, check: str, status: str, message: str, fix: str = "") -> None:
        order = (
            self._subject_order.get(subject, 0),
            0 if subject in self._fn_by_key else 1,
            subject,
            _ORDER.get(check, 99),
        )
        self._findings.append((order, Finding(subject, check, status, message, fix)))

    def unknown(self, subject: str, check: str, exc: LiveError) -> None:
        if isinstance(exc, Denied):
            self.add(subject, check, UNKNOWN, f"could not check: access denied to {exc.action}", denied_fix(exc.action))
        else:
            self.add(
                subject,
                check,
                UNKNOWN,
                f"could not check: {exc}",
                "re-run doctor; if it persists, the AWS error in the message says why",
            )

    def findings(self) -> list[Finding]:
        return [f for _, f in sorted(self._findings, key=lambda t: t[0])]

    # ---- fetches (each once) ----------------------------------------------------------
    def _once(self, key: tuple[Any, ...], fetch: Callable[[], Any]) -> Any:
        return self.memo.get(key, fetch)

    def function_conf(self, name: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            return self.aws.call_or_none(
                "lambda", "GetFunctionConfiguration", "get_function_configuration", FunctionName=name
            )

        return self._once(("function", name), fetch)  # type: ignore[no-any-return]

    def function_policy(self, name: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            got = self.aws.call_or_none("lambda", "GetPolicy", "get_policy", FunctionName=name)
            return None if got is None else json.loads(got["Policy"])

        return self._once(("function-policy", name), fetch)  # type: ignore[no-any-return]

    def role_documents(self, role_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(identity policies, boundary policies) of a role, or None when it does not exist."""

        def fetch() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
            got = self.aws.call_or_none("iam", "GetRole", "get_role", RoleName=role_name)
            if got is None:
                return None
            role = got["Role"]
            docs: list[dict[str, Any]] = []
            for pname in self.aws.pages(
                "iam", "ListRolePolicies", "list_role_policies", "PolicyNames", RoleName=role_name
            ):
                doc = self.aws.call("iam", "GetRolePolicy", "get_role_policy", RoleName=role_name, PolicyName=pname)[
                    "PolicyDocument"
                ]
                docs.append(_doc(doc))
            for att in self.aws.pages(
                "iam", "ListAttachedRolePolicies", "list_attached_role_policies", "AttachedPolicies", RoleName=role_name
            ):
                docs.append(self.managed_policy(att["PolicyArn"]))
            boundary: list[dict[str, Any]] = []
            arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if arn:
                boundary.append(self.managed_policy(arn))
            return docs, boundary

        return self._once(("role", role_name), fetch)  # type: ignore[no-any-return]

    def managed_policy(self, arn: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            pol = self.aws.call("iam", "GetPolicy", "get_policy", PolicyArn=arn)["Policy"]
            ver = self.aws.call(
                "iam", "GetPolicyVersion", "get_policy_version", PolicyArn=arn, VersionId=pol["DefaultVersionId"]
            )
            return _doc(ver["PolicyVersion"]["Document"])

        return self._once(("managed-policy", arn), fetch)  # type: ignore[no-any-return]

    def secret(self, secret_id: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            return self.aws.call_or_none("secretsmanager", "DescribeSecret", "describe_secret", SecretId=secret_id)

        return self._once(("secret", secret_id), fetch)  # type: ignore[no-any-return]

    def key(self, key_id: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            got = self.aws.call_or_none("kms", "DescribeKey", "describe_key", KeyId=key_id)
            return None if got is None else got["KeyMetadata"]

        return self._once(("key", key_id), fetch)  # type: ignore[no-any-return]

    def key_policy(self, key_arn: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            raw = self.aws.call("kms", "GetKeyPolicy", "get_key_policy", KeyId=key_arn, PolicyName="default")["Policy"]
            return json.loads(raw)  # type: ignore[no-any-return]

        return self._once(("key-policy", key_arn), fetch)  # type: ignore[no-any-return]

    def subnets(self, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for sid in ids:

            def fetch(sid: str = sid) -> dict[str, Any] | None:
                got = self.aws.call_or_none("ec2", "DescribeSubnets", "describe_subnets", SubnetIds=[sid])
                return _first(got, "Subnets")

            sub = self._once(("subnet", sid), fetch)
            if sub is not None:
                out[sid] = sub
        return out

    def security_groups(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        out: dict[str, dict[str, Any] | None] = {}
        for gid in sorted(set(ids)):

            def fetch(gid: str = gid) -> dict[str, Any] | None:
                got = self.aws.call_or_none("ec2", "DescribeSecurityGroups", "describe_security_groups", GroupIds=[gid])
                return _first(got, "SecurityGroups")

            out[gid] = self._once(("sg", gid), fetch)
        return out

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._once(  # type: ignore[no-any-return]
            ("route-tables", vpc_id),
            lambda: self.aws.pages("ec2", "DescribeRouteTables", "describe_route_tables", "RouteTables",
                                   Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]),
        )  # fmt: skip

    def endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        service = f"com.amazonaws.{self.m.region}.secretsmanager"
        return self._once(  # type: ignore[no-any-return]
            ("endpoints", vpc_id),
            lambda: self.aws.pages("ec2", "DescribeVpcEndpoints", "describe_vpc_endpoints", "VpcEndpoints",
                                   Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "service-name", "Values": [service]}]),
        )  # fmt: skip

    def nat_gateway(self, nat_id: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            try:
                got = self.aws.pages(
                    "ec2", "DescribeNatGateways", "describe_nat_gateways", "NatGateways", NatGatewayIds=[nat_id]
                )
            except NotFound:
                return None
            return got[0] if got else None

        return self._once(("nat", nat_id), fetch)  # type: ignore[no-any-return]

    def databases(self) -> list[tuple[str, str, int | None, list[str]]]:
        """(kind and id, endpoint address, port, security group ids) of every RDS instance,
        RDS cluster (writer and reader endpoints) and Redshift cluster in the region."""

        def fetch() -> list[tuple[str, str, int | None, list[str]]]:
            out: list[tuple[str, str, int | None, list[str]]] = []
            for db in self.aws.pages("rds", "DescribeDBInstances", "describe_db_instances", "DBInstances"):
                ep = db.get("Endpoint") or {}
                sgs = [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])]
                if ep.get("Address"):
                    out.append((f"RDS instance {db['DBInstanceIdentifier']}", ep["Address"], ep.get("Port"), sgs))
            for cl in self.aws.pages("rds", "DescribeDBClusters", "describe_db_clusters", "DBClusters"):
                sgs = [g["VpcSecurityGroupId"] for g in cl.get("VpcSecurityGroups", [])]
                for addr in (cl.get("Endpoint"), cl.get("ReaderEndpoint")):
                    if addr:
                        out.append((f"RDS cluster {cl['DBClusterIdentifier']}", addr, cl.get("Port"), sgs))
            for rs in self.aws.pages("redshift", "DescribeClusters", "describe_clusters", "Clusters"):
                ep = rs.get("Endpoint") or {}
                sgs = [g["VpcSecurityGroupId"] for g in rs.get("VpcSecurityGroups", [])]
                if ep.get("Address"):
                    out.append((f"Redshift cluster {rs['ClusterIdentifier']}", ep["Address"], ep.get("Port"), sgs))
            return out

        return self._once(("databases",), fetch)  # type: ignore[no-any-return]

    # ---- the run ----------------------------------------------------------------------
    def run(self) -> Report:
        ident = self.aws.call("sts", "GetCallerIdentity", "get_caller_identity")
        if ident.get("Account") != self.m.account_id:
            self.add(
                self.m.account_id, "account", FAIL,
                f"the credentials are for account {ident.get('Account')}, the manifest describes {self.m.account_id}",
                f"use a profile for account {self.m.account_id} (--profile)",
            )  # fmt: skip
            return self._report()
        self.aws.map(self.check_function, self.m.functions)
        self.aws.map(self.check_secret, self.m.secrets)
        return self._report()

    def _report(self) -> Report:
        return Report(self.m.account_id, self.m.region, self.findings(), dict(sorted(self.aws.calls.items())))

    # ---- per function -----------------------------------------------------------------
    def _conf_or_none(self, fn: model_mod.FunctionPlan) -> tuple[bool, dict[str, Any] | None]:
        """(known, configuration): known is False when the caller may not read it."""
        try:
            return True, self.function_conf(fn.function_name)
        except LiveError:
            return False, None

    def check_function(self, fn: model_mod.FunctionPlan) -> None:
        k = fn.key
        try:
            conf = self.function_conf(fn.function_name)
        except LiveError as exc:
            self.unknown(k, "function", exc)
            return
        if conf is None:
            if fn.existing:
                self.add(k, "function", FAIL, f"function {fn.function_arn} does not exist",
                         "fix existing_function_arn, or create the function first")  # fmt: skip
                return
            self.add(k, "function", WARN, f"function {fn.function_name} does not exist yet; terraform apply creates it",
                     "run terraform apply, then doctor again for the checks after apply")  # fmt: skip
            if fn.package:
                self._runtime(k, fn.package.runtime)
            if fn.in_vpc:
                self._network(k, fn.subnet_ids, fn.security_group_ids)
            return
        self.add(k, "function", PASS, f"{conf['FunctionArn']} exists and runs as {conf.get('Role', '?')}")
        if conf.get("PackageType") == "Image" or not conf.get("Runtime"):
            self.add(k, "runtime", PASS, "a container image: no Lambda-managed runtime to deprecate")
        else:
            self._runtime(k, conf["Runtime"])
        vpc = conf.get("VpcConfig") or {}
        subnets = tuple(sorted(vpc.get("SubnetIds") or ()))
        groups = tuple(sorted(vpc.get("SecurityGroupIds") or ()))
        self._vpc_config(fn, subnets, groups)
        if subnets:
            self._network(k, subnets, groups)
        else:
            self.add(k, "network", PASS, "not in a VPC: Lambda reaches the public Secrets Manager endpoint")
        self._permission(fn)
        role = _ROLE_ARN.match(conf.get("Role", ""))
        if role is None:
            self.add(
                k,
                "role",
                FAIL,
                f"cannot read the role name from {conf.get('Role')!r}",
                "check the function's configuration",
            )
            return
        try:
            docs = self.role_documents(role.group(2))
        except LiveError as exc:
            self.unknown(k, "role", exc)
            return
        if docs is None:
            self.add(k, "role", FAIL, f"the function runs as role {role.group(2)}, which does not exist",
                     "give the function an existing execution role")  # fmt: skip
        elif fn.existing and fn.role_arn is not None and fn.role_arn != conf.get("Role"):
            self.add(k, "role", FAIL, f"the function runs as {conf.get('Role')}, not functions.{k}.execution_role_arn {fn.role_arn}: "
                     "terraform plan fails its postcondition until they agree",
                     f"set functions.{k}.execution_role_arn to {conf.get('Role')}, or give the function that role back")  # fmt: skip
        else:
            self.add(k, "role", PASS, f"runs as {role.group(2)} ({len(docs[0])} identity policies"
                     + (", with a permissions boundary" if docs[1] else "") + ")")  # fmt: skip

    def _runtime(self, k: str, runtime: str) -> None:
        from generator import runtimes

        dep = runtimes.deprecation(runtime)
        today = runtimes.today()
        if dep is None:
            self.add(k, "runtime", PASS, f"{runtime}: no deprecation date in rotation-tf's table")
            return
        if dep.deprecated <= today:
            when = f" and blocks updating it from {dep.block_update.isoformat()}" if dep.block_update else ""
            self.add(k, "runtime", FAIL,
                     f"{runtime} was deprecated on {dep.deprecated.isoformat()}: Lambda no longer patches it{when}",
                     f"move the function to a supported runtime ({', '.join(runtimes.supported_runtimes(_family(runtime), today)[:2]) or 'the newest of its language'})")  # fmt: skip
        elif (dep.deprecated - today).days <= runtimes.WARN_DAYS:
            self.add(k, "runtime", WARN, f"{runtime} is deprecated on {dep.deprecated.isoformat()}, in {(dep.deprecated - today).days} days",
                     "move the function to a newer runtime before then")  # fmt: skip
        else:
            self.add(k, "runtime", PASS, f"{runtime} is supported until {dep.deprecated.isoformat()}")

    def _vpc_config(self, fn: model_mod.FunctionPlan, subnets: tuple[str, ...], groups: tuple[str, ...]) -> None:
        k = fn.key
        want_s, want_g = tuple(fn.subnet_ids), tuple(fn.security_group_ids)
        if (subnets, groups) == (want_s, want_g):
            self.add(
                k,
                "vpc-config",
                PASS,
                "in a VPC as the manifest says" if subnets else "not in a VPC, as the manifest says",
            )
            return
        if not want_s:
            self.add(k, "vpc-config", FAIL, f"the function runs in a VPC (subnets {', '.join(subnets)}) but the manifest gives no vpc, "
                     "so its role gets no network-interface grants",
                     f"add vpc: {{subnet_ids: [{', '.join(subnets)}], security_group_ids: [{', '.join(groups)}]}} to functions.{k}")  # fmt: skip
            return
        if not subnets:
            self.add(k, "vpc-config", FAIL, "the manifest gives a vpc, but the function does not run in a VPC",
                     f"remove functions.{k}.vpc, or apply the module" + ("" if fn.existing else " (it sets the VPC)"))  # fmt: skip
            return
        self.add(k, "vpc-config", FAIL,
                 f"the function runs in subnets {', '.join(subnets)} with groups {', '.join(groups)}; "
                 f"the manifest says subnets {', '.join(want_s)} with groups {', '.join(want_g)}",
                 f"make functions.{k}.vpc match the function" + ("" if fn.existing else ", or apply the module"))  # fmt: skip

    def _network(self, k: str, subnet_ids: tuple[str, ...], group_ids: tuple[str, ...]) -> None:
        try:
            subs = self.subnets(subnet_ids)
            groups = self.security_groups(group_ids)
        except LiveError as exc:
            self.unknown(k, "network", exc)
            return
        missing = [s for s in subnet_ids if s not in subs]
        if missing:
            self.add(k, "network", FAIL, f"subnets {', '.join(missing)} do not exist", "fix the function's subnets")
            return
        missing_g = [g for g, v in groups.items() if v is None]
        if missing_g:
            self.add(
                k,
                "network",
                FAIL,
                f"security groups {', '.join(missing_g)} do not exist",
                "fix the function's security groups",
            )
            return
        self._egress(k, groups)
        vpcs = sorted({s["VpcId"] for s in subs.values()})
        vpc_id = vpcs[0]
        cidrs = [s["CidrBlock"] for s in subs.values() if s.get("CidrBlock")]
        try:
            endpoints = [e for e in self.endpoints(vpc_id) if e.get("VpcEndpointType", "Interface") == "Interface"
                         and str(e.get("State", "")).lower() == "available"]  # fmt: skip
        except LiveError as exc:
            self.unknown(k, "network", exc)
            return
        service = f"com.amazonaws.{self.m.region}.secretsmanager"
        endpoint_note = ""
        for ep in endpoints:
            ep_groups_ids = [g["GroupId"] for g in ep.get("Groups", [])]
            try:
                ep_groups = self.security_groups(ep_groups_ids)
            except LiveError as exc:
                self.unknown(k, "network", exc)
                return
            admits = any(_ingress_admits(g, 443, group_ids, cidrs) for g in ep_groups.values() if g)
            if ep.get("PrivateDnsEnabled") and admits:
                self.add(k, "network", PASS, f"reaches Secrets Manager through interface endpoint {ep['VpcEndpointId']} "
                         "(private DNS on; its security groups admit 443 from the function's)")  # fmt: skip
                return
            if ep.get("PrivateDnsEnabled") and not admits:
                # Private DNS sends every call to the endpoint, so a NAT route does not help.
                self.add(k, "network", FAIL,
                         f"interface endpoint {ep['VpcEndpointId']} has private DNS on, so the function's calls go to it, "
                         f"but its security groups ({', '.join(ep_groups_ids) or 'none'}) do not admit TCP 443 from the function's "
                         f"({', '.join(group_ids)}); rotation times out",
                         f"add an inbound rule to {ep_groups_ids[0] if ep_groups_ids else 'the endpoint security group'}: "
                         f"TCP 443 from {', '.join(group_ids)}")  # fmt: skip
                return
            endpoint_note = (f"; interface endpoint {ep['VpcEndpointId']} exists but has private DNS off, so "
                             f"secretsmanager.{self.m.region}.amazonaws.com does not resolve to it")  # fmt: skip
        try:
            tables = self.route_tables(vpc_id)
        except LiveError as exc:
            self.unknown(k, "network", exc)
            return
        problems: dict[str, list[str]] = {}  # reason -> subnets
        nat_ok: list[str] = []
        for sid in subnet_ids:
            table = _table_for(tables, sid)
            if table is None:
                problems.setdefault("no route table", []).append(sid)
                continue
            route = next((r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"
                          and r.get("State", "active") == "active"), None)  # fmt: skip
            if route is None:
                problems.setdefault(f"no 0.0.0.0/0 route ({table['RouteTableId']})", []).append(sid)
            elif route.get("NatGatewayId"):
                try:
                    nat = self.nat_gateway(route["NatGatewayId"])
                except LiveError as exc:
                    self.unknown(k, "network", exc)
                    return
                if nat is None or nat.get("State") != "available":
                    problems.setdefault(f"0.0.0.0/0 goes to NAT gateway {route['NatGatewayId']}, which is "
                                        + ("missing" if nat is None else str(nat.get("State"))), []).append(sid)  # fmt: skip
                elif nat.get("ConnectivityType", "public") != "public":
                    problems.setdefault(
                        f"NAT gateway {route['NatGatewayId']} is a private NAT gateway, which cannot reach the internet",
                        [],
                    ).append(sid)
                else:
                    nat_ok.append(sid)
            elif str(route.get("GatewayId", "")).startswith("igw-"):
                problems.setdefault(
                    f"0.0.0.0/0 goes to internet gateway {route['GatewayId']} only; a Lambda function in a VPC "
                    "has no public IP address, so an internet gateway alone does not reach Secrets Manager",
                    [],
                ).append(sid)
            else:
                target = next(
                    (str(v) for key, v in route.items() if key.endswith("Id") and key != "DestinationPrefixListId"), "?"
                )
                problems.setdefault(
                    f"0.0.0.0/0 goes to {target}, which doctor cannot follow (a NAT instance or a transit gateway?)", []
                ).append(sid)
        if not problems:
            self.add(
                k,
                "network",
                PASS,
                f"every subnet routes 0.0.0.0/0 to a NAT gateway ({', '.join(nat_ok)}){endpoint_note}",
            )
            return
        self.add(k, "network", FAIL,
                 f"the function cannot reach Secrets Manager from VPC {vpc_id}: no interface endpoint for {service} with private DNS"
                 f"{endpoint_note}; " + "; ".join(f"{', '.join(subs)}: {why}" for why, subs in problems.items()),
                 f"create an interface VPC endpoint for {service} in {vpc_id} with private DNS on and a security group that admits "
                 f"TCP 443 from {', '.join(group_ids)}; or route 0.0.0.0/0 of every function subnet to a NAT gateway")  # fmt: skip

    def _egress(self, k: str, groups: dict[str, dict[str, Any] | None]) -> None:
        for g in groups.values():
            if g is None:
                continue
            for rule in g.get("IpPermissionsEgress", []):
                if _rule_covers(rule, 443):
                    dests = (
                        [r["CidrIp"] for r in rule.get("IpRanges", [])]
                        + [p["GroupId"] for p in rule.get("UserIdGroupPairs", [])]
                        + [p["PrefixListId"] for p in rule.get("PrefixListIds", [])]
                        + [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])]
                    )
                    self.add(
                        k,
                        "egress",
                        PASS,
                        f"{g['GroupId']} allows outbound TCP 443 to {', '.join(dests) or 'somewhere'}",
                    )
                    return
        self.add(k, "egress", FAIL, f"no security group of the function ({', '.join(groups)}) allows outbound TCP 443",
                 f"add an outbound rule to {next(iter(groups))}: TCP 443 to 0.0.0.0/0 (NAT) or to the endpoint's security group")  # fmt: skip

    def _permission(self, fn: model_mod.FunctionPlan) -> None:
        k = fn.key
        try:
            policy = self.function_policy(fn.function_name)
        except LiveError as exc:
            self.unknown(k, "permission", exc)
            return
        statements = [
            s for s in (policy or {}).get("Statement", []) if _names_service(s.get("Principal"), SECRETS_PRINCIPAL)
        ]
        if not statements:
            self.add(k, "permission", FAIL, f"no statement lets {SECRETS_PRINCIPAL} invoke the function: rotation cannot start",
                     "run terraform apply (the module's aws_lambda_permission adds it, with aws:SourceAccount)")  # fmt: skip
            return
        bad = [
            s
            for s in statements
            if self.m.account_id not in _condition_values(s.get("Condition") or {}, "aws:SourceAccount")
        ]
        if bad:
            sids = ", ".join(str(s.get("Sid", "?")) for s in bad)
            fix = "; ".join(
                f"aws lambda remove-permission --function-name {fn.function_name} --statement-id {s.get('Sid', '?')}"
                for s in bad
            )
            if fn.app:
                fix += " (the rotation application's stack adds its own; remove it again after each stack update)"
            self.add(k, "permission", FAIL,
                     f"statement {sids} lets {SECRETS_PRINCIPAL} invoke the function without aws:SourceAccount {self.m.account_id}: "
                     "any account's secret could use it (the confused deputy)",
                     fix + "; the module's own statement keeps rotation working")  # fmt: skip
            return
        self.add(
            k,
            "permission",
            PASS,
            f"{len(statements)} statement(s) for {SECRETS_PRINCIPAL}, each with aws:SourceAccount {self.m.account_id}",
        )

    # ---- per secret -------------------------------------------------------------------
    def _role_of(self, fn: model_mod.FunctionPlan) -> tuple[str | None, str | None]:
        """(role ARN, role name) the function runs as; the module's role before it exists."""
        try:
            conf = self.function_conf(fn.function_name)
        except LiveError:
            return None, None  # unreadable: never guess the role
        if conf is not None:
            m = _ROLE_ARN.match(conf.get("Role", ""))
            return conf.get("Role"), (m.group(2) if m else None)
        if fn.role_arn and not fn.existing:
            return fn.role_arn, fn.role_name  # the function and its role do not exist yet: the module's
        return None, None

    def check_secret(self, s: model_mod.SecretPlan) -> None:
        n = s.name
        if s.function is None:
            self._service_rotated(s)
            return
        fn = self._fn_by_key[s.function]
        try:
            d = self.secret(s.arn or s.name)
        except LiveError as exc:
            self.unknown(n, "secret", exc)
            return
        if d is None:
            if s.managed is not None:
                self.add(
                    n,
                    "secret",
                    WARN,
                    "does not exist yet; terraform apply creates it",
                    "run terraform apply, then doctor again",
                )
            else:
                self.add(n, "secret", FAIL, f"secret {s.arn or s.name} does not exist in {self.m.region}",
                         "fix the secret's name or arn in the manifest, or create the secret")  # fmt: skip
            return
        self.add(n, "secret", PASS, f"{d['ARN']} exists")
        arn = d["ARN"]
        role_arn, role_name = self._role_of(fn)
        key_arn = self._kms(s, d, role_arn)
        master_key = self._master(s, role_arn)
        self._grants(s, fn, arn, key_arn, master_key, role_arn, role_name, d)
        self._rotation(s, fn, d)
        if s.managed is not None:
            self._database(s, fn)
        if self.read_values:
            self._value(s, fn, arn)

    def _resolve_key(self, key_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(customer managed key ARN or None for an AWS managed key, metadata)."""
        if not key_id:
            return None, None
        meta = self.key(key_id)
        if meta is None:
            return key_id, None
        if meta.get("KeyManager") == "AWS":
            return None, meta
        return meta["Arn"], meta

    def _kms(self, s: model_mod.SecretPlan, d: dict[str, Any], role_arn: str | None) -> str | None:
        n = s.name
        try:
            actual, meta = self._resolve_key(d.get("KmsKeyId"))
        except LiveError as exc:
            self.unknown(n, "kms-key", exc)
            return s.kms_key_arn
        if actual != s.kms_key_arn:
            if actual is None:
                self.add(n, "kms-key", FAIL, f"the secret uses the AWS managed key aws/secretsmanager, not {s.kms_key_arn}",
                         f"remove secrets.{n}.kms_key_arn, or re-encrypt the secret: aws secretsmanager update-secret --secret-id {d['ARN']} --kms-key-id {s.kms_key_arn}")  # fmt: skip
            else:
                self.add(n, "kms-key", FAIL, f"the secret is encrypted with {actual}, not " + (s.kms_key_arn or "the AWS managed key (no kms_key_arn)"),
                         f"set secrets.{n}.kms_key_arn: {actual}")  # fmt: skip
        else:
            self.add(
                n,
                "kms-key",
                PASS,
                f"encrypted with {actual}" if actual else "encrypted with the AWS managed key aws/secretsmanager",
            )
        if actual is None:
            return None
        if meta is None:
            self.add(n, "key-state", FAIL, f"key {actual} does not exist", "fix the secret's key")
            return actual
        self._key_state(n, meta)
        self._key_policy(
            n,
            actual,
            role_arn,
            {"kms:EncryptionContext:SecretARN": d["ARN"]},
            ("kms:Decrypt", "kms:GenerateDataKey"),
            "key-policy",
        )
        return actual

    def _key_state(self, n: str, meta: dict[str, Any]) -> None:
        if meta.get("KeyState") == "Enabled":
            self.add(n, "key-state", PASS, f"key {meta['Arn']} is enabled")
        else:
            state = meta.get("KeyState", "?")
            fix = (f"aws kms cancel-key-deletion --key-id {meta['Arn']} && aws kms enable-key --key-id {meta['Arn']}"
                   if state == "PendingDeletion" else f"aws kms enable-key --key-id {meta['Arn']}")  # fmt: skip
            self.add(n, "key-state", FAIL, f"key {meta['Arn']} is {state}: the secret cannot be decrypted", fix)

    def _kms_context(self, extra: dict[str, str]) -> dict[str, str]:
        return {"kms:ViaService": f"secretsmanager.{self.m.region}.amazonaws.com", "kms:CallerAccount": self.m.account_id,
                "aws:PrincipalAccount": self.m.account_id, **extra}  # fmt: skip

    def key_allows(
        self, key_arn: str, role_arn: str, actions: tuple[str, ...], context: dict[str, str]
    ) -> tuple[str, str]:
        """('role' | 'iam' | 'no' | 'deny' | 'unsure', detail) for the key policy and this role."""
        doc = self.key_policy(key_arn)
        ctx = self._kms_context(context)
        role_results = [pe.evaluate([doc], pe.Request(a, key_arn, ctx), principals=[role_arn]) for a in actions]
        if pe.DENIED in role_results:
            return "deny", "the key policy denies the role"
        if all(r == pe.ALLOWED for r in role_results):
            return "role", "names the role"
        root = [
            pe.evaluate([doc], pe.Request(a, key_arn, ctx), principals=[self.root_arn, self.m.account_id])
            for a in actions
        ]
        if all(r == pe.ALLOWED for r in root):
            return "iam", "delegates to IAM (the account's root principal)"
        if pe.UNSURE in role_results + root:
            return "unsure", "has conditions doctor cannot evaluate"
        return "no", ""

    def _key_policy(
        self, n: str, key_arn: str, role_arn: str | None, context: dict[str, str], actions: tuple[str, ...], check: str
    ) -> None:
        try:
            verdict, detail = self.key_allows(key_arn, role_arn or "", actions, context)
            if role_arn is None and verdict != "iam":
                self.add(n, check, UNKNOWN, f"could not check whether the policy of key {key_arn} lets the function's role: the role is unknown",
                         "make the function readable (lambda:GetFunctionConfiguration)")  # fmt: skip
                return
        except LiveError as exc:
            self.unknown(n, check, exc)
            return
        if verdict in ("role", "iam"):
            self.add(n, check, PASS, f"the policy of key {key_arn} {detail}")
            return
        statement = {
            "Sid": "AllowRotationRole", "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": list(actions), "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{self.m.region}.amazonaws.com"}},
        }  # fmt: skip
        if verdict == "unsure":
            self.add(n, check, WARN, f"the policy of key {key_arn} {detail}; the role {role_arn} may not be able to use it",
                     f"check the key policy; the statement the role needs: {json.dumps(statement)}")  # fmt: skip
            return
        why = "denies" if verdict == "deny" else "neither delegates to IAM nor names"
        self.add(n, check, FAIL, f"the policy of key {key_arn} {why} the role {role_arn}: rotation cannot decrypt the secret",
                 f"add this statement to the key policy (the module writes it to kms-key-policy-statements.json): {json.dumps(statement)}")  # fmt: skip

    def _master_arn(self, pattern: str) -> str:
        try:
            md = self.secret(_secret_id(pattern))
        except LiveError:
            md = None
        return str(md["ARN"]) if md else pattern

    def _master(self, s: model_mod.SecretPlan, role_arn: str | None) -> str | None:
        if not s.master_arn:
            return None
        n = s.name
        try:
            md = self.secret(_secret_id(s.master_arn))
            if md is None:
                self.add(
                    n,
                    "master-secret",
                    FAIL,
                    f"master secret {s.master_arn} does not exist",
                    f"fix secrets.{n}.master_secret.arn",
                )
                return None
            actual, meta = self._resolve_key(md.get("KmsKeyId"))
        except LiveError as exc:
            self.unknown(n, "master-secret", exc)
            return s.master_kms_key_arn
        if actual != s.master_kms_key_arn:
            self.add(n, "master-secret", FAIL,
                     f"master secret {s.master_arn} is encrypted with {actual or 'the AWS managed key aws/secretsmanager'}, "
                     f"not {s.master_kms_key_arn or 'the AWS managed key (no master_secret.kms_key_arn)'}",
                     f"set secrets.{n}.master_secret.kms_key_arn: {actual}" if actual else f"remove secrets.{n}.master_secret.kms_key_arn")  # fmt: skip
            return actual
        if actual is not None and meta is not None and meta.get("KeyState") != "Enabled":
            self.add(
                n,
                "master-secret",
                FAIL,
                f"the master secret's key {actual} is {meta.get('KeyState')}",
                f"aws kms enable-key --key-id {actual}",
            )
            return actual
        if actual is not None:
            try:
                verdict, detail = self.key_allows(
                    actual, role_arn or "", ("kms:Decrypt",), {"kms:EncryptionContext:SecretARN": md["ARN"]}
                )
            except LiveError as exc:
                self.unknown(n, "master-secret", exc)
                return actual
            if verdict not in ("role", "iam"):
                self.add(n, "master-secret", FAIL if verdict in ("no", "deny") else WARN,
                         f"the policy of the master secret's key {actual} does not let {role_arn} decrypt",
                         "add a statement to the key policy allowing kms:Decrypt to the role (kms-key-policy-statements.json)")  # fmt: skip
                return actual
        self.add(n, "master-secret", PASS, f"master secret {md['ARN']} exists" + (f", key {actual}" if actual else ""))
        return actual

    def _grants(self, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, arn: str, key_arn: str | None, master_key: str | None,
                role_arn: str | None, role_name: str | None, d: dict[str, Any]) -> None:  # fmt: skip
        n = s.name
        if role_name is None or role_arn is None:
            self.add(n, "grants", UNKNOWN, "could not check: the function's role is unknown (the function could not be read, or does not exist)",
                     "make the function readable (lambda:GetFunctionConfiguration), or fix its ARN")  # fmt: skip
            return
        try:
            docs = self.role_documents(role_name)
        except LiveError as exc:
            self.unknown(n, "grants", exc)
            return
        if docs is None:
            if not fn.existing and role_name == fn.role_name:
                self.add(n, "grants", WARN, f"role {role_name} does not exist yet; terraform apply creates it with the grants",
                         "run terraform apply, then doctor again")  # fmt: skip
            else:
                self.add(n, "grants", FAIL, f"role {role_name} does not exist", "give the function an existing role")
            return
        identity, boundary = docs
        rotation_fn = d.get("RotationLambdaARN") or fn.function_arn
        sm_ctx = {"secretsmanager:resource/AllowRotationLambdaArn": rotation_fn, "aws:PrincipalAccount": self.m.account_id,
                  "secretsmanager:SecretId": arn}  # fmt: skip
        wanted: list[tuple[str, str, dict[str, str]]] = [(a, arn, sm_ctx) for a in ROTATION_ACTIONS]
        wanted.append(("secretsmanager:GetRandomPassword", "*", {"aws:PrincipalAccount": self.m.account_id}))
        kms_wanted: list[tuple[str, str, dict[str, str]]] = []
        if key_arn:
            kms_wanted += [
                (a, key_arn, self._kms_context({"kms:EncryptionContext:SecretARN": arn}))
                for a in ("kms:Decrypt", "kms:GenerateDataKey")
            ]
        if s.master_arn:
            master = self._master_arn(s.master_arn)  # the real ARN when the manifest gives a name
            wanted.append(("secretsmanager:GetSecretValue", master, {"aws:PrincipalAccount": self.m.account_id,
                                                                    "secretsmanager:SecretId": master}))  # fmt: skip
            if master_key:
                kms_wanted.append(
                    ("kms:Decrypt", master_key, self._kms_context({"kms:EncryptionContext:SecretARN": master}))
                )
        missing: list[str] = []
        unsure: list[str] = []
        for action, resource, ctx in wanted + kms_wanted:
            if action.startswith("kms:"):
                try:
                    verdict, _ = self.key_allows(resource, role_arn, (action,), ctx)
                except LiveError:
                    verdict = "iam"  # unreadable key policy: reported by key-policy; judge IAM alone
                if verdict == "role":
                    continue  # the key policy alone lets the role (same account)
                if verdict in ("no", "deny"):
                    missing.append(
                        f"{action} on {resource} (the key policy allows neither the role nor IAM; see key-policy)"
                    )
                    continue
            result = pe.evaluate(identity, pe.Request(action, resource, ctx))
            if result == pe.ALLOWED and boundary:
                result = pe.evaluate(boundary, pe.Request(action, resource, ctx))
                if result == pe.IMPLICIT:
                    missing.append(f"{action} on {resource} (the permissions boundary does not allow it)")
                    continue
            if result in (pe.IMPLICIT, pe.DENIED):
                missing.append(f"{action} on {resource}" + (" (explicitly denied)" if result == pe.DENIED else ""))
            elif result == pe.UNSURE:
                unsure.append(f"{action} on {resource}")
        if missing:
            if role_name == fn.role_name or (fn.existing and fn.role_name is None):
                # the module's role, or an existing function's own role (read at plan time)
                fix = f"run terraform apply: the module puts policy {fn.policy_name} with these grants on role {role_name}"
            elif fn.existing:
                fix = (f"set functions.{fn.key}.execution_role_arn to {role_arn}, the role the function runs as (the plan fails "
                       f"while it names {fn.role_name}), then run terraform apply: the module puts policy {fn.policy_name} on it")  # fmt: skip
            else:
                fix = f"grant them to role {role_name}, the role the function really runs as (rotation-tf explain lists the statements)"
            self.add(n, "grants", FAIL, f"role {role_name} may not: " + "; ".join(missing), fix)
        elif unsure:
            self.add(n, "grants", WARN, f"role {role_name} allows these only under conditions doctor cannot evaluate: " + "; ".join(unsure),
                     "check the conditions of the role's policies")  # fmt: skip
        else:
            self.add(
                n, "grants", PASS, f"role {role_name} may rotate it ({len(wanted) + len(kms_wanted)} actions checked)"
            )

    def _rotation(self, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, d: dict[str, Any]) -> None:
        n = s.name
        ident = s.ident
        resource = f"aws_secretsmanager_secret_rotation.{ident}"
        if not d.get("RotationEnabled"):
            self.add(n, "rotation", FAIL, "rotation is off" + (f" (it was set up with {d['RotationLambdaARN']})" if d.get("RotationLambdaARN") else ""),
                     f"run terraform apply ({resource} turns it on)")  # fmt: skip
            return
        if d.get("RotationLambdaARN") != fn.function_arn:
            self.add(n, "rotation", FAIL, f"rotation uses {d.get('RotationLambdaARN')}, not the manifest's function {fn.function_arn}",
                     f"run terraform apply ({resource} points the rotation at {fn.function_arn})")  # fmt: skip
        else:
            self.add(n, "rotation", PASS, f"rotation is on with {fn.function_arn}")
        rules = d.get("RotationRules") or {}
        problems = _schedule_problems(s.schedule, rules)
        if problems:  # rotation is on: only its rules differ
            self.add(n, "schedule", FAIL, "; ".join(problems), _schedule_fix(resource, s.schedule, problems))
        else:
            self.add(n, "schedule", PASS, f"schedule {_describe_schedule(s.schedule)}")
        self._overdue(s, d)
        self._pending(s, fn, d)

    def _service_rotated(self, s: model_mod.SecretPlan) -> None:
        """managed: true -- the owning service rotates the secret: it must exist and its
        rotation must be on with the manifest's schedule; there is no function to check."""
        n = s.name
        try:
            d = self.secret(s.arn or s.name)
        except LiveError as exc:
            self.unknown(n, "secret", exc)
            return
        if d is None:
            self.add(n, "secret", FAIL, f"secret {s.arn or s.name} does not exist in {self.m.region}",
                     "a managed secret exists once its database has manage_master_user_password; fix the name or arn")  # fmt: skip
            return
        self.add(
            n,
            "secret",
            PASS,
            f"{d['ARN']} exists" + (f" (owned by {d['OwningService']})" if d.get("OwningService") else ""),
        )
        resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
        if not d.get("RotationEnabled"):
            self.add(
                n,
                "rotation",
                FAIL,
                "rotation is off",
                f"run terraform apply ({resource} turns it on with the manifest's schedule)",
            )
            return
        self.add(n, "rotation", PASS, "rotation is on, managed by the secret's service")
        problems = _schedule_problems(s.schedule, d.get("RotationRules") or {})
        if problems:  # rotation is on: only its rules differ
            self.add(n, "schedule", FAIL, "; ".join(problems), _schedule_fix(resource, s.schedule, problems))
        else:
            self.add(n, "schedule", PASS, f"schedule {_describe_schedule(s.schedule)}")
        self._overdue(s, d)

    def _overdue(self, s: model_mod.SecretPlan, d: dict[str, Any]) -> None:
        n = s.name
        period = _period(s.schedule)
        grace = timedelta(days=1) + (
            timedelta(hours=int(s.schedule.window[:-1])) if s.schedule.window else timedelta(0)
        )
        last = d.get("LastRotatedDate")
        if isinstance(last, datetime):
            age = self.now - last
            if age > period + grace:
                self.add(n, "overdue", FAIL,
                         f"last rotated {last.date().isoformat()}, {age.days} days ago; the schedule allows {period.days} days",
                         f"look at the rotation function's logs (/aws/lambda/...), fix the cause, then: aws secretsmanager rotate-secret --secret-id {d['ARN']} ({TROUBLESHOOT})")  # fmt: skip
            else:
                self.add(n, "overdue", PASS, f"last rotated {last.date().isoformat()}, within the schedule")
            return
        created = d.get("CreatedDate")
        if isinstance(created, datetime) and self.now - created > period + grace:
            self.add(n, "overdue", FAIL, f"never rotated, and created {created.date().isoformat()}, more than {period.days} days ago",
                     f"aws secretsmanager rotate-secret --secret-id {d['ARN']}; if it fails, see the function's logs ({TROUBLESHOOT})")  # fmt: skip
        else:
            self.add(n, "overdue", PASS, "not rotated yet; the first rotation is not yet due")

    def _pending(self, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, d: dict[str, Any]) -> None:
        n = s.name
        stuck = sorted(
            v
            for v, stages in (d.get("VersionIdsToStages") or {}).items()
            if "AWSPENDING" in stages and "AWSCURRENT" not in stages
        )
        if not stuck:
            self.add(n, "pending", PASS, "no unfinished rotation (no AWSPENDING version without AWSCURRENT)")
            return
        v = stuck[0]
        self.add(n, "pending", FAIL,
                 f"version {v} holds AWSPENDING without AWSCURRENT: a rotation started and did not finish, and the next one fails with "
                 "\"A previous rotation isn't complete\". The usual causes: the function could not reach Secrets Manager or the "
                 "database (a timeout: no endpoint or NAT route, or a security group), the role or key policy lacks a grant, or "
                 "the database refused the new password",
                 f"read the function's logs (/aws/lambda/{fn.function_name}) and fix the cause; then rotate again "
                 f"(aws secretsmanager rotate-secret --secret-id {d['ARN']}), or drop the pending version: aws secretsmanager "
                 f"update-secret-version-stage --secret-id {d['ARN']} --version-stage AWSPENDING --remove-from-version-id {v} ({TROUBLESHOOT})")  # fmt: skip

    def _database(self, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan) -> None:
        assert s.managed is not None
        n = s.name
        fields = s.managed.field_map
        host = str(fields.get("host", "")).lower().rstrip(".")
        if not host:
            return
        try:
            dbs = self.databases()
        except LiveError as exc:
            self.unknown(n, "database", exc)
            return
        match = next((db for db in dbs if db[1].lower().rstrip(".") == host), None)
        if match is None:
            return  # not a database of this account and region: nothing doctor can check
        what, _addr, db_port, db_groups = match
        port = int(str(fields.get("port") or db_port or 0))
        known, conf = self._conf_or_none(fn)
        if conf is not None:
            groups = tuple((conf.get("VpcConfig") or {}).get("SecurityGroupIds") or ())
            subnets = tuple((conf.get("VpcConfig") or {}).get("SubnetIds") or ())
        else:
            groups, subnets = fn.security_group_ids, fn.subnet_ids
        if not groups:
            self.add(n, "database", FAIL, f"{host} is {what}, in a VPC, but the function does not run in a VPC",
                     f"give functions.{fn.key} a vpc in the database's VPC")  # fmt: skip
            return
        try:
            db_sgs = self.security_groups(db_groups)
            cidrs = [sub.get("CidrBlock", "") for sub in self.subnets(tuple(subnets)).values()]
        except LiveError as exc:
            self.unknown(n, "database", exc)
            return
        if any(_ingress_admits(g, port, groups, cidrs) for g in db_sgs.values() if g):
            self.add(n, "database", PASS, f"{what} admits the function's security groups on port {port}")
        else:
            self.add(n, "database", FAIL,
                     f"the security groups of {what} ({', '.join(db_groups)}) do not admit the function's ({', '.join(groups)}) on port {port}",
                     f"add an inbound rule to {db_groups[0] if db_groups else 'the database security group'}: TCP {port} from {groups[0]}")  # fmt: skip

    def _value(self, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, arn: str) -> None:
        """--read-values: which keys the value has. The value itself never leaves this function."""
        n = s.name
        if fn.engine == "other":
            self.add(n, "value", PASS, "engine other: the function's needs are its own; not checked")
            return
        try:
            got = self.aws.call(
                "secretsmanager", "GetSecretValue", "get_secret_value", SecretId=arn, VersionStage="AWSCURRENT"
            )
        except LiveError as exc:
            self.unknown(n, "value", exc)
            return
        keys, engine_ok = _value_shape(got.pop("SecretString", None), engines.secret_engine(fn.engine))
        got.clear()
        if keys is None:
            self.add(
                n,
                "value",
                FAIL,
                "the current value is not a JSON object",
                "store the database credentials as JSON (engine, host, username, password)",
            )
            return
        need = VALUE_KEYS + (("masterarn",) if fn.strategy == "alternating_users" else ())
        missing = [k for k in need if k not in keys]
        if missing:
            self.add(n, "value", FAIL, f"the current value lacks {', '.join(missing)}, which the {fn.engine} rotation function reads",
                     f"add {', '.join(missing)} to the secret's JSON")  # fmt: skip
        elif fn.strategy == "single_user" and "masterarn" in keys:
            self.add(n, "value", WARN, "the value names a master secret (masterarn), but the function rotates single_user",
                     f"if the function uses alternating users, set functions.{fn.key}.strategy: alternating_users and the master_secret")  # fmt: skip
        elif not engine_ok:
            want = engines.secret_engine(fn.engine)
            self.add(
                n,
                "value",
                WARN,
                f"the value's engine is not {want!r}, which AWS's {fn.engine} functions expect",
                f"set engine to {want!r} in the secret's JSON",
            )
        else:
            self.add(n, "value", PASS, f"the current value has {', '.join(need)} (values not shown)")


# ---- helpers ---------------------------------------------------------------------------


def _secret_id(arn: str) -> str:
    """What DescribeSecret takes for a secret the manifest names by ARN or, as AWS's
    partial-ARN pattern (``...:secret:name-??????``), by name."""
    if arn.endswith("-??????"):
        return arn.split(":secret:", 1)[1][: -len("-??????")]
    return arn


def _value_shape(text: Any, engine: str) -> tuple[frozenset[str] | None, bool]:
    """(the set of top-level keys, whether engine equals ``engine``) of a JSON value."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None, False
    if not isinstance(data, dict):
        return None, False
    keys = frozenset(str(k) for k in data)
    ok = data.get("engine") == engine
    data.clear()
    return keys, ok


def _first(response: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """The first item of a Describe* response's list, or None (no response, or an empty list)."""
    items = (response or {}).get(key) or []
    return items[0] if items else None


def _doc(doc: Any) -> dict[str, Any]:
    if isinstance(doc, str):
        from urllib.parse import unquote

        text = doc if doc.lstrip().startswith("{") else unquote(doc)
        return json.loads(text)  # type: ignore[no-any-return]
    return doc  # type: ignore[no-any-return]


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


def _rule_covers(rule: dict[str, Any], port: int) -> bool:
    proto = str(rule.get("IpProtocol"))
    if proto == "-1":
        return True
    if proto not in ("tcp", "6"):
        return False
    lo, hi = rule.get("FromPort"), rule.get("ToPort")
    if lo is None or hi is None:
        return True
    return int(lo) <= port <= int(hi)


def _ingress_admits(group: dict[str, Any], port: int, from_groups: Iterable[str], from_cidrs: Iterable[str]) -> bool:
    """Whether ``group`` admits TCP ``port`` from one of ``from_groups`` or from every one of
    ``from_cidrs`` (the function's subnets)."""
    wanted = set(from_groups)
    nets = [ip_network(c, strict=False) for c in from_cidrs if c]
    for rule in group.get("IpPermissions", []):
        if not _rule_covers(rule, port):
            continue
        if any(p.get("GroupId") in wanted for p in rule.get("UserIdGroupPairs", [])):
            return True
        ranges = [ip_network(r["CidrIp"], strict=False) for r in rule.get("IpRanges", []) if r.get("CidrIp")]
        if nets and all(any(n.subnet_of(r) for r in ranges if r.version == n.version) for n in nets):  # type: ignore[arg-type]
            return True
    return False


def _table_for(tables: list[dict[str, Any]], subnet_id: str) -> dict[str, Any] | None:
    for t in tables:
        if any(a.get("SubnetId") == subnet_id for a in t.get("Associations", [])):
            return t
    return next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$")


def _period(schedule: model_mod.Schedule) -> timedelta:
    """The longest a schedule may wait between rotations. For cron expressions an upper bound:
    a day for daily, a week when a day of the week is set, 31 days when a day of the month is
    set, a year when the month is set."""
    if schedule.every_days:
        return timedelta(days=schedule.every_days)
    expr = (schedule.expression or "").strip()
    m = _RATE.match(expr)
    if m:
        n = int(m.group(1))
        return timedelta(hours=n) if m.group(2).startswith("hour") else timedelta(days=n)
    fields = expr[len("cron(") : -1].split() if expr.startswith("cron(") else []
    if len(fields) == 6:
        _min, _hour, dom, month, dow, _year = fields
        if month not in ("*", "?"):
            return timedelta(days=366)
        if dom not in ("*", "?"):
            return timedelta(days=31)
        if dow not in ("*", "?"):
            return timedelta(days=7)
        return timedelta(days=1)
    return timedelta(days=366)


def _describe_schedule(schedule: model_mod.Schedule) -> str:
    text = f"every {schedule.every_days} days" if schedule.every_days else str(schedule.expression)
    return text + (f", window {schedule.window}" if schedule.window else "")


def _norm(expr: str | None) -> str:
    return " ".join((expr or "").split())


def _schedule_fix(resource: str, schedule: model_mod.Schedule, problems: list[str]) -> str:
    """The fix of a schedule check that failed while rotation is on: what apply changes (the
    schedule, the window or both), not "turns it on"."""
    window_only = all(p.startswith("window ") for p in problems)
    what = (
        "sets the window"
        if window_only
        else "sets the schedule" + (" and window" if any(p.startswith("window ") for p in problems) else "")
    )
    return f"run terraform apply ({resource} {what} to the manifest's: {_describe_schedule(schedule)}); rotation is already on"


def _schedule_problems(schedule: model_mod.Schedule, rules: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    days = rules.get("AutomaticallyAfterDays")
    expr = _norm(rules.get("ScheduleExpression"))
    if schedule.every_days:
        if days != schedule.every_days and expr != f"rate({schedule.every_days} days)":
            problems.append(
                f"rotates {('every ' + str(days) + ' days') if days else (expr or 'on no schedule')}, not every {schedule.every_days} days"
            )
    else:
        want = _norm(schedule.expression)
        m = _RATE.match(want)
        if expr != want and not (m and m.group(2).startswith("day") and days == int(m.group(1))):
            problems.append(
                f"rotates on {expr or (('every ' + str(days) + ' days') if days else 'no schedule')}, not {want}"
            )
    if schedule.window and rules.get("Duration") != schedule.window:
        problems.append(f"window {rules.get('Duration') or 'none'}, not {schedule.window}")
    return problems
