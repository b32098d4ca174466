"""generator.live.client without moto: throttling is retried with backoff (botocore's
standard retry mode), the retries are bounded, and errors are sorted into the kinds the
commands act on. A tiny HTTP server on loopback plays Secrets Manager."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generator.live.client import Aws, Denied, NotFound, Unreachable
from generator.policy_eval import ALLOWED, DENIED, IMPLICIT, UNSURE, Request, evaluate


class _Fake(BaseHTTPRequestHandler):
    script: list[tuple[int, dict]] = []
    seen: list[str] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(self.headers.get("X-Amz-Target", ""))
        status, body = type(self).script.pop(0) if type(self).script else (200, {"ARN": "arn:x", "Name": "x"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fake.script, _Fake.seen = [], []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _aws(url: str, attempts: int) -> Aws:
    return Aws(
        region="us-east-1",
        endpoint_url=url,
        max_attempts=attempts,
        connect_timeout=2,
        read_timeout=5,
        services=("secretsmanager",),
    )


def test_throttling_is_retried_then_succeeds(fake):
    throttled = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    _Fake.script = [throttled, throttled]
    aws = _aws(fake, 3)
    try:
        got = aws.call("secretsmanager", "DescribeSecret", "describe_secret", SecretId="x")
    finally:
        aws.close()
    assert got["ARN"] == "arn:x"
    assert len(_Fake.seen) == 3 and aws.attempts == 3
    assert aws.calls == {"secretsmanager:DescribeSecret": 1}  # one call, three attempts


def test_retries_are_bounded(fake):
    _Fake.script = [(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})] * 5
    aws = _aws(fake, 2)
    try:
        with pytest.raises(Exception) as exc:
            aws.call("secretsmanager", "DescribeSecret", "describe_secret", SecretId="x")
    finally:
        aws.close()
    assert len(_Fake.seen) == 2 and "ThrottlingException" in str(exc.value)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "__type": "AccessDeniedException",
                "message": "User: x is not authorized to perform: secretsmanager:DescribeSecret",
            },
            Denied,
        ),
        (
            {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."},
            NotFound,
        ),
        (
            {
                "__type": "UnrecognizedClientException",
                "message": "The security token included in the request is invalid.",
            },
            Unreachable,
        ),
    ],
)
def test_errors_are_sorted(fake, body, kind):
    _Fake.script = [(400, body)]
    aws = _aws(fake, 1)
    try:
        with pytest.raises(kind) as exc:
            aws.call("secretsmanager", "DescribeSecret", "describe_secret", SecretId="x")
    finally:
        aws.close()
    if kind is Denied:
        assert exc.value.action == "secretsmanager:DescribeSecret"


def test_policy_evaluation():
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"
    allow = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:Get*",
                "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-??????",
            }
        ]
    }
    assert evaluate([allow], Request("secretsmanager:GetSecretValue", arn, {})) == ALLOWED
    assert evaluate([allow], Request("secretsmanager:PutSecretValue", arn, {})) == IMPLICIT
    deny = {"Statement": [{"Effect": "Deny", "NotAction": "secretsmanager:Describe*", "Resource": "*"}]}
    assert evaluate([allow, deny], Request("secretsmanager:GetSecretValue", arn, {})) == DENIED
    cond = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                           "Condition": {"StringLike": {"kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:*:111122223333:secret:*"}}}]}  # fmt: skip
    assert evaluate([cond], Request("kms:Decrypt", "k", {"kms:EncryptionContext:SecretARN": arn})) == ALLOWED
    assert (
        evaluate(
            [cond],
            Request(
                "kms:Decrypt",
                "k",
                {"kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:us-east-1:999999999999:secret:x"},
            ),
        )
        == IMPLICIT
    )
    assert evaluate([cond], Request("kms:Decrypt", "k", {})) == UNSURE  # a key doctor did not give: never a guess
    odd = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            }
        ]
    }
    assert evaluate([odd], Request("kms:Decrypt", "k", {})) == UNSURE
    key_policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    assert (
        evaluate([key_policy], Request("kms:Decrypt", "k", {}), principals=["arn:aws:iam::111122223333:root"])
        == ALLOWED
    )
    assert (
        evaluate([key_policy], Request("kms:Decrypt", "k", {}), principals=["arn:aws:iam::111122223333:role/r"])
        == IMPLICIT
    )


def test_an_optional_call_that_fails_stops_nothing_and_clears_nothing(fake):
    """call_optional (doctor's read of CloudTrail, its probe of IAM's simulator): a 5xx on it
    is raised without being latched, so the calls in flight beside it carry on; a failure
    another call latched is raised by it too, and stays latched."""
    from generator.live.client import ServiceFailure

    aws = Aws(region="us-east-1", endpoint_url=fake, max_attempts=3, connect_timeout=2, read_timeout=5,
              services=("secretsmanager", "cloudtrail"))  # fmt: skip
    try:
        _Fake.script = [(500, {"__type": "InternalFailure", "message": "no"})]
        with pytest.raises(ServiceFailure):
            aws.call_optional("cloudtrail", "LookupEvents", "lookup_events")
        assert len(_Fake.seen) == 1  # CloudTrail is optional: one attempt, no backoff
        assert aws.failure is None
        assert aws.call("secretsmanager", "DescribeSecret", "describe_secret", SecretId="x")["ARN"] == "arn:x"
        _Fake.script = [(503, {"__type": "ServiceUnavailable", "message": "no"})] * 3
        with pytest.raises(ServiceFailure):
            aws.call("secretsmanager", "DescribeSecret", "describe_secret", SecretId="x")
        latched = aws.failure
        assert latched is not None
        with pytest.raises(ServiceFailure) as exc:
            aws.call_optional("cloudtrail", "LookupEvents", "lookup_events")
        assert exc.value is latched and aws.failure is latched  # still latched: the run stops
    finally:
        aws.close()
    assert aws.calls["cloudtrail:LookupEvents"] == 1
