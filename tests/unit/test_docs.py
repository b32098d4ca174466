"""The documentation stays true: generated reference tables match their source, relative
links resolve, every path under tests/ that a document or a docstring names exists, and the
README stays short enough to read in one sitting."""

from __future__ import annotations

import re

import pytest
from helpers.paths import ROOT

from generator import schema as schema_mod

DOCS = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")
README_LIMIT = 20_000
"""Bytes: the README holds what a newcomer needs; references live in docs/."""


def test_manifest_reference_is_generated_from_the_schema() -> None:
    section = schema_mod.reference_section((ROOT / schema_mod.REFERENCE_DOC).read_text(encoding="utf-8"))
    assert section is not None, f"{schema_mod.REFERENCE_DOC} lacks the manifest reference markers"
    assert section == schema_mod.reference_markdown(), (
        f"{schema_mod.REFERENCE_DOC}'s manifest reference is stale; run: .venv/bin/python -m generator.schema --update-docs"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc) -> None:
    for target, _anchor in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        assert (doc.parent / target).exists(), f"{doc.relative_to(ROOT)} links to missing {target}"


# Where tests are named: the docs, the package's docstrings, bench/, CI and the tests themselves.
NAMING_TESTS = [
    *DOCS,
    *sorted((ROOT / "tests").rglob("*.md")),
    *sorted((ROOT / "generator").rglob("*.py")),
    *sorted((ROOT / "bench").glob("*.py")),
    *sorted((ROOT / "tests").rglob("*.py")),
    ROOT / ".ci" / "run",
    ROOT / "pyproject.toml",
]
TESTS_PATH = re.compile(r"(?<![\w/.-])tests/[\w./*<>-]*[\w*/>]")


def test_every_tests_path_named_exists() -> None:
    """A test file that moves takes its mentions with it (tests/README.md: the folders).
    A glob (``tests/moto/test_moto_*.py``, ``tests/unit/test_doctor_<concern>.py``) must match something."""
    missing = {
        f"{source.relative_to(ROOT)}: {path}"
        for source in NAMING_TESTS
        for path in TESTS_PATH.findall(source.read_text(encoding="utf-8"))
        if not list(ROOT.glob(re.sub(r"<[^>]*>", "*", path).rstrip("/")))
    }
    assert not missing, "named but missing:\n" + "\n".join(sorted(missing))


def test_readme_fits_in_a_head() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move reference material to docs/"


def test_the_readme_manifest_validates(tmp_path) -> None:
    """The manifest a newcomer copies from the README is a valid one."""
    from generator import api

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## A manifest", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "rotator.zip").write_bytes((ROOT / "examples" / "build" / "rotator.zip").read_bytes())
    path = tmp_path / "rotation.yaml"
    path.write_text(block, encoding="utf-8")
    result = api.validate(path)
    assert result.exit == 0, [d.render() for d in result.diagnostics]
