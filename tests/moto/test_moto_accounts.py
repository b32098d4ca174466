"""`doctor --assume-role` and `discover --organization/--accounts` across accounts, in moto.

moto workaround MULTI_ACCOUNT: this file's moto server runs without MOTO_ACCOUNT_ID
(``MotoServer(account=None)``). Requests signed with the plain test keys then act in moto's
default account 123456789012 (the caller's own), and the credentials that sts:AssumeRole
returns act in the assumed role's account. moto does not require the role to exist, so the
worlds of the other accounts are built through a role assumed for that purpose alone
(``SETUP_ROLE``); what doctor and discover read, they read through the role under test.

moto workaround DENY: moto enforces IAM only once INITIAL_NO_AUTH_ACTION_COUNT is reached
(POST /moto-api/reset-auth), and then checks the caller's identity policies for
sts:AssumeRole on the role's ARN; a role in another account is not looked up, so its trust
policy is not evaluated. A denied account is therefore made by the caller's policy (the one
``caller-policy --assume-role`` prints, with a Deny on one account's role).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import harness
from helpers import liveworld as lw
from helpers.harness import MotoServer

from generator import api
from generator.live import caller_policy, commands
from generator.live.accounts import AssumeRole

pytestmark = [pytest.mark.moto]

CALLER = "123456789012"  # moto's default account: the caller's own
A, B = "111111111111", "222222222222"
ROLE = "RotationTfReadOnly"
SETUP_ROLE = "moto-world-setup"  # MULTI_ACCOUNT: only to build the worlds


@pytest.fixture(scope="module")
def org_server():
    server = MotoServer(account=None).start()
    try:
        yield server
    finally:
        server.stop()


class Account(harness.Account):
    """A client factory acting in ``account`` (through an assumed role: MULTI_ACCOUNT)."""

    def __init__(self, server: MotoServer, account: str, role: str = SETUP_ROLE):
        super().__init__(server, account, role)

    def client(self, service: str, region: str = lw.REGION) -> Any:
        return super().client(service, region)


@pytest.fixture
def env(org_server, aws_env):
    org_server.reset()
    return org_server


def _world(server: MotoServer, account: str) -> lw.World:
    acct = Account(server, account)
    assert acct.client("sts").get_caller_identity()["Account"] == account  # MULTI_ACCOUNT holds
    return lw.build(acct, account=account)


def _manifests(tmp_path: Path, worlds: dict[str, lw.World]) -> list[Path]:
    paths = []
    for account, w in worlds.items():
        p = tmp_path / f"rotation-{account}.yaml"
        p.write_text(lw.dump(lw.manifest(w)))
        paths.append(p)
    return paths


def _doctor(server: MotoServer, paths: list[Path], **kw: Any) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = commands.doctor(
        paths, commands.Connection(endpoint_url=server.url, max_attempts=2), fmt="json", out=out, **kw
    )
    return code, json.loads(out.getvalue())


def test_doctor_reads_each_account_through_the_assumed_role(env, tmp_path):
    worlds = {A: _world(env, A), B: _world(env, B)}
    paths = _manifests(tmp_path, worlds)
    code, doc = _doctor(env, paths, assume=AssumeRole(ROLE), max_accounts=2)
    findings = doc["findings"]
    assert code == 0, [f for f in findings if f["status"] != "pass"]
    assert {f["status"] for f in findings} == {"pass"}
    # each finding carries the account and region it is about, and both accounts were read whole
    assert {f["account"] for f in findings} == {A, B} and {f["region"] for f in findings} == {lw.REGION}
    for account in (A, B):
        mine = {(f["subject"], f["check"]) for f in findings if f["account"] == account}
        assert ("legacy", "function") in mine and (lw.SECRETS[0], "rotation") in mine
    assert doc["accounts"] == [
        {"manifest": str(p), "account": a, "region": lw.REGION, "read": True}
        for p, a in zip(paths, (A, B), strict=True)
    ]
    assert env.client("sts").get_caller_identity()["Account"] == CALLER  # the caller is neither A nor B

    # the control: without --assume-role the caller's own credentials see neither account
    code, doc = _doctor(env, paths)
    assert code == 1
    assert {(f["account"], f["check"], f["status"]) for f in doc["findings"]} == {
        (A, "account", "fail"),
        (B, "account", "fail"),
    }
    # issue 25: the fix names both ways in: a profile for that account, or the assumed role
    fix = doc["findings"][0]["fix"]
    assert "(--profile)" in fix and "--assume-role NAME" in fix


def test_a_failure_in_one_account_is_that_accounts(env, tmp_path):
    worlds = {A: _world(env, A), B: _world(env, B)}
    Account(env, B).client("secretsmanager").cancel_rotate_secret(SecretId=worlds[B].secret_arns[lw.SECRETS[1]])
    code, doc = _doctor(env, _manifests(tmp_path, worlds), assume=AssumeRole(ROLE))
    assert code == 1
    failing = {(f["account"], f["subject"], f["check"]) for f in doc["findings"] if f["status"] == "fail"}
    assert failing == {(B, lw.SECRETS[1], "rotation")}


def test_a_denied_account_is_unknown_and_the_rest_still_run(env, tmp_path, monkeypatch):
    worlds = {A: _world(env, A), B: _world(env, B)}
    paths = _manifests(tmp_path, worlds)
    policies = caller_policy.cross_account("doctor", ROLE)
    for account in (A, B):  # the read-only role, with the policy caller-policy prints for it
        iam = Account(env, account).client("iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(lw.TRUST))
        iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(policies["role"]))
    iam = env.client("iam")
    iam.create_user(UserName="auditor")
    caller_doc = policies["caller"]
    caller_doc["Statement"].append(  # DENY: the caller may not enter B
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{B}:role/{ROLE}"}
    )
    iam.put_user_policy(UserName="auditor", PolicyName="caller", PolicyDocument=json.dumps(caller_doc))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    env._post_raw("/moto-api/reset-auth", b"0")
    try:
        code, doc = _doctor(env, paths, assume=AssumeRole(ROLE, session_name="audit-2026"))
    finally:
        env._post_raw("/moto-api/reset-auth", b"inf")
    assert code == 3
    by_account: dict[str, list[dict[str, str]]] = {}
    for f in doc["findings"]:
        by_account.setdefault(f["account"], []).append(f)
    [denied] = by_account[B]
    assert (denied["subject"], denied["check"], denied["status"]) == (B, "account", "unknown")
    assert f"arn:aws:iam::{B}:role/{ROLE}" in denied["message"] and "access denied" in denied["message"]
    # A was read through its role: its secrets' checks ran and passed
    a = {(f["subject"], f["check"]): f["status"] for f in by_account[A]}
    assert a[(lw.SECRETS[0], "secret")] == "pass" and a[(lw.SECRETS[0], "key-state")] == "pass"
    assert "fail" not in a.values()
    assert [x["read"] for x in doc["accounts"]] == [True, False]


def test_bad_assume_role_options_are_usage_errors(env, tmp_path):
    paths = _manifests(tmp_path, {A: lw.World(env, account=A, ids=_IDS, secret_arns=_ARNS)})
    for role in (AssumeRole("bad role"), AssumeRole(ROLE, session_name="x"), AssumeRole(ROLE, external_id="!")):
        code = commands.doctor(paths, commands.Connection(endpoint_url=env.url), assume=role, out=io.StringIO())
        assert code == 2


_IDS = dict.fromkeys(("function", "alt-function"), f"arn:aws:lambda:us-east-1:{A}:function:f") | {
    "subnet-a": "subnet-0a", "subnet-b": "subnet-0b", "fn-sg": "sg-0a",
    "key": f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "master-key": f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ac",
}  # fmt: skip
_ARNS = {n: f"arn:aws:secretsmanager:us-east-1:{A}:secret:{n}-AbCdEf" for n in (*lw.SECRETS, lw.ALT_SECRET, lw.MASTER)}


# ---- discover ------------------------------------------------------------------------------


def _organization(server: MotoServer) -> list[str]:
    org = server.client("organizations")
    org.create_organization(FeatureSet="ALL")
    made = []
    for name in ("orders", "billing", "closed"):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        made.append(status["AccountId"])
    org.close_account(AccountId=made[2])  # no longer ACTIVE: not listed for discover
    return made


def test_discover_organization_writes_one_valid_manifest_per_account_and_region(env, tmp_path):
    orders, billing, closed = _organization(env)
    for account in (orders, billing, closed):
        _world(env, account)
    out = tmp_path / "found"
    conn = commands.Connection(endpoint_url=env.url, max_attempts=2)
    code = commands.discover_accounts(
        conn, accounts=None, regions=["us-east-1", "eu-west-1"], assume=AssumeRole(ROLE), out_dir=out, max_accounts=3
    )
    assert code == 0
    written = sorted(p.name for p in out.iterdir())
    # the management account (the caller) and eu-west-1 have nothing that rotates; the closed one is not listed
    assert written == sorted(f"{a}-us-east-1.yaml" for a in (orders, billing))
    for name in written:
        # without --read-values only the functions' engine and strategy are left to fill in
        assert {m.split(": ")[1].split(" with ")[0] for m in lw.placeholder_messages(out / name)} == {
            "replace the placeholder FILL-IN-STRATEGY",
            "replace the placeholder FILL-IN-ENGINE",
        }
        filled = out.parent / f"filled-{name}"
        filled.write_text(lw.fill_in((out / name).read_text()))
        result = api.validate(filled)
        assert result.module is not None, [d.render() for d in result.diagnostics]
        assert result.module.account_id == name.split("-")[0]
        assert {s.name for s in result.module.secrets} == {*lw.SECRETS, lw.ALT_SECRET}
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # never overwrites: a second run refuses before reading anything
    code = commands.discover_accounts(
        conn, accounts=[orders], regions=["us-east-1"], assume=AssumeRole(ROLE), out_dir=out
    )
    assert code == 2 and {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_discover_names_an_account_it_cannot_enter_and_runs_the_rest(env, tmp_path, monkeypatch, capsys):
    """DENY, and moto limit LAMBDA_AUTH (tests/moto/test_doctor.py): with IAM enforced moto
    refuses every Lambda request, so A holds a secret without rotation, which discover
    reads through A's role (ListSecrets) without calling Lambda."""
    Account(env, A).client("secretsmanager").create_secret(Name="plain", SecretString="x")
    for account in (A, B):
        iam = Account(env, account).client("iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(lw.TRUST))
        iam.put_role_policy(
            RoleName=ROLE,
            PolicyName="read",
            PolicyDocument=json.dumps(caller_policy.cross_account("discover", ROLE)["role"]),
        )
    iam = env.client("iam")
    iam.create_user(UserName="auditor")
    policy = caller_policy.cross_account("discover", ROLE)["caller"]
    policy["Statement"].append(
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{B}:role/{ROLE}"}
    )
    iam.put_user_policy(UserName="auditor", PolicyName="caller", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    out = tmp_path / "found"
    env._post_raw("/moto-api/reset-auth", b"0")
    try:
        code = commands.discover_accounts(
            commands.Connection(endpoint_url=env.url, max_attempts=2), accounts=[B, A], regions=["us-east-1"],
            assume=AssumeRole(ROLE), out_dir=out,
        )  # fmt: skip
    finally:
        env._post_raw("/moto-api/reset-auth", b"inf")
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"account {B}: could not assume arn:aws:iam::{B}:role/{ROLE}" in err
    assert f"account {A}, us-east-1: no secret in account {A}, region us-east-1 rotates (1 secret(s) listed" in err
    assert list(out.iterdir()) == []


# ---- SARIF lines and the Security Hub round trip ----------------------------------------


def test_sarif_result_sits_on_the_secrets_line(env, tmp_path):
    worlds = {A: _world(env, A)}
    Account(env, A).client("secretsmanager").cancel_rotate_secret(SecretId=worlds[A].secret_arns[lw.SECRETS[1]])
    [path] = _manifests(tmp_path, worlds)
    out = io.StringIO()
    code = commands.doctor(
        [path], commands.Connection(endpoint_url=env.url, max_attempts=2), fmt="sarif", out=out,
        assume=AssumeRole(ROLE),
    )  # fmt: skip
    assert code == 1
    [result] = json.loads(out.getvalue())["runs"][0]["results"]
    lines = path.read_text().splitlines()
    entry = next(i for i, t in enumerate(lines) if t.strip().startswith(f"{lw.SECRETS[1]}:"))
    # the exact field: the secret's function: (rotation is off with it), not the secret's key
    line = next(i for i in range(entry, len(lines)) if lines[i].strip().startswith("function:"))
    assert result["ruleId"] == "rotation" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": line + 1,
        "startColumn": lines[line].index("function:") + 1,
    }
    assert result["properties"]["account"] == A


def test_security_hub_round_trip_in_each_audited_account(env, tmp_path, capsys):
    worlds = {A: _world(env, A), B: _world(env, B)}
    for account in (A, B):  # one failing check in each: rotation off
        Account(env, account).client("secretsmanager").cancel_rotate_secret(
            SecretId=worlds[account].secret_arns[lw.SECRETS[1]]
        )
    paths = _manifests(tmp_path, worlds)
    for run in (1, 2):  # the second run updates the same findings (stable ids), adding none
        code, doc = _doctor(env, paths, assume=AssumeRole(ROLE), to_security_hub=True)
        assert code == 1, capsys.readouterr().err
        err = capsys.readouterr().err
        assert f"security hub: account {A}, us-east-1: 1 finding(s) imported" in err, err
        for account in (A, B):
            got = Account(env, account).client("securityhub").get_findings()["Findings"]
            assert [f["Id"] for f in got] == [f"rotation-tf/{account}/us-east-1/rotation/{lw.SECRETS[1]}"], run
            [f] = got
            assert f["AwsAccountId"] == account and f["Compliance"]["RelatedRequirements"] == ["SecretsManager.1"]
            assert f["Resources"][0]["Type"] == "AwsSecretsManagerSecret"
            assert f["Resources"][0]["Id"] == worlds[account].secret_arns[lw.SECRETS[1]]


def test_security_hub_archives_a_fixed_finding_as_passed(env, tmp_path, capsys):
    """fail -> fix -> run again: GetFindings shows the finding ARCHIVED and PASSED, in place
    (same Id). moto's GetFindings ignores filters: securityhub.earlier judges each finding."""
    worlds = {A: _world(env, A)}
    secret = lw.SECRETS[1]
    acct = Account(env, A)
    acct.client("secretsmanager").cancel_rotate_secret(SecretId=worlds[A].secret_arns[secret])
    paths = _manifests(tmp_path, worlds)
    code, _ = _doctor(env, paths, assume=AssumeRole(ROLE), to_security_hub=True)
    assert code == 1, capsys.readouterr().err
    [f] = acct.client("securityhub").get_findings()["Findings"]
    assert (f["RecordState"], f["Compliance"]["Status"]) == ("ACTIVE", "FAILED")
    lw.rotate(worlds[A], secret)  # the fix: rotation on again
    code, _ = _doctor(env, paths, assume=AssumeRole(ROLE), to_security_hub=True)
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"security hub: account {A}, us-east-1: 1 finding(s) imported (1 of them archived" in err, err
    [g] = acct.client("securityhub").get_findings()["Findings"]
    assert g["Id"] == f["Id"] == f"rotation-tf/{A}/us-east-1/rotation/{secret}"
    assert (g["RecordState"], g["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
    assert g["Compliance"]["RelatedRequirements"] == ["SecretsManager.1"]
    # nothing is left to archive, and nothing new fails: the next run sends nothing
    code, _ = _doctor(env, paths, assume=AssumeRole(ROLE), to_security_hub=True)
    assert code == 0 and "nothing to send" in capsys.readouterr().err
    assert acct.client("securityhub").get_findings()["Findings"] == [g]


def test_security_hub_account_gets_every_finding(env, tmp_path, capsys):
    hub = "333333333333"
    worlds = {A: _world(env, A)}
    Account(env, A).client("secretsmanager").cancel_rotate_secret(SecretId=worlds[A].secret_arns[lw.SECRETS[1]])
    code, _ = _doctor(env, _manifests(tmp_path, worlds), assume=AssumeRole(ROLE), to_security_hub=True,
                      security_hub_account=hub)  # fmt: skip
    assert code == 1, capsys.readouterr().err
    [f] = Account(env, hub).client("securityhub").get_findings()["Findings"]
    assert f["AwsAccountId"] == hub and f["ProductFields"]["rotation-tf/account"] == A
    assert Account(env, A).client("securityhub").get_findings()["Findings"] == []
