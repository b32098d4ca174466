"""The log fixtures stay true: capture some of them again, now, from AWS's code failing for
real (tests/capture_rotation_logs.py, the rotation tier's servers and proxy), and read them
as tests/test_rotation_logs.py reads the committed ones. A change in AWS's code, in the
drivers or in the emulated runtime that the committed fixtures no longer show fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rotation_world import functions_dir, skip_or_fail
from test_rotation_logs import EXPECTED, _plan

from generator import rotation_logs

pytestmark = pytest.mark.rotation

AGAIN = ("password-changed", "grant-removed", "username-too-long", "master-missing")


def test_captured_now_reads_as_the_committed_fixtures(tmp_path: Path) -> None:
    from databases import Postgres

    functions_dir()
    if (why := Postgres.missing()) is not None:
        skip_or_fail(why)
    for mod, pkg in (("pgdb", "PyGreSQL"), ("pymysql", "PyMySQL")):
        try:
            __import__(mod)
        except ImportError:
            skip_or_fail(f"{pkg} is not installed (the test extra installs it)")
    from capture_rotation_logs import Capture

    cap = Capture(tmp_path, mariadb=False)
    try:
        cap.run(formats=("Text", "JSON"), only=AGAIN)
    finally:
        cap.stop()
    expected = {e[0]: e[1:] for e in EXPECTED}
    for name in AGAIN:
        for fmt in ("text", "json"):
            doc = json.loads((tmp_path / f"{name}.{fmt}.json").read_text())
            f = rotation_logs.read(doc["events"], doc["secret_arn"], _plan(doc)).failure
            step, cause, who, failures, text = expected[name]
            assert f is not None, (name, fmt)
            assert (f.step, f.cause_id, f.attribution, f.failures) == (step, cause, who, failures), (name, fmt, f)
            assert text in f.log_line, (name, fmt, f.log_line)
