"""The account reader of ``doctor``: everything the checks read from one account and
region, each thing fetched once (:class:`generator.live.client.Memo`, safe when two checks
ask at the same moment), behind one interface.

The checks (:mod:`generator.live.checks`) see AWS only through :class:`AccountReader`: a
check is added without touching this file, and a change to how something is fetched
(listing instead of describing, caching, another account) does not touch the checks.
Each method returns what AWS returned (``None`` where AWS says the thing does not exist)
or raises :class:`~generator.live.client.LiveError` (``Denied`` names the action).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from generator.live.client import Aws, Memo, NotFound


class AccountReader:
    """Reads one account and region through ``aws``; every fetch is memoised."""

    def __init__(self, aws: Aws, region: str):
        self.aws = aws
        self.region = region
        self._memo = Memo()

    @property
    def calls(self) -> dict[str, int]:
        """API calls made so far, by IAM action."""
        return dict(sorted(self.aws.calls.items()))

    def map(self, fn: Any, items: Iterable[Any]) -> list[Any]:
        """``fn`` over ``items`` on the client's bounded pool, results in order."""
        return self.aws.map(fn, items)

    def caller_account(self) -> str | None:
        return self.aws.call("sts", "GetCallerIdentity", "get_caller_identity").get("Account")

    def function_conf(self, name: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            return self.aws.call_or_none(
                "lambda", "GetFunctionConfiguration", "get_function_configuration", FunctionName=name
            )

        return self._memo.get(("function", name), fetch)

    def function_policy(self, name: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            got = self.aws.call_or_none("lambda", "GetPolicy", "get_policy", FunctionName=name)
            return None if got is None else json.loads(got["Policy"])

        return self._memo.get(("function-policy", name), fetch)

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

        return self._memo.get(("role", role_name), fetch)

    def role(self, role_name: str) -> dict[str, Any] | None:
        """GetRole's Role (with its trust policy as a document), or None when it does not exist."""

        def fetch() -> dict[str, Any] | None:
            got = self.aws.call_or_none("iam", "GetRole", "get_role", RoleName=role_name)
            if got is None:
                return None
            role = dict(got["Role"])
            role["AssumeRolePolicyDocument"] = _doc(role.get("AssumeRolePolicyDocument"))
            return role

        return self._memo.get(("get-role", role_name), fetch)

    def managed_policy(self, arn: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            pol = self.aws.call("iam", "GetPolicy", "get_policy", PolicyArn=arn)["Policy"]
            ver = self.aws.call(
                "iam", "GetPolicyVersion", "get_policy_version", PolicyArn=arn, VersionId=pol["DefaultVersionId"]
            )
            return _doc(ver["PolicyVersion"]["Document"])

        return self._memo.get(("managed-policy", arn), fetch)

    def secret(self, secret_id: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            return self.aws.call_or_none("secretsmanager", "DescribeSecret", "describe_secret", SecretId=secret_id)

        return self._memo.get(("secret", secret_id), fetch)

    def key(self, key_id: str) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            got = self.aws.call_or_none("kms", "DescribeKey", "describe_key", KeyId=key_id)
            return None if got is None else got["KeyMetadata"]

        return self._memo.get(("key", key_id), fetch)

    def key_policy(self, key_arn: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            raw = self.aws.call("kms", "GetKeyPolicy", "get_key_policy", KeyId=key_arn, PolicyName="default")["Policy"]
            return json.loads(raw)  # type: ignore[no-any-return]

        return self._memo.get(("key-policy", key_arn), fetch)

    def subnets(self, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for sid in ids:

            def fetch(sid: str = sid) -> dict[str, Any] | None:
                got = self.aws.call_or_none("ec2", "DescribeSubnets", "describe_subnets", SubnetIds=[sid])
                return _first(got, "Subnets")

            sub = self._memo.get(("subnet", sid), fetch)
            if sub is not None:
                out[sid] = sub
        return out

    def security_groups(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        out: dict[str, dict[str, Any] | None] = {}
        for gid in sorted(set(ids)):

            def fetch(gid: str = gid) -> dict[str, Any] | None:
                got = self.aws.call_or_none("ec2", "DescribeSecurityGroups", "describe_security_groups", GroupIds=[gid])
                return _first(got, "SecurityGroups")

            out[gid] = self._memo.get(("sg", gid), fetch)
        return out

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._memo.get(
            ("route-tables", vpc_id),
            lambda: self.aws.pages("ec2", "DescribeRouteTables", "describe_route_tables", "RouteTables",
                                   Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]),
        )  # fmt: skip

    def endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        service = f"com.amazonaws.{self.region}.secretsmanager"
        return self._memo.get(
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

        return self._memo.get(("nat", nat_id), fetch)

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

        return self._memo.get(("databases",), fetch)

    def value_shape(self, arn: str) -> tuple[frozenset[str] | None, Any]:
        """(the top-level keys of the current value if it is a JSON object, its ``engine``):
        ``--read-values`` only. The value itself never leaves this method, and is not kept."""
        got = self.aws.call(
            "secretsmanager", "GetSecretValue", "get_secret_value", SecretId=arn, VersionStage="AWSCURRENT"
        )
        text = got.pop("SecretString", None)
        got.clear()
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            return None, None
        del text
        if not isinstance(data, dict):
            return None, None
        keys = frozenset(str(k) for k in data)
        engine = data.get("engine")
        data.clear()
        return keys, engine if isinstance(engine, str) else None


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
