"""doctor's ``grants`` against the module as terraform applies it (moto, real terraform):
issue 25, section 1.

One manifest holds one existing function per path the module can emit (aws_calls.paths():
engine x strategy x master kind x replica) whose policy has statements no earlier path's has
(the others differ only in citations; CI time), each function on a role of its own, so that no
function's grants cover another's, with customer managed keys on the secret and the master
in turn, so that each kind of key statement is applied too. Before the apply, ``doctor
--before-apply`` says for every secret that the apply grants what it lacks, and counts what it
lists. ONE apply; then every role's policy, read back from IAM, is the model's statement for
statement (so tests/unit/test_doctor_grants.py, which takes every action of every path away in
turn in-process, judges what terraform applied), and ``doctor`` passes every secret's
``grants``. Then a handful of actions are taken away for real (PutRolePolicy): doctor in moto,
on that function alone, fails ``grants`` for its secret and names each missing request.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.harness import ACCOUNT, Root

from generator import api, aws_calls, policies, render
from generator.live import commands

pytestmark = [pytest.mark.moto, pytest.mark.terraform]

REGION = "us-east-1"
MANAGED_BY = {v: k for k, v in aws_calls.MANAGED_BY.items()}
MASTER_NAMES = {
    aws_calls.PLAIN: "grants/{i}/admin",
    aws_calls.RDS_MANAGED_DB: "rds!db-00000000-0000-4000-8000-0000000000{i}",
    aws_calls.RDS_MANAGED_CLUSTER: "rds!cluster-00000000-0000-4000-8000-0000000000{i}",
    aws_calls.REDSHIFT_MANAGED_CLUSTER: "redshift!orders{i}-awsuser",
    aws_calls.REDSHIFT_MANAGED_NAMESPACE: "redshift!analytics{i}-admin",
}
TAGGED = {
    aws_calls.RDS_MANAGED_DB: f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-{{i}}",
    aws_calls.RDS_MANAGED_CLUSTER: f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-aurora-{{i}}",
    aws_calls.REDSHIFT_MANAGED_CLUSTER: f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:orders{{i}}",
    aws_calls.REDSHIFT_MANAGED_NAMESPACE: f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/0000{{i}}",
}
REPLICA_IDS = {aws_calls.REPLICA_INSTANCE: "orders-replica-{i}", aws_calls.REPLICA_CLUSTER: "orders-aurora-{i}"}


def distinct_policies(paths: Any) -> list[aws_calls.Path]:
    """The paths whose policies differ in their statements (sid and actions): CI time. The
    other paths' policies are these with other citations; tests/unit/test_doctor_grants.py takes
    every action of every path away in-process, against the same model these are held to."""
    ctx = policies.Context("aws", REGION, ACCOUNT)
    seen: set[tuple] = set()
    out = []
    for p in paths:
        master = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:m-AbCdEf" if p.master else None
        grant = policies.SecretGrant(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:s-AbCdEf", None, master,
                                     None, p.master, (p.replica, "r") if p.replica else None)  # fmt: skip
        doc = policies.build((grant,), ctx=ctx, function_name="f", function_arn="f", in_vpc=False,
                             engine=p.engine, strategy=p.strategy).document()  # fmt: skip
        shape = tuple((st["Sid"], tuple(st["Action"])) for st in doc["Statement"])
        if shape not in seen:
            seen.add(shape)
            out.append(p)
    return out


def _doctor(url: str, path: Path, **kw: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    code = commands.doctor(path, commands.Connection(endpoint_url=url, max_attempts=2), fmt="json", out=out, **kw)
    assert out.getvalue(), f"doctor exited {code} without output"
    return json.loads(out.getvalue())["findings"]


def _grants(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s: f for f in findings if f["check"] == "grants" for s in f["subjects"]}


class World:
    def __init__(self, moto, tmp: Path):
        self.moto, self.tmp = moto, tmp
        self.sm = moto.client("secretsmanager", REGION)
        self.iam = moto.client("iam", REGION)
        kms = moto.client("kms", REGION)
        self.secret_key = kms.create_key(Description="secrets")["KeyMetadata"]["Arn"]
        self.master_key = kms.create_key(Description="masters")["KeyMetadata"]["Arn"]
        self.paths = distinct_policies(aws_calls.paths())
        self.functions: dict[str, dict] = {}
        self.secrets: dict[str, dict] = {}
        self.roles: dict[str, str] = {}  # function key -> role name

    def build(self) -> dict:
        lam = self.moto.client("lambda", REGION)
        from helpers.lifecycle import dummy_zip

        masters_with_key = 0
        for i, path in enumerate(self.paths):
            n = f"{i:02d}"
            key = f"p{n}"
            role = f"grants-{n}-exec"
            role_arn = self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(render._trust_policy()))["Role"]["Arn"]  # fmt: skip
            fn_arn = lam.create_function(FunctionName=f"grants-{n}", Runtime="python3.12", Role=role_arn,
                                         Handler="lambda_function.lambda_handler", Code={"ZipFile": dummy_zip()})["FunctionArn"]  # fmt: skip
            self.roles[key] = role
            self.functions[key] = {"strategy": path.strategy, "engine": path.engine,
                                   "existing_function_arn": fn_arn, "execution_role_arn": role_arn}  # fmt: skip
            # customer managed keys in turn: secret on odd paths; master on every other master path
            secret_cmk = i % 2 == 1
            value = {"engine": "postgres", "host": "db.example.internal", "username": "app", "password": "p"}
            secret = {"function": key, "schedule": {"every_days": 30}}
            if path.master:
                master_cmk = masters_with_key % 2 == 1
                masters_with_key += 1
                name = MASTER_NAMES[path.master].format(i=n)
                tag = aws_calls.MASTER_TAGS.get(path.master)
                kwargs: dict[str, Any] = {"KmsKeyId": self.master_key} if master_cmk else {}
                if tag:
                    kwargs["Tags"] = [{"Key": tag, "Value": TAGGED[path.master].format(i=n)}]
                arn = self.sm.create_secret(Name=name, SecretString=json.dumps({"username": "admin", "password": "m"}), **kwargs)["ARN"]  # fmt: skip
                secret["master_secret"] = {"arn": arn}
                if master_cmk:
                    secret["master_secret"]["kms_key_arn"] = self.master_key
                if path.master in MANAGED_BY:
                    secret["master_secret"]["managed_by"] = MANAGED_BY[path.master]
                value["masterarn"] = arn
            if path.replica:
                secret["replica_of_master"] = {path.replica: REPLICA_IDS[path.replica].format(i=n)}
            kwargs = {"KmsKeyId": self.secret_key} if secret_cmk else {}
            secret["arn"] = self.sm.create_secret(Name=f"grants/{n}/db", SecretString=json.dumps(value), **kwargs)[
                "ARN"
            ]
            if secret_cmk:
                secret["kms_key_arn"] = self.secret_key
            self.secrets[f"grants/{n}/db"] = secret
        return {"version": 1, "account_id": ACCOUNT, "region": REGION, "functions": self.functions,
                "secrets": self.secrets}  # fmt: skip

    def one_function(self, key: str) -> Path:
        """A manifest of ``key`` and its secret alone: doctor for that function only."""
        data = {"version": 1, "account_id": ACCOUNT, "region": REGION, "module": "grants",
                "functions": {key: self.functions[key]},
                "secrets": {n: s for n, s in self.secrets.items() if s["function"] == key}}  # fmt: skip
        path = self.tmp / f"{key}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _without(doc: dict, sid: str, action: str | None) -> dict:
    out = copy.deepcopy(doc)
    for st in out["Statement"]:
        if st["Sid"] == sid:
            st["Action"] = [a for a in _listed(st["Action"]) if action is not None and a != action]
    out["Statement"] = [st for st in out["Statement"] if st["Action"]]
    return out


def test_doctor_judges_what_the_applied_module_grants(terraform, moto, tmp_path, aws_env, monkeypatch, capsys):
    started = time.monotonic()
    timings: dict[str, float] = {}
    w = World(moto, tmp_path)
    manifest = tmp_path / "grants.yaml"
    manifest.write_text(yaml.safe_dump(w.build(), sort_keys=False))
    result = api.generate(manifest, tmp_path / "out")
    assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
    module = result.module
    assert module is not None
    by_key = {fn.key: fn for fn in module.functions}
    timings["world"] = time.monotonic() - started

    # Before the apply: each secret's grants are the apply's to give, counted as listed.
    mark = time.monotonic()
    before = _grants(_doctor(moto.url, manifest, before_apply=True))
    assert set(before) == set(w.secrets)
    for name, f in before.items():
        assert f["status"] == "warn", f
        m = re.fullmatch(r"the apply does this: puts policy \S+ on role (\S+), granting the (\d+) requests? it lacks: (.*)", f["message"])  # fmt: skip
        assert m, f["message"]
        listed = m.group(3).split("; ")
        fn = by_key[w.secrets[name]["function"]]
        s = next(x for x in module.secrets if x.name == name)
        assert m.group(1) == w.roles[fn.key]
        assert int(m.group(2)) == len(listed) == len(module.requests(fn, s.grant)), f["message"]
    timings["doctor --before-apply"] = time.monotonic() - mark

    mark = time.monotonic()
    root = Root(terraform, tmp_path / "root", result.target, region=REGION, endpoint=moto.url)
    root.init()
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false", timeout=600)
    timings["apply"] = time.monotonic() - mark

    # What IAM holds is the model's policy, statement for statement.
    docs: dict[str, dict] = {}
    for key, role in w.roles.items():
        (pname,) = w.iam.list_role_policies(RoleName=role)["PolicyNames"]
        docs[key] = w.iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"]
        assert by_key[key].policy is not None
        assert docs[key] == by_key[key].policy.document(), key

    mark = time.monotonic()
    after = _grants(_doctor(moto.url, manifest))
    assert {n: f["status"] for n, f in after.items()} == dict.fromkeys(w.secrets, "pass"), [f for f in after.values() if f["status"] != "pass"]  # fmt: skip
    timings["doctor"] = time.monotonic() - mark

    # A handful of actions taken away for real: doctor, in moto, names each missing request.
    def first(pred) -> str:
        return next(fn.key for fn, p in zip(module.functions, w.paths, strict=True) if pred(p, fn))

    removals = [
        # issue 25's case: an RDS-managed master's DescribeSecret and DescribeDBInstances
        (first(lambda p, fn: p.master == aws_calls.RDS_MANAGED_DB and not p.replica), aws_calls.DESCRIBE_MASTER, None),
        (first(lambda p, fn: p.master == aws_calls.RDS_MANAGED_DB and not p.replica), aws_calls.RDS_INSTANCES, None),
        (first(lambda p, fn: p.master == aws_calls.REDSHIFT_MANAGED_CLUSTER), aws_calls.REDSHIFT_CLUSTERS, None),
        (
            first(lambda p, fn: p.master == aws_calls.REDSHIFT_MANAGED_NAMESPACE),
            aws_calls.REDSHIFT_NAMESPACES,
            "redshift-serverless:ListWorkgroups",
        ),  # fmt: skip
        (
            first(lambda p, fn: p.replica == aws_calls.REPLICA_CLUSTER and p.master == aws_calls.PLAIN),
            aws_calls.REPLICA_CLUSTERS,
            None,
        ),  # fmt: skip
        (
            first(
                lambda p, fn: (
                    "master_secret" in w.secrets[fn.secrets[0].name]
                    and "kms_key_arn" in w.secrets[fn.secrets[0].name]["master_secret"]
                )
            ),
            "ReadMasterSecretKey1",
            None,
        ),  # fmt: skip
        (first(lambda p, fn: "kms_key_arn" in w.secrets[fn.secrets[0].name]), "UseSecretKey1", "kms:GenerateDataKey"),
        (first(lambda p, fn: True), aws_calls.ROTATE, "secretsmanager:PutSecretValue"),
    ]
    mark = time.monotonic()
    for key, sid, action in removals:
        fn = by_key[key]
        (s,) = fn.secrets
        role = w.roles[key]
        (pname,) = w.iam.list_role_policies(RoleName=role)["PolicyNames"]
        (st,) = [st for st in docs[key]["Statement"] if st["Sid"] == sid]
        taken = [action] if action else _listed(st["Action"])
        w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(_without(docs[key], sid, action)))  # fmt: skip
        try:
            found = _grants(_doctor(moto.url, w.one_function(key)))
        finally:
            w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(docs[key]))
        f = found[s.name]
        assert f["status"] == "fail", (key, sid, f)
        missing = f["message"].split(" may not: ", 1)[1].split("; judged by", 1)[0].split("; ")
        assert missing and all(m.split(" on ", 1)[0] in taken for m in missing), (sid, f["message"])
        assert {m.split(" on ", 1)[0] for m in missing} == set(taken), (sid, f["message"])
        assert f["fix"].startswith("run terraform apply"), f
    timings["removals"] = time.monotonic() - mark
    print(f"{len(w.paths)} functions; timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
