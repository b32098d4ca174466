"""The package as built for the packaging tests (the ``wheelhouse`` fixture, tests/cli/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Wheelhouse:
    dist: Path  # the sdist and the wheel built from it
    env: dict[str, str]  # for pip: find everything in the wheelhouse, ask no index
