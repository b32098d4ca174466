from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# tests/ is on sys.path through pyproject.toml's pythonpath: the helpers package.
from helpers.harness import MotoServer, terraform_or_skip
from helpers.paths import ROOT

# Runtime deprecation warnings are relative to "today" (generator/runtimes.py): pin it, so
# that a snapshot does not change the day Lambda deprecates a runtime. Subprocesses inherit it.
PINNED_TODAY = "2026-11-29"
os.environ.setdefault("ROTATION_TF_TODAY", PINNED_TODAY)
# A doctor check that reads the account through a method it did not declare (its ``reads``)
# is an error in tests (generator/live/checks/check.py); subprocesses inherit it too.
os.environ.setdefault("ROTATION_TF_STRICT_READS", "1")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch folder holding a copy of examples/, as a user's infra repository would."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


# The fast tier is `pytest -m "not slow"`: everything that needs neither terraform, moto,
# checkov nor PyPI. Tests are put in the slow tier here, from what they use, so that a new
# test is tiered without anyone remembering to mark it.
SLOW_FIXTURES = frozenset({"terraform", "moto", "moto_server", "aws_server", "checkov", "wheelhouse"})
SLOW_MARKERS = ("terraform", "moto", "linters", "packaging", "rotation")


def pytest_configure(config: pytest.Config) -> None:
    """The CLI's result cache (generator.hookcache) goes to a folder of this run, never to
    the user's ~/.cache; tests that study the cache set their own."""
    import os
    import tempfile

    if "ROTATION_TF_CACHE_DIR" not in os.environ:
        os.environ["ROTATION_TF_CACHE_DIR"] = tempfile.mkdtemp(prefix="rotation-tf-test-cache-")
    from helpers import xdist_groups

    config.pluginmanager.register(xdist_groups, "xdist-groups")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate the golden output trees (tests/golden/) and out/ instead of comparing.",
    )
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="Rewrite the CLI snapshots (tests/snapshots/cli/*.txt): help and messages.",
    )
    parser.addoption(
        "--update-hostile",
        action="store_true",
        default=False,
        help="Rewrite the expected messages of the hostile corpus (tests/data/hostile/*.expected).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def terraform():
    return terraform_or_skip()


@pytest.fixture(scope="session")
def moto_server(terraform):
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What boto3 in a live command reads in a test: moto's test keys, no profile or session
    token from the engineer's shell, and the pinned today."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("ROTATION_TF_TODAY", PINNED_TODAY)


@pytest.fixture(scope="session")
def aws_server():
    """A moto server for boto3 alone (doctor, discover): unlike moto_server it needs no
    terraform. Each test resets it before building its world."""
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def planned(terraform, tmp_path_factory):
    """Every plan-only case registered with tests/helpers/plans.py, validated and planned in one root
    against a moto server of its own: {case name: plans.Planned}. Tests that read it carry
    ``plans.GROUP``, so that one xdist worker makes the plan."""
    from helpers.plans import plan_all

    server = MotoServer().start()
    try:
        return plan_all(terraform, server, tmp_path_factory.mktemp("plans"))
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server):
    moto_server.reset()
    return moto_server


_COST = {
    "test_rotation_real.py": 0,
    "test_moto_lifecycle.py": 0,
    "test_moto_traps.py": 1,
    "test_terraform_plan.py": 2,
    "test_linters.py": 3,
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so that `-m "not slow"` sees the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tier (see SLOW_FIXTURES), and start the slowest tests first, so that
    parallel workers (pytest -n 2) finish together."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SLOW_FIXTURES or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: _COST.get(item.path.name, 9))
