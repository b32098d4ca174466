"""The runtime tables (generator/runtimes.py) and validate's warnings from them."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers.paths import ROOT

from generator import rotation_apps, runtimes

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
PINS = sorted(
    (engine, strategy, partition)
    for engine in ("postgresql", "mysql", "mariadb", "oracle", "sqlserver", "db2", "redshift", "mongodb")
    for strategy in ("single_user", "alternating_users")
    for partition in PARTITIONS
)
DAY = date(2026, 11, 29)


def test_every_entry_is_dated_and_sourced() -> None:
    for d in runtimes.DEPRECATIONS.values():
        assert d.source.count("https://") >= 1 and d.as_of <= DAY, d
        assert d.block_create is None or d.block_create >= d.deprecated
    for a in runtimes.APP_VERSIONS:
        assert "https://" in a.source and a.as_of <= DAY, a
        assert a.runtime in runtimes.DEPRECATIONS, f"{a.runtime} of {a.version} has no Lambda dates"


@pytest.mark.parametrize("engine,strategy,partition", PINS)
def test_every_pinned_version_has_a_known_runtime(engine: str, strategy: str, partition: str) -> None:
    pinned = rotation_apps.pinned_version(engine, strategy, partition)
    facts = runtimes.app_runtime(engine, partition, pinned)
    assert facts.exact is not None, f"{engine}/{strategy}/{partition} pins {pinned}, which the runtime table lacks"
    assert runtimes.app_finding(engine, strategy, partition, None, DAY) is None


def test_pinned_version_warns_within_90_days_of_its_runtime_deprecation() -> None:
    python312 = runtimes.DEPRECATIONS["python3.12"].deprecated
    quiet = runtimes.app_finding("postgresql", "single_user", "aws", None, python312 - timedelta(days=91))
    assert quiet is None
    found = runtimes.app_finding("postgresql", "single_user", "aws", None, python312 - timedelta(days=90))
    assert found is not None
    assert "1.1.671 (the version rotation-tf pins) runs on python3.12" in found.message
    assert "in 90 days" in found.message and "list-application-versions" in found.message


def test_old_chosen_version_warns_and_names_the_pin() -> None:
    found = runtimes.app_finding("mysql", "single_user", "aws", "1.1.367", DAY)
    assert found is not None and found.field == "rotation_app.semantic_version"
    assert "runs on python3.9" in found.message and "deprecated python3.9 on 2025-12-15" in found.message
    assert "use 1.1.671" in found.message and "aws-cdk/pull/26884" in found.message


def test_version_between_known_ones_warns_on_the_older_runtime() -> None:
    found = runtimes.app_finding("mongodb", "alternating_users", "aws", "1.1.650", DAY)
    assert found is not None
    assert "between 1.1.618 (python3.10) and 1.1.670 (python3.12); it may run on python3.10" in found.message


def test_version_older_than_the_table_warns_on_the_oldest_runtime() -> None:
    found = runtimes.app_finding("mysql", "single_user", "aws", "1.0.50", DAY)
    assert found is not None and "python2.7 or older" in found.message


def test_version_newer_than_the_table_says_nothing() -> None:
    assert runtimes.app_finding("mysql", "single_user", "aws", "1.1.999", DAY) is None


def test_db2_has_its_own_version_line() -> None:
    # 1.1.271 is the Db2 pin (python3.12); in the line of the other engines it would lie
    # between 1.1.225 (python3.7) and 1.1.367 (python3.9).
    assert runtimes.app_runtime("db2", "aws", "1.1.271").runtime == "python3.12"
    assert runtimes.app_runtime("mysql", "aws", "1.1.271").runtime is None
    assert runtimes.app_finding("db2", "single_user", "aws", "1.1.271", DAY) is None


@pytest.mark.parametrize(
    "runtime,expected",
    [
        ("python3.9", "Lambda deprecated python3.9 on 2025-12-15 and blocks creating functions on it from 2027-02-01"),
        ("nodejs20.x", "Lambda deprecated nodejs20.x on 2026-04-30"),
        ("dotnet8", "Lambda deprecated dotnet8 on 2026-11-10"),
        ("python3.12", None),
        ("python3.99", None),  # unknown to the table: no claim
    ],
)
def test_package_runtime(runtime: str, expected: str | None) -> None:
    found = runtimes.package_finding(runtime, DAY)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found.message
        assert "move to " in found.message


def test_today_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtimes.TODAY_ENV, "2030-01-02")
    assert runtimes.today() == date(2030, 1, 2)
    monkeypatch.setenv(runtimes.TODAY_ENV, "not a date")
    assert runtimes.today() >= date(2026, 1, 1)


def _validate(manifest: Path, today: str) -> subprocess.CompletedProcess[str]:
    env = {"ROTATION_TF_TODAY": today, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "generator", "validate", str(manifest)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )


def test_validate_warns_on_a_deprecated_pinned_version(tmp_path: Path) -> None:
    manifest = tmp_path / "old.yaml"
    manifest.write_text(
        'version: 1\naccount_id: "111122223333"\nregion: us-east-1\n'
        "functions:\n  pg:\n    strategy: single_user\n    engine: postgresql\n"
        "    rotation_app:\n      semantic_version: 1.1.618\n"
        "  zip:\n    strategy: single_user\n    engine: other\n"
        "    package: {filename: f.zip, handler: a.h, runtime: python3.10}\n"
        "secrets:\n  a: {function: pg, schedule: {every_days: 30}}\n  b: {function: zip, schedule: {every_days: 30}}\n"
    )
    (tmp_path / "f.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    proc = _validate(manifest, "2026-11-29")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    app = [line for line in lines if "functions.pg.rotation_app.semantic_version" in line]
    assert app and app[0].startswith(f"{manifest}:9:") and "runs on python3.10" in app[0] and "use 1.1.671" in app[0]
    pkg = [line for line in lines if "functions.zip.package.runtime" in line]
    assert pkg and "deprecated python3.10 on 2026-06-30" in pkg[0]
    # Before the 90-day window of python3.10 there is nothing to say.
    early = _validate(manifest, "2026-03-01")
    assert "runtime" not in early.stderr and "semantic_version" not in early.stderr, early.stderr
