"""One home per fact: each test fails when a second copy of a fact appears in the package
or the templates, where a copy can be recognised by its text.

The engine list has its own test (test_engines.py); version constraints come only from
generator/versions.py (test_versions.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.hclparse import load_module
from helpers.paths import EXAMPLES, GOLDEN, ROOT

from generator import api, hcl

SOURCES = sorted([*(ROOT / "generator").rglob("*.py"), *(ROOT / "templates").rglob("*.j2")])

# pattern -> the one file allowed to hold it
FACTS = {
    # HCL's keywords (hcl.KEYWORDS; naming.secret_ident and hcl.ident both use it)
    r'"endfor"': "generator/hcl.py",
    # the message for a file the tool did not write (errors.NOT_GENERATED)
    r"\(no header\)": "generator/errors.py",
    # AWS limits (generator/aws.py), never typed into messages, schemas or templates
    r"\b10[,_]?240\b": "generator/aws.py",
    r"\b20[,_]?480\b": "generator/aws.py",
    r"\b1-(?:128|256|512)\b|\b0-256\b|\b7-30\b": "generator/aws.py",  # messages build ranges from the constants
}


@pytest.mark.parametrize("pattern", FACTS)
def test_fact_has_one_home(pattern: str) -> None:
    home = FACTS[pattern]
    holders = sorted(str(p.relative_to(ROOT)) for p in SOURCES if re.search(pattern, p.read_text(encoding="utf-8")))
    assert holders == [home], f"{pattern!r} is written in {holders}; keep it only in {home}"


def test_the_detector_finds_a_copy(tmp_path: Path) -> None:
    copy = tmp_path / "copy.py"
    copy.write_text('KEYWORDS = {"true", "endfor"}\nLIMIT = 10240\nMSG = "must be 7-30"\n')
    text = copy.read_text()
    assert all(re.search(p, text) for p in (r'"endfor"', r"\b10[,_]?240\b", r"\b7-30\b"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_resource_types_are_what_the_module_declares(example: Path) -> None:
    """Module.resource_types is the one list of a function's resources (the README's
    resource table, moved blocks and import blocks read it): the parsed .tf files of the
    golden module declare exactly those blocks under each function's key."""
    module, _ = api.load(example)
    declared = load_module(GOLDEN / module.name)["resource"]
    for fn in module.functions:
        named = {
            t for t, name in declared if name == hcl.ident(fn.key) and not t.startswith("aws_secretsmanager_secret")
        }
        assert named == set(module.resource_types(fn)), fn.key
