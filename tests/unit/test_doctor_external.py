"""doctor's checks of managed external secrets (generator/live/checks/external.py):
``secret-type``, ``external-trust``, ``external-grants``, ``external-rotation``, and their
``schedule`` and ``overdue``, for examples/external-secrets.yaml in an account held in dicts
(tests/helpers/fake_account.py). Against moto: tests/moto/test_moto_external.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from helpers import fake_account as fa
from helpers.paths import ROOT

from generator import api, model
from generator.live.client import Denied

SALESFORCE, SNOWFLAKE, PADDLE = "prod/salesforce/integration", "prod/snowflake/loader", "prod/paddle/billing"
SF_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/salesforce/integration-Sf1a2B"
SF_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/salesforce/admin-Ad9z8Y"


def world() -> tuple[model.Module, fa.FakeAccount]:
    """The example's account after apply: its role (trust and policy the module's), the
    Salesforce and Snowflake secrets of their types rotating with it; Paddle's not created yet."""
    module, _ = api.load(ROOT / "examples" / "external-secrets.yaml")
    xr = module.external_role
    assert xr is not None
    account = fa.FakeAccount()
    account.add_role(xr.role_name, xr.policy.document(), boundary=fa.allow("*"), trust=copy.deepcopy(xr.trust))
    account.add_secret(ADMIN_ARN, kms_key=SF_KEY)
    for s in module.secrets:
        x = s.external
        assert x is not None
        if s.name == PADDLE:
            continue
        account.add_secret(
            s.arn or fa.arn("secretsmanager", f"secret:{s.name}-Sn0w12"), kms_key=s.kms_key_arn, Type=x.secret_type,
            RotationEnabled=True, ExternalSecretRotationRoleArn=xr.role_arn,
            ExternalSecretRotationMetadata=[{"Key": k, "Value": v} for k, v in x.metadata],
            RotationRules=({"AutomaticallyAfterDays": s.schedule.every_days} if s.schedule.every_days
                           else {"ScheduleExpression": s.schedule.expression, "Duration": s.schedule.window}),
            LastRotatedDate=fa.NOW,
        )  # fmt: skip
    return module, account


def statuses(report: fa.Report, secret: str = SALESFORCE) -> dict[str, str]:
    return fa.statuses(report, secret)


def test_the_applied_example_passes_and_a_secret_not_created_yet_warns() -> None:
    module, account = world()
    report = fa.judge(module, account)
    expected = {"secret": "pass", "schedule": "pass", "overdue": "pass", "secret-type": "pass", "external-trust": "pass",
                "external-grants": "pass", "external-rotation": "pass"}  # fmt: skip
    assert statuses(report) == expected
    assert statuses(report, SNOWFLAKE) == expected
    f = fa.one(report, PADDLE, "secret")
    assert (f.status, f.message) == ("warn", "does not exist yet; terraform apply creates it with its type")
    assert list(statuses(report, PADDLE)) == ["secret"]
    assert fa.one(report, SALESFORCE, "external-grants").message.endswith("requests checked)")


def test_a_secret_of_another_type_fails(tmp_path: Path) -> None:
    module, account = world()
    account.secrets[SF_ARN]["Type"] = "SnowflakeKeyPairAuthentication"
    f = fa.one(fa.judge(module, account), SALESFORCE, "secret-type")
    assert (f.status, f.message) == ("fail", "its type is SnowflakeKeyPairAuthentication, not SalesforceClientSecret")
    del account.secrets[SF_ARN]["Type"]
    assert (
        fa.one(fa.judge(module, account), SALESFORCE, "secret-type").message
        == "it has no type, not SalesforceClientSecret"
    )


def test_a_trust_without_source_account_fails(tmp_path: Path) -> None:
    module, account = world()
    xr = module.external_role
    assert xr is not None
    trust = account.role_entries[xr.role_name]["AssumeRolePolicyDocument"]
    for st in trust["Statement"]:
        st.get("Condition", {}).get("StringEquals", {}).pop("aws:SourceAccount", None)
    f = fa.one(fa.judge(module, account), SALESFORCE, "external-trust")
    assert (
        f.status == "fail" and "without aws:SourceAccount (another account's rotation could assume it)" in f.message
    ), f
    assert f.fix == f"run terraform apply: the module sets the trust of {xr.role_name}"


def test_a_role_not_created_yet_warns_and_one_that_cannot_be_read_leaves_both_role_checks_unknown() -> None:
    module, account = world()
    xr = module.external_role
    assert xr is not None
    del account.role_entries[xr.role_name]
    report = fa.judge(module, account)
    assert (statuses(report)["external-trust"], statuses(report)["external-grants"]) == ("warn", "warn")
    module, account = world()
    account.roles[xr.role_name] = Denied("iam:ListRolePolicies")
    report = fa.judge(module, account)
    for check in ("external-trust", "external-grants"):
        f = fa.one(report, SALESFORCE, check)
        assert (f.status, f.denied) == ("unknown", "iam:ListRolePolicies"), f


def test_a_missing_grant_fails(tmp_path: Path) -> None:
    module, account = world()
    xr = module.external_role
    assert xr is not None
    account.roles[xr.role_name] = ([fa.allow("secretsmanager:*")], [])
    f = fa.one(fa.judge(module, account), SALESFORCE, "external-grants")
    assert f.status == "fail" and f.message.startswith(f"role {xr.role_name} may not: kms:Decrypt on {SF_KEY}"), f


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RotationEnabled": False}, "rotation is off"),
        ({"RotationLambdaARN": fa.FUNCTION_ARN}, f"rotation is on, but it uses the Lambda function {fa.FUNCTION_ARN}"),
        ({"ExternalSecretRotationMetadata": []}, "rotation is on, but its metadata (none) is not the manifest's (adminSecretArn, apiVersion)"),
    ],
)  # fmt: skip
def test_external_rotation(change: dict, message: str) -> None:
    module, account = world()
    account.secrets[SF_ARN].update(change)
    report = fa.judge(module, account)
    f = fa.one(report, SALESFORCE, "external-rotation")
    assert (f.status, f.message) == ("fail", message)
    # a rotation that is off has no schedule or age to judge
    assert ("schedule" in statuses(report)) == bool(account.secrets[SF_ARN]["RotationEnabled"])


def test_an_external_secret_s_schedule_fails_for_apply_to_set_it() -> None:
    module, account = world()
    account.secrets[SF_ARN]["RotationRules"] = {"AutomaticallyAfterDays": 90}
    f = fa.one(fa.judge(module, account, before_apply=True), SALESFORCE, "schedule")
    assert (f.status, f.message) == ("fail", "rotates every 90 days, not every 30 days")  # even before apply
