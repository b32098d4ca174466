"""doctor's ``grants`` judges exactly what the module grants (issue 25, section 1), in-process.

The requests a rotation function makes for a secret (action, resource, condition context)
are enumerated once, by :func:`generator.policies.secret_requests` from the table of AWS's
calls (generator/aws_calls.py); the module's policy statements are built from them and
doctor's ``grants`` check evaluates them. These tests hold the two to each other for every
path the module can emit (tests/helpers/fake_account.py holds the account in dicts):

* issue 25's reproduction: without DescribeRdsManagedMasters and DescribeRdsInstances on the
  role, grants passed; it fails, naming both requests;
* for every path of aws_calls.paths() (the enumeration tests/rotation/test_aws_calls.py uses, so a new
  path joins by itself) with each combination of customer managed keys: the module's policy,
  explicit and compact, allows every request (self-consistency, generator/policy_eval.py);
  taking away each statement, and each action of each statement, fails grants naming exactly
  the requests it granted; --before-apply says the apply grants them and counts what it lists.

tests/moto/test_moto_doctor_grants.py proves the same against what terraform applies in moto.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import fake_account as gw

from generator import aws_calls, policies, policy_eval
from generator.live.client import Denied

RDS_MASTER = (
    f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4-fGbVUQ"
)
SECRET = f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:app/db-AbCdEf"
DB_ARN = f"arn:aws:rds:{gw.REGION}:{gw.ACCOUNT}:db:orders-primary"


def _rds_managed_manifest() -> dict:
    return {
        "version": 1,
        "account_id": gw.ACCOUNT,
        "region": gw.REGION,
        "functions": {
            "fn": {
                "strategy": "alternating_users",
                "engine": "postgresql",
                "existing_function_arn": f"arn:aws:lambda:{gw.REGION}:{gw.ACCOUNT}:function:rotator",
                "execution_role_arn": gw.ROLE_ARN,
            }
        },
        "secrets": {"app/db": {"function": "fn", "arn": SECRET, "master_secret": {"arn": RDS_MASTER},
                               "schedule": {"every_days": 30}}},
    }  # fmt: skip


def test_the_issue_s_false_pass(tmp_path: Path) -> None:
    """Issue 25's reproduction: the module's policy without DescribeRdsManagedMasters and
    DescribeRdsInstances on the role of an alternating-users function whose master is
    RDS-managed. AWS's function needs both in setSecret; doctor passed (6 actions checked)."""
    module = gw.load(tmp_path, _rds_managed_manifest())
    (fn,) = module.functions
    assert fn.policy is not None
    doc = copy.deepcopy(fn.policy.document())
    sids = [st["Sid"] for st in doc["Statement"]]
    assert aws_calls.DESCRIBE_MASTER in sids and aws_calls.RDS_INSTANCES in sids
    reader = gw.FakeAccount()
    reader.add_function("rotator")
    reader.add_secret(SECRET)
    reader.add_secret(RDS_MASTER, tags={"aws:rds:primaryDBInstanceArn": DB_ARN})
    reader.roles[gw.ROLE] = gw.policy_with_role(doc)
    assert gw.check(module, reader, "app/db", "grants").status == "pass"

    doc["Statement"] = [
        st for st in doc["Statement"] if st["Sid"] not in (aws_calls.DESCRIBE_MASTER, aws_calls.RDS_INSTANCES)
    ]
    reader.roles[gw.ROLE] = gw.policy_with_role(doc)
    f = gw.check(module, reader, "app/db", "grants")
    assert f.status == "fail", f
    assert f"secretsmanager:DescribeSecret on {RDS_MASTER}" in f.message
    # the instance the master's aws:rds:primaryDBInstanceArn tag names, which AWS's code describes
    assert f"rds:DescribeDBInstances on {DB_ARN}" in f.message


# ---- every path the module can emit ------------------------------------------------------

MASTER_NAMES = {
    aws_calls.PLAIN: "app/db-admin",
    aws_calls.RDS_MANAGED_DB: "rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4",
    aws_calls.RDS_MANAGED_CLUSTER: "rds!cluster-3c1a6f1e-44d8-4b5e-9f0a-2b7c9d1e8f00",
    aws_calls.REDSHIFT_MANAGED_CLUSTER: "redshift!orders-awsuser",
    aws_calls.REDSHIFT_MANAGED_NAMESPACE: "redshift!analytics-admin",
}
MANAGED_BY = {v: k for k, v in aws_calls.MANAGED_BY.items()}
# What each service-managed master's tag names (the database AWS's code then describes).
TAGGED = {
    aws_calls.RDS_MANAGED_DB: DB_ARN,
    aws_calls.RDS_MANAGED_CLUSTER: f"arn:aws:rds:{gw.REGION}:{gw.ACCOUNT}:cluster:orders-aurora",
    aws_calls.REDSHIFT_MANAGED_CLUSTER: f"arn:aws:redshift:{gw.REGION}:{gw.ACCOUNT}:cluster:orders",
    aws_calls.REDSHIFT_MANAGED_NAMESPACE: f"arn:aws:redshift-serverless:{gw.REGION}:{gw.ACCOUNT}:namespace/5b7c1a2e-0000-4000-8000-000000000000",
}
REPLICA_IDS = {aws_calls.REPLICA_INSTANCE: "orders-replica-1", aws_calls.REPLICA_CLUSTER: "orders-aurora"}
SECRET_KEY = f"arn:aws:kms:{gw.REGION}:{gw.ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
MASTER_KEY = f"arn:aws:kms:{gw.REGION}:{gw.ACCOUNT}:key/66666666-7777-8888-9999-000000000000"


@dataclass(frozen=True)
class Case:
    path: aws_calls.Path
    secret_cmk: bool
    master_cmk: bool

    def __str__(self) -> str:
        return f"{self.path}{'-cmk' if self.secret_cmk else ''}{'-master_cmk' if self.master_cmk else ''}"

    @property
    def master_arn(self) -> str | None:
        if self.path.master is None:
            return None
        return f"arn:aws:secretsmanager:{gw.REGION}:{gw.ACCOUNT}:secret:{MASTER_NAMES[self.path.master]}-Mst456"

    def manifest(self) -> dict:
        secret: dict = {"function": "fn", "arn": SECRET, "schedule": {"every_days": 30}}
        if self.secret_cmk:
            secret["kms_key_arn"] = SECRET_KEY
        if self.master_arn:
            secret["master_secret"] = {"arn": self.master_arn}
            if self.master_cmk:
                secret["master_secret"]["kms_key_arn"] = MASTER_KEY
            if self.path.master in MANAGED_BY:
                secret["master_secret"]["managed_by"] = MANAGED_BY[self.path.master]
        if self.path.replica:
            secret["replica_of_master"] = {self.path.replica: REPLICA_IDS[self.path.replica]}
        data = _rds_managed_manifest()
        data["functions"]["fn"].update(engine=self.path.engine, strategy=self.path.strategy)
        data["secrets"] = {"app/db": secret}
        return data

    def account(self) -> gw.FakeAccount:
        reader = gw.FakeAccount()
        reader.add_function("rotator")
        reader.add_secret(SECRET, kms_key=SECRET_KEY if self.secret_cmk else None)
        if self.master_arn:
            tag = aws_calls.MASTER_TAGS.get(self.path.master or "")
            reader.add_secret(
                self.master_arn,
                kms_key=MASTER_KEY if self.master_cmk else None,
                tags={tag: TAGGED[self.path.master or ""]} if tag else None,
            )
        return reader

    def account_grant(self) -> policies.SecretGrant:
        """The secret's path as the account holds it (what doctor asks of the role)."""
        replica = (self.path.replica, REPLICA_IDS[self.path.replica]) if self.path.replica else None
        resource = (
            TAGGED.get(self.path.master or "") if self.path.master != aws_calls.REDSHIFT_MANAGED_NAMESPACE else None
        )
        return policies.SecretGrant(SECRET, SECRET_KEY if self.secret_cmk else None, self.master_arn,
                                    MASTER_KEY if self.master_cmk else None, self.path.master, replica, resource)  # fmt: skip


def cases() -> list[Case]:
    """Every path (aws_calls.paths(), the enumeration tests/rotation/test_aws_calls.py uses) with each
    combination of customer managed keys on the secret and on its master."""
    out = []
    for path in aws_calls.paths():
        for secret_cmk in (False, True):
            for master_cmk in (False, True) if path.master else (False,):
                out.append(Case(path, secret_cmk, master_cmk))
    return out


CASES = cases()


def _without(doc: dict, index: int, action: str) -> dict:
    """``doc`` without ``action`` in statement ``index`` (and without the statement when it was its last)."""
    out = copy.deepcopy(doc)
    st = out["Statement"][index]
    left = [a for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]) if a != action]
    if left:
        st["Action"] = left
    else:
        del out["Statement"][index]
    return out


def test_every_path_is_in_the_table() -> None:
    got = {c.path for c in CASES}
    assert any(p.master in aws_calls.REDSHIFT_MANAGED_KINDS for p in got)
    assert {p.replica for p in got} == {None, *aws_calls.REPLICA_KINDS}
    assert {p.master for p in got} == {None, aws_calls.PLAIN, *aws_calls.SERVICE_MANAGED_KINDS}
    assert len(CASES) == sum(4 if p.master else 2 for p in aws_calls.paths())


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_policy_allows_every_request_of_its_path(tmp_path: Path, case: Case) -> None:
    """Self-consistency: the module's policy, explicit and compact, allows every request of
    the secret's path (the requests of the manifest's grant, and of the account's)."""
    module = gw.load(tmp_path, case.manifest())
    (fn,) = module.functions
    (s,) = module.secrets
    assert fn.policy is not None
    kw: dict = {"ctx": module.policy_context, "function_name": fn.function_name, "function_arn": fn.function_arn,
                "in_vpc": False, "engine": fn.engine, "strategy": fn.strategy}  # fmt: skip
    for form in (policies.EXPLICIT, policies.COMPACT):
        doc = policies.build((s.grant,), form=form, **kw).document()
        for grant in (s.grant, case.account_grant()):
            requests = module.requests(fn, grant)
            assert requests
            for r in requests:
                context = {"aws:PrincipalAccount": gw.ACCOUNT, **r.context_map}
                verdict = policy_eval.evaluate([doc], policy_eval.Request(r.action, r.resource, context))
                assert verdict == policy_eval.ALLOWED, (form, str(r), verdict)
    assert fn.policy.document() == policies.build((s.grant,), form=policies.EXPLICIT, **kw).document()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_taking_away_each_granted_action_fails_grants(tmp_path: Path, case: Case) -> None:
    """With the module's policy on the role, grants passes and counts what it checked; with
    any grant taken away (each statement, and each action of each statement, in turn), it
    fails and names each request of the secret that it granted; before the apply (a role
    without the policy) --before-apply says the apply grants them, and counts what it lists."""
    module = gw.load(tmp_path, case.manifest())
    (fn,) = module.functions
    assert fn.policy is not None
    doc = fn.policy.document()
    reader = case.account()
    wanted = module.requests(fn, case.account_grant())
    reader.roles[gw.ROLE] = gw.policy_with_role(doc)
    f = gw.check(module, reader, "app/db", "grants")
    assert f.status == "pass", f
    assert f"({len(wanted)} request{'s' if len(wanted) > 1 else ''} checked)" in f.message

    taken = 0
    for i, st in enumerate(doc["Statement"]):
        if st["Sid"] == "WriteOwnLogs":  # Lambda's own, no request of the rotation
            continue
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        # the whole statement, then each of its actions
        whole = copy.deepcopy(doc)
        del whole["Statement"][i]
        reader.roles[gw.ROLE] = gw.policy_with_role(whole)
        f = gw.check(module, reader, "app/db", "grants")
        granted = [
            str(r) for r in wanted if r.action in actions and policy_eval.resource_matches(resources, r.resource)
        ]
        missing = f.message.split(" may not: ", 1)[1].split("; judged by", 1)[0].split("; ")
        assert f.status == "fail" and sorted(missing) == sorted(granted), (st["Sid"], f.message)
        for action in actions:
            needed = [
                str(r) for r in wanted if r.action == action and policy_eval.resource_matches(resources, r.resource)
            ]
            assert needed, f"{st['Sid']} grants {action}, which no request of the secret needs"
            reader.roles[gw.ROLE] = gw.policy_with_role(_without(doc, i, action))
            f = gw.check(module, reader, "app/db", "grants")
            assert f.status == "fail", (st["Sid"], action, f)
            missing = f.message.split(" may not: ", 1)[1].split("; judged by", 1)[0].split("; ")
            assert sorted(missing) == sorted(needed), (st["Sid"], action, f.message)
            assert f.fix.startswith("run terraform apply: the module puts policy"), (
                f.fix
            )  # the module's grant: apply restores it
            taken += 1
    assert taken >= len({r.action for r in wanted})

    reader.roles[gw.ROLE] = ([], [])  # before the apply: the role exists, without the module's policy
    f = gw.check(module, reader, "app/db", "grants", before_apply=True)
    assert f.status == "warn", f
    m = re.fullmatch(rf"the apply does this: puts policy \S+ on role {gw.ROLE}, granting the (\d+) requests? it lacks: (.*)", f.message)  # fmt: skip
    assert m, f.message
    listed = m.group(2).split("; ")
    assert int(m.group(1)) == len(listed) == len(wanted)
    assert sorted(listed) == sorted(str(r) for r in wanted)
    f = gw.check(module, reader, "app/db", "grants")
    assert f.status == "fail" and f.fix.startswith("run terraform apply: the module puts policy"), f


# ---- the rules of grants, in the healthy world (tests/helpers/fake_account.py) ------------------------


def _judge(tmp_path: Path, account: gw.FakeAccount, data: dict, **kw: bool) -> gw.Report:
    return gw.judge(gw.load(tmp_path, data), account, **kw)


def test_the_healthy_world_s_grants_pass_counting_each_request(tmp_path: Path) -> None:
    account, data = gw.healthy()
    report = _judge(tmp_path, account, data)
    f = gw.one(report, gw.ORDERS, "grants")
    assert f.status == "pass" and f.message == (
        f"role {gw.ROLE} may rotate it (7 requests checked); judged by doctor's own evaluator "
        "(IAM's policy simulator was not asked)"
    )
    assert not gw.findings(report, gw.ORDERS, "grants-judges")  # only where the simulator answered


def test_a_missing_grant_fails_naming_the_request_and_the_apply_grants_it(tmp_path: Path) -> None:
    account, data = gw.healthy()
    policy = gw.rotation_policy()
    del policy["Statement"][2]  # GetRandomPassword
    account.add_role(gw.ROLE, policy)
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert f.status == "fail" and f.message.startswith(
        f"role {gw.ROLE} may not: secretsmanager:GetRandomPassword on *;"
    )
    assert f.fix.startswith("run terraform apply: the module puts policy ")


def test_a_boundary_or_a_deny_the_apply_cannot_lift_fails_with_its_own_fix(tmp_path: Path) -> None:
    account, data = gw.healthy()
    account.add_role(gw.ROLE, gw.rotation_policy(), boundary=gw.allow("secretsmanager:*"))  # no kms
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert f.status == "fail" and f"kms:Decrypt on {gw.KEY} (the permissions boundary does not allow it)" in f.message
    assert f.fix.startswith(f"allow them in the permissions boundary of role {gw.ROLE}")
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}],
    }
    account.add_role(gw.ROLE, gw.rotation_policy(), deny)
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert f.status == "fail" and "(explicitly denied)" in f.message
    assert f.fix.startswith(f"remove the statements of role {gw.ROLE}'s policies that deny them")


def test_a_condition_doctor_cannot_evaluate_warns_never_passes(tmp_path: Path) -> None:
    account, data = gw.healthy()
    policy = gw.rotation_policy()
    policy["Statement"][2]["Condition"] = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    account.add_role(gw.ROLE, policy)
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert f.status == "warn", f
    assert f.message.startswith(f"role {gw.ROLE} allows these only under conditions doctor cannot evaluate: "
                                "secretsmanager:GetRandomPassword on *")  # fmt: skip


def test_grants_follow_from_the_function_s_failure_and_a_role_that_cannot_be_known(tmp_path: Path) -> None:
    account, data = gw.healthy()
    del account.functions[gw.FUNCTION]
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert (f.status, f.cause) == ("unknown", ("legacy", "function"))
    account, data = gw.healthy()
    account.functions[gw.FUNCTION] = Denied("lambda:GetFunctionConfiguration")
    f = gw.one(_judge(tmp_path, account, data), gw.ORDERS, "grants")
    assert (f.status, f.cause) == ("unknown", None)
    assert f.message == ("could not check: the function's role is unknown (the function could not be read, or does "
                         "not exist)")  # fmt: skip


def test_what_the_role_lacks_on_another_key_follows_from_kms_key(tmp_path: Path) -> None:
    other = gw.arn("kms", "key/99999999-8888-7777-6666-555555555555")
    account, data = gw.healthy()
    account.add_key(other)
    account.secrets[gw.SECRET_ARNS[gw.ORDERS]]["KmsKeyId"] = other
    report = _judge(tmp_path, account, data)
    assert gw.one(report, gw.ORDERS, "kms-key").status == "fail"
    f = gw.one(report, gw.ORDERS, "grants")
    assert (f.status, f.cause) == ("unknown", (gw.ORDERS, "kms-key"))


def test_iam_s_simulator_judges_where_it_answers_and_a_disagreement_is_reported(tmp_path: Path) -> None:
    account, data = gw.healthy()
    module = gw.load(tmp_path, data)
    (fn,) = [f for f in module.functions if f.key == "legacy"]
    s = next(x for x in module.secrets if x.name == gw.ORDERS)
    wanted = module.requests(fn, s.grant)
    account.simulator = {(r.action, r.resource): "allowed" for r in wanted}
    report = gw.judge(module, account)
    f = gw.one(report, gw.ORDERS, "grants")
    assert f.status == "pass" and f.message.endswith("; judged by IAM's policy simulator"), f
    j = gw.one(report, gw.ORDERS, "grants-judges")
    assert (j.status, j.message) == ("pass", "IAM's policy simulator and doctor's own evaluator agree on 7 request(s)")
    account.simulator[("secretsmanager:GetRandomPassword", "*")] = "implicitDeny"
    report = gw.judge(module, account)
    assert gw.one(report, gw.ORDERS, "grants").status == "fail"  # the simulator's answer
    j = gw.one(report, gw.ORDERS, "grants-judges")
    assert j.status == "warn" and ("secretsmanager:GetRandomPassword on *: IAM's simulator says implicitDeny, doctor's "
                                   "evaluator allowed") in j.message  # fmt: skip
