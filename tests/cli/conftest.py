"""Fixtures of the CLI tests only: the package as built for the packaging tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import ROOT
from helpers.wheelhouse import Wheelhouse


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """The package built by ``python -m build`` (the wheel from the sdist), and a wheelhouse
    holding that wheel, everything it depends on, its build system's requirements, pip,
    setuptools and wheel (for pipx's and pre-commit's environments): filled from the index
    once, so that the installs of the packaging tests ask no index (each used to resolve
    every dependency against PyPI). Tests that use it are one xdist group ("packaging")."""
    import build

    dist = tmp_path_factory.mktemp("dist")
    house = tmp_path_factory.mktemp("wheelhouse")

    def run(*args: str | Path) -> None:
        proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{args}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"

    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    wheel = next(dist.glob("rotation_tf-*.whl"))
    requires = sorted(build.ProjectBuilder(ROOT).build_system_requires)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--wheel-dir",
        house,
        wheel,
        *requires,
        "pip",
        "setuptools",
        "wheel",
    )
    return Wheelhouse(dist, {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(house)})
