"""Can the function reach Secrets Manager (subject: the function's key): ``network`` and
``egress``. From its subnets Secrets Manager is reachable through an interface endpoint for
``com.amazonaws.<region>.secretsmanager`` in the VPC with private DNS on and security groups
admitting 443 from the function's groups, or a 0.0.0.0/0 route to a (public) NAT gateway
from every subnet. A Lambda function in a VPC gets no public IP address, so a route to an
internet gateway alone does not work
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html:
"The most common reason for a timeout during rotation is that the rotation function cannot
access either Secrets Manager or the target database")."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_network
from typing import Any

from generator.live.checks.check import ASFF_FUNCTION, SM_GUIDE, FunctionSubject, function_check
from generator.live.checks.function import FUNCTION_EXISTS, in_vpc
from generator.live.findings import FAIL, PASS
from generator.live.reader import Reader

NETWORK = function_check(
    "network", "The function reaches Secrets Manager", "HIGH",
    "From its subnets: an interface endpoint with private DNS whose security groups admit 443 from the "
    "function's, or a 0.0.0.0/0 route to a public NAT gateway. A function in a VPC has no public IP address.",
    f"{SM_GUIDE}/vpc-endpoint-overview.html", ASFF_FUNCTION,
    needs=(FUNCTION_EXISTS,),
    reads=(Reader.subnets, Reader.security_groups, Reader.endpoints, Reader.route_tables, Reader.nat_gateway),
)  # fmt: skip


EGRESS = function_check(
    "egress", "The function's security groups allow outbound 443", "HIGH",
    "Without outbound TCP 443 the function cannot call Secrets Manager; rotation times out.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html", ASFF_FUNCTION,
    reported_by=NETWORK,  # from the security groups network reads, once they exist
)  # fmt: skip


@NETWORK.judged_by
def network(on: FunctionSubject) -> None:
    """The deployed function's subnets; before it exists, the manifest's (none: nothing to judge)."""
    conf = on.conf
    if conf is not None:
        subnet_ids, group_ids = in_vpc(conf)
        if not subnet_ids:
            on.add(NETWORK, PASS, "not in a VPC: Lambda reaches the public Secrets Manager endpoint")
            return
    elif on.fn.in_vpc:
        subnet_ids, group_ids = tuple(on.fn.subnet_ids), tuple(on.fn.security_group_ids)
    else:
        return
    _network(on, subnet_ids, group_ids)


def _network(on: FunctionSubject, subnet_ids: tuple[str, ...], group_ids: tuple[str, ...]) -> None:
    ctx = on.ctx
    subs = ctx.read.subnets(subnet_ids)
    groups = ctx.read.security_groups(group_ids)
    missing = [s for s in subnet_ids if s not in subs]
    if missing:
        on.add(NETWORK, FAIL, f"subnets {', '.join(missing)} do not exist", "fix the function's subnets")
        return
    missing_g = [g for g, v in groups.items() if v is None]
    if missing_g:
        on.add(
            NETWORK, FAIL, f"security groups {', '.join(missing_g)} do not exist", "fix the function's security groups"
        )
        return
    _egress(on, groups)
    vpcs = sorted({s["VpcId"] for s in subs.values()})
    vpc_id = vpcs[0]
    cidrs = [s["CidrBlock"] for s in subs.values() if s.get("CidrBlock")]
    endpoints = [e for e in ctx.read.endpoints(vpc_id) if e.get("VpcEndpointType", "Interface") == "Interface"
                 and str(e.get("State", "")).lower() == "available"]  # fmt: skip
    service = f"com.amazonaws.{ctx.m.region}.secretsmanager"
    endpoint_note = dns_fix = ""
    for ep in endpoints:
        ep_groups_ids = [g["GroupId"] for g in ep.get("Groups", [])]
        ep_groups = ctx.read.security_groups(ep_groups_ids)
        admits = any(ingress_admits(g, 443, group_ids, cidrs) for g in ep_groups.values() if g)
        if ep.get("PrivateDnsEnabled") and admits:
            on.add(NETWORK, PASS, f"reaches Secrets Manager through interface endpoint {ep['VpcEndpointId']} "
                   "(private DNS on; its security groups admit 443 from the function's)")  # fmt: skip
            return
        if ep.get("PrivateDnsEnabled") and not admits:
            # Private DNS sends every call to the endpoint, so a NAT route does not help.
            on.add(NETWORK, FAIL,
                   f"interface endpoint {ep['VpcEndpointId']} has private DNS on, so the function's calls go to it, "
                   f"but its security groups ({', '.join(ep_groups_ids) or 'none'}) do not admit TCP 443 from the function's "
                   f"({', '.join(group_ids)}); rotation times out",
                   f"add an inbound rule to {ep_groups_ids[0] if ep_groups_ids else 'the endpoint security group'}: "
                   f"TCP 443 from {', '.join(group_ids)}")  # fmt: skip
            return
        endpoint_note = (f"; interface endpoint {ep['VpcEndpointId']} exists but has private DNS off, so "
                         f"secretsmanager.{ctx.m.region}.amazonaws.com does not resolve to it")  # fmt: skip
        # The fix for this endpoint: private DNS on and, if its groups do not admit the
        # function's, the inbound rule. Private DNS needs the VPC attributes enableDnsHostnames
        # and enableDnsSupport (PrivateDnsEnabled in
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html).
        dns_fix = (f"turn private DNS on for interface endpoint {ep['VpcEndpointId']}: aws ec2 modify-vpc-endpoint "
                   f"--vpc-endpoint-id {ep['VpcEndpointId']} --private-dns-enabled (the VPC needs DNS hostnames and DNS resolution on)"
                   + ("" if admits else f", and add an inbound rule to {ep_groups_ids[0] if ep_groups_ids else 'its security group'}: "
                      f"TCP 443 from {', '.join(group_ids)}"))  # fmt: skip
    tables = ctx.read.route_tables(vpc_id)
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
            nat = ctx.read.nat_gateway(route["NatGatewayId"])
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
        on.add(NETWORK, PASS, f"every subnet routes 0.0.0.0/0 to a NAT gateway ({', '.join(nat_ok)}){endpoint_note}")
        return
    on.add(NETWORK, FAIL,
             f"the function cannot reach Secrets Manager from VPC {vpc_id}: no interface endpoint for {service} with private DNS"
             f"{endpoint_note}; " + "; ".join(f"{', '.join(subs)}: {why}" for why, subs in problems.items()),
             (dns_fix or f"create an interface VPC endpoint for {service} in {vpc_id} with private DNS on and a security group "
              f"that admits TCP 443 from {', '.join(group_ids)}") + "; or route 0.0.0.0/0 of every function subnet to a NAT gateway")  # fmt: skip


def _egress(on: FunctionSubject, groups: dict[str, dict[str, Any] | None]) -> None:
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
                on.add(EGRESS, PASS, f"{g['GroupId']} allows outbound TCP 443 to {', '.join(dests) or 'somewhere'}")
                return
    on.add(EGRESS, FAIL, f"no security group of the function ({', '.join(groups)}) allows outbound TCP 443",
           f"add an outbound rule to {next(iter(groups))}: TCP 443 to 0.0.0.0/0 (NAT) or to the endpoint's security group")  # fmt: skip


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


def ingress_admits(group: dict[str, Any], port: int, from_groups: Iterable[str], from_cidrs: Iterable[str]) -> bool:
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
