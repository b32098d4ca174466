"""Output is a function of the manifest's meaning only: byte-identical across runs and
across any reordering of the manifest's mappings."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml
from helpers.paths import EXAMPLES, ROOT
from helpers.shuffle import shuffled as _shuffled

from generator import api
from generator.writer import is_generated


def _render(manifest: Path, out: Path) -> dict[str, str]:
    files = api.render(manifest, out).files
    return files


def test_generate_twice_is_identical(tmp_path: Path) -> None:
    for example in EXAMPLES:
        out = tmp_path / "out"
        assert api.generate(example, out).exit == api.Exit.OK
        first = {p.as_posix(): p.read_bytes() for p in (out / example.stem).rglob("*") if p.is_file()}
        assert api.generate(example, out).exit == api.Exit.OK
        second = {p.as_posix(): p.read_bytes() for p in (out / example.stem).rglob("*") if p.is_file()}
        assert first == second
        check = api.generate(example, out, check=True)
        assert check.exit == api.Exit.OK, check.drift


def test_reordered_manifest_gives_identical_bytes(tmp_path: Path) -> None:
    for example in EXAMPLES:
        work = tmp_path / example.stem
        shutil.copytree(ROOT / "examples", work)
        original = work / example.name
        data = yaml.safe_load(original.read_text())
        baseline = _render(original, work / "out")
        for seed in range(5):
            original.write_text(yaml.safe_dump(_shuffled(data, random.Random(seed)), sort_keys=False))
            assert _render(original, work / "out") == baseline, f"seed {seed} changed the output of {example.name}"


def test_output_has_no_absolute_paths_or_dates() -> None:
    import re

    for example in EXAMPLES:
        files = _render(example, ROOT / "out")
        for name, text in files.items():
            assert str(ROOT) not in text, name
            dates = set(re.findall(r"\b(?:19|20)\d\d-\d\d-\d\d\b", text)) - {
                "2012-10-17"
            }  # IAM policy language version
            assert not dates, name
            assert text.endswith("\n") and not text.endswith("\n\n"), name
            assert "\r" not in text, name
            assert is_generated(text) and "DO NOT EDIT" in text.splitlines()[1 if name.endswith(".json") else 0], name
