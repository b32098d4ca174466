from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import MotoServer, terraform_or_skip  # noqa: E402

# Runtime deprecation warnings are relative to "today" (generator/runtimes.py): pin it, so
# that a snapshot does not change the day Lambda deprecates a runtime. Subprocesses inherit it.
PINNED_TODAY = "2026-11-29"
os.environ.setdefault("ROTATION_TF_TODAY", PINNED_TODAY)

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden"
REGENERATE = "pytest tests/test_golden.py --update-golden"


def shuffled(data, rng):
    """``data`` with every mapping's keys in a random (seeded) order: same meaning."""
    if isinstance(data, dict):
        items = list(data.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(data, list):
        return [shuffled(v, rng) for v in data]
    return data


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
        help="Rewrite the expected messages of the hostile corpus (tests/hostile/*.expected).",
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
def moto(moto_server):
    moto_server.reset()
    return moto_server


@pytest.fixture(scope="session")
def checkov() -> Path:
    """The checkov executable from its own virtual environment (never the project's).

    checkov pins a fork of python-hcl2 under the same import name, which breaks the
    project's python-hcl2 8.x; so it lives in .tf-work/checkov-venv, built once (under a
    file lock, for parallel workers) and reused. Skipped with the reason where it cannot be
    built, unless ROTATION_TF_REQUIRE_TERRAFORM=1.
    """
    from harness import checkov_or_skip

    return checkov_or_skip()


_COST = {"test_moto_lifecycle.py": 0, "test_moto_traps.py": 1, "test_terraform_plan.py": 2, "test_linters.py": 3}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the slowest tests first, so parallel workers (pytest -n 2) finish together."""
    items.sort(key=lambda item: _COST.get(item.path.name, 9))
