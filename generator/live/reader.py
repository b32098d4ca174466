"""The account reader of ``doctor``: everything the checks read from one account and
region, each thing fetched once (:class:`generator.live.client.Memo`, safe when two checks
ask at the same moment), behind one interface.

The checks (:mod:`generator.live.checks`) see AWS only through :class:`Reader`, the
interface :class:`AccountReader` implements (and tests/helpers/fake_account.py, from dicts): a check
is added without touching this file, and a change to how something is fetched (listing
instead of describing, caching, another account) does not touch the checks. A check declares
the methods it calls (``reads=(Reader.secret, ...)``). Each method returns what AWS returned
(``None`` where AWS says the thing does not exist) or raises
:class:`~generator.live.client.LiveError` (``Denied`` names the action).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Protocol, TypeVar

from generator.live.client import (
    ApiError,
    Aws,
    Denied,
    LiveError,
    Memo,
    NotFound,
    ServiceFailure,
    Unreachable,
    ValueShape,
    current_value_fields,
)

TRAIL_PAGES = 10  # pages of CloudTrail events read per event name, 50 events each
TRAIL_PACE = 0.5  # seconds between two LookupEvents calls
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})

T = TypeVar("T")


class Reader(Protocol):
    """What a check may read of one account and region (every method: what AWS returned, None
    where it says the thing does not exist, or :class:`~generator.live.client.LiveError`)."""

    def caller_account(self) -> str | None: ...
    def function_conf(self, name: str) -> dict[str, Any] | None: ...
    def function_policy(self, name: str) -> dict[str, Any] | None: ...
    def role_documents(self, role_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None: ...
    def role(self, role_name: str) -> dict[str, Any] | None: ...
    def secret(self, secret_id: str) -> dict[str, Any] | None: ...
    def key(self, key_id: str) -> dict[str, Any] | None: ...
    def key_policy(self, key_arn: str) -> dict[str, Any]: ...
    def subnets(self, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]: ...
    def security_groups(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]: ...
    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]: ...
    def endpoints(self, vpc_id: str) -> list[dict[str, Any]]: ...
    def nat_gateway(self, nat_id: str) -> dict[str, Any] | None: ...
    def databases(self) -> list[tuple[str, str, int | None, list[str]]]: ...
    def simulate(
        self, role_arn: str, requests: list[tuple[str, str, dict[str, str]]]
    ) -> dict[tuple[str, str], str] | None: ...
    def simulator_status(self) -> str: ...
    def value_fields(self, arn: str, wanted: tuple[str, ...]) -> ValueShape: ...
    def value_shape(self, arn: str) -> ValueShape: ...
    def rotation_events(
        self, names: tuple[str, ...], start: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], str]: ...
    def rotation_log(self, request: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool] | None: ...


class AccountReader:
    """Reads one account and region through ``aws``; every fetch is memoised."""

    def __init__(self, aws: Aws, region: str, *, simulate: bool = True):
        self.aws = aws
        self.region = region
        self._memo = Memo()
        self._lock = threading.Lock()
        self._listed: dict[str, dict[str, Any]] = {}  # secret name or ARN -> its ListSecrets entry
        self._may_simulate = simulate
        # why IAM's policy simulator did not answer
        self._simulator_why = "" if simulate else "IAM's policy simulator was not asked: --no-simulate"

    @property
    def calls(self) -> dict[str, int]:
        """API calls made so far, by IAM action."""
        return dict(sorted(self.aws.calls.items()))

    def map(self, fn: Any, items: Iterable[Any]) -> list[Any]:
        """``fn`` over ``items`` on the client's bounded pool, results in order."""
        return self.aws.map(fn, items)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """``fn(*args)`` on the client's bounded pool."""
        return self.aws.submit(fn, *args)

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

    # ---- secrets: listed 100 at a time, described only where the list cannot answer ----
    def list_secrets(self, secret_ids: Iterable[str], on_listed: Callable[[list[str]], None] | None = None) -> None:
        """Read the secrets named by ``secret_ids`` (names or ARNs) from ``ListSecrets``, 100
        a call, instead of one ``DescribeSecret`` each.

        A ``SecretListEntry`` carries everything the checks read from a description: the
        ARN, name, key, rotation (enabled, function, rules), ``LastRotatedDate``,
        ``CreatedDate``, ``OwningService`` and the version stages (as
        ``SecretVersionsToStages``)
        (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_SecretListEntry.html).
        Listing stops once every id is found, or once the pages read reach the number of
        ids still missing (describing those is no dearer); those, and all of them when the
        caller may not list, are described one by one. Secrets scheduled for deletion are
        listed too (``IncludePlannedDeletion``), as ``DescribeSecret`` returns them.

        ``ListSecrets`` is eventually consistent and "might not reflect changes from the
        last five minutes" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html):
        :meth:`forget_listed` drops an entry so that :meth:`secret` describes it again,
        which ``doctor`` does for every secret with a finding that is not a pass.

        ``on_listed`` is called after each page with the ids that page answered (already
        readable through :meth:`secret`), so that a caller can start on them while the next
        page is fetched.
        """
        wanted = {i for i in secret_ids if i}
        token: str | None = None
        pages = 0
        try:
            while wanted:
                kwargs: dict[str, Any] = {"MaxResults": 100, "IncludePlannedDeletion": True}
                if token:
                    kwargs["NextToken"] = token
                page = self.aws.call("secretsmanager", "ListSecrets", "list_secrets", **kwargs)
                pages += 1
                found: dict[str, dict[str, Any]] = {}
                for entry in page.get("SecretList", []):
                    for ident in (entry.get("ARN"), entry.get("Name")):
                        if ident in wanted:
                            found[ident] = _as_description(entry)
                            wanted.discard(ident)
                with self._lock:
                    self._listed.update(found)
                if on_listed is not None and found:
                    on_listed(list(found))
                token = page.get("NextToken")
                if not token or pages >= len(wanted):
                    break
        except LiveError:
            return  # denied or failing: the secrets not listed are described instead

    def forget_listed(self, secret_ids: Iterable[str]) -> bool:
        """Drop listed entries, so :meth:`secret` describes them; whether any was listed."""
        with self._lock:
            popped = [self._listed.pop(i, None) for i in secret_ids]  # every one, no short cut
        return any(e is not None for e in popped)

    def secret(self, secret_id: str) -> dict[str, Any] | None:
        """The secret's description: its ``ListSecrets`` entry when one was listed, else
        ``DescribeSecret`` (None: it does not exist)."""
        with self._lock:
            listed = self._listed.get(secret_id)
        if listed is not None:
            return listed

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

    # ---- IAM's policy simulator ------------------------------------------------------------
    def simulate(
        self, role_arn: str, requests: list[tuple[str, str, dict[str, str]]]
    ) -> dict[tuple[str, str], str] | None:
        """IAM's own decision (``allowed``, ``implicitDeny``, ``explicitDeny``) on each
        (action, resource, context) for the role, by ``iam:SimulatePrincipalPolicy``
        (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html),
        keyed by (action, resource); None when the simulator cannot answer (the caller may
        not call it, or the endpoint does not implement it, as moto does not):
        :meth:`simulator_status` says why, and it is not asked again in this run.

        The simulator takes one context for every action and resource of a call, so
        requests whose context keys agree share a call (a secret's own actions, its key's and
        ``GetRandomPassword``: one call; its master secret's: another, shared by every
        secret of the same role and master). It evaluates the role's identity policies and
        permissions boundary; a role's resources' policies (key policies) are not included:
        ``ResourcePolicy`` is for IAM users only.
        """
        if not self._may_simulate:
            return None
        if self._memo.get(("simulator", role_arn.split(":")[4]), lambda: self._probe_simulator(role_arn)):
            return None
        groups: list[tuple[dict[str, str], list[tuple[str, str]]]] = []
        for action, resource, context in requests:
            for merged, pairs in groups:
                if all(merged.get(k, v) == v for k, v in context.items()):
                    merged.update(context)
                    pairs.append((action, resource))
                    break
            else:
                groups.append((dict(context), [(action, resource)]))
        out: dict[tuple[str, str], str] = {}
        for merged, pairs in groups:
            actions = tuple(sorted({a for a, _ in pairs}))
            resources = tuple(sorted({r for _, r in pairs}))
            items = tuple(sorted(merged.items()))
            try:
                got = self._memo.get(
                    ("simulate", role_arn, actions, resources, items),
                    functools.partial(self._simulate, role_arn, actions, resources, items),
                )
            except LiveError as exc:
                with self._lock:
                    self._simulator_why = f"IAM's policy simulator failed: {exc}"
                return None
            for pair in pairs:
                if pair in got:
                    out[pair] = got[pair]
        return out

    def simulator_status(self) -> str:
        """Why :meth:`simulate` returned None."""
        with self._lock:
            return self._simulator_why or "IAM's policy simulator was not asked"

    def _probe_simulator(self, role_arn: str) -> str:
        """'' when SimulatePrincipalPolicy answers for this caller; else why not (once per account)."""
        try:
            self.aws.call_optional("iam", "SimulatePrincipalPolicy", "simulate_principal_policy", PolicySourceArn=role_arn,
                                   ActionNames=["secretsmanager:GetRandomPassword"], MaxItems=1)  # fmt: skip
        except Denied as exc:
            why = f"IAM's policy simulator: access denied to {exc.action}"
        except LiveError as exc:
            why = f"IAM's policy simulator did not answer: {exc}"
        except Unreachable:
            raise  # the connection failed: the run ends, as it would on any other call
        except ServiceFailure:  # a server error or no IAM answer at all (moto: an HTML 500 page, no simulator)
            why = "IAM's policy simulator did not answer (the endpoint returned no IAM response)"
        else:
            return ""
        with self._lock:
            self._simulator_why = why
        return why

    def _simulate(
        self, role_arn: str, actions: tuple[str, ...], resources: tuple[str, ...], context: tuple[tuple[str, str], ...]
    ) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        marker: str | None = None
        for _page in range(100):  # bounded: a few pages at most
            kwargs: dict[str, Any] = {
                "PolicySourceArn": role_arn,
                "ActionNames": list(actions),
                "ResourceArns": list(resources),
                "ContextEntries": [
                    {"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in context
                ],
            }
            if marker:
                kwargs["Marker"] = marker
            got = self.aws.call("iam", "SimulatePrincipalPolicy", "simulate_principal_policy", **kwargs)
            for result in got.get("EvaluationResults", []):
                specific = result.get("ResourceSpecificResults") or []
                for one in specific:
                    out[(result["EvalActionName"], one["EvalResourceName"])] = one["EvalResourceDecision"]
                if not specific:
                    out[(result["EvalActionName"], result.get("EvalResourceName", "*"))] = result["EvalDecision"]
            marker = got.get("Marker")
            if not got.get("IsTruncated") or not marker:
                break
        return out

    # ---- why a rotation failed: CloudTrail's rotation events, the function's log ----------
    def rotation_events(
        self, names: tuple[str, ...], start: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], str]:
        """(CloudTrail's events named ``names`` between ``start`` and ``end``, why not all of
        them were read: "" when they were). Once a run whatever the window (the first caller's),
        by ``cloudtrail:LookupEvents``, one event name a call
        (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html):
        50 events a page, at most :data:`TRAIL_PAGES` pages a name, one call every half second
        (LookupEvents takes two a second per account and Region; a throttled call is tried once
        more a second later). Optional: denied, failing or not implemented (moto), it says why
        instead of raising, and the names after a failed one are not asked."""

        def fetch() -> tuple[list[dict[str, Any]], str]:
            events: list[dict[str, Any]] = []
            calls = 0
            for name in names:
                token: str | None = None
                for _page in range(TRAIL_PAGES):
                    if calls:
                        time.sleep(TRAIL_PACE)
                    calls += 1
                    kwargs: dict[str, Any] = {
                        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
                        "StartTime": start,
                        "EndTime": end,
                        "MaxResults": 50,
                    }
                    if token:
                        kwargs["NextToken"] = token
                    try:
                        try:
                            got = self.aws.call_optional("cloudtrail", "LookupEvents", "lookup_events", **kwargs)
                        except ApiError as exc:
                            if exc.code not in THROTTLED:
                                raise
                            time.sleep(2 * TRAIL_PACE)  # two a second per account and Region: once more, later
                            got = self.aws.call_optional("cloudtrail", "LookupEvents", "lookup_events", **kwargs)
                    except Denied as exc:
                        return events, f"access denied to {exc.action}"
                    except Unreachable:
                        raise  # a transport failure ends the command wherever it happens
                    except (LiveError, ServiceFailure) as exc:
                        return events, " ".join(str(exc).split())[:200]
                    events.extend(e for e in got.get("Events") or () if isinstance(e, dict))
                    token = got.get("NextToken")
                    if not token:
                        break
                else:
                    return events, f"more than {TRAIL_PAGES * 50} {name} events in the window: the newest were read"
            return events, ""

        return self._memo.get(("rotation-events", names), fetch)

    def rotation_log(self, request: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool] | None:
        """The events of a FilterLogEvents request (:func:`generator.rotation_logs.request`) and
        whether they are all of them (:func:`generator.rotation_logs.read_pages`); None when the
        log group does not exist. Once per group and filter pattern (one secret's) a run."""
        from generator import rotation_logs

        def fetch() -> tuple[list[dict[str, Any]], bool] | None:
            def page(**kwargs: Any) -> dict[str, Any]:
                return self.aws.call("logs", "FilterLogEvents", "filter_log_events", **kwargs)

            try:
                return rotation_logs.read_pages(page, request)
            except NotFound:
                return None

        return self._memo.get(("rotation-log", request.get("logGroupName"), request.get("filterPattern")), fetch)

    def value_fields(self, arn: str, wanted: tuple[str, ...]) -> ValueShape:
        """The top-level keys of the current value and the string values of the ``wanted``
        fields (or why the value could not be read): ``--read-values`` only, for fields such as
        ``host`` and ``engine``, read once per secret and fields."""
        shape: ValueShape = self._memo.get(("value", arn, wanted), lambda: current_value_fields(self.aws, arn, wanted))
        return shape

    def value_shape(self, arn: str) -> ValueShape:
        """The top-level keys of the current value if it is a JSON object doctor can read (else
        why not) and its ``engine``: ``--read-values`` only. The value itself never leaves
        :func:`current_value_fields`."""
        return current_value_fields(self.aws, arn, ("engine",))


def _as_description(entry: dict[str, Any]) -> dict[str, Any]:
    """A ``SecretListEntry`` in ``DescribeSecret``'s shape: the version stages are
    ``SecretVersionsToStages`` in the one and ``VersionIdsToStages`` in the other."""
    out = dict(entry)
    if "VersionIdsToStages" not in out and "SecretVersionsToStages" in out:
        out["VersionIdsToStages"] = out["SecretVersionsToStages"]
    return out


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
