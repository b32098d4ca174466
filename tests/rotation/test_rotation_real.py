"""Rotation for real: AWS's rotation functions, real databases, the generated grants enforced.

One manifest holds every case. It is generated and applied with terraform against moto;
then each secret rotates two times (three for alternating users) through AWS's unmodified
function, under the role its function runs as, every call judged by the enforcing proxy
(tests/helpers/rotation_proxy.py, tests/helpers/iam_strict.py). Afterwards every action the module grants
to a function is removed from the role policy in moto, one at a time, and the rotation
must fail at the step whose call needs it.

Everything is in one test (one world per run: the servers, one apply) so that pytest-xdist
never builds the world twice; each case's result is collected and reported together.
What was run and measured: docs/rotation-surface.md#rotation-run-for-real.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helpers.harness import ACCOUNT, MotoServer, Root, skip_or_fail, terraform_or_skip
from helpers.rotation_world import (
    AWS_FUNCTION,
    STEPS,
    Function,
    Rotator,
    code_sha256,
    function_zip,
    functions_dir,
)

from generator import api, render

pytestmark = pytest.mark.rotation

REGION = "us-east-1"
EXISTING_ROLE = "legacy-app-exec"  # an existing function runs as a role of its own


@dataclass
class Case:
    secret: str
    function: str
    db: str  # "pg" | "my"
    user: str
    master: str | None = None  # secret name of the master
    cmk: bool = False
    by_name: bool = False  # the manifest names the secret without its ARN
    host: str | None = None  # World.hosts key: another name of the server (a replica's), not db.host
    replica: tuple[str, str] | None = None  # replica_of_master: (field, identifier)

    @property
    def rotations(self) -> int:
        return 3 if self.master else 2


# function key -> (engine, strategy, existing?)
FUNCTIONS = {
    "pg_single": ("postgresql", "single_user", True),
    "pg_alt": ("postgresql", "alternating_users", False),
    "mysql_single": ("mysql", "single_user", False),
    "mysql_alt": ("mysql", "alternating_users", False),
    "mariadb_single": ("mariadb", "single_user", False),
    "mariadb_alt": ("mariadb", "alternating_users", False),
    "pg_replica": ("postgresql", "alternating_users", False),  # users of a read replica and an Aurora reader
}
RDS_MASTER = "rds!db-0d72c586-d9ba-46f5-aced-dd0fc6eb6ba4"
# The PostgreSQL server under other names (HOSTS, tests/helpers/rotation_world.py), each registered in
# moto: the primary instance, its read replica, and an Aurora cluster's writer and reader endpoints.
PRIMARY, READ_REPLICA, WRITER, READER = "primary", "read-replica", "writer", "reader"
REPLICA_ID, CLUSTER_ID = "rotation-pg-replica", "rotation-aurora"
CASES = [
    Case("pg/single", "pg_single", "pg", "app_single"),
    Case("pg/cmk", "pg_single", "pg", "app_cmk", cmk=True),
    Case("pg/byname", "pg_single", "pg", "app_byname", by_name=True),
    Case("pg/alt", "pg_alt", "pg", "app_alt", master="pg/master"),
    Case("pg/alt-rds", "pg_alt", "pg", "app_rds", master=RDS_MASTER),
    Case("mysql/single", "mysql_single", "my", "my_single"),
    Case("mysql/alt", "mysql_alt", "my", "my_alt", master="mysql/master"),
    Case("mariadb/single", "mariadb_single", "my", "maria_single"),
    Case("mariadb/alt", "mariadb_alt", "my", "maria_alt", master="mariadb/master"),
    Case("pg/replica", "pg_replica", "pg", "app_replica", master="pg/primary-master", host=READ_REPLICA,
         replica=("db_instance", REPLICA_ID)),
    Case("pg/reader", "pg_replica", "pg", "app_reader", master="pg/aurora-master", host=READER,
         replica=("db_cluster", CLUSTER_ID)),
]  # fmt: skip
CMK_MASTERS = {"mysql/master"}  # a master secret encrypted with the customer managed key
SECRET_ENGINE = {"pg": "postgres", "mysql": "mysql", "mariadb": "mariadb"}
# Granted to every function for Lambda itself (its log stream), never called by AWS's code.
LAMBDA_SERVICE_ACTIONS = ("logs:",)


@pytest.fixture(scope="session")
def postgres():
    from helpers.databases import Postgres

    if (why := Postgres.missing()) is not None:
        skip_or_fail(why)
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb():
    from helpers.databases import MariaDB

    if (why := MariaDB.missing()) is not None:
        skip_or_fail(why)
    server = MariaDB().start()
    try:
        yield server
    finally:
        server.stop()


def _imports_or_fail() -> None:
    for mod, pkg in (("pgdb", "PyGreSQL"), ("pymysql", "PyMySQL")):
        try:
            __import__(mod)
        except ImportError:
            skip_or_fail(f"{pkg} is not installed (the test extra installs it)")


def _engine_of(case: Case) -> str:
    return SECRET_ENGINE["pg" if case.db == "pg" else FUNCTIONS[case.function][0]]


class World:
    """Everything one run builds: servers, moto, proxy, the applied module, the cases."""

    def __init__(self, tmp: Path, postgres, mariadb, moto: MotoServer, proxy, tf):
        self.tmp, self.pg, self.my, self.moto, self.proxy, self.tf = tmp, postgres, mariadb, moto, proxy, tf
        self.sm = moto.client("secretsmanager", REGION)
        self.iam = moto.client("iam", REGION)
        self.lam = moto.client("lambda", REGION)
        self.arns: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        self.zips: dict[str, bytes] = {}
        self.functions: dict[str, Function] = {}
        self.timings: dict[str, float] = {}
        self.hosts: dict[str, str] = {}  # PRIMARY, READ_REPLICA, WRITER, READER -> the name moto gave it

    def db(self, case: Case):
        return self.pg if case.db == "pg" else self.my

    # -- what exists before the module ------------------------------------------------

    def seed_databases(self) -> None:
        for case in CASES:
            pw = "initial-" + case.user.replace("_", "-") + "-Aa1"
            self.passwords[case.secret] = pw
            if case.db == "pg":
                self.pg.execute(f"CREATE ROLE {case.user} WITH LOGIN PASSWORD %s", (pw,))
            else:
                self.my.execute(f"CREATE USER '{case.user}'@'%%' IDENTIFIED BY %s", (pw,))
                self.my.execute("CREATE DATABASE IF NOT EXISTS appdb")
                self.my.execute(f"GRANT SELECT ON appdb.* TO '{case.user}'@'%'")

    def _secret(self, name: str, value: dict, **kwargs) -> str:
        arn = self.sm.create_secret(Name=name, SecretString=json.dumps(value), **kwargs)["ARN"]
        self.arns[name] = arn
        return arn

    def seed_aws(self) -> None:
        kms = self.moto.client("kms", REGION)
        self.key_arn = kms.create_key(Description="rotation tier CMK")["KeyMetadata"]["Arn"]
        rds = self.moto.client("rds", REGION)
        inst = rds.create_db_instance(
            DBInstanceIdentifier="rotation-pg",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername=self.pg.superuser,
            MasterUserPassword=self.pg.password,
            AllocatedStorage=20,
            Port=self.pg.port,
        )["DBInstance"]
        self.db_arn = inst["DBInstanceArn"]
        address = rds.describe_db_instances(DBInstanceIdentifier="rotation-pg")["DBInstances"][0]["Endpoint"]
        assert address["Port"] == self.pg.port, address
        self.proxy.map_endpoint(address["Address"], self.pg.host, self.pg.port)  # moto limit RDS_ENDPOINT
        # The same server as a read replica of that instance, and as an Aurora cluster (writer and reader).
        self.hosts[PRIMARY] = address["Address"]
        self.hosts[READ_REPLICA] = rds.create_db_instance_read_replica(
            DBInstanceIdentifier=REPLICA_ID, SourceDBInstanceIdentifier="rotation-pg"
        )["DBInstance"]["Endpoint"]["Address"]
        cluster = rds.create_db_cluster(DBClusterIdentifier=CLUSTER_ID, Engine="aurora-postgresql", Port=self.pg.port,
                                        MasterUsername=self.pg.superuser, MasterUserPassword=self.pg.password)["DBCluster"]  # fmt: skip
        for n in (1, 2):  # a writer and a reader instance
            rds.create_db_instance(DBInstanceIdentifier=f"{CLUSTER_ID}-{n}", Engine="aurora-postgresql",
                                   DBInstanceClass="db.t3.medium", DBClusterIdentifier=CLUSTER_ID)  # fmt: skip
        self.hosts[WRITER], self.hosts[READER] = cluster["Endpoint"], cluster["ReaderEndpoint"]
        masters = {
            "pg/master": {"engine": "postgres", "host": self.pg.host, "port": self.pg.port,
                          "username": self.pg.superuser, "password": self.pg.password},
            "mysql/master": {"engine": "mysql", "host": self.my.host, "port": self.my.port,
                             "username": self.my.superuser, "password": self.my.password, "ssl": False},
            "mariadb/master": {"engine": "mariadb", "host": self.my.host, "port": self.my.port,
                               "username": self.my.superuser, "password": self.my.password, "ssl": False},
            # masters named by their endpoints (HOSTS): the primary instance's, the Aurora cluster's writer
            "pg/primary-master": {"engine": "postgres", "host": self.hosts[PRIMARY], "port": self.pg.port,
                                  "username": self.pg.superuser, "password": self.pg.password},
            "pg/aurora-master": {"engine": "aurora-postgresql", "host": self.hosts[WRITER], "port": self.pg.port,
                                 "username": self.pg.superuser, "password": self.pg.password},
        }  # fmt: skip
        for name, value in masters.items():
            self._secret(name, value, **({"KmsKeyId": self.key_arn} if name in CMK_MASTERS else {}))
        # An RDS-managed master: only username and password, and the instance in a tag.
        self._secret(
            RDS_MASTER,
            {"username": self.pg.superuser, "password": self.pg.password},
            Tags=[
                {"Key": "aws:rds:primaryDBInstanceArn", "Value": self.db_arn},
                {"Key": "aws:secretsmanager:owningService", "Value": "rds"},
            ],
        )
        for case in CASES:
            db = self.db(case)
            value = {"engine": _engine_of(case), "host": self.hosts[case.host] if case.host else db.host,
                     "port": db.port, "username": case.user, "password": self.passwords[case.secret]}  # fmt: skip
            if case.db == "pg":
                value["dbname"] = "postgres"
            else:
                value["ssl"] = False  # harness limit LAMBDA_CA
            if case.master:
                value["masterarn"] = self.arns[case.master]
            kwargs = {"KmsKeyId": self.key_arn} if case.cmk else {}
            self._secret(case.secret, value, **kwargs)
        folder = functions_dir()
        for key, (engine, strategy, existing) in FUNCTIONS.items():
            self.zips[key] = function_zip(folder / AWS_FUNCTION[(engine, strategy)])
            (self.tmp / f"{key}.zip").write_bytes(self.zips[key])
            if existing:
                role = self.iam.create_role(
                    RoleName=EXISTING_ROLE,
                    Path="/legacy/apps/",
                    AssumeRolePolicyDocument=json.dumps(render._trust_policy()),
                )["Role"]["Arn"]
                self.lam.create_function(
                    FunctionName=f"existing-{key}".replace("_", "-"),
                    Runtime="python3.12",
                    Role=role,
                    Handler="lambda_function.lambda_handler",
                    Code={"ZipFile": self.zips[key]},
                    Environment={
                        "Variables": {"SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{REGION}.amazonaws.com"}
                    },
                )

    # -- the module -------------------------------------------------------------------

    def manifest(self) -> dict:
        functions = {}
        for key, (engine, strategy, existing) in FUNCTIONS.items():
            fn: dict = {"strategy": strategy, "engine": engine}
            if existing:
                name = f"existing-{key}".replace("_", "-")
                fn["existing_function_arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            else:
                fn["package"] = {"filename": f"{key}.zip", "handler": "lambda_function.lambda_handler",
                                 "runtime": "python3.12"}  # fmt: skip
            functions[key] = fn
        secrets = {}
        for case in CASES:
            s: dict = {"function": case.function, "schedule": {"every_days": 30}}
            if not case.by_name:
                s["arn"] = self.arns[case.secret]
            if case.cmk:
                s["kms_key_arn"] = self.key_arn
            if case.master:
                s["master_secret"] = {"arn": self.arns[case.master]}
                if case.master in CMK_MASTERS:
                    s["master_secret"]["kms_key_arn"] = self.key_arn
            if case.replica:
                s["replica_of_master"] = {case.replica[0]: case.replica[1]}
            secrets[case.secret] = s
        return {"version": 1, "account_id": ACCOUNT, "region": REGION, "functions": functions, "secrets": secrets}

    def apply(self) -> None:
        manifest = self.tmp / "rotation-tier.yaml"
        manifest.write_text(yaml.safe_dump(self.manifest(), sort_keys=True))
        result = api.generate(manifest, self.tmp / "out")
        assert result.exit == api.Exit.OK, [str(d) for d in result.diagnostics]
        self.module_dir = result.target
        self.model = result.module
        root = Root(self.tf, self.tmp / "root", result.target, region=REGION, endpoint=self.moto.url)
        root.init()
        root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false", timeout=600)
        self.read_functions()

    def read_functions(self) -> None:
        """Each function as applied: its real role, environment and code (moto limit CODE)."""
        names = {f.key: f.function_name for f in self.model.functions}
        for key in FUNCTIONS:
            name = names[key]
            conf = self.lam.get_function(FunctionName=name)["Configuration"]
            assert conf["CodeSha256"] == code_sha256(self.zips[key]), f"{key}: the deployed code is not AWS's zip"
            code_dir = self.tmp / "code" / key
            code_dir.mkdir(parents=True, exist_ok=True)
            zipfile.ZipFile(io.BytesIO(self.zips[key])).extractall(code_dir)
            self.functions[key] = Function(
                key, name, conf["FunctionArn"], conf["Role"], conf.get("Environment", {}).get("Variables", {}), code_dir
            )


@pytest.fixture
def world(request, tmp_path):
    # What is missing is said before any server starts.
    _imports_or_fail()
    functions_dir()
    tf = terraform_or_skip()
    from helpers.rotation_proxy import EnforcingProxy

    started = time.monotonic()
    postgres = request.getfixturevalue("postgres")
    mariadb = request.getfixturevalue("mariadb")
    w_servers = time.monotonic() - started
    moto = MotoServer().start()
    proxy = EnforcingProxy(moto.url, ACCOUNT, REGION)
    try:
        w = World(tmp_path, postgres, mariadb, moto, proxy, tf)
        w.seed_databases()
        w.seed_aws()
        w.timings["servers"] = w_servers
        seeded = time.monotonic()
        w.apply()
        w.timings["apply"] = time.monotonic() - seeded
        w.timings["world"] = time.monotonic() - started
        yield w
    finally:
        proxy.stop()
        moto.stop()


def _current(sm, arn: str) -> tuple[str, dict]:
    v = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    return v["VersionId"], json.loads(v["SecretString"])


def _rotate_case(w: World, rot: Rotator, case: Case, calls: list) -> list[str]:
    """Rotate one case as often as it needs; returns the problems found. ``calls`` gets
    the proxy's decisions on the calls the rotations made."""
    problems = []
    arn = w.arns[case.secret]
    fn = w.functions[case.function]
    db = w.db(case)
    seen_users = set()
    for n in range(case.rotations):
        old_version, old = _current(w.sm, arn)
        mark = len(w.proxy.log)
        out = rot.rotate(arn, fn)
        calls.extend(w.proxy.log[mark:])
        if not out.ok:
            return problems + [f"rotation {n + 1}: {out.failed} failed: {out.error}; denied: {out.denied}"]
        new_version, new = _current(w.sm, arn)
        stages = w.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        if new_version != out.token or new["password"] == old["password"]:
            problems.append(f"rotation {n + 1}: AWSCURRENT did not move to a new password")
        if stages.get(old_version) != ["AWSPREVIOUS"]:
            problems.append(f"rotation {n + 1}: AWSPREVIOUS is not the old version: {stages}")
        if not db.login(new["username"], new["password"]):
            problems.append(f"rotation {n + 1}: the new AWSCURRENT ({new['username']}) does not log in")
        if case.master is None:
            if new["username"] != case.user:
                problems.append(f"rotation {n + 1}: single user changed user to {new['username']}")
            if db.login(old["username"], old["password"]):
                problems.append(f"rotation {n + 1}: the previous password still logs in")
        else:
            seen_users.add(new["username"])
            if new["username"] == old["username"]:
                problems.append(f"rotation {n + 1}: alternating users did not alternate")
            if not db.login(old["username"], old["password"]):
                problems.append(f"rotation {n + 1}: the previous user stopped working (alternating keeps it)")
    if case.master is not None and seen_users != {case.user, case.user + "_clone"}:
        problems.append(f"users seen: {sorted(seen_users)}; want {case.user} and its _clone")
    return problems


def test_rotation_under_the_enforced_grants(world: World):
    w = world
    rot = Rotator(w.moto, w.proxy, REGION, pg_hostaddr=w.pg.host)
    failures: dict[str, list[str]] = {}
    uses: dict[str, dict[str, list]] = {key: {} for key in FUNCTIONS}
    started = time.monotonic()
    for case in CASES:
        calls = uses[case.function].setdefault(case.secret, [])
        problems = _rotate_case(w, rot, case, calls)
        if problems:
            failures[case.secret] = problems
        # Every call was made as the role the function runs as.
        roles = {d.role for d in calls}
        if calls and roles != {w.functions[case.function].role_arn}:
            failures.setdefault(case.secret, []).append(f"calls made as {roles}")
    w.timings["rotations"] = time.monotonic() - started
    print(f"timings: {w.timings}")
    assert not failures, "\n".join(f"{k}: {p}" for k, ps in failures.items() for p in ps)
    assert all(d.allowed for d in w.proxy.log), [d for d in w.proxy.log if not d.allowed]

    problems = check_conditions_enforced(w, rot)
    more, ran = check_without_replica_of_master(w, rot)
    problems += more
    print("\n".join(ran))
    started = time.monotonic()
    more, ran = check_each_grant_needed(w, rot, uses)
    problems += more
    w.timings["grants"] = time.monotonic() - started
    print("\n".join(ran))
    # Why did the rotation fail? doctor reads AWS's code failing for real (tests/helpers/rotation_diagnosis.py)
    from helpers.rotation_diagnosis import check_failures_diagnosed

    started = time.monotonic()
    more, measured = check_failures_diagnosed(w, rot, {c.secret: c.function for c in CASES})
    problems += more
    w.timings["diagnosis"] = time.monotonic() - started
    shown = measured.pop("shown")
    print(f"{shown['text']}\n{shown['json']}\n{shown['after']}")
    print(f"diagnosis: {measured}")
    print(f"timings: {w.timings}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# Each granted action is needed


def _listed(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _without(doc: dict, index: int, action: str) -> dict:
    """``doc`` with ``action`` removed from statement ``index`` (and the statement, if empty)."""
    out = json.loads(json.dumps(doc))
    st = out["Statement"][index]
    left = [a for a in _listed(st["Action"]) if a != action]
    if left:
        st["Action"] = left if len(left) > 1 else left[0]
    else:
        del out["Statement"][index]
    return out


def _first_step(uses, action: str, resources: list[str]) -> tuple[str, str] | None:
    """(case, step) of the first call that used ``action`` on one of ``resources``."""
    from helpers.iam_strict import wildcard

    for secret, calls in uses.items():
        for step in STEPS:
            for d in calls:
                if d.allowed and d.step == step and wildcard(action, d.action, ignore_case=True):
                    if any(wildcard(r, d.resource) for r in resources):
                        return secret, step
    return None


def check_each_grant_needed(w: World, rot: Rotator, uses: dict[str, dict[str, list]]) -> tuple[list[str], list[str]]:
    """Remove each granted action from the role policy in moto, one at a time: the rotation
    must fail, at the first step that used it, with that action denied. A rotation that
    failed in finishSecret (the database already has the new password) is retried with the
    same token and the grant back, as the service retries, and must complete."""
    problems, ran = [], []
    done_shapes = set()
    for key, fn in w.functions.items():
        role = fn.role_arn.rsplit("/", 1)[1]
        for pname in w.iam.list_role_policies(RoleName=role)["PolicyNames"]:
            doc = w.iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"]
            for i, st in enumerate(doc["Statement"]):
                for action in _listed(st["Action"]):
                    if action.startswith(LAMBDA_SERVICE_ACTIONS):
                        continue
                    used = _first_step(uses[key], action, _listed(st["Resource"]))
                    if used is None:
                        problems.append(f"{key}: {st.get('Sid')} grants {action}, which no rotation used")
                        continue
                    secret, step = used
                    shape = (FUNCTIONS[key][1], st.get("Sid"), action, secret.split("/", 1)[1])
                    if shape in done_shapes:  # same grant, same use: shown on another function
                        continue
                    done_shapes.add(shape)
                    arn = w.arns[secret]
                    w.iam.put_role_policy(
                        RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(_without(doc, i, action))
                    )
                    try:
                        token = rot.start(arn, fn)
                        out = rot.run(arn, fn, token)
                    finally:
                        w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(doc))
                    ran.append(f"{key} {st.get('Sid')} {action} ({secret}): failed at {out.failed}")
                    denied = {d.action.lower() for d in out.denied}
                    if out.ok:
                        problems.append(f"{key}: without {action} ({st.get('Sid')}) {secret} still rotated")
                    elif out.failed != step or action.lower() not in denied:
                        problems.append(
                            f"{key}: without {action}, {secret} failed at {out.failed} ({out.error}; denied {sorted(denied)}), expected {step} with {action} denied"
                        )
                    if out.failed != "finishSecret":
                        # Nothing changed in the database: the version is abandoned.
                        rot.abandon(arn, token)
                        continue
                    # The database has the new password: the service retries the same version.
                    retry = rot.run(arn, fn, token)
                    if not retry.ok:
                        problems.append(
                            f"{key}: the retry of {secret} with {action} back failed at {retry.failed}: {retry.error}"
                        )
                        continue
                    rot.finish(arn, token)
                    case = next(c for c in CASES if c.secret == secret)
                    _, value = _current(w.sm, arn)
                    if not w.db(case).login(value["username"], value["password"]):
                        problems.append(f"{key}: after the retry, {secret}'s AWSCURRENT does not log in")
    return problems, ran


def check_without_replica_of_master(w: World, rot: Rotator) -> tuple[list[str], list[str]]:
    """Without replica_of_master a replica's rotation fails: the role holds the policy the
    module generates from the same manifest without that secret's field, and the rotation
    must fail in setSecret, denied the RDS call of is_rds_replica_database that the table of
    AWS's calls names (generator/aws_calls.py), on the replica's instance or the cluster."""
    from generator import api, aws_calls

    problems, ran = [], []
    function = aws_calls.function_for("postgresql", "alternating_users")
    for case in [c for c in CASES if c.replica]:
        data = w.manifest()
        del data["secrets"][case.secret]["replica_of_master"]
        path = w.tmp / "without-replica.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=True))
        module, _ = api.load(path)
        (plan,) = [f for f in module.functions if f.key == case.function]
        assert plan.policy is not None
        fn = w.functions[case.function]
        role = fn.role_arn.rsplit("/", 1)[1]
        (pname,) = w.iam.list_role_policies(RoleName=role)["PolicyNames"]
        applied = w.iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"]
        kind, ident = case.replica
        target = aws_calls.RDS_DB if kind == aws_calls.REPLICA_INSTANCE else aws_calls.RDS_CLUSTER
        (call,) = [c for c in aws_calls.CALLS[function] if c[0] == "rds" and c[2] == target]
        action = aws_calls.ACTIONS[call[:2]]
        resource = f"arn:aws:rds:{REGION}:{ACCOUNT}:{'db' if target == aws_calls.RDS_DB else 'cluster'}:{ident}"
        w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(plan.policy.document()))
        try:
            arn = w.arns[case.secret]
            token = rot.start(arn, fn)
            out = rot.run(arn, fn, token)
        finally:
            w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(applied))
        rot.abandon(arn, token)
        denied = [(d.action, d.resource) for d in out.denied]
        ran.append(f"{case.secret} without replica_of_master: failed at {out.failed}, denied {denied} "
                   f"({function} {call[1]}, lines {aws_calls.CALLS[function][call]})")  # fmt: skip
        if out.failed != "setSecret" or denied != [(action, resource)]:
            problems.append(f"{case.secret} without replica_of_master: {out.failed} ({out.error}), denied {denied}; "
                            f"expected setSecret with {action} on {resource} denied")  # fmt: skip
    return problems, ran


def check_conditions_enforced(w: World, rot: Rotator) -> list[str]:
    """The key statement's condition is enforced, not just its action: with the encryption
    context pinned to another secret, the CMK secret's rotation is denied kms:Decrypt."""
    case = next(c for c in CASES if c.cmk)
    fn = w.functions[case.function]
    role = fn.role_arn.rsplit("/", 1)[1]
    arn = w.arns[case.secret]
    for pname in w.iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = w.iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"]
        text = json.dumps(doc)
        if arn not in text or "kms:EncryptionContext:SecretARN" not in text:
            continue
        tampered = json.loads(text)
        for st in tampered["Statement"]:
            for values in (st.get("Condition") or {}).values():
                for key in list(values):
                    if key.lower() == "kms:encryptioncontext:secretarn":
                        values[key] = w.arns["pg/single"]
        w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(tampered))
        try:
            token = rot.start(arn, fn)
            out = rot.run(arn, fn, token)
        finally:
            w.iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=json.dumps(doc))
        rot.abandon(arn, token)
        if out.ok or out.failed != "createSecret" or "kms:Decrypt" not in {d.action for d in out.denied}:
            return [f"with the key condition on another secret, {case.secret}: {out.failed} {out.error}"]
        return []
    return [f"no statement of {role} conditions the key on {arn}"]
