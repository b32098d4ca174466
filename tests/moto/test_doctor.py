"""`rotation-tf doctor` against worlds in moto: the healthy world passes every check, and
each fault, planted alone, is found on the right subject with a fix.

The worlds are built by tests/helpers/liveworld.py (moto limits PENDING, NO_DOCKER and CLOCK are
worked around there). No terraform is needed: the worlds are made with boto3.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import liveworld as lw
from helpers.harness import free_port
from helpers.paths import ROOT

from generator import terminal
from generator.live import commands

pytestmark = [pytest.mark.moto]


@pytest.fixture
def server(aws_server):
    return aws_server


@pytest.fixture
def world(server, aws_env):
    server.reset()
    return lw.build(server)


def run_doctor(
    world: lw.World, tmp_path: Path, data: dict | None = None, **kw: Any
) -> tuple[int, list[dict[str, str]]]:
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(data or lw.manifest(world)))
    out = io.StringIO()
    code = commands.doctor(
        path, commands.Connection(endpoint_url=world.server.url, max_attempts=2), fmt="json", out=out, **kw
    )
    findings = json.loads(out.getvalue())["findings"]
    keys = {"account", "region", "subject", "subjects", "check", "status", "message", "fix", "cause", "details"}
    assert all(set(f) == keys for f in findings)
    assert all(f["subject"] == f["subjects"][0] for f in findings)
    return code, findings


def with_status(findings: list[dict[str, Any]], status: str) -> set[tuple[str, str]]:
    """(subject, check) of every finding with ``status``, a grouped finding once per subject."""
    return {(s, f["check"]) for f in findings if f["status"] == status for s in f["subjects"]}


def failing(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return with_status(findings, "fail")


def finding(findings: list[dict[str, Any]], subject: str, check: str) -> dict[str, Any]:
    return next(f for f in findings if f["check"] == check and subject in f["subjects"])


def test_healthy_world_passes_every_check(world, tmp_path):
    code, findings = run_doctor(world, tmp_path)
    assert code == 0
    assert {f["status"] for f in findings} == {"pass"}, [f for f in findings if f["status"] != "pass"]
    checks = {(f["subject"], f["check"]) for f in findings}
    for key in ("legacy", "legacy-alt"):
        for check in ("function", "runtime", "vpc-config", "network", "egress", "permission", "role"):
            assert (key, check) in checks
    for name in (*lw.SECRETS, lw.ALT_SECRET):
        for check in ("secret", "kms-key", "grants", "rotation", "schedule", "overdue", "pending"):
            assert (name, check) in checks
    assert (lw.SECRETS[0], "key-policy") in checks and (lw.ALT_SECRET, "master-secret") in checks


# ---- the faults, one at a time -------------------------------------------------------------
# Each: (what it does to the world, manifest overrides, the failing (subject, check) set).

ORDERS, BILLING = lw.SECRETS
USERS = lw.ALT_SECRET
BOTH = ("legacy", "legacy-alt")


def _no_endpoint_igw(w: lw.World) -> None:
    ec2 = w.client("ec2")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[w.ids["endpoint"]])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=w.ids["vpc"])
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [w.ids["vpc"]]}])["RouteTables"][0][
        "RouteTableId"
    ]
    ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)


def _nat_instead_of_endpoint(w: lw.World) -> None:
    ec2 = w.client("ec2")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[w.ids["endpoint"]])
    public = ec2.create_subnet(VpcId=w.ids["vpc"], CidrBlock="10.0.100.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=w.ids["vpc"])
    public_rt = ec2.create_route_table(VpcId=w.ids["vpc"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    private_rt = ec2.create_route_table(VpcId=w.ids["vpc"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for sub in ("subnet-a", "subnet-b"):
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=w.ids[sub])


def _endpoint_sg_closed(w: lw.World) -> None:
    w.client("ec2").revoke_security_group_ingress(
        GroupId=w.ids["ep-sg"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": w.ids["fn-sg"]}]}
        ],
    )


def _endpoint_dns_off(w: lw.World) -> None:
    ec2 = w.client("ec2")  # moto's ModifyVpcEndpoint keeps PrivateDnsEnabled: make the endpoint again without it
    ec2.delete_vpc_endpoints(VpcEndpointIds=[w.ids["endpoint"]])
    w.ids["endpoint"] = ec2.create_vpc_endpoint(
        VpcId=w.ids["vpc"], ServiceName=f"com.amazonaws.{w.region}.secretsmanager", VpcEndpointType="Interface",
        SubnetIds=[w.ids["subnet-a"], w.ids["subnet-b"]], SecurityGroupIds=[w.ids["ep-sg"]], PrivateDnsEnabled=False,
    )["VpcEndpoint"]["VpcEndpointId"]  # fmt: skip


def _egress_closed(w: lw.World) -> None:
    w.client("ec2").revoke_security_group_egress(
        GroupId=w.ids["fn-sg"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


def _key_disabled(w: lw.World) -> None:
    w.client("kms").disable_key(KeyId=w.ids["key"].rsplit("/", 1)[1])


def _key_policy_closed(w: lw.World) -> None:
    other = f"arn:aws:iam::{lw.ACCOUNT}:role/key-admins"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": other}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    w.client("kms").put_key_policy(KeyId=w.ids["key"], PolicyName="default", Policy=json.dumps(policy))


def _permission_without_source_account(w: lw.World) -> None:
    w.client("lambda").add_permission(
        FunctionName=lw.FUNCTION,
        StatementId="console-added",
        Action="lambda:InvokeFunction",
        Principal="secretsmanager.amazonaws.com",
    )


def _role_lacks_billing(w: lw.World) -> None:
    rotated = [w.secret_arns[ORDERS], w.secret_arns[USERS]]
    doc = lw._role_policy(w, [w.ids["key"], w.ids["master-key"]], rotated, w.secret_arns[lw.MASTER])
    w.client("iam").put_role_policy(RoleName=lw.ROLE, PolicyName="rotation", PolicyDocument=json.dumps(doc))


def _rotation_off(w: lw.World) -> None:
    w.client("secretsmanager").cancel_rotate_secret(SecretId=w.secret_arns[BILLING])


def _pending(w: lw.World) -> None:
    lw.rotate(w, BILLING, keep_pending=True)


def _nothing(w: lw.World) -> None:
    pass


FAULTS: dict[str, tuple[Callable[[lw.World], None], Callable[[lw.World], dict[str, Any]], set[tuple[str, str]]]] = {
    "function missing": (
        _nothing,
        lambda w: {"functions.legacy.existing_function_arn": w.ids["function"].replace(lw.FUNCTION, "no-such-rotator")},
        {("legacy", "function")},
    ),
    "VPC config differs": (
        _nothing,
        lambda w: {"functions.legacy.vpc.security_group_ids": [w.ids["ep-sg"]]},
        {("legacy", "vpc-config")},
    ),
    "no endpoint, internet gateway only": (_no_endpoint_igw, lambda w: {}, {(k, "network") for k in BOTH}),
    "endpoint security group closed": (_endpoint_sg_closed, lambda w: {}, {(k, "network") for k in BOTH}),
    "endpoint without private DNS": (_endpoint_dns_off, lambda w: {}, {(k, "network") for k in BOTH}),
    "egress closed": (_egress_closed, lambda w: {}, {(k, "egress") for k in BOTH}),
    "KMS key differs": (
        _nothing,
        lambda w: {f"secrets.{ORDERS}.kms_key_arn": w.ids["master-key"]},
        {(ORDERS, "kms-key")},
    ),
    "KMS key disabled": (_key_disabled, lambda w: {}, {(ORDERS, "key-state")}),
    "key policy neither delegates nor names the role": (_key_policy_closed, lambda w: {}, {(ORDERS, "key-policy")}),
    "permission without aws:SourceAccount": (
        _permission_without_source_account,
        lambda w: {},
        {("legacy", "permission")},
    ),
    "role lacks the grants": (_role_lacks_billing, lambda w: {}, {(BILLING, "grants")}),
    "rotation off": (_rotation_off, lambda w: {}, {(BILLING, "rotation")}),
    "schedule differs": (
        _nothing,
        lambda w: {f"secrets.{BILLING}.schedule": {"every_days": 15}},
        {(BILLING, "schedule")},
    ),
    "unfinished rotation (AWSPENDING)": (_pending, lambda w: {}, {(BILLING, "pending")}),
    "master secret missing": (
        _nothing,
        lambda w: {f"secrets.{USERS}.master_secret": {"arn": w.secret_arns[lw.MASTER][:-6] + "Nope00"}},
        {(USERS, "master-secret")},
    ),
}

# A finding that follows from another is unknown and names the one that causes it: these
# are never a second fail (whose fix, "run terraform apply", would change nothing).
CAUSED: dict[str, dict[tuple[str, str], tuple[str, str]]] = {
    "function missing": {
        # whose role? and the fix would point the rotation at a function that does not exist
        **{(n, c): ("legacy", "function") for n in (ORDERS, BILLING) for c in ("grants", "rotation")},
    },
    "key policy neither delegates nor names the role": {(ORDERS, "grants"): (ORDERS, "key-policy")},
    "master secret missing": {(USERS, "grants"): (USERS, "master-secret")},
}

# A rotation that did not finish sends last-rotation to the function's log, which this world's
# functions never wrote: the log group does not exist, and last-rotation says so (unknown:
# doctor cannot say why the rotation failed). The logs of AWS's code failing for real are read
# in the rotation tier (tests/helpers/rotation_diagnosis.py).
UNREAD: dict[str, set[tuple[str, str]]] = {"unfinished rotation (AWSPENDING)": {(BILLING, "last-rotation")}}


def _unread(findings: list[dict[str, Any]], fault: str) -> set[tuple[str, str]]:
    for subject, check in UNREAD.get(fault, set()):
        f = finding(findings, subject, check)
        assert "log group /aws/lambda/legacy-rotator does not exist" in f["message"], f
        assert "AWSPENDING" in f["message"] and "logs:PutLogEvents" in f["fix"], f
        assert f["details"]["log_group"] == "/aws/lambda/legacy-rotator", f
    return UNREAD.get(fault, set())


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_found_once_with_a_fix(world, tmp_path, fault):
    plant, overrides, expected = FAULTS[fault]
    plant(world)
    code, findings = run_doctor(world, tmp_path, lw.manifest(world, **overrides(world)))
    assert code == 1
    assert failing(findings) == expected, [f for f in findings if f["status"] == "fail"]
    # One root cause, one failure: a fault both functions share is one finding naming both.
    fails = [f for f in findings if f["status"] == "fail"]
    assert len(fails) == 1, fails
    assert fails[0]["fix"].strip()
    caused = CAUSED.get(fault, {})
    assert with_status(findings, "unknown") == set(caused) | _unread(findings, fault)
    for (subject, check), (cause_subject, cause_check) in caused.items():
        f = finding(findings, subject, check)
        assert f["cause"] == {"subject": cause_subject, "check": cause_check}, f
        assert cause_check in f["message"] and cause_subject in f["message"], f
        assert "terraform apply" not in f["fix"], f


# ---- the fixes, applied: each finding's fix makes it pass ------------------------------------
# For each fault of FAULTS the fix the finding names is carried out as a user would (read from
# the fix text where it is a command or a statement), then doctor runs again and passes.
# Faults that terraform apply fixes are proven by applying the module in test_moto_doctor_apply.py.

APPLIED_BY_TERRAFORM = {"role lacks the grants", "rotation off", "schedule differs"}


def _one_fail(findings: list[dict[str, Any]]) -> dict[str, Any]:
    fails = [f for f in findings if f["status"] == "fail"]
    assert len(fails) == 1, fails
    return fails[0]


def _grab(pattern: str, text: str) -> tuple[str, ...]:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in {text!r}"
    return m.groups()


def _carry_out(w: lw.World, fault: str, fail: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Do what ``fail``'s fix says; returns the manifest to check next."""
    fix = fail["fix"]
    if fault == "function missing":
        assert "existing_function_arn" in fix
        return lw.manifest(w)  # the ARN of the function that exists
    if fault == "VPC config differs":
        (vpc,) = _grab(r"set functions\.legacy\.vpc to (\{.*\})", fix)
        data["functions"]["legacy"]["vpc"] = yaml.safe_load(vpc)
        return data
    if fault == "no endpoint, internet gateway only":
        service, vpc, group = _grab(r"interface VPC endpoint for (\S+) in (vpc-\w+) with private DNS on and a "
                                    r"security group that admits TCP 443 from (sg-\w+)", fix)  # fmt: skip
        ec2 = w.client("ec2")
        ep_sg = ec2.create_security_group(GroupName="sm-endpoint-2", Description="endpoint", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": group}]}])  # fmt: skip
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=service, VpcEndpointType="Interface",
                                SubnetIds=[w.ids["subnet-a"], w.ids["subnet-b"]], SecurityGroupIds=[ep_sg],
                                PrivateDnsEnabled=True)  # fmt: skip
        return data
    if fault == "endpoint security group closed":
        target, port, source = _grab(r"add an inbound rule to (sg-\w+): TCP (\d+) from (sg-\w+)", fix)
        w.client("ec2").authorize_security_group_ingress(GroupId=target, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": int(port), "ToPort": int(port), "UserIdGroupPairs": [{"GroupId": source}]}])  # fmt: skip
        return data
    if fault == "endpoint without private DNS":
        (endpoint,) = _grab(r"aws ec2 modify-vpc-endpoint --vpc-endpoint-id (vpce-\w+) --private-dns-enabled", fix)
        lw.enable_private_dns(w, endpoint)
        return data
    if fault == "egress closed":
        group, cidr = _grab(r"add an outbound rule to (sg-\w+): TCP 443 to (\S+)", fix)
        w.client("ec2").authorize_security_group_egress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}])  # fmt: skip
        return data
    if fault == "KMS key differs":
        name, key = _grab(r"set secrets\.(.+)\.kms_key_arn: (\S+)$", fix)
        data["secrets"][name]["kms_key_arn"] = key
        return data
    if fault == "KMS key disabled":
        (key,) = _grab(r"^aws kms enable-key --key-id (\S+)$", fix)
        lw.enable_key(w, key)
        return data
    if fault == "key policy neither delegates nor names the role":
        (key,) = _grab(r"the policy of key (\S+) ", fail["message"])
        statement = json.loads(fix[fix.index("{") :])
        kms = w.client("kms")
        policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        policy["Statement"].append(statement)
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        return data
    if fault == "permission without aws:SourceAccount":
        function, sid = _grab(r"aws lambda remove-permission --function-name (\S+) --statement-id ([^;\s]+)", fix)
        w.client("lambda").remove_permission(FunctionName=function, StatementId=sid)
        return data
    if fault == "unfinished rotation (AWSPENDING)":
        secret, version = _grab(r"aws secretsmanager update-secret-version-stage --secret-id (\S+) "
                                r"--version-stage AWSPENDING --remove-from-version-id ([\w-]+)", fix)  # fmt: skip
        w.client("secretsmanager").update_secret_version_stage(
            SecretId=secret, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )
        return data
    if fault == "master secret missing":
        assert f"secrets.{USERS}.master_secret" in fix
        return lw.manifest(w)  # the master secret that exists
    raise AssertionError(f"no automated fix for {fault}")


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - APPLIED_BY_TERRAFORM))
def test_each_fix_makes_its_finding_pass(world, tmp_path, fault):
    plant, overrides, expected = FAULTS[fault]
    plant(world)
    data = lw.manifest(world, **overrides(world))
    _, findings = run_doctor(world, tmp_path, data)
    data = _carry_out(world, fault, _one_fail(findings), data)
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 0 and {f["status"] for f in findings} == {"pass"}, [f for f in findings if f["status"] != "pass"]
    assert with_status(findings, "pass") >= expected | set(CAUSED.get(fault, {}))


def test_a_disabled_key_of_several_secrets_is_one_failure_naming_each(world, tmp_path):
    sm = world.client("secretsmanager")
    sm.update_secret(SecretId=world.secret_arns[BILLING], KmsKeyId=world.ids["key"])
    sm.update_secret(SecretId=world.secret_arns[USERS], KmsKeyId=world.ids["key"])
    data = lw.manifest(world, **{f"secrets.{n}.kms_key_arn": world.ids["key"] for n in (BILLING, USERS)})
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 0, [f for f in findings if f["status"] != "pass"]
    _key_disabled(world)
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 1
    fail = _one_fail(findings)
    assert fail["check"] == "key-state" and sorted(fail["subjects"]) == sorted([ORDERS, BILLING, USERS])
    assert fail["fix"] == f"aws kms enable-key --key-id {world.ids['key']}"
    out = io.StringIO()
    path = tmp_path / "rotation.yaml"
    commands.doctor(path, commands.Connection(endpoint_url=world.server.url, max_attempts=2), out=out)
    text = out.getvalue()
    assert text.count("FAIL") == 1 and all(n in text for n in (ORDERS, BILLING, USERS))
    assert ", 1 fail," in text
    lw.enable_key(world, world.ids["key"])
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 0


def test_after_re_encryption_grants_follow_from_kms_key(world, tmp_path):
    """The secret moved to a key the manifest does not name (and the role has no grant on):
    kms-key says set kms_key_arn; grants is unknown because of it, not "run terraform apply"
    (which grants nothing until the manifest names the key). Regenerating and applying is
    proven in test_moto_doctor_apply.py."""
    other = world.client("kms").create_key(Description="re-encrypted")["KeyMetadata"]["Arn"]
    world.client("secretsmanager").update_secret(SecretId=world.secret_arns[ORDERS], KmsKeyId=other)
    code, findings = run_doctor(world, tmp_path)
    assert code == 1 and failing(findings) == {(ORDERS, "kms-key")}
    assert finding(findings, ORDERS, "kms-key")["fix"] == f"set secrets.{ORDERS}.kms_key_arn: {other}"
    grants = finding(findings, ORDERS, "grants")
    assert grants["status"] == "unknown" and grants["cause"] == {"subject": ORDERS, "check": "kms-key"}


def test_the_fix_matches_the_fault_rotation_off_schedule_or_window(world, tmp_path):
    """Rotation off: apply turns it on. Rotation on with another schedule or window: apply sets
    them, and the fix does not claim rotation is off."""
    ident = f"aws_secretsmanager_secret_rotation.{BILLING.replace('/', '_')}"

    def fix_of(data: dict) -> dict[str, str]:
        _, findings = run_doctor(world, tmp_path, data)
        return {f["check"]: f["fix"] for f in findings if f["subject"] == BILLING and f["status"] == "fail"}

    # moto keeps no Duration (moto limit: windows are not modelled), so a manifest window is one
    # the live rotation lacks: the window alone differs while rotation is on.
    window = fix_of(lw.manifest(world, **{f"secrets.{BILLING}.schedule": {"every_days": 30, "window": "4h"}}))
    assert set(window) == {"schedule"}
    assert (
        window["schedule"]
        == f"run terraform apply ({ident} sets the window to the manifest's: every 30 days, window 4h); rotation is already on"
    )
    both = fix_of(lw.manifest(world, **{f"secrets.{BILLING}.schedule": {"every_days": 15, "window": "4h"}}))
    assert both["schedule"].startswith(
        f"run terraform apply ({ident} sets the schedule and window to the manifest's: every 15 days, window 4h)"
    )
    days = fix_of(lw.manifest(world, **{f"secrets.{BILLING}.schedule": {"every_days": 15}}))
    assert days["schedule"].startswith(
        f"run terraform apply ({ident} sets the schedule to the manifest's: every 15 days)"
    )
    assert not any("turns it on" in f for f in (*window.values(), *both.values(), *days.values()))
    _rotation_off(world)
    off = fix_of(lw.manifest(world))
    assert off == {"rotation": f"run terraform apply ({ident} turns it on)"}


def test_an_existing_functions_grants_are_fixed_on_the_role_it_runs_as(world, tmp_path):
    """The module puts an existing function's policy on the role the function runs as: missing
    grants there are fixed by apply (with or without execution_role_arn); an execution_role_arn
    that is not that role fails the role check and says which role to name."""
    _role_lacks_billing(world)
    policy = "legacy-rotation-use1"  # <key>-rotation-<region> on the function's own role
    for overrides in ({}, {"functions.legacy.execution_role_arn": world.ids["role"]}):
        _, findings = run_doctor(world, tmp_path, lw.manifest(world, **overrides))
        grants = next(f for f in findings if f["subject"] == BILLING and f["check"] == "grants")
        assert grants["status"] == "fail"
        assert (
            grants["fix"] == f"run terraform apply: the module puts policy {policy} with these grants on role {lw.ROLE}"
        )
    other = world.client("iam").create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(lw.TRUST))[
        "Role"
    ]["Arn"]
    code, findings = run_doctor(world, tmp_path, lw.manifest(world, **{"functions.legacy.execution_role_arn": other}))
    assert code == 1
    role = next(f for f in findings if f["subject"] == "legacy" and f["check"] == "role")
    assert role["status"] == "fail" and "execution_role_arn" in role["message"] and other in role["message"]
    assert role["fix"].startswith(f"set functions.legacy.execution_role_arn to {world.ids['role']}")
    # the grants follow from the role check: unknown, naming it (its fix is the role's fix)
    grants = finding(findings, BILLING, "grants")
    assert grants["status"] == "unknown" and grants["cause"] == {"subject": "legacy", "check": "role"}
    assert failing(findings) == {("legacy", "role")}
    # carried out, the role check passes; the grants are then the apply's to fix
    (role_arn,) = _grab(r"^set functions\.legacy\.execution_role_arn to ([^,\s]+)", role["fix"])
    _, findings = run_doctor(world, tmp_path, lw.manifest(world, **{"functions.legacy.execution_role_arn": role_arn}))
    assert failing(findings) == {(BILLING, "grants")}
    assert finding(findings, BILLING, "grants")["fix"].startswith("run terraform apply: the module puts policy")


def test_internet_gateway_alone_is_named(world, tmp_path):
    _no_endpoint_igw(world)
    _, findings = run_doctor(world, tmp_path)
    net = next(f for f in findings if f["subject"] == "legacy" and f["check"] == "network")
    assert "internet gateway" in net["message"] and "no public IP" in net["message"]
    assert "NAT gateway" in net["fix"] and f"com.amazonaws.{lw.REGION}.secretsmanager" in net["fix"]


def test_nat_gateway_route_is_a_way_out(world, tmp_path):
    _nat_instead_of_endpoint(world)
    code, findings = run_doctor(world, tmp_path)
    assert code == 0, [f for f in findings if f["status"] != "pass"]
    net = next(f for f in findings if f["subject"] == "legacy" and f["check"] == "network")
    assert "NAT gateway" in net["message"]


def test_deprecated_runtime(server, world, tmp_path):
    server.reset()
    w = lw.build(server, runtime="python3.8")
    code, findings = run_doctor(w, tmp_path)
    assert code == 1
    assert failing(findings) == {(k, "runtime") for k in BOTH}
    rt = next(f for f in findings if f["check"] == "runtime")
    assert "2024-10-14" in rt["message"] and "python3." in rt["fix"]


def test_overdue(world, tmp_path, monkeypatch):
    monkeypatch.setenv("ROTATION_TF_TODAY", "2027-01-15")  # 47 days after the last rotation (moto limit CLOCK)
    code, findings = run_doctor(world, tmp_path)
    assert code == 1
    assert failing(findings) == {(n, "overdue") for n in (*lw.SECRETS, lw.ALT_SECRET)}


def test_pending_says_what_usually_causes_it(world, tmp_path):
    _pending(world)
    _, findings = run_doctor(world, tmp_path)
    f = next(f for f in findings if f["check"] == "pending" and f["status"] == "fail")
    assert "A previous rotation isn't complete" in f["message"] and "timeout" in f["message"]
    assert "update-secret-version-stage" in f["fix"] and "troubleshoot_rotation" in f["fix"]


def test_key_policy_fix_is_the_statement(world, tmp_path):
    _key_policy_closed(world)
    _, findings = run_doctor(world, tmp_path)
    f = next(f for f in findings if f["check"] == "key-policy")
    assert world.ids["role"] in f["fix"] and "kms-key-policy-statements.json" in f["fix"]


def test_read_values_checks_keys_without_showing_values(server, tmp_path, aws_env):
    server.reset()
    w = lw.build(server, value={"engine": "postgres", "username": "app", "password": "s3cr3t-Value-Never-Shown"})
    code, findings = run_doctor(w, tmp_path, read_values=True)
    assert code == 1
    assert failing(findings) == {(n, "value") for n in (*lw.SECRETS, lw.ALT_SECRET)}
    text = json.dumps(findings)
    assert "s3cr3t-Value-Never-Shown" not in text and "host" in text


def test_get_secret_value_is_never_called_without_read_values(world, tmp_path, monkeypatch):
    import botocore.client

    real = botocore.client.BaseClient._make_api_call

    def guard(self, operation_name, api_params):
        if operation_name == "GetSecretValue":
            raise AssertionError("GetSecretValue called without --read-values")
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guard)
    code, _ = run_doctor(world, tmp_path)
    assert code == 0


def test_access_denied_is_unknown_and_names_the_action(server, world, tmp_path, monkeypatch, capsys):
    """moto enforces IAM when INITIAL_NO_AUTH_ACTION_COUNT is reached (POST /moto-api/reset-auth).

    moto limit LAMBDA_AUTH: with IAM enforced, moto rejects every Lambda request with
    SignatureDoesNotMatch (its signature check miscomputes Lambda's REST requests; KMS,
    IAM, EC2 and Secrets Manager are fine), so the function checks end unknown here too.
    That is still the property under test: a check that could not run is never a pass.
    """
    iam = world.client("iam")
    iam.create_user(UserName="auditor")
    from generator.live import caller_policy

    policy = caller_policy.policy("doctor")
    policy["Statement"].append({"Effect": "Deny", "Action": "kms:GetKeyPolicy", "Resource": "*"})
    iam.put_user_policy(UserName="auditor", PolicyName="doctor", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    server._post_raw("/moto-api/reset-auth", b"0")
    try:
        code, findings = run_doctor(world, tmp_path)
        summary = capsys.readouterr().err
        unseen = ["function", "grants", "key-policy", "master-secret"]
        accepted, _ = run_doctor(world, tmp_path, allow_unknown=unseen)
        partly, _ = run_doctor(world, tmp_path, allow_unknown=unseen[1:])
    finally:
        server._post_raw("/moto-api/reset-auth", b"inf")
    by = {(f["subject"], f["check"]): f for f in findings}
    key_policy = by[(lw.SECRETS[0], "key-policy")]
    assert key_policy["status"] == "unknown"
    assert "access denied to kms:GetKeyPolicy" in key_policy["message"] and "kms:GetKeyPolicy" in key_policy["fix"]
    assert by[(lw.ALT_SECRET, "master-secret")]["status"] == "unknown"
    assert "kms:GetKeyPolicy" in by[(lw.ALT_SECRET, "master-secret")]["message"]
    # What IAM allowed still ran and passed; nothing the caller could not see passed.
    assert by[(lw.SECRETS[0], "secret")]["status"] == "pass" and by[(lw.SECRETS[0], "key-state")]["status"] == "pass"
    assert by[("legacy", "function")]["status"] == "unknown"  # moto limit LAMBDA_AUTH
    assert {f["status"] for f in findings} <= {"pass", "unknown"}
    # Nothing fails, but not everything was seen: exit 3, with what was not seen and the
    # permission that lets doctor see it, as caller-policy prints it (stderr: stdout is JSON).
    assert not failing(findings) and code == 3
    assert "not seen: function (2 subjects), grants (3 subjects), key-policy (1 subject), master-secret (1" in summary
    assert "let the caller call kms:GetKeyPolicy, as `rotation-tf caller-policy doctor` prints it" in summary
    assert "kms:GetKeyPolicy" in caller_policy.policy("doctor")["Statement"][0]["Action"]
    assert "--allow-unknown function,grants,key-policy,master-secret" in summary
    # accepted by name: exit 0; one of them not accepted: exit 3 still
    assert accepted == 0 and partly == 3


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, timeout=60, env=e, cwd=ROOT
    )


@pytest.mark.parametrize("endpoint", ["closed-port", "not a url"])
def test_unreachable_aws_exits_3_without_traceback(tmp_path, endpoint):
    url = f"http://127.0.0.1:{free_port()}" if endpoint == "closed-port" else endpoint
    manifest = ROOT / "examples" / "rotation.yaml"
    run = _cli("doctor", str(manifest), "--endpoint-url", url, "--max-attempts", "1", "--timeout", "2")
    assert run.returncode == 3, run
    assert "cannot reach AWS" in run.stderr and "Traceback" not in run.stderr + run.stdout
    run = _cli("discover", "--region", "us-east-1", "--endpoint-url", url, "--max-attempts", "1", "--timeout", "2")
    assert run.returncode == 3 and "cannot reach AWS" in run.stderr and "Traceback" not in run.stderr


def test_bad_manifest_and_bad_usage_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\naccount_id: 12\n")
    assert _cli("doctor", str(bad), "--endpoint-url", "http://127.0.0.1:9").returncode == 2
    run = _cli(
        "doctor",
        str(ROOT / "examples" / "rotation.yaml"),
        "--region",
        "eu-west-1",
        "--endpoint-url",
        "http://127.0.0.1:9",
    )
    assert run.returncode == 2 and "region" in run.stderr


def test_text_output_groups_by_function(world, tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(lw.manifest(world)))
    out = io.StringIO()
    code = commands.doctor(path, commands.Connection(endpoint_url=world.server.url), out=out, colour=True)
    text = out.getvalue()
    assert code == 0
    assert text.index("function legacy (") < text.index(f"secret {lw.SECRETS[1]}") < text.index("function legacy-alt (")
    assert "\x1b[32mPASS" in text and "API calls" in text


def test_database_security_group_must_admit_the_function(world, tmp_path):
    """A created secret whose connection.host is an RDS endpoint in the account."""
    ec2, rds, sm = world.client("ec2"), world.client("rds"), world.client("secretsmanager")
    db_sg = ec2.create_security_group(GroupName="db", Description="database", VpcId=world.ids["vpc"])["GroupId"]
    db = rds.create_db_instance(
        DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="admin",
        MasterUserPassword="admin-password-1", AllocatedStorage=20, VpcSecurityGroupIds=[db_sg],
    )["DBInstance"]  # fmt: skip
    host = (
        db["Endpoint"]["Address"]
        if db.get("Endpoint")
        else rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]["Endpoint"]["Address"]
    )
    name = "prod/created/db"
    world.secret_arns[name] = sm.create_secret(
        Name=name, SecretString=json.dumps({"engine": "postgres", "host": host, "username": "app", "password": "x"})
    )["ARN"]
    lw.rotate(world, name)
    data = lw.manifest(world)
    data["secrets"][name] = {"function": "legacy", "create": True, "password_in_database": True,
                             "schedule": {"every_days": 30},
                             "connection": {"host": host, "port": 5432, "username": "app"}}  # fmt: skip
    doc = lw._role_policy(
        world,
        [world.ids["key"], world.ids["master-key"]],
        list(world.secret_arns.values()),
        world.secret_arns[lw.MASTER],
    )
    world.client("iam").put_role_policy(RoleName=lw.ROLE, PolicyName="rotation", PolicyDocument=json.dumps(doc))
    code, findings = run_doctor(world, tmp_path, data)
    assert failing(findings) == {(name, "database")}, [f for f in findings if f["status"] == "fail"]
    f = next(f for f in findings if f["check"] == "database")
    assert "RDS instance orders" in f["message"] and db_sg in f["fix"] and "5432" in f["fix"]
    ec2.authorize_security_group_ingress(
        GroupId=db_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": world.ids["fn-sg"]}],
            }
        ],
    )
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 0 and next(f for f in findings if f["check"] == "database")["status"] == "pass"


def test_preflight_of_a_function_the_module_creates(world, tmp_path):
    """Before apply: a packaged function and its role do not exist yet (warnings), and the
    network path is checked from the manifest's subnets and groups."""
    data = lw.manifest(world)
    data["functions"]["new-fn"] = {
        "strategy": "single_user", "engine": "postgresql",
        "package": {"filename": "rotator.zip", "handler": "lambda_function.lambda_handler", "runtime": "python3.12"},
        "vpc": data["functions"]["legacy"]["vpc"],
    }  # fmt: skip
    data["secrets"][lw.SECRETS[1]]["function"] = "new-fn"
    (tmp_path / "rotator.zip").write_bytes(lw.dummy_zip())
    code, findings = run_doctor(world, tmp_path, data)
    by = {(f["subject"], f["check"]): f for f in findings}
    assert (
        by[("new-fn", "function")]["status"] == "warn"
        and "terraform apply creates it" in by[("new-fn", "function")]["message"]
    )
    assert (
        by[("new-fn", "network")]["status"] == "pass" and "interface endpoint" in by[("new-fn", "network")]["message"]
    )
    assert by[("new-fn", "runtime")]["status"] == "pass"
    assert by[(lw.SECRETS[1], "grants")]["status"] == "warn"  # its role does not exist yet
    # the secret still rotates with the old function: after apply it moves to new-fn
    assert by[(lw.SECRETS[1], "rotation")]["status"] == "fail"
    assert failing(findings) == {(lw.SECRETS[1], "rotation")} and code == 1
    # --before-apply: moving the rotation is what the apply does; nothing else fails
    code, findings = run_doctor(world, tmp_path, data, before_apply=True)
    rotation = finding(findings, lw.SECRETS[1], "rotation")
    assert code == 0 and rotation["status"] == "warn" and "the apply does this" in rotation["message"]
    assert "new-fn" in rotation["message"] or "new-fn" in rotation["fix"]
    _egress_closed(world)
    for before_apply in (False, True):
        code, findings = run_doctor(world, tmp_path, data, before_apply=before_apply)
        assert ("new-fn", "egress") in failing(findings) and code == 1  # the apply makes no rule


def test_read_values_notices_a_master_secret_on_a_single_user_function(server, tmp_path, monkeypatch):
    server.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ROTATION_TF_TODAY", "2026-11-29")
    value = {
        "engine": "postgres",
        "host": "db.example.internal",  # the master's (else the alternating secret fails `replica`)
        "username": "u",
        "password": "p",
        "masterarn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:m-AbCdEf",
    }
    w = lw.build(server, value=value)
    code, findings = run_doctor(w, tmp_path, read_values=True)
    assert with_status(findings, "warn") == {(n, "value") for n in lw.SECRETS} and code == 0
    assert len([f for f in findings if f["status"] == "warn"]) == 1  # one cause, one fix: one finding


def test_master_secret_given_by_name(world, tmp_path):
    code, findings = run_doctor(
        world,
        tmp_path,
        lw.manifest(
            world,
            **{f"secrets.{lw.ALT_SECRET}.master_secret": {"name": lw.MASTER, "kms_key_arn": world.ids["master-key"]}},
        ),
    )
    assert code == 0, [f for f in findings if f["status"] != "pass"]


# ---- ListSecrets, not one DescribeSecret per secret (issue 20 section 3) ----------------------


def _doctor_report(world: lw.World, tmp_path: Path, data: dict | None = None, **kw: Any) -> Any:
    from generator import api
    from generator.live import client, doctor

    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(data or lw.manifest(world)))
    module = api.validate(path).module
    assert module is not None
    aws = client.Aws(region=lw.REGION, endpoint_url=world.server.url, max_attempts=2)
    try:
        return doctor.Doctor(aws, module, **kw).run()
    finally:
        aws.close()


def test_doctor_lists_secrets_and_describes_none_while_all_pass(world, tmp_path):
    listed = _doctor_report(world, tmp_path)
    described = _doctor_report(world, tmp_path, list_secrets=False)
    assert listed.findings == described.findings
    assert {f.status for f in listed.findings} == {"pass"}
    assert listed.calls.get("secretsmanager:ListSecrets") == 1
    assert "secretsmanager:DescribeSecret" not in listed.calls, listed.calls
    assert described.calls["secretsmanager:DescribeSecret"] >= len(lw.SECRETS) + 1
    assert "secretsmanager:ListSecrets" not in described.calls


@pytest.mark.parametrize("fault", ["rotation off", "unfinished rotation (AWSPENDING)", "KMS key differs"])
def test_a_failing_secret_is_described_again_and_judged_alike(world, tmp_path, fault):
    plant, overrides, _expected = FAULTS[fault]
    plant(world)
    data = lw.manifest(world, **overrides(world))
    listed = _doctor_report(world, tmp_path, data)
    described = _doctor_report(world, tmp_path, data, list_secrets=False)
    assert listed.findings == described.findings
    assert any(f.status == "fail" for f in listed.findings)
    assert 1 <= listed.calls.get("secretsmanager:DescribeSecret", 0) < described.calls["secretsmanager:DescribeSecret"]


def test_each_secret_is_judged_as_its_page_comes_in_and_never_before(world, tmp_path, monkeypatch):
    """doctor checks a secret while later pages are still being listed (the bench's 10,000
    secrets), but never before the page naming it and its master secret. Here the pages come
    one secret at a time, the rotated secret that reads the master first and the master last
    (with a pause after each): a check that started early would describe the master."""
    import time

    from generator.live import reader

    listing = reader.AccountReader.list_secrets
    master = (lw.MASTER, world.secret_arns[lw.MASTER])

    def master_last(self: reader.AccountReader, ids: Any, on_listed: Any = None) -> None:
        listing(self, ids)
        entries = dict(self._listed)
        self._listed.clear()
        order = sorted(entries, key=lambda i: (i in master, i not in (lw.ALT_SECRET, world.secret_arns[lw.ALT_SECRET])))
        for ident in order:
            self._listed[ident] = entries[ident]
            on_listed([ident])
            time.sleep(0.1)

    data = lw.manifest(
        world,
        **{f"secrets.{lw.ALT_SECRET}.master_secret": {"name": lw.MASTER, "kms_key_arn": world.ids["master-key"]}},
    )
    described = _doctor_report(world, tmp_path, data, list_secrets=False)
    monkeypatch.setattr(reader.AccountReader, "list_secrets", master_last)
    listed = _doctor_report(world, tmp_path, data)
    assert listed.findings == described.findings
    assert {f.status for f in listed.findings} == {"pass"}
    assert "secretsmanager:DescribeSecret" not in listed.calls, listed.calls


def test_a_stale_list_entry_never_makes_a_failure(world, tmp_path, monkeypatch):
    """ListSecrets "might not reflect changes from the last five minutes"; moto's is never
    stale, so the staleness is planted in the entries the reader keeps: rotation shows off.
    Every secret then fails on the list's word, is described, and passes."""
    from generator.live import reader

    listing = reader.AccountReader.list_secrets

    def stale(self: reader.AccountReader, ids: Any, on_listed: Any = None) -> None:
        def planted(idents: list[str]) -> None:  # before doctor hears of them
            for ident in idents:
                self._listed[ident]["RotationEnabled"] = False
            if on_listed is not None:
                on_listed(idents)

        listing(self, ids, planted)
        assert self._listed

    monkeypatch.setattr(reader.AccountReader, "list_secrets", stale)
    report = _doctor_report(world, tmp_path)
    assert {f.status for f in report.findings} == {"pass"}, [f for f in report.findings if f.status != "pass"]
    assert report.calls["secretsmanager:DescribeSecret"] == len(lw.SECRETS) + 2  # each secret, and the master


def test_denied_list_falls_back_to_describing(world, tmp_path, monkeypatch):
    from generator.live import client

    call = client.Aws.call

    def deny_list(self: client.Aws, service: str, op: str, method: str, **kw: Any) -> Any:
        if op == "ListSecrets":
            raise client.Denied("secretsmanager:ListSecrets")
        return call(self, service, op, method, **kw)

    monkeypatch.setattr(client.Aws, "call", deny_list)
    report = _doctor_report(world, tmp_path)
    assert {f.status for f in report.findings} == {"pass"}
    assert report.calls["secretsmanager:DescribeSecret"] >= len(lw.SECRETS) + 1


# ---- IAM's policy simulator (issue 20 section 4) -----------------------------------------------
# moto has no SimulatePrincipalPolicy: a loopback fake answers it and hands every other request
# to moto unchanged (moto limit NO_SIMULATOR, worked around here only).

_IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


class _SimulatorFake:
    """An HTTP server on 127.0.0.1 in front of moto: SimulatePrincipalPolicy is answered by
    ``decide(action, resource) -> decision`` (or refused when ``deny``), and recorded."""

    def __init__(self, upstream: str, decide: Callable[[str, str], str] | None = None, deny: bool = False):
        import threading
        import urllib.parse
        import urllib.request
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, list[str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if b"Action=SimulatePrincipalPolicy" in body:
                    form = urllib.parse.parse_qs(body.decode())
                    fake.requests.append(form)
                    status, text = fake.answer(form)
                    data = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                req = urllib.request.Request(upstream + self.path, data=body or None, method=self.command)
                for k, v in self.headers.items():
                    if k.lower() not in ("host", "content-length"):
                        req.add_header(k, v)
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, headers, data = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as err:
                    status, headers, data = err.code, err.headers, err.read()
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.decide = decide or (lambda action, resource: "allowed")
        self.deny = deny
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, form: dict[str, list[str]]) -> tuple[int, str]:
        if self.deny:
            return 403, (f'<ErrorResponse xmlns="{_IAM_NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
                         "<Message>User: auditor is not authorized to perform: iam:SimulatePrincipalPolicy</Message>"
                         "</Error><RequestId>r</RequestId></ErrorResponse>")  # fmt: skip

        def members(name: str) -> list[str]:
            keys = sorted((k for k in form if k.startswith(f"{name}.member.")), key=lambda k: int(k.rsplit(".", 1)[1]))
            return [form[k][0] for k in keys]

        results = ""
        for action in members("ActionNames"):
            specific = "".join(
                f"<member><EvalResourceName>{r}</EvalResourceName><EvalResourceDecision>{self.decide(action, r)}"
                "</EvalResourceDecision></member>"
                for r in members("ResourceArns") or ["*"]
            )
            results += (f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName>"
                        f"<EvalDecision>allowed</EvalDecision><ResourceSpecificResults>{specific}</ResourceSpecificResults></member>")  # fmt: skip
        return 200, (f'<SimulatePrincipalPolicyResponse xmlns="{_IAM_NS}"><SimulatePrincipalPolicyResult>'
                     f"<IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults>"
                     "</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
                     "</SimulatePrincipalPolicyResponse>")  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _doctor_via(fake: _SimulatorFake, world: lw.World, tmp_path: Path, **kw: Any) -> list[dict[str, str]]:
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(lw.manifest(world)))
    out = io.StringIO()
    commands.doctor(path, commands.Connection(endpoint_url=fake.url, max_attempts=2), fmt="json", out=out, **kw)
    return json.loads(out.getvalue())["findings"]


def _contexts(form: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for k, v in form.items():
        if k.startswith("ContextEntries.member.") and k.endswith(".ContextKeyName"):
            out[v[0]] = form[k.replace(".ContextKeyName", ".ContextKeyValues.member.1")][0]
    return out


def test_the_simulator_judges_grants_with_the_secret_the_key_and_the_context(world, tmp_path):
    fake = _SimulatorFake(world.server.url)
    try:
        findings = _doctor_via(fake, world, tmp_path)
    finally:
        fake.close()
    assert {f["status"] for f in findings} == {"pass"}, [f for f in findings if f["status"] != "pass"]
    grants = {f["subject"]: f for f in findings if f["check"] == "grants"}
    assert set(grants) == {*lw.SECRETS, lw.ALT_SECRET}
    assert all(f["message"].endswith("; judged by IAM's policy simulator") for f in grants.values()), grants
    judges = {f["subject"] for f in findings if f["check"] == "grants-judges"}
    assert judges == set(grants)
    secrets = {f["subject"]: f["message"].split()[0] for f in findings if f["check"] == "secret"}
    orders_arn, key_arn = secrets[ORDERS], world.ids["key"]
    calls = [r for r in fake.requests if "ResourceArns.member.1" in r]
    probes = [r for r in fake.requests if "ResourceArns.member.1" not in r]
    assert len(probes) == 1  # once per account: may the caller simulate?
    # each secret: one call for its own actions, its key's and GetRandomPassword; the master's: one more
    assert len(calls) == len(grants) + 1
    mine = next(r for r in calls if orders_arn in [v[0] for k, v in r.items() if k.startswith("ResourceArns.")])
    assert mine["PolicySourceArn"] == ["arn:aws:iam::111122223333:role/legacy-rotator-role"]
    actions = {v[0] for k, v in mine.items() if k.startswith("ActionNames.")}
    assert actions == {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                       "secretsmanager:UpdateSecretVersionStage", "secretsmanager:GetRandomPassword",
                       "kms:Decrypt", "kms:GenerateDataKey"}  # fmt: skip
    assert {v[0] for k, v in mine.items() if k.startswith("ResourceArns.")} == {orders_arn, key_arn, "*"}
    ctx = _contexts(mine)
    assert ctx["kms:EncryptionContext:SecretARN"] == orders_arn
    assert ctx["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    assert ctx["secretsmanager:SecretId"] == orders_arn
    assert ctx["secretsmanager:resource/AllowRotationLambdaArn"].endswith(":function:legacy-rotator")
    assert all(mine[k.replace(".ContextKeyName", ".ContextKeyType")] == ["string"]
               for k in mine if k.endswith(".ContextKeyName"))  # fmt: skip


def test_a_disagreement_is_its_own_warning_with_both_answers(world, tmp_path):
    fake = _SimulatorFake(
        world.server.url,
        decide=lambda action, resource: "implicitDeny" if action == "secretsmanager:PutSecretValue" else "allowed",
    )
    try:
        findings = _doctor_via(fake, world, tmp_path)
    finally:
        fake.close()
    by = {(f["subject"], f["check"]): f for f in findings}
    for name in lw.SECRETS:
        grants, judges = by[(name, "grants")], by[(name, "grants-judges")]
        assert grants["status"] == "fail" and "secretsmanager:PutSecretValue" in grants["message"]
        assert grants["message"].endswith("judged by IAM's policy simulator")
        assert judges["status"] == "warn"
        assert "IAM's simulator says implicitDeny, doctor's evaluator allowed" in judges["message"]
        assert judges["fix"]


def test_without_the_simulator_doctor_judges_and_says_so(world, tmp_path):
    fake = _SimulatorFake(world.server.url, deny=True)
    try:
        findings = _doctor_via(fake, world, tmp_path)
    finally:
        fake.close()
    assert {f["status"] for f in findings} == {"pass"}
    assert not [f for f in findings if f["check"] == "grants-judges"]
    for f in findings:
        if f["check"] == "grants":
            assert f["message"].endswith(
                "judged by doctor's own evaluator (IAM's policy simulator: access denied to iam:SimulatePrincipalPolicy)"
            ), f["message"]
    assert len(fake.requests) == 1  # asked once, not per secret


def test_no_simulate_never_asks_iam_and_says_who_judged(world, tmp_path):
    """--no-simulate: the simulator costs one IAM call per secret where it answers; a team
    with thousands of secrets (IAM's request quotas) turns it off, and doctor judges alone."""
    fake = _SimulatorFake(world.server.url)
    try:
        findings = _doctor_via(fake, world, tmp_path, simulate=False)
    finally:
        fake.close()
    assert fake.requests == []  # not even the probe
    assert {f["status"] for f in findings} == {"pass"}
    assert not [f for f in findings if f["check"] == "grants-judges"]
    grants = [f for f in findings if f["check"] == "grants"]
    assert len(grants) == len(lw.SECRETS) + 1
    for f in grants:
        assert f["message"].endswith(
            "judged by doctor's own evaluator (IAM's policy simulator was not asked: --no-simulate)"
        ), f["message"]


# ---- doctor --before-apply: will rotation work once this module is applied? --------------------
# Without the flag doctor judges the account as it is. Both readings, on a sound and on a broken
# account (before and after the module's apply).

BEFORE_APPLY = {
    ("legacy", "permission"),
    ("legacy-alt", "permission"),
    (ORDERS, "grants"),
    (BILLING, "grants"),
    (USERS, "grants"),
    (BILLING, "rotation"),
    (ORDERS, "schedule"),
}


def _before_the_module(world: lw.World) -> dict[str, Any]:
    lw.before_the_module(world)
    return lw.manifest(world, **{f"secrets.{ORDERS}.schedule": {"every_days": 15}})


def test_both_readings_of_an_applied_sound_account_pass(world, tmp_path):
    for before_apply in (False, True):
        code, findings = run_doctor(world, tmp_path, before_apply=before_apply)
        assert code == 0 and {f["status"] for f in findings} == {"pass"}, before_apply


def test_before_apply_what_the_apply_does_is_a_warning(world, tmp_path):
    data = _before_the_module(world)
    code, findings = run_doctor(world, tmp_path, data)
    assert code == 1 and failing(findings) == BEFORE_APPLY  # the account as it is
    code, findings = run_doctor(world, tmp_path, data, before_apply=True)
    assert code == 0, [f for f in findings if f["status"] == "fail"]
    assert with_status(findings, "warn") == BEFORE_APPLY and not with_status(findings, "unknown")
    for f in findings:
        if f["status"] == "warn":
            assert f["message"].startswith("the apply does this: "), f
    grants = finding(findings, ORDERS, "grants")
    assert lw.ROLE in grants["message"] and "legacy-rotation-use1" in grants["message"]
    schedule = finding(findings, ORDERS, "schedule")
    assert "every 15 days" in schedule["message"]
    # The proof that the apply does do this: tests/moto/test_moto_doctor_apply.py applies the module.


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - APPLIED_BY_TERRAFORM))
def test_before_apply_fails_what_the_apply_cannot_fix(world, tmp_path, fault):
    """The existing function missing, no network path, a key policy that excludes the role, a
    missing master secret (and every other fault the apply does not touch) still fail."""
    data = _before_the_module(world)
    plant, overrides, expected = FAULTS[fault]
    plant(world)
    data = lw.manifest(world, **{f"secrets.{ORDERS}.schedule": {"every_days": 15}, **overrides(world)})
    code, findings = run_doctor(world, tmp_path, data, before_apply=True)
    assert code == 1 and failing(findings) == expected, [f for f in findings if f["status"] == "fail"]
    # before the module, the role lacks the grants on the key the secret really uses: they
    # follow from kms-key (the module grants the key the manifest names)
    caused = CAUSED.get(fault, {}) or ({(ORDERS, "grants"): (ORDERS, "kms-key")} if fault == "KMS key differs" else {})
    assert with_status(findings, "unknown") == set(caused) | _unread(findings, fault)
    for (subject, check), cause in caused.items():
        assert finding(findings, subject, check)["cause"] == {"subject": cause[0], "check": cause[1]}
    code, _ = run_doctor(world, tmp_path, data)
    assert code == 1


def test_before_apply_a_wrong_execution_role_arn_fails(world, tmp_path):
    data = _before_the_module(world)
    iam = world.client("iam")
    other = iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(lw.TRUST))["Role"]["Arn"]
    data["functions"]["legacy"]["execution_role_arn"] = other
    code, findings = run_doctor(world, tmp_path, data, before_apply=True)
    assert code == 1 and failing(findings) == {("legacy", "role")}
    assert {(n, "grants") for n in (ORDERS, BILLING)} <= with_status(findings, "unknown")


def test_before_apply_a_grant_the_boundary_blocks_fails(world, tmp_path):
    """The module's policy cannot lift a permissions boundary: what the apply cannot grant fails."""
    data = _before_the_module(world)
    iam = world.client("iam")
    boundary = iam.create_policy(PolicyName="no-secrets", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "kms:*"], "Resource": "*"}]}))["Policy"]["Arn"]  # fmt: skip
    iam.put_role_permissions_boundary(RoleName=lw.ROLE, PermissionsBoundary=boundary)
    code, findings = run_doctor(world, tmp_path, data, before_apply=True)
    assert code == 1
    assert failing(findings) == {(n, "grants") for n in (ORDERS, BILLING, USERS)}
    f = finding(findings, ORDERS, "grants")
    assert "permissions boundary" in f["message"] and "kms:" not in f["message"]  # the boundary allows kms:*
    assert f["fix"].startswith(f"allow them in the permissions boundary of role {lw.ROLE}")


# ---- text output -------------------------------------------------------------------------------


def _text(world: lw.World, tmp_path: Path, data: dict[str, Any], **kw: Any) -> tuple[int, str]:
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(data))
    out = io.StringIO()
    code = commands.doctor(path, commands.Connection(endpoint_url=world.server.url, max_attempts=2), out=out, **kw)
    return code, out.getvalue()


def test_an_account_level_failure_prints_no_empty_function_headings(world, tmp_path):
    (tmp_path / "rotator.zip").write_bytes(lw.dummy_zip())
    data = {"version": 1, "account_id": "444455556666", "region": lw.REGION,
            "functions": {"new-fn": {"strategy": "single_user", "engine": "postgresql", "package": {
                "filename": "rotator.zip", "handler": "lambda_function.lambda_handler", "runtime": "python3.12"}}},
            "secrets": {"prod/new/db": {"function": "new-fn", "schedule": {"every_days": 30}}}}  # fmt: skip
    code, text = _text(world, tmp_path, data)
    assert code == 1
    assert "function " not in text and "secret " not in text, text
    assert text.count("FAIL") == 1 and "444455556666" in text


@pytest.mark.parametrize("width", [100, 72, 50])
def test_no_line_is_wider_than_the_width(world, tmp_path, width):
    _key_policy_closed(world)
    _no_endpoint_igw(world)
    _permission_without_source_account(world)
    code, text = _text(world, tmp_path, lw.manifest(world), width=width)
    assert code == 1
    wide = [line for line in text.splitlines() if len(line) > width]
    assert not wide, wide
    # the key-policy statement is wrapped, not cut off: every word of it is there
    fix = text[text.index("fix: add this statement") :]
    assert "AllowRotationRole" in fix and "kms:ViaService" in fix


def test_piped_text_is_at_most_100_columns_and_a_terminal_its_width(world, tmp_path, monkeypatch):
    _key_policy_closed(world)
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(lw.manifest(world)))
    run = _cli("doctor", str(path), "--before-apply", "--endpoint-url", world.server.url, env={"COLUMNS": "300"})
    assert run.returncode == 1, run.stderr  # a key policy that excludes the role: the apply cannot fix it
    assert run.stdout.startswith("rotation-tf doctor --before-apply: account")
    assert max(len(line) for line in run.stdout.splitlines()) <= 100
    assert max(len(line) for line in run.stdout.splitlines()) > 90  # the width is used, not a narrower one

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "72")
    assert terminal.text_width(Tty()) == 72
    assert terminal.text_width(io.StringIO()) == 100
