from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import MotoServer, terraform_or_skip  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden"
REGENERATE = "pytest tests/test_golden.py --update-golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate the golden output trees (tests/golden/) and out/ instead of comparing.",
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
