"""doctor and discover when AWS answers but not as AWS (issue 19): a 5xx that the retries do
not cure, or a success status with an HTML page (a proxy, a captive portal), is exit 3 with
one line naming the service, the action and the HTTP status; never a traceback, never a
report built from half the answers. A misspelt --region is exit 2 before any call.

The endpoint is a loopback HTTP server (bounded: it answers at most MAX_REQUESTS requests and
stops itself after LIFETIME seconds). It can answer STS's GetCallerIdentity properly, so that
the failure comes in the middle of the run, inside the checks.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers.cli import cli
from helpers.paths import ROOT

from generator import api

MAX_REQUESTS = 200
LIFETIME = 120.0
ATTEMPTS = 2  # --max-attempts: one retry, so that each failing call backs off once at most
HTML = (
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>upstream failed</p></body></html>\n"
)
CALLER = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    b"<Arn>arn:aws:iam::111122223333:user/t</Arn><UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account>"
    b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)


@dataclass
class Endpoint:
    url: str
    status: int = 500  # what every request but a good GetCallerIdentity gets, with HTML
    sts_ok: bool = False  # answer GetCallerIdentity as STS does
    requests: list[str] = field(default_factory=list)  # "sts:GetCallerIdentity", "X-Amz-Target" values


def _handler(ep: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if len(ep.requests) >= MAX_REQUESTS:
                self.close_connection = True
                return
            target = self.headers.get("X-Amz-Target") or ""
            query = re.search(rb"Action=(\w+)", body)
            ep.requests.append(target or (query.group(1).decode() if query else self.path))
            if ep.sts_ok and query and query.group(1) == b"GetCallerIdentity":
                status, data, kind = 200, CALLER, "text/xml"
            else:
                status, data, kind = ep.status, HTML, "text/html"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ep))
    ep.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stop = threading.Timer(LIFETIME, server.shutdown)  # stops itself, whatever the test does
    stop.daemon = True
    stop.start()
    try:
        yield ep
    finally:
        stop.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_PROFILE": "",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _run(*args: str) -> tuple[int, str, str]:
    env = dict(ENV)
    proc = cli(*args, env={k: v for k, v in env.items() if v})
    return proc.returncode, proc.stdout, proc.stderr


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


DOCTOR = ("doctor", str(ROOT / "examples" / "rotation.yaml"))
DISCOVER = ("discover", "--region", "us-east-1")


@pytest.mark.parametrize("command", [DOCTOR, DISCOVER], ids=["doctor", "discover"])
def test_a_5xx_html_page_on_the_first_call_is_exit_3(endpoint: Endpoint, command: tuple[str, ...]) -> None:
    code, out, err = _run(*command, "--endpoint-url", endpoint.url, "--max-attempts", str(ATTEMPTS))
    line = _one_line(err)
    assert code == 3 and out == ""
    assert line == (
        f"rotation-tf: AWS failed at {endpoint.url} (us-east-1): sts:GetCallerIdentity answered HTTP 500 "
        f"(Internal Server Error) on {ATTEMPTS} attempts; nothing was reported"
    )
    assert endpoint.requests == ["GetCallerIdentity"] * ATTEMPTS  # retried, and bounded


# doctor lists the secrets while it reads the functions (generator/live/doctor.py): the first
# call to fail is either; discover lists first, alone.
DOCTOR_FIRST = "(?:secretsmanager:ListSecrets|lambda:GetFunctionConfiguration)"
# Calls that may be in flight when the first fails, each retried: the listing and one per function.
DOCTOR_IN_FLIGHT = 1 + len(api.validate(ROOT / "examples" / "rotation.yaml").module.functions)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("command", "action"),
    [(DOCTOR, DOCTOR_FIRST), (DISCOVER, "secretsmanager:ListSecrets")],
    ids=["doctor", "discover"],
)
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_in_the_middle_of_the_run_is_exit_3(
    endpoint: Endpoint, command: tuple[str, ...], action: str, status: int
) -> None:
    """Inside doctor's checks a 5xx must not become one more 'unknown' among passes: the
    verdict would rest on half the account. The first failure stops every later call."""
    endpoint.sts_ok, endpoint.status = True, status
    code, out, err = _run(*command, "--endpoint-url", endpoint.url, "--max-attempts", str(ATTEMPTS))
    line = _one_line(err)
    assert code == 3 and out == ""
    assert re.fullmatch(
        rf"rotation-tf: AWS failed at {re.escape(endpoint.url)} \(us-east-1\): {action} answered "
        rf"HTTP {status} \([^)]+\) on {ATTEMPTS} attempts; nothing was reported",
        line,
    ), line
    # GetCallerIdentity, then what was in flight, retried; no call starts after the failure
    assert len(endpoint.requests) <= 1 + ATTEMPTS * DOCTOR_IN_FLIGHT, endpoint.requests


@pytest.mark.parametrize(
    ("command", "action"),
    [(DOCTOR, DOCTOR_FIRST), (DISCOVER, "secretsmanager:ListSecrets")],
    ids=["doctor", "discover"],
)
def test_an_html_page_with_status_200_is_exit_3(endpoint: Endpoint, command: tuple[str, ...], action: str) -> None:
    """A proxy's page with 200 OK: botocore would read it as an empty answer (discover would
    say 'no secret rotates' and exit 0; doctor crashed on a missing key)."""
    endpoint.sts_ok, endpoint.status = True, 200
    code, out, err = _run(*command, "--endpoint-url", endpoint.url, "--max-attempts", str(ATTEMPTS))
    line = _one_line(err)
    assert code == 3 and out == ""
    assert re.match(
        rf"rotation-tf: AWS failed at {re.escape(endpoint.url)} \(us-east-1\): {action} answered HTTP 200 "
        r"\(an HTML page that is not an AWS answer: '<!DOCTYPE html> <html><head><title>500 Internal",
        line,
    ), line
    assert line.endswith("; nothing was reported")


@pytest.mark.parametrize(
    "command",
    [
        ("discover", "--region", "us-east1"),
        ("doctor", str(ROOT / "examples" / "rotation.yaml"), "--region", "us-east1"),
    ],
    ids=["discover", "doctor"],
)
def test_a_misspelt_region_is_exit_2_before_any_call(endpoint: Endpoint, command: tuple[str, ...]) -> None:
    code, out, err = _run(*command, "--endpoint-url", endpoint.url)
    assert code == 2 and out == ""
    assert _one_line(err) == "rotation-tf: --region: 'us-east1' is not an AWS region; did you mean 'us-east-1'?"
    assert endpoint.requests == []
