"""Why did the rotation fail? doctor reads AWS's code failing for real (issue 27, section 3).

A phase of the rotation tier (tests/rotation/test_rotation_real.py), in its world: the applied module,
its real roles, the enforcing proxy, the running PostgreSQL and MariaDB servers and moto. Six
faults are planted on six secrets of the six functions, as issue 27 lists them:

* the database password changed behind the secret's back (``pg/single``; the service tries
  three times, and ``pg/cmk`` of the same function rotates at the same moment, its lines
  interleaved with the failing ones in the same log group);
* the master secret's password wrong (``pg/alt``);
* a user name too long once ``_clone`` is added (``pg/alt-rds``, the same function as ``pg/alt``);
* a grant removed: ``secretsmanager:PutSecretValue`` off the function's real role (``mysql/single``);
* nothing listening on the database's port (``mariadb/single``);
* a ``masterarn`` naming a secret that does not exist (``mariadb/alt``): the role may read the
  manifest's master only, so the read is denied.

Each rotation runs as the tier runs it (moto's RotateSecret for the AWSPENDING placeholder,
AWS's unmodified code under the role's credentials through the proxy), one attempt per Lambda
execution environment of tests/helpers/lambda_emulator.py, whose log (START, END, REPORT, the
``[ERROR]`` lines with their time and request id, the traceback; Text or JSON) is shipped to
moto's CloudWatch Logs with PutLogEvents, into the function's group and a stream of its own,
as Lambda ships it. doctor then runs in this process against moto and must name each fault's
step, cause and fix, with the log line and the request id, in every format (text, JSON, SARIF,
ASFF), and read the same as tests/rotation/test_rotation_logs.py requires of the committed fixtures of
the same faults (tests/data/rotation_logs, captured by tests/helpers/capture_rotation_logs.py). Then each
fault is fixed as its finding says, the rotation runs again for real (the same version, as the
service reattempts it; or, where the fix puts a new value, a new rotation after the service
abandons the old one), and doctor passes.

moto limit CLOUDTRAIL: moto has no CloudTrail LookupEvents (it answers HTTP 500). Secrets
Manager records RotationFailed and RotationAbandoned there; :class:`Trail` keeps what it would
have recorded for these rotations and answers doctor's LookupEvents in place of moto (a
botocore stub in this process). moto's LastRotatedDate is the last RotateSecret call, not the
last success; after a failed version is reattempted, that makes a RotationFailed later than
LastRotatedDate, so doctor reads the log, which shows the rotation finished: the path of "a
success after a failure, nothing to report".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

from helpers.harness import ACCOUNT
from helpers.log_readings import EXPECTED
from helpers.rotation_world import STEPS, Function, Rotator

EMULATOR = Path(__file__).resolve().parent / "lambda_emulator.py"
REGION = "us-east-1"
TRY_AGAIN = "try-again"  # the fix: the service reattempts the same version
RESTART = "restart"  # the fix puts a new value: the service abandons the version, a new rotation starts


@dataclass
class Fault:
    scenario: str  # its name in helpers/log_readings.py's EXPECTED (what the reading must say)
    secret: str
    fmt: str  # Lambda's log format: Text or JSON
    plant: Callable[[Diagnosis], None]
    fix: Callable[[Diagnosis], None]
    then: str  # TRY_AGAIN or RESTART
    cause: tuple[str, ...]  # words the finding's message must hold
    remedy: tuple[str, ...]  # words its fix must hold
    retries: int = 0


def _value(d: Diagnosis, secret: str) -> dict[str, Any]:
    return json.loads(d.sm.get_secret_value(SecretId=d.w.arns[secret], VersionStage="AWSCURRENT")["SecretString"])


def _put(d: Diagnosis, secret: str, value: dict[str, Any]) -> None:
    """A new AWSCURRENT value, the old one AWSPREVIOUS. moto limit PUT_CURRENT: after a
    rotation, moto's PutSecretValue without stages moves AWSCURRENT off its own notion of the
    default version, which RotateSecret pointed at the pending one, and leaves two versions
    AWSCURRENT; so the version is put under a label of its own and AWSCURRENT moved to it, as
    AWS's finishSecret moves it."""
    arn = d.w.arns[secret]
    new = str(uuid.uuid4())
    d.sm.put_secret_value(
        SecretId=arn, ClientRequestToken=new, SecretString=json.dumps(value), VersionStages=["TESTPUT"]
    )
    (current,) = [v for v, st in d.sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items() if "AWSCURRENT" in st]
    d.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=new,
                                     RemoveFromVersionId=current)  # fmt: skip
    d.sm.update_secret_version_stage(SecretId=arn, VersionStage="TESTPUT", RemoveFromVersionId=new)


def _change(secret: str, times: int = 1, **fields: Any) -> Callable[[Diagnosis], None]:
    """Plant: a new AWSCURRENT value of ``secret`` with ``fields`` changed, ``times`` times (twice:
    AWSPREVIOUS has it too), the old value kept for the fix."""

    def plant(d: Diagnosis) -> None:
        d.kept[secret] = _value(d, secret)
        changed = {**d.kept[secret], **{k: v(d) if callable(v) else v for k, v in fields.items()}}
        for _ in range(times):
            _put(d, secret, changed)

    return plant


def _restore(secret: str) -> Callable[[Diagnosis], None]:
    def fix(d: Diagnosis) -> None:
        _put(d, secret, d.kept.pop(secret))

    return fix


def _password_changed(d: Diagnosis) -> None:
    d.w.pg.execute(f'ALTER ROLE "{_value(d, "pg/single")["username"]}" WITH PASSWORD %s', ("changed-by-hand-Bb2",))


def _password_reset(d: Diagnosis) -> None:  # the fix: the user's password in the database back to AWSCURRENT's
    current = _value(d, "pg/single")
    d.w.pg.execute(f'ALTER ROLE "{current["username"]}" WITH PASSWORD %s', (current["password"],))


def _grant_removed(d: Diagnosis) -> None:
    role = d.w.functions["mysql_single"].role_arn.rsplit("/", 1)[1]
    (name,) = d.iam.list_role_policies(RoleName=role)["PolicyNames"]
    doc = d.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    d.kept["policy"] = (role, name, doc)
    cut = json.loads(json.dumps(doc))
    for st in cut["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        st["Action"] = [a for a in actions if a != "secretsmanager:PutSecretValue"]
    cut["Statement"] = [st for st in cut["Statement"] if st["Action"]]
    d.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(cut))


def _policy_applied(d: Diagnosis) -> None:  # what terraform apply puts back
    role, name, doc = d.kept.pop("policy")
    d.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))


def _closed_port(d: Diagnosis) -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


FAULTS = (
    Fault("password-changed", "pg/single", "Text", _password_changed, _password_reset, TRY_AGAIN,
          ("password no longer matches any version of the secret", "the server answered and refused"),
          ("reset the user's password in the database to AWSCURRENT's",), retries=2),
    Fault("master-password-wrong", "pg/alt", "JSON", _change("pg/master", password="not-the-password"),
          _restore("pg/master"), TRY_AGAIN, ("master secret",), ("master",)),
    Fault("username-too-long", "pg/alt-rds", "JSON", _change("pg/alt-rds", username="u" * 60),
          _restore("pg/alt-rds"), RESTART, ("probably this secret's", "63 characters"), ("57",)),
    Fault("grant-removed", "mysql/single", "JSON", _grant_removed, _policy_applied, TRY_AGAIN,
          ("secretsmanager:PutSecretValue", "createSecret"), ("the module grants it", "terraform apply")),
    # every version of the secret names a port nothing listens on (the database moved, or stopped)
    Fault("database-closed", "mariadb/single", "Text", _change("mariadb/single", times=2, port=_closed_port),
          _restore("mariadb/single"), RESTART, ("nothing listening on the port",), ()),
    # under the module's grants the role may read the manifest's master only: denied, not "not found"
    Fault("master-elsewhere", "mariadb/alt", "Text",
          _change("mariadb/alt", masterarn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:mariadb/deleted-master-AbCdEf"),
          _restore("mariadb/alt"), RESTART, ("deleted-master-AbCdEf, not the master secret the manifest names",),
          ("set masterarn in the secret's value to",)),
)  # fmt: skip
# Rotates beside pg/single's failing attempts, in the same function's log group.
INTERLEAVED = "pg/cmk"


class Trail:
    """CloudTrail's event history as Secrets Manager writes it for these rotations (moto limit
    CLOUDTRAIL): service events with the secret in ``additionalEventData.SecretId``
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lookups = 0

    def record(self, name: str, secret_arn: str, error: str = "") -> None:
        when = datetime.now(timezone.utc)
        doc = {"eventVersion": "1.08", "userIdentity": {"accountId": ACCOUNT, "invokedBy": "secretsmanager.amazonaws.com"},
               "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": "secretsmanager.amazonaws.com",
               "eventName": name, "awsRegion": REGION, "sourceIPAddress": "secretsmanager.amazonaws.com",
               "userAgent": "secretsmanager.amazonaws.com", "requestParameters": None, "responseElements": None,
               "additionalEventData": {"SecretId": secret_arn}, "requestID": f"Rotation-{secret_arn}-{uuid.uuid4()}",
               "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsServiceEvent", "managementEvent": True,
               "recipientAccountId": ACCOUNT, "eventCategory": "Management"}  # fmt: skip
        if error:
            doc["errorMessage"] = error
        self.events.append({"EventId": doc["eventID"], "EventName": name, "ReadOnly": "false", "EventTime": when,
                            "EventSource": "secretsmanager.amazonaws.com", "Resources": [],
                            "CloudTrailEvent": json.dumps(doc)})  # fmt: skip

    def lookup(self, params: dict[str, Any]) -> dict[str, Any]:
        self.lookups += 1
        names = {a["AttributeValue"] for a in params.get("LookupAttributes", []) if a["AttributeKey"] == "EventName"}
        start, end = params.get("StartTime"), params.get("EndTime")
        found = [e for e in self.events if (not names or e["EventName"] in names)
                 and (start is None or e["EventTime"] >= start) and (end is None or e["EventTime"] <= end)]  # fmt: skip
        return {"Events": sorted(found, key=lambda e: e["EventTime"], reverse=True)}  # newest first, as CloudTrail


@dataclass
class Attempt:
    events: list[dict[str, Any]]
    failed: str | None  # the step that failed, None when every step ran
    stream: str


class Diagnosis:
    def __init__(self, w: Any, rot: Rotator, function_keys: dict[str, str]):
        self.w = w
        self.function_keys = function_keys  # secret -> the key of the function that rotates it (the tier's cases)
        self.rot = rot
        self.sm = w.moto.client("secretsmanager", REGION)
        self.iam = w.moto.client("iam", REGION)
        self.logs = w.moto.client("logs", REGION)
        self.trail = Trail()
        self.kept: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.timings: dict[str, float] = {}
        self.doctor_runs = 0

    # -- Lambda: run AWS's code, ship its log ---------------------------------------------

    def function_of(self, secret: str) -> Function:
        return self.w.functions[self.function_keys[secret]]

    def attempt(self, secret: str, token: str, steps: tuple[str, ...], fmt: str) -> Attempt:
        """One Lambda execution environment running ``steps`` of a rotation, as Secrets Manager
        invokes them (it stops at the first step that fails); its log is shipped to the
        function's group in a stream of its own."""
        fn = self.function_of(secret)
        # a cold environment of its own, under new credentials of the function's role (the
        # rotation runner takes them per request; the emulator, as Lambda, at start)
        rids = {str(uuid.uuid4()): step for step in steps}
        spec = {"format": fmt, "timeout": 30, "stop": True,
                "invocations": [{"SecretId": self.w.arns[secret], "ClientRequestToken": token, "Step": step,
                                 "RequestId": rid} for rid, step in rids.items()]}  # fmt: skip
        proc = subprocess.run([sys.executable, "-I", str(EMULATOR), str(fn.code_dir)], input=json.dumps(spec),
                              env={**self.rot.env(fn), **self.rot.proxy.issue(fn.role_arn),  # moto limit ASSUME_ROLE
                                   "PATH": os.environ.get("PATH", "")}, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(f"the emulator crashed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        events = json.loads(proc.stdout.strip().splitlines()[-1])
        failed = next((rids[rid] for rid in rids if _failed(events, rid)), None)
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.ship(fn, stream, events)
        if failed is not None:  # what Secrets Manager records when a step fails
            self.trail.record("RotationFailed", self.w.arns[secret],
                              f"Error when executing lambda {fn.arn} during {failed} step")  # fmt: skip
        return Attempt(events, failed, stream)

    def ship(self, fn: Function, stream: str, events: list[dict[str, Any]]) -> None:
        """PutLogEvents into /aws/lambda/<name>, which Lambda creates on the function's first log."""
        group = f"/aws/lambda/{fn.name}"
        with self.lock:
            if not self.logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups"):
                self.logs.create_log_group(logGroupName=group)
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
            batch = [{"timestamp": e["timestamp"], "message": e["message"]} for e in events]
            self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                     logEvents=sorted(batch, key=lambda e: e["timestamp"]))  # fmt: skip

    def rotate(self, secret: str, fmt: str, retries: int = 0, token: str | None = None) -> tuple[str, list[Attempt]]:
        """A rotation (or, given ``token``, the service's reattempt of that version from its
        first step), tried again from the failing step ``retries`` times."""
        arn = self.w.arns[secret]
        token = token or self.rot.start(arn, self.function_of(secret))
        attempts = [self.attempt(secret, token, STEPS, fmt)]
        for _ in range(retries):
            if attempts[-1].failed is None:
                break
            attempts.append(self.attempt(secret, token, STEPS[STEPS.index(attempts[-1].failed) :], fmt))
        if attempts[-1].failed is None:
            self.rot.finish(arn, token)
        return token, attempts

    def abandon(self, secret: str, token: str) -> None:
        """A new value was put while the rotation was pending: the service drops AWSPENDING."""
        self.rot.abandon(self.w.arns[secret], token)
        self.trail.record("RotationAbandoned", self.w.arns[secret])

    # -- doctor, in this process, against moto --------------------------------------------

    @contextmanager
    def _aws(self):  # type: ignore[no-untyped-def]
        import botocore.client

        real = botocore.client.BaseClient._make_api_call
        trail = self.trail

        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if operation == "LookupEvents":  # moto limit CLOUDTRAIL
                return trail.lookup(params)
            return real(client, operation, params)

        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
        with mock.patch.dict(os.environ, env), mock.patch.object(botocore.client.BaseClient, "_make_api_call", call):
            yield

    def doctor(self) -> Any:
        """doctor on the tier's manifest: the audit (the report, stamped as the CLI stamps it)."""
        from generator import api
        from generator.live import commands
        from generator.live.client import Aws
        from generator.live.doctor import Doctor
        from generator.live.findings import Audit

        started = time.monotonic()
        path = self.w.tmp / "rotation-tier.yaml"
        module = api.validate(path).module
        with self._aws():
            aws = Aws(region=REGION, endpoint_url=self.w.moto.url, max_attempts=2)
            try:
                report = Doctor(aws, module).run()
            finally:
                aws.close()
        audit = Audit(path, module, report)
        commands._stamped(audit)
        self.doctor_runs += 1
        self.timings[f"doctor {self.doctor_runs}"] = round(time.monotonic() - started, 2)
        return audit


def _failed(events: list[dict[str, Any]], rid: str) -> bool:
    """Lambda's own report of invocation ``rid`` says it did not succeed (Text or JSON)."""
    for e in events:
        m = e["message"]
        if m.startswith(f"REPORT RequestId: {rid}") and "Status: " in m:
            return True
        if m.startswith("{") and '"platform.report"' in m:
            rec = json.loads(m).get("record", {})
            if rec.get("requestId") == rid and rec.get("status") != "success":
                return True
    return False


def _shown(attempts: list[Attempt]) -> str:
    """The attempts' log, for a problem's message."""
    return "\n".join(f"  {a.stream}: {e['message'].rstrip()[:300]}" for a in attempts for e in a.events)


def _by(audit: Any) -> dict[tuple[str, str], Any]:
    return {(s, f.check): f for f in audit.report.findings for s in f.subjects}


def check_failures_diagnosed(w: Any, rot: Rotator, function_keys: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The phase: (problems, timings and what doctor showed: ``shown``, the text and the failing
    last-rotation findings in JSON with the faults in, the text after the fixes; printed by the
    tier under ``-s``, and the source of docs/live-account.md's walk-through). Runs last: it
    leaves the faults fixed and every secret rotated, with other versions than before."""
    from generator import formats
    from generator.terminal import Screen

    started = time.monotonic()
    d = Diagnosis(w, rot, function_keys)
    problems: list[str] = []
    before = d.doctor()
    baseline = {k: f.status for k, f in _by(before).items() if f.status != "pass"}
    for (subject, check), f in _by(before).items():
        if check == "last-rotation" and f.status != "pass":
            problems.append(f"before any fault, last-rotation of {subject}: {f.status} {f.message}")

    # -- the faults, rotated for real -------------------------------------------------------
    for fault in FAULTS:
        fault.plant(d)
    tokens: dict[str, str] = {}
    attempts: dict[str, list[Attempt]] = {}

    def run(fault: Fault) -> None:
        tokens[fault.secret], attempts[fault.secret] = d.rotate(fault.secret, fault.fmt, fault.retries)

    first = threading.Thread(target=run, args=(FAULTS[0],))
    beside = threading.Thread(target=lambda: attempts.__setitem__(INTERLEAVED, d.rotate(INTERLEAVED, "Text")[1]))
    first.start()
    beside.start()
    first.join()
    beside.join()
    for fault in FAULTS[1:]:
        run(fault)
    d.timings["failing rotations"] = round(time.monotonic() - started, 1)
    if attempts[INTERLEAVED][-1].failed is not None:
        problems.append(f"{INTERLEAVED} (beside the failing pg/single) did not rotate: {attempts[INTERLEAVED]}")
    for fault in FAULTS:
        tried = attempts[fault.secret]
        if len(tried) != fault.retries + 1 or tried[-1].failed is None:
            problems.append(f"{fault.scenario}: the planted fault did not fail the rotation {fault.retries + 1} times: "
                            f"{[a.failed for a in tried]}:\n{_shown(tried)}")  # fmt: skip

    audit = d.doctor()
    by = _by(audit)
    # one FilterLogEvents per failing secret (though doctor judges each twice), none for the others
    d.timings["FilterLogEvents"] = audit.report.calls.get("logs:FilterLogEvents", 0)
    if d.timings["FilterLogEvents"] != len(FAULTS):
        problems.append(f"{d.timings['FilterLogEvents']} FilterLogEvents calls for {len(FAULTS)} failing secrets")
    expected = {e[0]: e[1:] for e in EXPECTED}
    for fault in FAULTS:
        f = by.get((fault.secret, "last-rotation"))
        if f is None or f.status != "fail":
            problems.append(f"{fault.scenario}: last-rotation of {fault.secret} is {f and f.status}: {f and f.message}")
            continue
        det = f.details or {}
        step, cause, who, failures, text = expected[fault.scenario]
        got = (det.get("step"), det.get("cause_id"), det.get("attribution"), det.get("failures"))
        if got != (step, cause, who, failures) or text not in det.get("log_line", ""):
            problems.append(f"{fault.scenario}: read {got} / {det.get('log_line')!r}, the fixtures read "
                            f"{(step, cause, who, failures)} / {text!r}")  # fmt: skip
        for word in fault.cause:
            if word not in f.message:
                problems.append(f"{fault.scenario}: the message does not say {word!r}: {f.message}")
        for word in fault.remedy:
            if word not in f.fix:
                problems.append(f"{fault.scenario}: the fix does not say {word!r}: {f.fix}")
        mine = {a.stream for a in attempts[fault.secret]}
        if det.get("log_stream") not in mine or not det.get("request_id"):
            problems.append(f"{fault.scenario}: the finding names stream {det.get('log_stream')}, not one of the "
                            f"secret's attempts {sorted(mine)}")  # fmt: skip
        elif not any(det["request_id"] in e["message"] for a in attempts[fault.secret] for e in a.events):
            problems.append(f"{fault.scenario}: request id {det['request_id']} is not in the secret's log")
    beside_f = by.get((INTERLEAVED, "last-rotation"))
    if beside_f is None or beside_f.status != "pass":
        problems.append(f"{INTERLEAVED}: last-rotation {beside_f and beside_f.status}: {beside_f and beside_f.message}")
    problems += _formats(audit, FAULTS[0])
    shown = {"text": formats.render("doctor", "text", [audit], Screen(width=100))}
    doc = json.loads(formats.render("doctor", "json", [audit], Screen()))
    shown["json"] = json.dumps([f for f in doc["findings"] if f["check"] == "last-rotation" and f["status"] != "pass"],
                               indent=2)  # fmt: skip

    # -- the fixes, and the rotations again ---------------------------------------------------
    started_fix = time.monotonic()
    for fault in FAULTS:
        fault.fix(d)
        if fault.then == TRY_AGAIN:  # the service reattempts the version left in AWSPENDING
            _, again = d.rotate(fault.secret, fault.fmt, token=tokens[fault.secret])
        else:
            d.abandon(fault.secret, tokens[fault.secret])
            _, again = d.rotate(fault.secret, fault.fmt)
        if again[-1].failed is not None:
            problems.append(
                f"{fault.scenario}: after the fix the rotation failed at {again[-1].failed}:\n{_shown(again)}"
            )
    current = _value(d, "pg/single")
    if not w.pg.login(current["username"], current["password"]):
        problems.append("pg/single: after the fix and the rotation, AWSCURRENT does not log in")
    d.timings["fixed rotations"] = round(time.monotonic() - started_fix, 1)
    after = d.doctor()
    by = _by(after)
    for (subject, check), f in by.items():
        if check == "last-rotation" and f.status != "pass":
            problems.append(f"after the fixes, last-rotation of {subject}: {f.status} {f.message}")
    worse = {k: f.status for k, f in by.items() if f.status != "pass" and baseline.get(k) != f.status}
    if worse:
        problems.append(f"after the fixes, doctor finds what it did not before: {worse}")
    read_again = [f.subject for f in after.report.findings
                  if f.check == "last-rotation" and "finished after that" in f.message]  # fmt: skip
    if not read_again:
        problems.append("no secret was read again after its fix (the reattempted versions: RotationFailed after "
                        "moto's LastRotatedDate): the path of a success after a failure was not taken")  # fmt: skip
    shown["after"] = formats.render("doctor", "text", [after], Screen(width=100))
    d.timings["phase"] = round(time.monotonic() - started, 1)
    d.timings["lookups"] = d.trail.lookups
    return problems, {**d.timings, "shown": shown}


def _formats(audit: Any, fault: Fault) -> list[str]:
    """The cause reaches every format: the text shows the log line and the request under the
    finding, JSON has the structured fields, SARIF its message and properties, ASFF its
    Description and ProductFields."""
    from generator import formats
    from generator.terminal import Screen

    problems: list[str] = []
    f = next(x for x in audit.report.findings if x.check == "last-rotation" and fault.secret in x.subjects)
    det = f.details
    text = formats.render("doctor", "text", [audit], Screen(width=100))
    block = text[text.index(f"secret {fault.secret}\n") :]
    lines = [ln.strip() for ln in block[block.index("last-rotation") :].splitlines()[:30]]
    for label, value in (("log: ", det["log_line"][:40]), ("request: ", det["request_id"])):
        if not any(ln.startswith(label) and value in ln for ln in lines):
            problems.append(f"text: no {label!r} line with {value!r} under the finding:\n" + "\n".join(lines))
    doc = json.loads(formats.render("doctor", "json", [audit], Screen()))
    mine = next(x for x in doc["findings"] if x["check"] == "last-rotation" and fault.secret in x["subjects"])
    if mine["details"]["cause_id"] != det["cause_id"] or mine["details"]["request_id"] != det["request_id"]:
        problems.append(f"json: details {mine['details']}")
    sarif = json.loads(formats.render("doctor", "sarif", [audit], Screen()))
    result = next(r for r in sarif["runs"][0]["results"]
                  if r["ruleId"] == "last-rotation" and r["properties"]["subject"] == fault.secret)  # fmt: skip
    if det["cause"][:30] not in result["message"]["text"] or result["properties"]["details"]["step"] != det["step"]:
        problems.append(f"sarif: {result}")
    asff = json.loads(formats.render("doctor", "asff", [audit], Screen()))
    hub = next(x for x in asff if x["GeneratorId"] == "rotation-tf/last-rotation" and
               x["ProductFields"]["rotation-tf/subject"] == fault.secret)  # fmt: skip
    if hub["ProductFields"].get("rotation-tf/cause-id") != det["cause_id"] or det["step"] not in hub["Description"]:
        problems.append(f"asff: {hub}")
    return problems
