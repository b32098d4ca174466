"""Golden output trees: every example's module is compared whole, file by file.

Regenerate after an intended change with:  pytest tests/cli/test_golden.py --update-golden
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import EXAMPLES, GOLDEN, REGENERATE, ROOT

from generator import api


def _tree(path: Path) -> dict[str, bytes]:
    if not path.is_dir():
        return {}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_golden_tree(example: Path, update_golden: bool) -> None:
    rendered = api.render(example, GOLDEN)
    files, target = rendered.files, rendered.target
    if update_golden:
        assert api.generate(example, GOLDEN).exit == api.Exit.OK
    expected = _tree(target)
    actual = {name: text.encode("utf-8") for name, text in files.items()}
    missing = sorted(set(actual) - set(expected))
    extra = sorted(set(expected) - set(actual))
    changed = sorted(n for n in set(actual) & set(expected) if actual[n] != expected[n])
    assert not (missing or extra or changed), (
        f"golden tree {target} is out of date: missing={missing} extra={extra} changed={changed}; "
        f"if the change is intended, run: {REGENERATE}"
    )


def test_committed_out_is_current(update_golden: bool) -> None:
    """The repo's out/ is what `rotation-tf generate examples/rotation.yaml` writes (CI runs --check)."""
    args = [sys.executable, "-m", "generator", "generate", "examples/rotation.yaml"]
    if not update_golden:
        args.append("--check")
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"out/ is stale; run: rotation-tf generate examples/rotation.yaml\n{proc.stdout}{proc.stderr}"
    )
    assert (ROOT / "out" / "rotation" / "versions.tf").is_file()
