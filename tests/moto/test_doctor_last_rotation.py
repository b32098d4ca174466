"""doctor's ``last-rotation`` against moto (generator/live/checks/last_rotation.py): which
secrets it reads the log for, what it costs, what it says when it cannot read, and that the
log's words stay words in every format.

The logs here are the committed captures of AWS's code failing for real
(tests/data/rotation_logs/), moved onto this world's secret and to the last minutes, and
shipped to moto's CloudWatch Logs with PutLogEvents. The same faults planted and run for real,
then read by doctor, are in the rotation tier (tests/helpers/rotation_diagnosis.py).

moto limit CLOUDTRAIL: moto answers LookupEvents with HTTP 500, which doctor reports as
CloudTrail not read; where a test needs CloudTrail's answer (or IAM's refusal of
FilterLogEvents, which moto does not enforce for CloudWatch Logs), botocore's call is stubbed
for that one operation.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from helpers import liveworld as lw
from helpers import paths

from generator.live import commands

pytestmark = [pytest.mark.moto]

DATA = paths.DATA / "rotation_logs"
ORDERS, BILLING = lw.SECRETS
GROUP = f"/aws/lambda/{lw.FUNCTION}"


@pytest.fixture
def world(aws_server, aws_env):
    aws_server.reset()
    return lw.build(aws_server)


def ship(w: lw.World, scenario: str, secret: str, fmt: str = "text", edit: Callable[[str], str] = str) -> dict:
    """A capture's events, its secret's ARN (and its master's) replaced by ``secret``'s (and its
    master's), ending a minute ago, into the log group of ``secret``'s function (one stream
    per environment, as captured)."""
    doc = json.loads((DATA / f"{scenario}.{fmt}.json").read_text())
    alt = secret == lw.ALT_SECRET
    group = f"/aws/lambda/{lw.ALT_FUNCTION if alt else lw.FUNCTION}"
    logs = w.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    shift = int((datetime.now(timezone.utc) - timedelta(minutes=1)).timestamp() * 1000) - max(
        e["timestamp"] for e in doc["events"]
    )
    streams: dict[str, list[dict[str, Any]]] = {}
    for e in doc["events"]:
        message = e["message"].replace(doc["secret_arn"], w.secret_arns[secret])
        if alt and doc["master_arn"]:
            message = message.replace(doc["master_arn"], w.secret_arns[lw.MASTER])
        message = edit(message)
        streams.setdefault(e["logStreamName"], []).append({"timestamp": e["timestamp"] + shift, "message": message})
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return doc


@contextmanager
def stubbed(**answers: Callable[[dict[str, Any]], Any]) -> Iterator[None]:
    """botocore's call of each named operation answered by ``answers[op](params)`` (which may raise)."""
    import botocore.client

    real = botocore.client.BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation in answers:
            return answers[operation](params)
        return real(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", call):
        yield


def denied(operation: str, action: str) -> Callable[[dict[str, Any]], Any]:
    from botocore.exceptions import ClientError

    def raise_(_params: dict[str, Any]) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": f"User: arn:aws:iam::{lw.ACCOUNT}:user/auditor "
                       f"is not authorized to perform: {action}"}}, operation)  # fmt: skip

    return raise_


def rotation_failed(w: lw.World, secret: str, step: str = "setSecret") -> Callable[[dict[str, Any]], Any]:
    """LookupEvents as CloudTrail answers it: one RotationFailed for ``secret``, now (after the
    world's rotations, so after its LastRotatedDate)."""
    when = datetime.now(timezone.utc)
    doc = {"eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationFailed", "eventType": "AwsServiceEvent",
           "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "additionalEventData": {"SecretId": w.secret_arns[secret]},
           "errorMessage": f"Error when executing lambda {w.ids['function']} during {step} step"}  # fmt: skip

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        names = {a["AttributeValue"] for a in params["LookupAttributes"]}
        return {"Events": [{"EventName": "RotationFailed", "EventTime": when, "CloudTrailEvent": json.dumps(doc)}]
                if "RotationFailed" in names else []}  # fmt: skip

    return answer


def run(w: lw.World, tmp_path: Path, fmt: str = "json") -> tuple[int, str, dict[str, int]]:
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(lw.manifest(w)))
    out = io.StringIO()
    calls: dict[str, int] = {}
    from generator.live import client

    opened = client.Aws.close

    def close(self: client.Aws) -> None:  # the calls the run made, read as it ends
        calls.update(self.calls)
        opened(self)

    with mock.patch.object(client.Aws, "close", close):
        code = commands.doctor(path, commands.Connection(endpoint_url=w.server.url, max_attempts=2), fmt=fmt, out=out)
    return code, out.getvalue(), calls


def last(findings_json: str, subject: str) -> dict[str, Any]:
    doc = json.loads(findings_json)
    return next(f for f in doc["findings"] if f["check"] == "last-rotation" and subject in f["subjects"])


def test_a_failing_secret_costs_one_call_a_healthy_one_none_and_the_text_shows_the_log(world, tmp_path):
    lw.rotate(world, BILLING, keep_pending=True)  # the rotation that did not finish
    ship(world, "password-changed", BILLING)
    code, out, calls = run(world, tmp_path)
    assert code == 1
    f = last(out, BILLING)
    assert f["status"] == "fail", f
    d = f["details"]
    assert (d["step"], d["cause_id"], d["attribution"], d["failures"]) == (
        "setSecret",
        "no-version-logs-in",
        "secret",
        3,
    )
    assert f["message"].startswith("setSecret failed at ") and "the last of 3 failed attempts" in f["message"]
    assert "password no longer matches any version of the secret" in f["message"]
    assert "reset the user's password in the database to AWSCURRENT's" in f["fix"]
    assert "AWSPENDING" in f["fix"] and "see pending" in f["fix"]  # the version left pending
    assert "Unable to log into database with previous, current, or pending secret" in d["log_line"]
    assert d["log_group"] == GROUP and d["request_id"] in d["request"] and d["log_stream"] in d["request"]
    assert d["signs"] and "AWSPENDING" in d["signs"][0]
    for secret in (ORDERS, lw.ALT_SECRET):  # no sign: a pass, and no call of their own
        other = last(out, secret)
        assert other["status"] == "pass" and other["details"] is None, other
        assert "no sign of a failed rotation" in other["message"]
        # moto limit CLOUDTRAIL: what doctor says where CloudTrail does not answer
        assert "CloudTrail's rotation events not read: cloudtrail:LookupEvents answered HTTP 500" in other["message"]
    assert calls["logs:FilterLogEvents"] == 1, calls  # BILLING's, once, though it is judged twice
    assert calls["cloudtrail:LookupEvents"] == 1, calls  # the first name failed: the second is not asked

    _, text, _ = run(world, tmp_path, fmt="text")
    block = text[text.index(f"secret {BILLING}") :]
    lines = [ln.strip() for ln in block[block.index("FAIL    last-rotation") :].splitlines()[:40]]
    assert lines[0].startswith("FAIL    last-rotation  setSecret failed at"), lines
    labels = [ln.split(":", 1)[0] for ln in lines if ln.split(":", 1)[0] in ("log", "request", "where", "note", "fix")]
    assert labels == ["log", "request", "where", "note", "fix"], lines  # under the message, before the fix
    joined = " ".join(lines)
    assert "log: [ERROR] ValueError: Unable to log into database with previous," in joined
    assert re.search(rf"request: [0-9a-f-]{{36}} in log stream 2026/01/15/\[\$LATEST\]\w+ of {GROUP}", joined), joined
    assert "where: SecretsManagerRDSPostgreSQLRotationSingleUser/lambda_function.py line 193 (set_secret)" in joined
    assert "fix: reset the user's password in the database to AWSCURRENT's" in joined


def test_rotation_failed_in_cloudtrail_sends_doctor_to_the_log(world, tmp_path):
    """No version left pending, not overdue: only CloudTrail's RotationFailed says it failed."""
    ship(world, "grant-removed", ORDERS, fmt="json")
    with stubbed(LookupEvents=rotation_failed(world, ORDERS, "createSecret")):
        code, out, calls = run(world, tmp_path)
    f = last(out, ORDERS)
    assert code == 1 and f["status"] == "fail", f
    assert f["details"]["cause_id"] == "denied" and "secretsmanager:PutSecretValue" in f["message"]
    signs = f["details"]["signs"]
    assert any(s.startswith("CloudTrail: RotationFailed at") and "during createSecret step" in s for s in signs)
    assert "rotate-secret --secret-id " + world.secret_arns[ORDERS] in f["fix"]  # nothing pending: rotate again
    assert calls["logs:FilterLogEvents"] == 1, calls
    assert last(out, BILLING)["status"] == "pass"
    assert "no RotationFailed or RotationAbandoned in CloudTrail" in last(out, BILLING)["message"]


def test_what_the_caller_may_not_read_is_said(world, tmp_path):
    """CloudTrail denied: said, and the versions still judge. FilterLogEvents denied: unknown,
    naming the action the caller needs."""
    lw.rotate(world, BILLING, keep_pending=True)
    with stubbed(LookupEvents=denied("LookupEvents", "cloudtrail:LookupEvents"),
                 FilterLogEvents=denied("FilterLogEvents", "logs:FilterLogEvents")):  # fmt: skip
        _, out, _ = run(world, tmp_path)
    healthy = last(out, ORDERS)
    assert healthy["status"] == "pass"
    assert healthy["message"].endswith(
        "(CloudTrail's rotation events not read: access denied to cloudtrail:LookupEvents)"
    )
    f = last(out, BILLING)
    assert f["status"] == "unknown", f
    assert f["message"].startswith(
        "could not check: access denied to logs:FilterLogEvents, so why it failed is not known"
    )
    assert "AWSPENDING" in f["message"] and "logs:FilterLogEvents" in f["fix"] and "caller-policy" in f["fix"]


def test_a_success_after_the_failure_is_nothing_to_report(world, tmp_path):
    """The password reset, the version tried again and finished: the log says so."""
    ship(world, "password-changed-then-fixed", ORDERS)
    with stubbed(LookupEvents=rotation_failed(world, ORDERS)):
        code, out, calls = run(world, tmp_path)
    f = last(out, ORDERS)
    assert code == 0 and f["status"] == "pass", f
    assert "the function's log shows its rotation finished after that" in f["message"]
    assert calls["logs:FilterLogEvents"] == 1


def test_the_log_of_other_secrets_is_not_this_ones_and_every_format_carries_the_cause(world, tmp_path):
    """The interleaved capture: this secret's failures (its master's password wrong, tried
    twice) among two other secrets' rotations in one group."""
    lw.rotate(world, lw.ALT_SECRET, keep_pending=True, function="alt-function")
    doc = ship(world, "interleaved", lw.ALT_SECRET)
    _, out, _ = run(world, tmp_path)
    f = last(out, lw.ALT_SECRET)
    d = f["details"]
    assert f["status"] == "fail" and (d["cause_id"], d["failures"], d["attribution"]) == ("master-login", 2, "master")
    assert all(other not in json.dumps(d) for other in doc["other_secrets"])
    assert {"step", "time", "cause", "fix", "cause_id", "log_line", "request_id", "log_stream", "traceback"} <= set(d)
    _, sarif, _ = run(world, tmp_path, fmt="sarif")
    (r,) = [r for r in json.loads(sarif)["runs"][0]["results"] if r["ruleId"] == "last-rotation"]
    assert "could not log into the database with the master secret" in r["message"]["text"]
    assert "Log: \\[ERROR\\]" in r["message"]["text"] and "Request: " in r["message"]["text"]
    assert r["properties"]["details"]["cause_id"] == "master-login" and r["level"] == "error"
    _, asff, _ = run(world, tmp_path, fmt="asff")
    (h,) = [h for h in json.loads(asff) if h["GeneratorId"] == "rotation-tf/last-rotation"]
    assert "could not log into the database with the master secret" in h["Description"]
    assert h["ProductFields"]["rotation-tf/cause-id"] == "master-login"
    assert h["ProductFields"]["rotation-tf/step"] == "setSecret"
    assert h["ProductFields"]["rotation-tf/request-id"] in h["Description"]
    assert h["Compliance"]["RelatedRequirements"] == ["SecretsManager.2"] and h["Severity"]["Label"] == "HIGH"


def test_words_from_the_log_stay_words(world, tmp_path):
    """A log line with a terminal escape, a Markdown link and a password field: masked, escaped,
    no escape reaches the terminal, no link reaches SARIF."""
    evil = "\x1b]8;;https://evil.example\x1b\\[click](https://evil.example) password=hunter2 \x1b[2J"

    def edit(message: str) -> str:
        return message.replace(
            "Unable to log into database with previous", evil + " Unable to log into database with previous"
        )

    lw.rotate(world, BILLING, keep_pending=True)
    ship(world, "password-changed", BILLING, edit=edit)
    _, text, _ = run(world, tmp_path, fmt="text")
    assert "\x1b" not in text and "hunter2" not in text
    assert "\\x1b]8;;https://evil.example" in text and "password=****" in text
    _, sarif, _ = run(world, tmp_path, fmt="sarif")
    results = [r for r in json.loads(sarif)["runs"][0]["results"] if r["ruleId"] == "last-rotation"]
    (message,) = [r["message"]["text"] for r in results]
    assert "\\[click\\](https://evil.example)" in message and "[click]" not in message.replace("\\[click\\]", "")
    assert "hunter2" not in sarif
    _, asff, _ = run(world, tmp_path, fmt="asff")
    (hub,) = [h for h in json.loads(asff) if h["GeneratorId"] == "rotation-tf/last-rotation"]
    assert "hunter2" not in asff and "\x1b" not in hub["Description"] and "\\x1b]8;;" in hub["Description"]
