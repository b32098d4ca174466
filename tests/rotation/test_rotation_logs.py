"""Reading a secret's last rotation from its function's log (generator/rotation_logs.py).

The fixtures in tests/data/rotation_logs/ are AWS's rotation functions failing for real
(tests/helpers/capture_rotation_logs.py: real PostgreSQL and MariaDB, moto, the rotation tier's
enforcing proxy, AWS's unmodified code, each fault planted as issue 27 lists them), in both of
Lambda's log formats. What each must show is written here from the fault, not read from the
output: the step, the cause, who the failing invocation is attributed to, how many times the
service tried.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from helpers import paths
from helpers.log_readings import EXPECTED

from generator import api, aws_failures, rotation_logs
from generator.rotation_logs import Plan

DATA = paths.DATA / "rotation_logs"
FORMATS = ("text", "json")


def _load(name: str, fmt: str) -> dict:
    return json.loads((DATA / f"{name}.{fmt}.json").read_text())


def _plan(doc: dict, secret_arn: str | None = None) -> Plan:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_text(yaml.safe_dump(doc["manifest"]))
        module, _ = api.load(path)
    (fn,) = module.functions
    return rotation_logs.plan_of(fn, secret_arn or doc["secret_arn"])


def _selected(doc: dict, secret_arn: str | None = None) -> list[dict]:
    """The events FilterLogEvents would return for the pattern rotation_logs builds: an
    unstructured-term pattern of quoted terms joined by ``?`` matches an event whose message
    holds any of the terms (case-sensitive)."""
    pattern = rotation_logs.filter_pattern(secret_arn or doc["secret_arn"])
    terms = re.findall(r'\?"([^"]*)"', pattern)
    assert " ".join(f'?"{t}"' for t in terms) == pattern
    return [e for e in doc["events"] if any(t in e["message"] for t in terms)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("name", "step", "cause", "who", "failures", "text"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_real_failure_is_named(
    name: str, step: str, cause: str, who: str, failures: int, text: str, fmt: str
) -> None:
    doc = _load(name, fmt)
    assert doc["format"].lower() == fmt
    plan = _plan(doc)
    for events in (doc["events"], _selected(doc)):  # the whole group, and what the filter returns
        reading = rotation_logs.read(events, doc["secret_arn"], plan)
        f = reading.failure
        assert f is not None, name
        assert (f.step, f.cause_id, f.attribution, f.failures) == (step, cause, who, failures), f
        assert text in f.log_line, f.log_line
        assert f.cause and f.fix and f.cause_id in aws_failures.CAUSES
        # the request id and the time are the failing invocation's, from the log itself
        failing = [e for e in events if f.request_id and f.request_id in e["message"]]
        assert failing or who == "function", "the request id is in the log"
        assert any(e["logStreamName"] == f.log_stream for e in events)
        assert f.first_failure <= f.when
        assert min(e["timestamp"] for e in events) <= f.when.timestamp() * 1000 <= max(e["timestamp"] for e in events)


def test_the_causes_say_what_to_do() -> None:
    """A few findings in full: the cause and fix an on-call engineer reads."""
    f = rotation_logs.read(*_args("password-changed", "text")).failure
    assert f is not None
    assert "password no longer matches any version of the secret" in f.cause
    assert "sooner than the driver's 5 s connect timeout" in f.cause  # refused at once: not the network
    assert "reset the user's password in the database to AWSCURRENT's" in f.fix
    assert f.site == "SecretsManagerRDSPostgreSQLRotationSingleUser/lambda_function.py line 193 (set_secret)"
    assert any("in set_secret" in t for t in f.traceback)

    denied = rotation_logs.read(*_args("grant-removed", "json")).failure
    assert denied is not None
    assert "secretsmanager:PutSecretValue" in denied.cause and "createSecret" in denied.cause
    # the module grants it: the fix points past the module's policy
    assert "statement RotateSecrets" in denied.fix and "permissions boundary" in denied.fix

    master = rotation_logs.read(*_args("master-read-removed", "text")).failure
    assert master is not None and "statement ReadMasterSecrets" in master.fix

    replica = rotation_logs.read(*_args("not-master-host", "text")).failure
    assert replica is not None
    assert "rds:DescribeDBInstances" in replica.cause and "same host as its master" in replica.fix

    long = rotation_logs.read(*_args("username-too-long", "text")).failure
    assert long is not None and "(63 characters)" in long.cause and "at most 57 characters" in long.fix

    nonet = rotation_logs.read(*_args("no-network", "text")).failure
    assert nonet is not None
    assert "after 3.00 s" in nonet.cause and "no network path" in nonet.cause and nonet.check == "network"

    driver = rotation_logs.read(*_args("no-driver", "json")).failure
    assert driver is not None and "(pg, from PyGreSQL)" in driver.cause

    # a masterarn naming a missing secret, under the module's grants: denied, and the fix is the
    # masterarn, never a grant on whatever secret it names
    doc = _load("master-elsewhere", "json")
    elsewhere = rotation_logs.read(*_args("master-elsewhere", "json")).failure
    assert elsewhere is not None
    assert "deleted-master-json-AbCdEf, not the master secret the manifest names" in elsewhere.cause
    assert f"set masterarn in the secret's value to {doc['master_arn']}" in elsewhere.fix
    assert "allow secretsmanager:GetSecretValue" not in elsewhere.fix


def test_a_denied_read_of_another_secret_is_not_another_rotation() -> None:
    """In the same environment, after this secret's createSecret, another secret's rotation
    whose createSecret is denied reading that secret: the denied ARN is a read, so the
    invocation names no secret; it is not this rotation's next step (createSecret follows no
    createSecret), so it is not this secret's."""
    doc = _load("master-elsewhere", "text")
    setsecret = next(
        e["timestamp"]
        for e in doc["events"]
        if e["message"].startswith("START")
        and e["timestamp"]
        > min(x["timestamp"] for x in doc["events"] if "createSecret: Successfully put" in x["message"])
    )
    events = [e for e in doc["events"] if e["timestamp"] < setsecret]  # this secret's createSecret only
    last = max(e["timestamp"] for e in events)
    other = "arn:aws:secretsmanager:us-east-1:111122223333:secret:pg/other-AbCdEf"
    rid = "0f5e2d8c-0000-4000-8000-000000000001"
    stream = events[0]["logStreamName"]
    denied = (f"[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue "
              f"operation: User: arn:aws:iam::111122223333:role/r is not authorized to perform: "
              f"secretsmanager:GetSecretValue on resource: {other}\nTraceback (most recent call last):\n"
              '\u00a0\u00a0File "/var/task/lambda_function.py", line 79, in lambda_handler\n'
              "\u00a0\u00a0\u00a0\u00a0create_secret(service_client, arn, token)")  # fmt: skip
    for i, message in enumerate((f"START RequestId: {rid} Version: $LATEST\n", denied, f"END RequestId: {rid}\n",
                                 f"REPORT RequestId: {rid}\tDuration: 80.00 ms\tStatus: error\n")):  # fmt: skip
        events.append({"logStreamName": stream, "timestamp": last + 1000 + i, "message": message})
    reading = rotation_logs.read(events, doc["secret_arn"], _plan(doc))
    assert reading.failure is None, reading.failure


def _args(name: str, fmt: str) -> tuple[list[dict], str, Plan]:
    doc = _load(name, fmt)
    return doc["events"], doc["secret_arn"], _plan(doc)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_success_after_the_failures_leaves_nothing_to_report(fmt: str) -> None:
    doc = _load("password-changed-then-fixed", fmt)
    reading = rotation_logs.read(doc["events"], doc["secret_arn"], _plan(doc))
    assert reading.failure is None
    assert reading.succeeded is not None
    # without the rotation that followed the fix, the failures are there again
    failed_until = _load("password-changed", fmt)
    assert rotation_logs.read(failed_until["events"], doc["secret_arn"], _plan(doc)).failure is not None
    cut = [e for e in doc["events"] if e["timestamp"] <= max(x["timestamp"] for x in failed_until["events"])]
    assert rotation_logs.read(cut, doc["secret_arn"], _plan(doc)).failure is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_other_secrets_in_the_same_group_are_not_ours(fmt: str) -> None:
    doc = _load("interleaved", fmt)
    assert len(doc["other_secrets"]) == 2
    streams = {e["logStreamName"] for e in doc["events"]}
    assert len(streams) == 4  # ours: the rotation and its retry; each other secret: one rotation
    times = sorted((e["timestamp"], e["logStreamName"]) for e in doc["events"])
    assert len({s for _, s in times[: len(times) // 2]}) > 1, "the streams interleave in time"
    for other in doc["other_secrets"]:
        reading = rotation_logs.read(doc["events"], other, _plan(doc, other))
        assert reading.failure is None and reading.succeeded is not None, other
        selected = _selected(doc, other)
        assert len(selected) < len(doc["events"])  # the filter drops the other secrets' own lines
        assert rotation_logs.read(selected, other, _plan(doc, other)).failure is None
    ours = rotation_logs.read(_selected(doc), doc["secret_arn"], _plan(doc)).failure
    assert ours is not None and ours.cause_id == "master-login"
    assert doc["master_arn"] in ours.log_line


def test_an_unnamed_failure_is_not_taken_when_the_secret_s_own_failed() -> None:
    """A failure that names no secret (another secret's, perhaps) does not replace one that
    names ours."""
    ours = _load("password-changed", "text")
    theirs = _load("host-missing", "text")
    late = max(e["timestamp"] for e in ours["events"]) + 60_000
    shifted = [dict(e, timestamp=e["timestamp"] - min(x["timestamp"] for x in theirs["events"]) + late)
               for e in theirs["events"]]  # fmt: skip
    f = rotation_logs.read(ours["events"] + shifted, ours["secret_arn"], _plan(ours)).failure
    assert f is not None and f.cause_id == "no-version-logs-in" and f.attribution == "secret"


def test_password_like_fields_are_masked() -> None:
    doc = _load("password-changed", "text")
    events = [dict(e) for e in doc["events"]]
    last = max(range(len(events)), key=lambda i: (events[i]["message"].startswith("[ERROR] "), events[i]["timestamp"]))
    e = events[last]
    e["message"] = e["message"].replace(
        "Traceback (most recent call last):",
        'Traceback (most recent call last):\n  File "x.py", line 1, in f\n    conn = connect(password="hunter2", user=u)',
    )
    rid = next(
        x["message"].split()[2] for x in events if x["message"].startswith("START") and x["timestamp"] < e["timestamp"]
    )
    events.append({**e, "timestamp": e["timestamp"] - 1,
                   "message": f"[ERROR]\t2026-01-01T00:00:00.000Z\t{rid}\tconnect failed: {{'password': 'hunter2', 'user': 'app'}} password=hunter2 postgres://app:hunter2@db/x\n"})  # fmt: skip
    f = rotation_logs.read(events, doc["secret_arn"], _plan(doc)).failure
    assert f is not None
    shown = "\n".join([f.log_line, f.cause, f.fix, *f.notes, *f.traceback])
    assert "hunter2" not in shown
    assert 'password="****"' in "\n".join(f.traceback)
    for text, want in (
        ('{"password": "hunter2"}', '{"password": "****"}'),
        ("{'password': 'hunter2'}", "{'password': '****'}"),
        ("password=hunter2 next", "password=**** next"),
        ('\\"password\\": \\"hunter2\\"', '\\"password\\": \\"****\\"'),
        ("ALTER USER app WITH PASSWORD 'hunter2'", "ALTER USER app WITH PASSWORD '****'"),
        ("CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2'", "CREATE USER 'a'@'%' IDENTIFIED BY '****'"),
        ("mysql://app:hunter2@db:3306/x", "mysql://app:****@db:3306/x"),
        ("Unable to log into database with pending secret of secret ARN arn:x", "Unable to log into database with pending secret of secret ARN arn:x"),
    ):  # fmt: skip
        assert rotation_logs.mask(text) == want, text


def test_log_text_is_printable() -> None:
    assert (
        rotation_logs.printable("a\tb\x1b[31mred\x1b[0m\u00a0c\u202ed\nx") == "a b\\x1b[31mred\\x1b[0m c\\u202ed\\x0ax"
    )
    assert len(rotation_logs.printable("x" * 5000)) == rotation_logs.MAX_LINE


def test_hostile_or_broken_events_do_not_break_the_reading() -> None:
    doc = _load("password-changed", "json")
    junk: list[dict] = [
        {},
        {"message": None, "timestamp": "x"},
        {"message": "{not json", "timestamp": 1},
        {"message": '{"type": "platform.report", "record": "x"}', "timestamp": 2, "logStreamName": 3},
        {"message": '{"level": "ERROR", "message": ["x"], "requestId": 7}', "timestamp": 3},
        {"message": '{"log_level": "ERROR", "errorType": "X", "stackTrace": [1, null, "  File \\"a\\", line z"]}'},
        {"message": "[ERROR] \x1b]0;pwned\x07: boom", "timestamp": 4},
    ]
    reading = rotation_logs.read(doc["events"] + junk, doc["secret_arn"], _plan(doc))
    assert reading.failure is not None and reading.failure.cause_id == "no-version-logs-in"
    assert rotation_logs.read(junk, doc["secret_arn"], _plan(doc)).failure is not None  # a failure naming no secret
    assert rotation_logs.read([], doc["secret_arn"], _plan(doc)) == rotation_logs.Reading(None, None, 0)
    # a hostile failing line reaches the finding escaped
    evil = [{"logStreamName": "s\x1b[2J", "timestamp": 5, "message": "START RequestId: 00000000-0000-0000-0000-000000000001 Version: 1"},
            {"logStreamName": "s\x1b[2J", "timestamp": 6,
             "message": f"[ERROR] InvalidRequestException: An error occurred (InvalidRequestException) when calling the PutSecretValue operation: \x1b]0;pwned\x07 password=hunter2 {doc['secret_arn']}"}]  # fmt: skip
    f = rotation_logs.read(evil, doc["secret_arn"], _plan(doc)).failure
    assert f is not None and f.cause_id == "secret-invalid-request"
    for value in (f.log_line, f.cause, f.fix, f.log_stream, *f.notes, *f.traceback):
        assert "\x1b" not in value and "\x07" not in value and "hunter2" not in value, value


def test_the_step_comes_from_the_traceback_in_both_formats() -> None:
    for fmt in FORMATS:
        doc = _load("username-too-long", fmt)
        (inv,) = [i for i in rotation_logs.invocations(doc["events"]) if i.failed]
        assert rotation_logs.step_of(inv, doc["function"]) == "createSecret"
        assert any("in get_alt_username" in t for ln in inv.lines for t in ln.trace)


# --- The request --------------------------------------------------------------------------

ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db+x=y.z@w-AbCdEf"
T0 = datetime(2026, 1, 15, 3, 0, tzinfo=timezone.utc)


def test_the_request_reads_one_group_filtered_by_the_secret_in_a_window() -> None:
    req = rotation_logs.request(
        "arn:aws:lambda:us-east-1:111122223333:function:rotator:live", ARN, T0, T0 + timedelta(hours=2)
    )
    assert req == {
        "logGroupName": "/aws/lambda/rotator",
        "filterPattern": rotation_logs.filter_pattern(ARN),
        "startTime": int(T0.timestamp() * 1000),
        "endTime": int((T0 + timedelta(hours=2)).timestamp() * 1000),
        "limit": 10_000,
    }
    assert req["filterPattern"].startswith(f'?"{ARN}" ')
    assert '?"START RequestId"' in req["filterPattern"] and '?"platform.report"' in req["filterPattern"]
    custom = rotation_logs.request(
        "rotator", ARN, T0, T0 + timedelta(hours=1), {"LogGroup": "/shared/lambda", "LogFormat": "JSON"}
    )
    assert custom["logGroupName"] == "/shared/lambda"
    with pytest.raises(ValueError):
        rotation_logs.request("rotator", ARN, T0, T0)
    with pytest.raises(ValueError):
        rotation_logs.request("rotator", ARN, T0.replace(tzinfo=None), T0.replace(tzinfo=None) + timedelta(hours=1))
    for bad in ('arn:aws:secretsmanager:us-east-1:111122223333:secret:a"b-AbCdEf', "x\ny", "", "a" * 1100):
        with pytest.raises(ValueError):
            rotation_logs.filter_pattern(bad)


def test_pages_are_bounded() -> None:
    calls: list[dict] = []

    def endless(**kw: object) -> dict:
        calls.append(dict(kw))
        return {"events": [{"message": "x", "timestamp": len(calls)}], "nextToken": f"t{len(calls)}"}

    events, complete = rotation_logs.read_pages(endless, {"logGroupName": "g"}, max_pages=3)
    assert (len(events), complete, len(calls)) == (3, False, 3)
    assert calls[0] == {"logGroupName": "g"} and calls[1]["nextToken"] == "t1"
    pages = iter([{"events": [], "nextToken": "a"}, {"events": [{"message": "y"}]}])
    events, complete = rotation_logs.read_pages(lambda **kw: next(pages), {"logGroupName": "g"})
    assert (events, complete) == ([{"message": "y"}], True)
