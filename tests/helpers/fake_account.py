"""An account held in dicts, for running ``doctor``'s checks in-process (the fast tier, no moto).

:class:`FakeAccount` answers everything a check reads (:class:`generator.live.reader.Reader`)
from dicts, and what :class:`generator.live.doctor.Doctor` needs besides (its pool, run
here in order; no listing, so every secret is described), so :func:`judge` runs the real
``Doctor``: the checks in their declared order, the findings ordered and grouped as the
command reports them. Any stored value that is an exception (``Denied("kms:GetKeyPolicy")``)
is raised where it is read: an AWS error at that read. ``calls`` counts the reads by method.

:func:`healthy` builds the account ``tests/helpers/liveworld.py`` builds in moto (two functions in a
VPC reaching Secrets Manager through an endpoint, their role granted the rotation, a customer
managed key, an alternating-users secret and its master secret, rotation on every 30 days)
and the manifest that describes it: every check passes, and a test breaks one thing. moto
stays for the end-to-end proofs (tests/moto/test_doctor.py, tests/moto/test_moto_*.py).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from generator import api, model
from generator.live.checks.check import SecretSubject
from generator.live.checks.check import judge as judge_subject
from generator.live.checks.context import Context
from generator.live.client import ValueShape, value_shape_of
from generator.live.doctor import Doctor
from generator.live.findings import Finding, Report
from generator.live.registry import RUN_ORDER, SECRET

ACCOUNT, REGION = "111122223333", "us-east-1"
ROLE = "rotator-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)  # tests/conftest.py's PINNED_TODAY, at noon


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def default_key_policy(account: str = ACCOUNT) -> dict[str, Any]:
    """AWS's default key policy: the account's root principal, so IAM policies decide."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}
        ],
    }  # fmt: skip


def _answer(value: Any) -> Any:
    if isinstance(value, BaseException):
        raise value
    return copy.deepcopy(value)


@dataclass
class FakeAccount:
    """One account and region in dicts (each keyed as the reader's method is asked)."""

    caller: str = ACCOUNT
    functions: dict[str, Any] = field(default_factory=dict)  # name -> GetFunctionConfiguration
    function_policies: dict[str, Any] = field(default_factory=dict)  # name -> the policy document
    roles: dict[str, Any] = field(default_factory=dict)  # name -> (identity policies, boundary policies)
    role_entries: dict[str, Any] = field(default_factory=dict)  # name -> GetRole's Role (trust as a document)
    secrets: dict[str, Any] = field(default_factory=dict)  # name or ARN -> DescribeSecret
    keys: dict[str, Any] = field(default_factory=dict)  # key id or ARN -> KeyMetadata
    key_policies: dict[str, Any] = field(default_factory=dict)  # key ARN -> policy (default: AWS's default)
    subnets_: dict[str, Any] = field(default_factory=dict)
    security_groups_: dict[str, Any] = field(default_factory=dict)
    route_tables_: dict[str, Any] = field(default_factory=dict)  # VPC id -> route tables
    endpoints_: dict[str, Any] = field(default_factory=dict)  # VPC id -> Secrets Manager interface endpoints
    nat_gateways: dict[str, Any] = field(default_factory=dict)
    databases_: Any = field(default_factory=list)  # (kind and id, address, port, security group ids)
    values: dict[str, Any] = field(default_factory=dict)  # ARN -> current value (a dict, or the SecretString)
    simulator: Any = None  # (action, resource) -> IAM's decision; None: the simulator does not answer
    trail: Any = field(default_factory=list)  # CloudTrail's rotation events (LookupEvents' Events)
    trail_why: str = "LookupEvents is not answered here"  # why not all were read ("": all)
    logs: dict[str, Any] = field(default_factory=dict)  # log group -> its events (FilterLogEvents' shape)
    calls: Counter[str] = field(default_factory=Counter)

    # ---- generator.live.reader.Reader -------------------------------------------------------
    def _read(self, method: str, table: dict[str, Any], key: str, default: Any = None) -> Any:
        self.calls[method] += 1
        return _answer(table.get(key, default))

    def caller_account(self) -> str | None:
        self.calls["caller_account"] += 1
        return _answer(self.caller)

    def function_conf(self, name: str) -> dict[str, Any] | None:
        return self._read("function_conf", self.functions, name)

    def function_policy(self, name: str) -> dict[str, Any] | None:
        return self._read("function_policy", self.function_policies, name)

    def role_documents(self, role_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        return self._read("role_documents", self.roles, role_name)

    def role(self, role_name: str) -> dict[str, Any] | None:
        return self._read("role", self.role_entries, role_name)

    def secret(self, secret_id: str) -> dict[str, Any] | None:
        return self._read("secret", self.secrets, secret_id)

    def key(self, key_id: str) -> dict[str, Any] | None:
        return self._read("key", self.keys, key_id)

    def key_policy(self, key_arn: str) -> dict[str, Any]:
        return self._read("key_policy", self.key_policies, key_arn, default_key_policy(self.caller))

    def subnets(self, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        self.calls["subnets"] += 1
        return {i: _answer(self.subnets_[i]) for i in ids if i in self.subnets_}

    def security_groups(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        self.calls["security_groups"] += 1
        return {g: _answer(self.security_groups_.get(g)) for g in sorted(set(ids))}

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._read("route_tables", self.route_tables_, vpc_id, [])

    def endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._read("endpoints", self.endpoints_, vpc_id, [])

    def nat_gateway(self, nat_id: str) -> dict[str, Any] | None:
        return self._read("nat_gateway", self.nat_gateways, nat_id)

    def databases(self) -> list[tuple[str, str, int | None, list[str]]]:
        self.calls["databases"] += 1
        return _answer(self.databases_)

    def simulate(
        self, role_arn: str, requests: list[tuple[str, str, dict[str, str]]]
    ) -> dict[tuple[str, str], str] | None:
        self.calls["simulate"] += 1
        if self.simulator is None:
            return None  # as in moto: doctor's own evaluator judges
        return {(a, r): self.simulator[(a, r)] for a, r, _ in requests if (a, r) in self.simulator}

    def simulator_status(self) -> str:
        return "IAM's policy simulator was not asked" if self.simulator is None else ""

    def value_fields(self, arn: str, wanted: tuple[str, ...]) -> ValueShape:
        self.calls["value_fields"] += 1
        value = _answer(self.values.get(arn))
        return value_shape_of(json.dumps(value) if isinstance(value, dict) else value, wanted)

    def value_shape(self, arn: str) -> ValueShape:
        self.calls["value_shape"] += 1
        value = _answer(self.values.get(arn))
        return value_shape_of(json.dumps(value) if isinstance(value, dict) else value, ("engine",))

    def rotation_events(
        self, names: tuple[str, ...], start: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], str]:
        self.calls["rotation_events"] += 1
        return [e for e in _answer(self.trail) if e.get("EventName") in names], self.trail_why

    def rotation_log(self, request: Any) -> tuple[list[dict[str, Any]], bool] | None:
        """The events of the request's log group (all of them: the filter is not applied), or
        None when the group does not exist."""
        self.calls["rotation_log"] += 1
        events = _answer(self.logs.get(request.get("logGroupName")))
        return None if events is None else (events, True)

    # ---- what Doctor needs besides: its pool, in order; no listing --------------------------
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return [fn(i) for i in items]

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as the pool would
            done.set_exception(exc)
        return done

    def list_secrets(self, secret_ids: Iterable[str], on_listed: Any = None) -> None:
        return None  # not listed: every secret is described (DescribeSecret's shape)

    def forget_listed(self, secret_ids: Iterable[str]) -> bool:
        return False

    # ---- building the account -----------------------------------------------------------------
    def add_key(self, key_arn: str, *, state: str = "Enabled", manager: str = "CUSTOMER", policy: Any = None) -> str:
        meta = {"Arn": key_arn, "KeyId": key_arn.rsplit("/", 1)[-1], "KeyManager": manager, "KeyState": state}
        self.keys[key_arn] = self.keys[meta["KeyId"]] = meta
        if policy is not None:
            self.key_policies[key_arn] = policy
        return key_arn

    def add_secret(self, secret_arn: str, *, kms_key: str | None = None, tags: dict[str, str] | None = None,
                   value: Any = None, **description: Any) -> dict[str, Any]:  # fmt: skip
        """A secret, under ``kms_key`` (a customer managed key, added if new; None: aws/secretsmanager),
        described as DescribeSecret would, with ``description`` (RotationEnabled=True, ...) on top."""
        name = secret_arn.split(":secret:", 1)[1][: -len("-AbCdEf")]
        d: dict[str, Any] = {"ARN": secret_arn, "Name": name, "CreatedDate": NOW - timedelta(days=3), **description}
        if kms_key:
            d["KmsKeyId"] = kms_key
            if kms_key not in self.keys:
                self.add_key(kms_key)
        if tags:
            d["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.secrets[secret_arn] = self.secrets[name] = d
        if value is not None:
            self.values[secret_arn] = value
        return d

    def rotate(self, secret_arn: str, function_arn: str, days: int = 30, *, last: datetime | None = None) -> None:
        """Rotation on with ``function_arn`` every ``days``, last rotated ``last`` (a day ago)."""
        d = self.secrets[secret_arn]
        d.update(RotationEnabled=True, RotationLambdaARN=function_arn, RotationRules={"AutomaticallyAfterDays": days},
                 LastRotatedDate=last or NOW - timedelta(days=1), VersionIdsToStages={"v1": ["AWSCURRENT"]})  # fmt: skip

    def add_function(self, name: str, role_arn: str = ROLE_ARN, **conf: Any) -> str:
        """A function running as ``role_arn`` (not in a VPC unless ``VpcConfig`` says so)."""
        function_arn = arn("lambda", f"function:{name}")
        self.functions[name] = {"FunctionName": name, "FunctionArn": function_arn, "Role": role_arn,
                                "Runtime": "python3.12", "PackageType": "Zip", **conf}  # fmt: skip
        return function_arn

    def add_role(self, name: str, *policies: dict[str, Any], boundary: dict[str, Any] | None = None,
                 trust: dict[str, Any] | None = None) -> str:  # fmt: skip
        self.roles[name] = ([copy.deepcopy(p) for p in policies], [boundary] if boundary else [])
        role_arn = f"arn:aws:iam::{self.caller}:role/{name}"
        self.role_entries[name] = {"RoleName": name, "Arn": role_arn, "AssumeRolePolicyDocument": trust or {}}
        return role_arn


def allow(actions: str | list[str], resources: str | list[str] = "*", sid: str = "Allow") -> dict[str, Any]:
    """A policy document with one Allow statement."""
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}]}  # fmt: skip


def policy_with_role(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A role's (identity policies, boundary) holding ``doc`` (a deep copy)."""
    return [json.loads(json.dumps(doc))], []


# ---- the healthy world (tests/helpers/liveworld.py's, in dicts) ----------------------------------------
FUNCTION, ALT_FUNCTION = "legacy-rotator", "legacy-alt-rotator"
FUNCTION_ARN, ALT_FUNCTION_ARN = arn("lambda", f"function:{FUNCTION}"), arn("lambda", f"function:{ALT_FUNCTION}")
VPC, ENDPOINT = "vpc-0a1b2c3d4e5f60718", "vpce-0c3d4e5f607182a1b"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f60718a1")
FN_SG, EP_SG = "sg-0f1a2b3c4d5e60718", "sg-0e2a3b4c5d6f70819"
KEY = arn("kms", "key/11111111-2222-3333-4444-555555555555")
MASTER_KEY = arn("kms", "key/66666666-7777-8888-9999-000000000000")
ORDERS, BILLING, USERS, ADMIN = "prod/orders/db", "prod/billing/db", "prod/users/db", "prod/users/db-admin"
SECRET_ARNS = {n: arn("secretsmanager", f"secret:{n}-AbCdEf") for n in (ORDERS, BILLING, USERS, ADMIN)}
VALUE = {"engine": "postgres", "host": "db.example.internal", "username": "app", "password": "p"}


def rotation_policy() -> dict[str, Any]:
    """The rotation role's inline policy in the healthy world (liveworld's)."""
    rotated = [SECRET_ARNS[n] for n in (ORDERS, BILLING, USERS)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Rotate", "Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
             "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], "Resource": rotated},
            {"Sid": "Master", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET_ARNS[ADMIN]},
            {"Sid": "Password", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [KEY, MASTER_KEY]},
            {"Sid": "Eni", "Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
             "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"], "Resource": "*"},
        ],
    }  # fmt: skip


def permission_policy(
    function_arn: str, account: str | None = ACCOUNT, sid: str = "SecretsManagerAccess"
) -> dict[str, Any]:
    """A function policy letting Secrets Manager invoke it (with aws:SourceAccount ``account``)."""
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"},
                                 "Action": "lambda:InvokeFunction", "Resource": function_arn}  # fmt: skip
    if account:
        statement["Condition"] = {"StringEquals": {"AWS:SourceAccount": account}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def healthy() -> tuple[FakeAccount, dict[str, Any]]:
    """The account where every check passes, and its manifest (as a dict, for :func:`load`)."""
    a = FakeAccount()
    role_arn = a.add_role(ROLE, rotation_policy())
    a.subnets_ = {SUBNETS[0]: {"SubnetId": SUBNETS[0], "VpcId": VPC, "CidrBlock": "10.0.1.0/24"},
                  SUBNETS[1]: {"SubnetId": SUBNETS[1], "VpcId": VPC, "CidrBlock": "10.0.2.0/24"}}  # fmt: skip
    a.security_groups_ = {
        FN_SG: {"GroupId": FN_SG, "IpPermissions": [],
                "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
        EP_SG: {"GroupId": EP_SG, "IpPermissionsEgress": [],
                "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": FN_SG}]}]},
    }  # fmt: skip
    a.endpoints_ = {VPC: [{"VpcEndpointId": ENDPOINT, "VpcEndpointType": "Interface", "State": "available",
                           "PrivateDnsEnabled": True, "Groups": [{"GroupId": EP_SG}]}]}  # fmt: skip
    a.route_tables_ = {VPC: [{"RouteTableId": "rtb-0d4", "Associations": [{"Main": True}],
                              "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}]}]}  # fmt: skip
    for name, fn_arn in ((FUNCTION, FUNCTION_ARN), (ALT_FUNCTION, ALT_FUNCTION_ARN)):
        a.functions[name] = {"FunctionName": name, "FunctionArn": fn_arn, "Role": role_arn, "Runtime": "python3.12",
                             "PackageType": "Zip",
                             "VpcConfig": {"SubnetIds": list(SUBNETS), "SecurityGroupIds": [FN_SG], "VpcId": VPC}}  # fmt: skip
        a.function_policies[name] = permission_policy(fn_arn)
    a.add_key(KEY)
    a.add_key(MASTER_KEY)
    a.add_secret(SECRET_ARNS[ORDERS], kms_key=KEY, value=VALUE)
    a.add_secret(SECRET_ARNS[BILLING], value=VALUE)
    a.add_secret(SECRET_ARNS[ADMIN], kms_key=MASTER_KEY, value=dict(VALUE, username="admin"))
    a.add_secret(SECRET_ARNS[USERS], value=dict(VALUE, masterarn=SECRET_ARNS[ADMIN]))
    a.rotate(SECRET_ARNS[ORDERS], FUNCTION_ARN)
    a.rotate(SECRET_ARNS[BILLING], FUNCTION_ARN)
    a.rotate(SECRET_ARNS[USERS], ALT_FUNCTION_ARN)
    vpc = {"subnet_ids": list(SUBNETS), "security_group_ids": [FN_SG]}
    manifest = {
        "version": 1, "account_id": ACCOUNT, "region": REGION,
        "functions": {
            "legacy": {"strategy": "single_user", "engine": "postgresql", "existing_function_arn": FUNCTION_ARN, "vpc": vpc},
            "legacy-alt": {"strategy": "alternating_users", "engine": "postgresql", "existing_function_arn": ALT_FUNCTION_ARN,
                           "vpc": vpc},
        },
        "secrets": {
            ORDERS: {"function": "legacy", "arn": SECRET_ARNS[ORDERS], "kms_key_arn": KEY, "schedule": {"every_days": 30}},
            BILLING: {"function": "legacy", "arn": SECRET_ARNS[BILLING], "schedule": {"every_days": 30}},
            USERS: {"function": "legacy-alt", "arn": SECRET_ARNS[USERS], "schedule": {"every_days": 30},
                    "master_secret": {"arn": SECRET_ARNS[ADMIN], "kms_key_arn": MASTER_KEY}},
        },
    }  # fmt: skip
    return a, manifest


# ---- running doctor ---------------------------------------------------------------------------
def load(tmp_path: Path, data: dict[str, Any], name: str = "m.yaml") -> model.Module:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    module, _ = api.load(path)
    return module


def judge(module: model.Module, account: FakeAccount, *, before_apply: bool = False, read_values: bool = False,
          now: datetime = NOW) -> Report:  # fmt: skip
    """What doctor reports for ``module`` with ``account``: its checks, ordered and grouped."""
    return Doctor(None, module, reader=account, before_apply=before_apply, read_values=read_values, now=now).run()


def judge_secret(module: model.Module, account: FakeAccount, secret: str, *, before_apply: bool = False,
                 read_values: bool = False, now: datetime = NOW) -> list[Finding]:  # fmt: skip
    """The findings of one secret's checks alone (no function judged: none of its checks failed)."""
    ctx = Context(account, module, read_values=read_values, now=now, before_apply=before_apply)
    s = next(x for x in module.secrets if x.name == secret)
    return judge_subject(SecretSubject(ctx, s), RUN_ORDER[SECRET])


def check(module: model.Module, account: FakeAccount, secret: str, check: str, **kw: Any) -> Finding:
    """The one finding of ``check`` about ``secret``, its other checks judged as doctor does."""
    (f,) = [f for f in judge_secret(module, account, secret, **kw) if f.check == check]
    return f


def findings(report: Report, subject: str, check: str) -> list[Finding]:
    return [f for f in report.findings if subject in f.subjects and f.check == check]


def one(report: Report, subject: str, check: str) -> Finding:
    """The one finding of ``check`` about ``subject``."""
    got = findings(report, subject, check)
    assert len(got) == 1, (subject, check, [(f.subject, f.check, f.status) for f in report.findings])
    return got[0]


def statuses(report: Report, subject: str) -> dict[str, str]:
    """check -> status of every finding about ``subject``, in the report's order."""
    return {f.check: f.status for f in report.findings if subject in f.subjects}
