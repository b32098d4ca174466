"""Where things are: the checkout, the examples, the committed golden trees."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DATA = TESTS / "data"
SNAPSHOTS = TESTS / "snapshots"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
# What terraform init/plan/apply can run here: a module with managed external secrets needs
# hashicorp/aws 6.x (generator/versions.py EXTERNAL), and the provider mirror has 5.100.0,
# which lacks its arguments. Those are checked without terraform (docs/rotation-surface.md).
PLANNABLE = [e for e in EXAMPLES if "\n    external:" not in e.read_text()]
GOLDEN = TESTS / "golden"
REGENERATE = "pytest tests/cli/test_golden.py --update-golden"
