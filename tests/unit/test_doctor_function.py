"""doctor's checks of the function itself (generator/live/checks/function.py): ``function``,
``runtime`` and ``vpc-config``, in-process on an account held in dicts (tests/helpers/fake_account.py).
The same checks against moto: tests/moto/test_doctor.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fake_account as fa
from helpers.paths import ROOT

from generator import api
from generator.live.client import Denied

LEGACY, ALT = "legacy", "legacy-alt"


def judge(tmp_path: Path, account: fa.FakeAccount, data: dict, **kw: object) -> fa.Report:
    return fa.judge(fa.load(tmp_path, data), account, **kw)


def test_the_healthy_world_passes_every_check(tmp_path: Path) -> None:
    account, data = fa.healthy()
    report = judge(tmp_path, account, data, read_values=True)
    assert {f.status for f in report.findings} == {"pass"}, [(f.subject, f.check, f.message) for f in report.findings]
    assert list(fa.statuses(report, LEGACY)) == [
        "function",
        "runtime",
        "vpc-config",
        "network",
        "egress",
        "permission",
        "role",
    ]
    f = fa.one(report, LEGACY, "function")
    assert f.message == f"{fa.FUNCTION_ARN} exists and runs as {fa.ROLE_ARN}"


def test_an_existing_function_that_does_not_exist_fails_and_nothing_of_it_is_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    del account.functions[fa.FUNCTION]
    report = judge(tmp_path, account, data)
    f = fa.one(report, LEGACY, "function")
    assert (f.status, f.message) == ("fail", f"function {fa.FUNCTION_ARN} does not exist")
    assert f.fix == "fix existing_function_arn, or create the function first"
    assert list(fa.statuses(report, LEGACY)) == ["function"]  # no runtime, network, permission or role of nothing
    # its secrets' grants and rotation follow from it: unknown, naming it, not a second failure
    for secret in (fa.ORDERS, fa.BILLING):
        for check in ("grants", "rotation"):
            g = fa.one(report, secret, check)
            assert (g.status, g.cause) == ("unknown", (LEGACY, "function")), g
            assert g.message == "not judged: it follows from function of legacy, which fails"
    assert account.calls["function_policy"] == 1 and account.calls["role_documents"] >= 1  # only legacy-alt's


def test_a_function_that_cannot_be_read_is_unknown_and_nothing_of_it_is_judged(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.functions[fa.FUNCTION] = Denied("lambda:GetFunctionConfiguration")
    report = judge(tmp_path, account, data)
    f = fa.one(report, LEGACY, "function")
    assert (f.status, f.denied) == ("unknown", "lambda:GetFunctionConfiguration")
    assert f.message == "could not check: access denied to lambda:GetFunctionConfiguration"
    assert list(fa.statuses(report, LEGACY)) == ["function"]
    # a role that cannot be read is never guessed: grants says so, fail closed
    g = fa.one(report, fa.ORDERS, "grants")
    assert g.status == "unknown" and "the function's role is unknown" in g.message, g


def test_a_function_the_module_creates_is_judged_from_the_manifest_before_it_exists(tmp_path: Path) -> None:
    """examples/rotation.yaml: mysql-alt is built from a zip in a VPC; before apply its runtime
    is the package's and its network the manifest's subnets (here missing), and there is no
    deployed VPC, permission or role to compare."""
    module, _ = api.load(ROOT / "examples" / "rotation.yaml")
    account = fa.FakeAccount()
    account.add_function("pg-rotator")
    report = fa.judge(module, account)
    f = fa.one(report, "mysql-alt", "function")
    assert (f.status, f.message) == ("warn", "function acme-mysql-alt does not exist yet; terraform apply creates it")
    assert fa.statuses(report, "mysql-alt") == {"function": "warn", "runtime": "pass", "network": "fail"}
    assert fa.one(report, "mysql-alt", "runtime").message == "python3.12 is supported until 2028-10-31"
    assert fa.one(report, "mysql-alt", "network").message.startswith("subnets subnet-0a1b2c3d4e5f60718, ")
    report = fa.judge(module, account, before_apply=True)
    f = fa.one(report, "mysql-alt", "function")
    assert f.message == "the apply does this: creates function acme-mysql-alt and its role acme-mysql-alt-rotation-use1"
    assert f.fix == "run terraform apply, then doctor again without --before-apply"


@pytest.mark.parametrize(
    ("runtime", "status", "message"),
    [
        ("python3.12", "pass", "python3.12 is supported until 2028-10-31"),
        ("python3.8", "fail", "python3.8 was deprecated on 2024-10-14: Lambda no longer patches it"),
        ("nodejs99.x", "pass", "nodejs99.x: no deprecation date in rotation-tf's table"),
    ],
)
def test_runtime(tmp_path: Path, runtime: str, status: str, message: str) -> None:
    account, data = fa.healthy()
    account.functions[fa.FUNCTION]["Runtime"] = runtime
    f = fa.one(judge(tmp_path, account, data), LEGACY, "runtime")
    assert f.status == status and f.message.startswith(message), f
    if status == "fail":
        assert f.fix.startswith("move the function to a supported runtime (python3."), f.fix


def test_a_runtime_deprecated_soon_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATION_TF_TODAY", "2028-09-15")  # python3.12: 2028-10-31
    account, data = fa.healthy()
    f = fa.one(judge(tmp_path, account, data), LEGACY, "runtime")
    assert (f.status, f.message) == ("warn", "python3.12 is deprecated on 2028-10-31, in 46 days")


def test_a_container_image_has_no_runtime_to_deprecate(tmp_path: Path) -> None:
    account, data = fa.healthy()
    account.functions[fa.FUNCTION].update(PackageType="Image", Runtime=None)
    f = fa.one(judge(tmp_path, account, data), LEGACY, "runtime")
    assert (f.status, f.message) == ("pass", "a container image: no Lambda-managed runtime to deprecate")


def test_vpc_config_of_an_existing_function(tmp_path: Path) -> None:
    account, data = fa.healthy()
    # the function left its VPC: the manifest's vpc is wrong, and it now reaches Secrets Manager publicly
    account.functions[fa.FUNCTION]["VpcConfig"] = {"SubnetIds": [], "SecurityGroupIds": []}
    report = judge(tmp_path, account, data)
    f = fa.one(report, LEGACY, "vpc-config")
    assert (f.status, f.message, f.fix) == (
        "fail", "the manifest gives a vpc, but the function does not run in a VPC", "remove functions.legacy.vpc")  # fmt: skip
    assert (
        fa.one(report, LEGACY, "network").message == "not in a VPC: Lambda reaches the public Secrets Manager endpoint"
    )
    assert not fa.findings(report, LEGACY, "egress")
    # the manifest gives no vpc for a function in one: its role would miss the ENI grants
    account, data = fa.healthy()
    del data["functions"][LEGACY]["vpc"]
    f = fa.one(judge(tmp_path, account, data), LEGACY, "vpc-config")
    assert f.status == "fail" and "the manifest gives no vpc" in f.message, f
    assert (
        f.fix
        == f"add vpc: {{subnet_ids: [{', '.join(fa.SUBNETS)}], security_group_ids: [{fa.FN_SG}]}} to functions.legacy"
    )
    # other subnets
    account, data = fa.healthy()
    data["functions"][LEGACY]["vpc"]["subnet_ids"] = [fa.SUBNETS[0]]
    f = fa.one(judge(tmp_path, account, data), LEGACY, "vpc-config")
    assert f.status == "fail" and f.message.startswith(f"the function runs in subnets {', '.join(fa.SUBNETS)}"), f
