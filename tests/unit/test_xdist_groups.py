"""The test suite's own machinery: an xdist_group runs on one worker, so that the fixture its
tests share is built once (tests/helpers/xdist_groups.py; pyproject.toml runs --dist loadgroup)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.paths import TESTS

CONFTEST = """
from helpers import xdist_groups


def pytest_configure(config):
    config.pluginmanager.register(xdist_groups, "xdist-groups")
"""

GROUPED = """
import os

import pytest

pytestmark = pytest.mark.xdist_group("shared")


@pytest.fixture(scope="session")
def shared():
    with open(os.environ["BUILT_LOG"], "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")


@pytest.mark.parametrize("i", range(6))
def test_reads_the_shared_fixture(shared, i):
    pass
"""

OTHERS = """
import pytest


@pytest.mark.parametrize("i", range(12))
def test_other(i):
    pass
"""


def test_a_group_is_built_once_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_others.py").write_text(OTHERS)
    log = tmp_path / "built.log"
    env = {**os.environ, "PYTHONPATH": str(TESTS), "BUILT_LOG": str(log)}
    proc = subprocess.run(
        # hypothesis's plugin is most of a worker's start-up, and this suite has no use for it
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            "-q",
            "-rA",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "18 passed" in proc.stdout, proc.stdout
    built = log.read_text().split()
    assert len(built) == 1, f"the group's shared fixture was built on {built}"
    # every test of the group ran on that worker
    ran = [line for line in proc.stdout.splitlines() if "test_reads_the_shared_fixture" in line]
    assert len(ran) == 6 and all("@shared" in line for line in ran), ran
