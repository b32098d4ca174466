"""doctor and discover when the network fails (issue 26, section 1): a connection closed,
reset or stalled past the read timeout, or an answer cut in half, at the first call or in the
middle of the run, is exit 3 with the one line a refused connection gives; never a report
built from half the answers, never a verdict on a value that did not arrive whole, never a
manifest written from half the account.

The faults come from a bounded loopback proxy in front of moto (tests/helpers/fault_proxy.py). The
moto servers and worlds are this module's own and built once (the commands only read), and
every run has short timeouts (--timeout 0.5, --max-attempts 2) so that a stall costs a
second, not thirty.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import harness
from helpers import liveworld as lw
from helpers.fault_proxy import KINDS, Fault, FaultProxy
from helpers.harness import MotoServer

from generator.live import commands
from generator.live.accounts import AssumeRole

pytestmark = [pytest.mark.moto]

TIMEOUT, ATTEMPTS = 1.0, 2  # a second: moto on a loaded 2-core CI machine answers well within it
STALL = 2.5  # the proxy's stall: longer than TIMEOUT, on every attempt
A, B = "111111111111", "222222222222"
ROLE = "RotationTfReadOnly"
DEEP = "[" * 20_000 + "]" * 20_000  # a value nested 20,000 deep (issue 26: RecursionError in json.loads)


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, lw.World, Path]]:
    """One account (moto's MOTO_ACCOUNT_ID): the liveworld world and its manifest."""
    server = MotoServer().start()
    try:
        world = lw.build(server)
        path = tmp_path_factory.mktemp("one") / "rotation.yaml"
        path.write_text(lw.dump(lw.manifest(world)))
        yield server, world, path
    finally:
        server.stop()


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, list[Path]]]:
    """Two accounts read through an assumed role (moto workaround MULTI_ACCOUNT, tests/moto/test_moto_accounts.py)."""
    server = MotoServer(account=None).start()
    try:
        folder = tmp_path_factory.mktemp("two")
        paths = []
        for account in (A, B):
            world = lw.build(harness.Account(server, account, "moto-world-setup"), account=account)
            path = folder / f"rotation-{account}.yaml"
            path.write_text(lw.dump(lw.manifest(world)))
            paths.append(path)
        yield server, paths
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def env(aws_env: None) -> None:
    """Every test here runs doctor or discover in this process (conftest's aws_env)."""


def conn(url: str, region: str | None = None) -> commands.Connection:
    return commands.Connection(region=region, endpoint_url=url, max_attempts=ATTEMPTS, timeout=TIMEOUT)


def doctor(url: str, paths: Path | list[Path], **kw: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = commands.doctor(paths, conn(url), fmt="json", out=out, read_values=True, **kw)
    return code, out.getvalue()


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def unreachable(url: str, action: str, where: str = "") -> str:
    """The line of a connection that failed: refused before the run, or anything after it
    started (``where``: the manifest and account, with several)."""
    return rf"rotation-tf: {re.escape(where)}cannot reach AWS at {re.escape(url)} \(us-east-1\): {action}: \S.*"


# Where each fault starts: at the very first call (GetCallerIdentity), or in the middle of the
# run: the third GetSecretValue (issue 26: moto killed there made doctor exit 0 with "12 pass").
FIRST = Fault("close")
MID = Fault("close", after=2, match="GetSecretValue")
POSITIONS = {"first": (FIRST, "sts:GetCallerIdentity"), "mid-run": (MID, "secretsmanager:GetSecretValue")}


def test_a_refused_connection_is_the_line_every_fault_gives(one, capsys):
    url = f"http://127.0.0.1:{harness.free_port()}"
    code, out = doctor(url, one[2])
    assert (code, out) == (3, "")
    assert re.fullmatch(unreachable(url, "sts:GetCallerIdentity"), one_line(capsys))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", POSITIONS)
def test_doctor_one_account(one, capsys, kind, where):
    server, _, path = one
    fault, action = POSITIONS[where]
    with FaultProxy(server.url, Fault(kind, fault.after, fault.match), stall=STALL) as proxy:
        code, out = doctor(proxy.url, path)
    assert (code, out) == (3, ""), out
    assert re.fullmatch(unreachable(proxy.url, action), one_line(capsys))
    if where == "mid-run":  # the secrets before it were read, then the run stopped
        assert proxy.requests.count("GetSecretValue") >= 3
    # bounded: the faulted call and its retries; no call starts after the failure but those in flight
    assert len(proxy.faulted) <= ATTEMPTS * 8


@pytest.mark.parametrize("kind", ["truncate", "truncate-framed"])
def test_a_list_page_cut_in_half_is_no_empty_account(one, capsys, kind):
    """botocore's JSON parser reads a body that is not JSON as an empty answer: a ListSecrets
    page cut in half would list no secret, and doctor describe each instead (discover: say
    'nothing rotates' and exit 0)."""
    server, world, path = one
    with FaultProxy(server.url, Fault(kind, match="ListSecrets")) as proxy:
        code, out = doctor(proxy.url, path)
        assert (code, out) == (3, "")
        assert re.fullmatch(unreachable(proxy.url, "secretsmanager:ListSecrets"), one_line(capsys))
        target = proxy.url
        found = Path(str(path) + ".found.yaml")
        code = commands.discover(conn(target, world.region), out_path=found)
    assert code == 3 and not found.exists()
    assert re.fullmatch(unreachable(target, "secretsmanager:ListSecrets"), one_line(capsys))


def test_a_fault_the_retry_cures_is_no_fault(one, capsys):
    """One connection reset mid-run, then the endpoint answers: botocore's retry takes it."""
    server, _, path = one
    with FaultProxy(server.url, Fault("reset", after=1, match="GetSecretValue", times=1)) as proxy:
        code, out = doctor(proxy.url, path)
    assert code == 0 and proxy.faulted == ["GetSecretValue"]
    assert {f["status"] for f in json.loads(out)["findings"]} == {"pass"}
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def reads_per_account(two) -> int:
    """How many GetSecretValue calls doctor makes in one of the two (alike) accounts, counted
    through a proxy without a fault: the mid-run fault goes to B's second one, whatever the
    checks read (the value check, the replica check's hosts, ...)."""
    server, paths = two
    with pytest.MonkeyPatch.context() as mp, FaultProxy(server.url) as probe:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")  # the autouse aws_env is per test; this one is per module
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.setenv("ROTATION_TF_TODAY", "2026-11-29")
        code, _ = doctor(probe.url, paths, assume=AssumeRole(ROLE), max_accounts=1)
    assert code == 0
    total = probe.first_attempts.count("GetSecretValue")
    assert total and total % 2 == 0, probe.first_attempts
    return total // 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", POSITIONS)
def test_doctor_several_accounts(two, reads_per_account, capsys, kind, where):
    """Accounts one at a time, A then B: a fault at the first call (the caller's
    GetCallerIdentity) ends the run in one line; one in the middle (B's second
    GetSecretValue) leaves A judged whole and B unread, exit 3."""
    server, paths = two
    fault, action = POSITIONS[where]
    after = reads_per_account + 1 if where == "mid-run" else 0
    with FaultProxy(server.url, Fault(kind, after, fault.match), stall=STALL) as proxy:
        code, out = doctor(proxy.url, paths, assume=AssumeRole(ROLE), max_accounts=1)
    assert code == 3
    if where == "first":
        assert out == ""
        assert re.fullmatch(unreachable(proxy.url, action), one_line(capsys))
        return
    doc = json.loads(out)
    assert [a["read"] for a in doc["accounts"]] == [True, False]
    line = one_line(capsys)
    assert re.fullmatch(unreachable(proxy.url, action, f"{paths[1]}: account {B}: "), line)
    mine = [f for f in doc["findings"] if f["account"] == A]
    assert mine and {f["status"] for f in mine} == {"pass"}  # A was read whole
    [b] = [f for f in doc["findings"] if f["account"] == B]
    assert (b["check"], b["status"]) == ("account", "unknown") and "cannot reach AWS" in b["message"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", POSITIONS)
def test_discover(one, tmp_path, capsys, kind, where):
    server, world, _ = one
    fault, action = POSITIONS[where]
    path = tmp_path / "found.yaml"
    with FaultProxy(server.url, Fault(kind, fault.after if where == "first" else 1, fault.match), stall=STALL) as proxy:
        code = commands.discover(conn(proxy.url, world.region), out_path=path, read_values=True)
    assert code == 3 and not path.exists()  # nothing written from half the account
    assert re.fullmatch(unreachable(proxy.url, action), one_line(capsys))


def test_a_deep_value_is_judged_alone_and_every_other_secret_still_read(one, tmp_path, capsys):
    """A value nested 20,000 deep fails its own value check; the others pass. A value that
    really is not JSON fails too, saying so; discover reads every other value."""
    server, world, path = one
    sm = world.client("secretsmanager")
    good = sm.get_secret_value(SecretId=world.secret_arns[lw.SECRETS[0]])["SecretString"]
    try:
        sm.put_secret_value(SecretId=world.secret_arns[lw.SECRETS[0]], SecretString=DEEP)
        sm.put_secret_value(SecretId=world.secret_arns[lw.SECRETS[1]], SecretString="user=app password=x")
        code, out = doctor(server.url, path)
        found = tmp_path / "found.yaml"
        dcode = commands.discover(conn(server.url, world.region), out_path=found, read_values=True)
    finally:
        sm.put_secret_value(SecretId=world.secret_arns[lw.SECRETS[0]], SecretString=good)
        sm.put_secret_value(SecretId=world.secret_arns[lw.SECRETS[1]], SecretString=good)
    values = {f["subject"]: f for f in json.loads(out)["findings"] if f["check"] == "value"}
    assert code == 1
    assert (
        values[lw.SECRETS[0]]["status"] == "fail" and "nested deeper than 32 levels" in values[lw.SECRETS[0]]["message"]
    )
    assert values[lw.SECRETS[1]]["status"] == "fail" and values[lw.SECRETS[1]]["message"].endswith("it is not JSON")
    assert values[lw.ALT_SECRET]["status"] == "pass"
    # discover: the two unreadable values decide nothing (their function's engine and strategy
    # are left to fill in, saying why); the other function's value was read and decides its own
    assert dcode == 0
    assert [m.split(":")[0] for m in lw.placeholder_messages(found)] == [
        f"functions.{lw.FUNCTION}.strategy",
        f"functions.{lw.FUNCTION}.engine",
    ]
    data = yaml.safe_load(found.read_text())
    assert (data["functions"][lw.ALT_FUNCTION]["engine"], data["functions"][lw.ALT_FUNCTION]["strategy"]) == (
        "postgresql",
        "alternating_users",
    )
    assert "nested deeper than 32 levels" in found.read_text() and "it is not JSON" in found.read_text()
    assert "Traceback" not in capsys.readouterr().err


def test_a_retry_does_not_move_the_fault() -> None:
    """On a loaded machine a slow answer makes botocore retry (read timeout): the retry must not
    count towards ``after``, or the mid-run fault lands on an earlier call (A's last read
    instead of B's second, as a CI run once saw); once the fault started, retries get it too."""
    proxy = FaultProxy("http://127.0.0.1:9", Fault("stall", after=2, match="GetSecretValue"))
    try:
        decisions = [
            proxy.decide("GetSecretValue", 1),
            proxy.decide("GetSecretValue", 2),  # a retry of the first: not counted
            proxy.decide("ListSecrets", 1),  # another operation: not counted
            proxy.decide("GetSecretValue", 1),
            proxy.decide("GetSecretValue", 1),  # the third answer: the fault starts
            proxy.decide("GetSecretValue", 2),  # its retry gets it too
        ]
    finally:
        proxy._server.server_close()
    assert decisions == [None, None, None, None, "stall", "stall"]
    assert proxy.first_attempts == ["GetSecretValue", "ListSecrets", "GetSecretValue", "GetSecretValue"]
