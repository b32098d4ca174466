"""Fixtures of the terraform tests only: checkov for tests/terraform/test_linters.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def checkov() -> Path:
    """The checkov executable from its own virtual environment (never the project's).

    checkov pins a fork of python-hcl2 under the same import name, which breaks the
    project's python-hcl2 8.x; so it lives in .tf-work/checkov-venv, built once (under a
    file lock, for parallel workers) and reused. Skipped with the reason where it cannot be
    built, unless ROTATION_TF_REQUIRE_TERRAFORM=1.
    """
    from helpers.harness import checkov_or_skip

    return checkov_or_skip()
