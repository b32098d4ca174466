"""Capture the logs of AWS's rotation functions failing for real: the fixtures of
tests/rotation/test_rotation_logs.py (tests/data/rotation_logs/).

    .venv/bin/python tests/helpers/capture_rotation_logs.py tests/data/rotation_logs [scenario ...]

Needs what the rotation tier needs (PostgreSQL 15, MariaDB, PyGreSQL, PyMySQL, AWS's functions
in ../shared/aws-rotation-functions). Starts a moto server and the two database servers, plants
one fault per scenario (a password changed behind the secret's back, a wrong master password,
a user name too long for _clone, a masterarn naming no secret (with and without the grants
enforced), a closed port, a grant removed,
a field missing, a wrong engine, a host that is not the master's, no network path to Secrets
Manager, a package without its driver), and rotates as Secrets Manager does: the AWSPENDING
placeholder (moto's RotateSecret), then the steps in order, each a Lambda invocation of AWS's
unmodified code in tests/helpers/lambda_emulator.py, retried as the service retries. Grants are
enforced by the rotation tier's proxy (tests/helpers/rotation_proxy.py) with the policy rotation-tf
generates for the function. Each scenario is written in both of Lambda's log formats (Text
and JSON) as FilterLogEvents returns events: ``logStreamName``, ``timestamp``, ``message``,
``ingestionTime``, ``eventId``; with the manifest that plans the function, the secret's ARN
and the fault. What a scenario is expected to show is asserted by tests/rotation/test_rotation_logs.py,
not here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/, for the helpers package

from helpers.databases import MariaDB, Postgres  # noqa: E402
from helpers.harness import ACCOUNT, MotoServer  # noqa: E402
from helpers.rotation_proxy import EnforcingProxy  # noqa: E402
from helpers.rotation_world import functions_dir  # noqa: E402

REGION = "us-east-1"
EMULATOR = HERE / "lambda_emulator.py"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
PG_SINGLE = "SecretsManagerRDSPostgreSQLRotationSingleUser"
PG_ALT = "SecretsManagerRDSPostgreSQLRotationMultiUser"
MARIA_SINGLE = "SecretsManagerRDSMariaDBRotationSingleUser"
ENGINE = {PG_SINGLE: ("postgresql", "single_user"), PG_ALT: ("postgresql", "alternating_users"),
          MARIA_SINGLE: ("mariadb", "single_user")}  # fmt: skip


class BlackHole:
    """A port whose accept queue is full: the kernel drops every new SYN (no network path)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = int(self.sock.getsockname()[1])
        self.fill = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(c)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


class Capture:
    def __init__(self, out: Path, mariadb: bool = True) -> None:
        self.out = out
        self.code = functions_dir()
        self.moto = MotoServer().start()
        self.pg = Postgres().start()
        self.my = MariaDB().start() if mariadb else None
        self.proxy = EnforcingProxy(self.moto.url, ACCOUNT, REGION)
        self.sm = self.moto.client("secretsmanager", REGION)
        self.iam = self.moto.client("iam", REGION)
        self.hole = BlackHole()
        # moto keeps the AWSPENDING placeholder only when RotateSecret names a function
        # (without one it moves AWSCURRENT itself): a stored function that moto never runs.
        from helpers.rotation_world import function_zip

        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                         "Action": "sts:AssumeRole"}]}  # fmt: skip
        role = self.iam.create_role(RoleName="rotator-exec", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.lambda_arn = self.moto.client("lambda", REGION).create_function(
            FunctionName="rotator", Runtime="python3.12", Role=role, Handler="lambda_function.lambda_handler",
            Code={"ZipFile": function_zip(self.code / PG_SINGLE)},
        )["FunctionArn"]  # fmt: skip

    def stop(self) -> None:
        self.proxy.stop()
        self.moto.stop()
        self.pg.stop()
        if self.my is not None:
            self.my.stop()

    # -- the world ----------------------------------------------------------------------

    def secret(self, name: str, value: dict) -> str:
        return self.sm.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]

    def pg_user(self, user: str, password: str) -> None:
        self.pg.execute(f'CREATE ROLE "{user}" WITH LOGIN PASSWORD %s', (password,))

    def pg_value(self, user: str, password: str, **extra: object) -> dict:
        return {"engine": "postgres", "host": self.pg.host, "port": self.pg.port, "username": user,
                "password": password, "dbname": "postgres", **extra}  # fmt: skip

    def manifest(self, function: str, secret_arn: str, master_arn: str | None = None, timeout: int = 30) -> dict:
        engine, strategy = ENGINE[function]
        secret: dict = {"function": "rotator", "arn": secret_arn, "schedule": {"every_days": 30}}
        if master_arn:
            secret["master_secret"] = {"arn": master_arn}
        return {
            "version": 1, "account_id": ACCOUNT, "region": REGION,
            "functions": {"rotator": {"strategy": strategy, "engine": engine,
                                      "package": {"filename": "rotator.zip", "handler": "lambda_function.lambda_handler",
                                                  "runtime": "python3.12", "timeout": timeout}}},
            "secrets": {secret_arn.split(":secret:", 1)[1].rsplit("-", 1)[0]: secret},
        }  # fmt: skip

    def role_without(self, manifest: dict, action: str) -> str:
        """A role holding the policy rotation-tf generates for the manifest's function, less ``action``."""
        import tempfile

        import yaml

        from generator import api

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.yaml"
            path.write_text(yaml.safe_dump(manifest))
            module, _ = api.load(path)
        doc = module.functions[0].policy.document()
        for st in doc["Statement"]:
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            st["Action"] = [a for a in actions if a != action]
        doc["Statement"] = [st for st in doc["Statement"] if st["Action"]]
        name = f"rotator-{uuid.uuid4().hex[:8]}"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                         "Action": "sts:AssumeRole"}]}  # fmt: skip
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="rotation", PolicyDocument=json.dumps(doc))
        return arn

    # -- running AWS's code -------------------------------------------------------------

    def start_rotation(self, arn: str) -> str:
        """The service's first move: a new version holding AWSPENDING and no value yet."""
        token = str(uuid.uuid4())
        self.sm.rotate_secret(SecretId=arn, ClientRequestToken=token, RotationLambdaARN=self.lambda_arn,
                              RotationRules={"AutomaticallyAfterDays": 30})  # fmt: skip
        return token

    def finish_rotation(self, arn: str, token: str) -> None:
        stages = self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        if "AWSPENDING" in stages.get(token, []):
            self.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)

    def env(self, role: str | None, endpoint: str | None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if role:
            env.update(self.proxy.issue(role))
            env["SECRETS_MANAGER_ENDPOINT"] = endpoint or self.proxy.url
            env["AWS_ENDPOINT_URL_RDS"] = self.proxy.url
        else:
            env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
            env["SECRETS_MANAGER_ENDPOINT"] = endpoint or self.moto.url
            env["AWS_ENDPOINT_URL_RDS"] = self.moto.url
        return env

    def invoke(self, function: str, arn: str, token: str, steps, fmt: str, *, role=None, endpoint=None,
               timeout: float = 30, block=()) -> tuple[list[dict], list[str]]:  # fmt: skip
        """One execution environment (one log stream) running ``steps``; returns its events and
        the steps that failed (stops at the first failure, as the service does)."""
        events: list[dict] = []
        failed: list[str] = []
        for step in steps:
            spec = {"format": fmt, "timeout": timeout, "block": list(block),
                    "invocations": [{"SecretId": arn, "ClientRequestToken": token, "Step": step,
                                     "RequestId": str(uuid.uuid4())}]}  # fmt: skip
            proc = subprocess.run(
                [sys.executable, "-I", str(EMULATOR), str(self.code / function)],
                input=json.dumps(spec), env=self.env(role, endpoint), capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            events.extend(got)
            if any(_failed(e["message"]) for e in got):
                failed.append(step)
                break
        return events, failed

    # -- scenarios ----------------------------------------------------------------------

    def rotate(self, function, arn, fmt, *, retries=0, **kw) -> list[list[dict]]:
        """One rotation, retried ``retries`` times from the failing step (the same version),
        as the service retries. Returns each environment's events (one log stream each)."""
        token = self.start_rotation(arn)
        streams = []
        events, failed = self.invoke(function, arn, token, STEPS, fmt, **kw)
        streams.append(events)
        for _ in range(retries):
            if not failed:
                break
            rest = STEPS[STEPS.index(failed[0]) :]
            events, failed = self.invoke(function, arn, token, rest, fmt, **kw)
            streams.append(events)
        if not failed:
            self.finish_rotation(arn, token)
        else:
            self.finish_rotation(arn, token)  # the harness abandons it, so the next rotation can start
        return streams

    def write(self, name: str, fmt: str, function: str, secret_arn: str, manifest: dict, fault: str,
              streams: list[list[dict]], master_arn: str | None = None, others: tuple[str, ...] = ()) -> None:  # fmt: skip
        events = []
        for stream in streams:
            sname = f"2026/01/15/[$LATEST]{uuid.uuid4().hex}"
            for e in stream:
                events.append({"logStreamName": sname, "timestamp": e["timestamp"], "message": e["message"],
                               "ingestionTime": e["timestamp"] + 120})  # fmt: skip
        events.sort(key=lambda e: (e["timestamp"], e["logStreamName"]))
        for i, e in enumerate(events):
            e["eventId"] = f"{e['timestamp']:d}{i:06d}"
        doc = {"scenario": name, "format": fmt, "function": function, "secret_arn": secret_arn,
               "master_arn": master_arn, "other_secrets": list(others), "fault": fault, "manifest": manifest,
               "events": events}  # fmt: skip
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"{name}.{fmt.lower()}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"{name}.{fmt.lower()}: {len(events)} events")

    SCENARIOS = (
        "password-changed",
        "master-password-wrong",
        "username-too-long",
        "master-missing",
        "master-elsewhere",
        "database-closed",
        "grant-removed",
        "master-read-removed",
        "host-missing",
        "not-master-host",
        "no-network",
        "no-driver",
        "mariadb-password-changed",
        "interleaved",
    )

    def run(self, formats: tuple[str, ...] = ("Text", "JSON"), only: tuple[str, ...] | None = None) -> None:
        """Every scenario (or ``only`` those), in each of ``formats``."""
        for fmt in formats:
            for name in only or self.SCENARIOS:
                getattr(self, "scenario_" + name.replace("-", "_"))(fmt, fmt.lower())

    def scenario_password_changed(self, fmt: str, n: str) -> None:
        # 1. The database's password changed behind the secret's back (single user), retried twice; then fixed.
        user = f"app_changed_{n}"
        self.pg_user(user, "initial-Aa1")
        arn = self.secret(f"pg/changed-{n}", self.pg_value(user, "initial-Aa1"))
        ok = self.rotate(PG_SINGLE, arn, fmt)
        self.pg.execute(f'ALTER ROLE "{user}" WITH PASSWORD %s', ("changed-by-hand-Bb2",))
        bad = self.rotate(PG_SINGLE, arn, fmt, retries=2)
        m = self.manifest(PG_SINGLE, arn)
        self.write("password-changed", fmt, PG_SINGLE, arn, m, "the database password changed by hand", ok + bad)
        current = json.loads(self.sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])[
            "password"
        ]
        self.pg.execute(f'ALTER ROLE "{user}" WITH PASSWORD %s', (current,))
        fixed = self.rotate(PG_SINGLE, arn, fmt)
        self.write("password-changed-then-fixed", fmt, PG_SINGLE, arn, m,
                   "the database password changed by hand, then reset to AWSCURRENT's", ok + bad + fixed)  # fmt: skip

    def scenario_master_password_wrong(self, fmt: str, n: str) -> None:
        # 2. The master's password is wrong (alternating users).
        user = f"app_alt_{n}"
        self.pg_user(user, "initial-Aa1")
        master = self.secret(f"pg/master-wrong-{n}", self.pg_value(self.pg.superuser, "not-the-password"))
        arn = self.secret(f"pg/alt-{n}", self.pg_value(user, "initial-Aa1", masterarn=master))
        self.write("master-password-wrong", fmt, PG_ALT, arn, self.manifest(PG_ALT, arn, master),
                   "the master secret's password is wrong", self.rotate(PG_ALT, arn, fmt), master)  # fmt: skip

    def scenario_username_too_long(self, fmt: str, n: str) -> None:
        # 3. A user name too long once _clone is added (PostgreSQL: 63).
        user = "u" * 60
        master = self.secret(f"pg/master-{n}", self.pg_value(self.pg.superuser, self.pg.password))
        arn = self.secret(f"pg/long-{n}", self.pg_value(user, "initial-Aa1", masterarn=master))
        self.write("username-too-long", fmt, PG_ALT, arn, self.manifest(PG_ALT, arn, master),
                   "a 60-character user name", self.rotate(PG_ALT, arn, fmt), master)  # fmt: skip

    def scenario_master_missing(self, fmt: str, n: str) -> None:
        # 4. masterarn names a secret that does not exist.
        user = f"app_nomaster_{n}"
        self.pg_user(user, "initial-Aa1")
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pg/deleted-master-{n}-AbCdEf"
        arn = self.secret(f"pg/nomaster-{n}", self.pg_value(user, "initial-Aa1", masterarn=missing))
        self.write("master-missing", fmt, PG_ALT, arn, self.manifest(PG_ALT, arn, missing),
                   "masterarn names no secret", self.rotate(PG_ALT, arn, fmt), missing)  # fmt: skip

    def scenario_master_elsewhere(self, fmt: str, n: str) -> None:
        # 4b. masterarn names a secret that does not exist, under the grants rotation-tf generates:
        # the role may read the manifest's master only, so the read is denied, not "not found".
        user = f"app_elsewhere_{n}"
        self.pg_user(user, "initial-Aa1")
        master = self.secret(f"pg/master-e-{n}", self.pg_value(self.pg.superuser, self.pg.password))
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pg/deleted-master-{n}-AbCdEf"
        arn = self.secret(f"pg/elsewhere-{n}", self.pg_value(user, "initial-Aa1", masterarn=missing))
        m = self.manifest(PG_ALT, arn, master)
        role = self.role_without(m, "")  # the module's policy as generated
        self.write("master-elsewhere", fmt, PG_ALT, arn, m, "masterarn names no secret; the manifest names the master",
                   self.rotate(PG_ALT, arn, fmt, role=role), master)  # fmt: skip

    def scenario_database_closed(self, fmt: str, n: str) -> None:
        # 5. The database's port is closed (server stopped).
        user = f"app_closed_{n}"
        arn = self.secret(f"pg/closed-{n}", {**self.pg_value(user, "initial-Aa1"), "port": closed_port()})
        self.write("database-closed", fmt, PG_SINGLE, arn, self.manifest(PG_SINGLE, arn),
                   "nothing listens on the database's port", self.rotate(PG_SINGLE, arn, fmt))  # fmt: skip

    def scenario_grant_removed(self, fmt: str, n: str) -> None:
        # 6. A grant removed: the role may not PutSecretValue (createSecret), enforced by the proxy.
        user = f"app_denied_{n}"
        self.pg_user(user, "initial-Aa1")
        arn = self.secret(f"pg/denied-{n}", self.pg_value(user, "initial-Aa1"))
        m = self.manifest(PG_SINGLE, arn)
        role = self.role_without(m, "secretsmanager:PutSecretValue")
        self.write("grant-removed", fmt, PG_SINGLE, arn, m, "secretsmanager:PutSecretValue removed from the role",
                   self.rotate(PG_SINGLE, arn, fmt, role=role))  # fmt: skip

    def scenario_master_read_removed(self, fmt: str, n: str) -> None:
        # 7. The master secret's read removed (alternating users): setSecret.
        user = f"app_nomread_{n}"
        self.pg_user(user, "initial-Aa1")
        master = self.secret(f"pg/master-r-{n}", self.pg_value(self.pg.superuser, self.pg.password))
        arn = self.secret(f"pg/nomread-{n}", self.pg_value(user, "initial-Aa1", masterarn=master))
        m = self.manifest(PG_ALT, arn, master)
        role = self.role_without(m, "secretsmanager:GetSecretValue")
        # GetSecretValue is in two statements (the secret, the master): keep the secret's
        role = self._restore_secret_read(role, arn)
        self.write("master-read-removed", fmt, PG_ALT, arn, m, "secretsmanager:GetSecretValue on the master removed",
                   self.rotate(PG_ALT, arn, fmt, role=role), master)  # fmt: skip

    def scenario_host_missing(self, fmt: str, n: str) -> None:
        # 8. A field missing (no host), 9. a wrong engine.
        arn = self.secret(f"pg/nohost-{n}", {k: v for k, v in self.pg_value("app_nohost", "x").items() if k != "host"})
        self.write("host-missing", fmt, PG_SINGLE, arn, self.manifest(PG_SINGLE, arn),
                   "the secret has no host", self.rotate(PG_SINGLE, arn, fmt))  # fmt: skip
        arn = self.secret(f"pg/engine-{n}", {**self.pg_value("app_engine", "x"), "engine": "mysql"})
        self.write("wrong-engine", fmt, PG_SINGLE, arn, self.manifest(PG_SINGLE, arn),
                   "engine mysql on the PostgreSQL function", self.rotate(PG_SINGLE, arn, fmt))  # fmt: skip

    def scenario_not_master_host(self, fmt: str, n: str) -> None:
        # 10. A host that is not the master's (nor, for RDS, a replica of it).
        user = f"app_host_{n}"
        self.pg_user(user, "initial-Aa1")
        master = self.secret(f"pg/master-h-{n}", self.pg_value(self.pg.superuser, self.pg.password))
        arn = self.secret(
            f"pg/otherhost-{n}", {**self.pg_value(user, "initial-Aa1", masterarn=master), "host": "localhost"}
        )
        m = self.manifest(PG_ALT, arn, master)
        role = self.role_without(m, "")  # the module's policy as generated
        self.write("not-master-host", fmt, PG_ALT, arn, m, "host localhost, the master's 127.0.0.1",
                   self.rotate(PG_ALT, arn, fmt, role=role), master)  # fmt: skip

    def scenario_no_network(self, fmt: str, n: str) -> None:
        # 11. No network path to Secrets Manager: Lambda stops the function at its timeout.
        arn = self.secret(f"pg/nonet-{n}", self.pg_value("app_nonet", "x"))
        self.write("no-network", fmt, PG_SINGLE, arn, self.manifest(PG_SINGLE, arn, timeout=3),
                   "Secrets Manager's endpoint drops every packet",
                   self.rotate(PG_SINGLE, arn, fmt, endpoint=f"http://127.0.0.1:{self.hole.port}", timeout=3))  # fmt: skip

    def scenario_no_driver(self, fmt: str, n: str) -> None:
        # 12. A package without its driver (pg).
        arn = self.secret(f"pg/nodriver-{n}", self.pg_value("app_nodriver", "x"))
        self.write("no-driver", fmt, PG_SINGLE, arn, self.manifest(PG_SINGLE, arn),
                   "the zip lacks PyGreSQL", self.rotate(PG_SINGLE, arn, fmt, block=("pg", "pgdb")))  # fmt: skip

    def scenario_mariadb_password_changed(self, fmt: str, n: str) -> None:
        # 13. MariaDB: the password changed behind the secret's back.
        user = f"maria_{n}"
        self.my.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", ("initial-Aa1",))
        value = {"engine": "mariadb", "host": self.my.host, "port": self.my.port, "username": user,
                 "password": "initial-Aa1", "ssl": False}  # fmt: skip
        arn = self.secret(f"mariadb/changed-{n}", value)
        self.my.execute(f"ALTER USER '{user}'@'%%' IDENTIFIED BY %s", ("changed-by-hand-Bb2",))
        self.write("mariadb-password-changed", fmt, MARIA_SINGLE, arn, self.manifest(MARIA_SINGLE, arn),
                   "the database password changed by hand", self.rotate(MARIA_SINGLE, arn, fmt))  # fmt: skip

    def scenario_interleaved(self, fmt: str, n: str) -> None:
        # 14. Other secrets' rotations in the same log group, at the same time: ours fails
        # (master password wrong), two others rotate; each environment is its own stream.
        user = f"app_ours_{n}"
        self.pg_user(user, "initial-Aa1")
        bad_master = self.secret(f"pg/master-bad2-{n}", self.pg_value(self.pg.superuser, "wrong-again"))
        good_master = self.secret(f"pg/master-good-{n}", self.pg_value(self.pg.superuser, self.pg.password))
        ours = self.secret(f"pg/ours-{n}", self.pg_value(user, "initial-Aa1", masterarn=bad_master))
        others = []
        for i in range(2):
            u = f"app_other{i}_{n}"
            self.pg_user(u, "initial-Aa1")
            others.append(self.secret(f"pg/other{i}-{n}", self.pg_value(u, "initial-Aa1", masterarn=good_master)))
        results: dict[str, list[list[dict]]] = {}

        def go(a: str, fmt: str = fmt, results: dict = results) -> None:
            results[a] = self.rotate(PG_ALT, a, fmt, retries=1)

        threads = [threading.Thread(target=go, args=(a,)) for a in [ours, *others]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        streams = [s for a in [ours, *others] for s in results[a]]
        self.write("interleaved", fmt, PG_ALT, ours, self.manifest(PG_ALT, ours, bad_master),
                   "ours: master password wrong, retried; two other secrets rotate at the same time", streams,
                   bad_master, tuple(others))  # fmt: skip

    def _restore_secret_read(self, role_arn: str, secret_arn: str) -> str:
        name = role_arn.rsplit("/", 1)[1]
        doc = self.iam.get_role_policy(RoleName=name, PolicyName="rotation")["PolicyDocument"]
        doc["Statement"].append({"Sid": "ReadTheSecretItself", "Effect": "Allow",
                                 "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn})  # fmt: skip
        self.iam.put_role_policy(RoleName=name, PolicyName="rotation", PolicyDocument=json.dumps(doc))
        return role_arn


def _failed(message: str) -> bool:
    if message.startswith("[ERROR] ") or "Task timed out after" in message:
        return True
    if message.startswith("{"):
        doc = json.loads(message)
        return doc.get("log_level") == "ERROR" or doc.get("record", {}).get("status") in ("error", "timeout")
    return False


def main() -> int:
    out = Path(sys.argv[1])
    only = tuple(sys.argv[2:]) or None
    cap = Capture(out)
    try:
        cap.run(only=only)
    finally:
        cap.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
