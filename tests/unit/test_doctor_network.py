"""doctor's ``network`` and ``egress`` (generator/live/checks/network.py): from the function's
subnets, Secrets Manager through an interface endpoint with private DNS whose security groups
admit 443 from the function's, or a 0.0.0.0/0 route to a public NAT gateway; in-process on an
account held in dicts (tests/helpers/fake_account.py). Against moto: tests/moto/test_doctor.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fake_account as fa

from generator.live.client import Denied

LEGACY = "legacy"
NAT = "nat-0a1b2c3d4e5f60718"


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account)


def network(tmp_path: Path, account: fa.FakeAccount, data: dict) -> tuple[fa.Finding, list[fa.Finding]]:
    report = judge(tmp_path, account, data)
    return fa.one(report, LEGACY, "network"), fa.findings(report, LEGACY, "egress")


def without_endpoint(account: fa.FakeAccount, route: dict | None) -> None:
    account.endpoints_[fa.VPC] = []
    routes = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}] + ([route] if route else [])
    account.route_tables_[fa.VPC] = [{"RouteTableId": "rtb-0d4", "Associations": [{"Main": True}], "Routes": routes}]


def test_an_endpoint_with_private_dns_that_admits_the_function_passes(tmp_path: Path) -> None:
    account, data = fa.healthy()
    f, [egress] = network(tmp_path, account, data)
    assert (f.status, f.message) == ("pass", f"reaches Secrets Manager through interface endpoint {fa.ENDPOINT} "
                                     "(private DNS on; its security groups admit 443 from the function's)")  # fmt: skip
    assert (egress.status, egress.message) == ("pass", f"{fa.FN_SG} allows outbound TCP 443 to 0.0.0.0/0")


def test_an_endpoint_whose_groups_do_not_admit_the_function_fails_even_with_a_nat_route(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.security_groups_[fa.EP_SG]["IpPermissions"] = []
    account.nat_gateways[NAT] = {"NatGatewayId": NAT, "State": "available", "ConnectivityType": "public"}
    account.route_tables_[fa.VPC][0]["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": NAT})
    f, _ = network(tmp_path, account, data)
    assert f.status == "fail" and "has private DNS on, so the function's calls go to it" in f.message, f
    assert f.fix == f"add an inbound rule to {fa.EP_SG}: TCP 443 from {fa.FN_SG}"


def test_a_public_nat_gateway_from_every_subnet_passes(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.endpoints_[fa.VPC][0]["PrivateDnsEnabled"] = False
    account.nat_gateways[NAT] = {"NatGatewayId": NAT, "State": "available"}
    account.route_tables_[fa.VPC][0]["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": NAT})
    f, _ = network(tmp_path, account, data)
    assert f.status == "pass", f
    assert f.message.startswith(f"every subnet routes 0.0.0.0/0 to a NAT gateway ({', '.join(fa.SUBNETS)}); "
                                f"interface endpoint {fa.ENDPOINT} exists but has private DNS off")  # fmt: skip


@pytest.mark.parametrize(
    ("route", "nat", "why"),
    [
        (None, None, "no 0.0.0.0/0 route (rtb-0d4)"),
        ({"GatewayId": "igw-0a1b2c3d"}, None, "0.0.0.0/0 goes to internet gateway igw-0a1b2c3d only; a Lambda function"),
        ({"NatGatewayId": NAT}, None, f"0.0.0.0/0 goes to NAT gateway {NAT}, which is missing"),
        ({"NatGatewayId": NAT}, {"State": "failed"}, f"0.0.0.0/0 goes to NAT gateway {NAT}, which is failed"),
        ({"NatGatewayId": NAT}, {"State": "available", "ConnectivityType": "private"}, f"NAT gateway {NAT} is a private NAT gateway"),
        ({"TransitGatewayId": "tgw-0a1b"}, None, "0.0.0.0/0 goes to tgw-0a1b, which doctor cannot follow"),
    ],
)  # fmt: skip
def test_no_way_out_fails_naming_each_subnet_s_reason(
    tmp_path: Path, route: dict | None, nat: dict | None, why: str
) -> None:
    account, data = fa.healthy()
    without_endpoint(account, dict(route, DestinationCidrBlock="0.0.0.0/0") if route else None)
    if nat:
        account.nat_gateways[NAT] = dict(nat, NatGatewayId=NAT)
    f, [egress] = network(tmp_path, account, data)
    assert f.status == "fail", f
    assert f.message.startswith(f"the function cannot reach Secrets Manager from VPC {fa.VPC}: no interface endpoint")
    assert f"{', '.join(fa.SUBNETS)}: {why}" in f.message, f.message
    assert f.fix.startswith("create an interface VPC endpoint for com.amazonaws.us-east-1.secretsmanager")
    assert egress.status == "pass"  # judged from the groups, whatever the routes


def test_missing_subnets_or_groups_fail_and_egress_is_not_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.subnets_[fa.SUBNETS[1]]
    f, egress = network(tmp_path, account, data)
    assert (f.status, f.message, egress) == ("fail", f"subnets {fa.SUBNETS[1]} do not exist", [])
    account, data = fa.healthy()
    del account.security_groups_[fa.FN_SG]
    f, egress = network(tmp_path, account, data)
    assert (f.status, f.message, egress) == ("fail", f"security groups {fa.FN_SG} do not exist", [])


def test_no_outbound_443_fails_egress(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.security_groups_[fa.FN_SG]["IpPermissionsEgress"] = [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
    ]
    _, [egress] = network(tmp_path, account, data)
    assert (egress.status, egress.message) == (
        "fail",
        f"no security group of the function ({fa.FN_SG}) allows outbound TCP 443",
    )
    assert egress.fix.startswith(f"add an outbound rule to {fa.FN_SG}: TCP 443")


def test_what_cannot_be_read_is_unknown_and_egress_stays_judged_once_the_groups_are_read(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.endpoints_[fa.VPC] = Denied("ec2:DescribeVpcEndpoints")
    f, [egress] = network(tmp_path, account, data)
    assert (f.status, f.denied, egress.status) == ("unknown", "ec2:DescribeVpcEndpoints", "pass")
    account, data = fa.healthy()
    account.subnets_[fa.SUBNETS[0]] = Denied("ec2:DescribeSubnets")
    f, egress = network(tmp_path, account, data)
    assert (f.status, f.denied, egress) == ("unknown", "ec2:DescribeSubnets", [])


def test_a_function_outside_a_vpc_reaches_the_public_endpoint(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.functions[fa.FUNCTION]["VpcConfig"] = {}
    del data["functions"][LEGACY]["vpc"]
    f, egress = network(tmp_path, account, data)
    assert (f.status, f.message, egress) == (
        "pass",
        "not in a VPC: Lambda reaches the public Secrets Manager endpoint",
        [],
    )
    assert account.calls["subnets"] == 1  # legacy-alt's only
