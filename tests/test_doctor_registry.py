"""The doctor check registry (generator/live/registry.py) is the one home of each check's
metadata: every check the check functions report is in it, every row is reported by some
check, the user documentation's table lists the same checks in the same order, and the
checks read AWS through the account reader only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from generator.live import registry

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "generator" / "live" / "checks"


def reported_checks() -> dict[str, set[str]]:
    """check id -> the modules whose ``out.add``/``out.unknown`` (or ``Finding(...)``) name it."""
    found: dict[str, set[str]] = {}
    for path in [*sorted(CHECKS.glob("*.py")), ROOT / "generator" / "live" / "doctor.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("add", "unknown", "Finding") and isinstance(node.args[1], ast.Constant):
                found.setdefault(str(node.args[1].value), set()).add(path.stem)
    return found


def test_every_reported_check_is_registered_and_every_registered_check_reported() -> None:
    reported = reported_checks()
    ids = {c.id for c in registry.CHECKS}
    assert len(ids) == len(registry.CHECKS), "a check id is registered twice"
    assert set(reported) - ids == set(), "reported but not in the registry"
    # key-policy's check name is passed through a parameter; everything else is named at the call
    assert ids - set(reported) <= {"key-policy"}, ids - set(reported)


def test_registry_rows_are_complete() -> None:
    for c in registry.CHECKS:
        assert c.about in (registry.FUNCTION, registry.SECRET, registry.ACCOUNT), c
        assert c.severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"), c
        assert c.title and c.help and c.source.startswith("https://docs.aws.amazon.com/"), c
        assert c.resource_type in ("AwsSecretsManagerSecret", "AwsLambdaFunction", "AwsIamRole", "AwsKmsKey",
                                   "AwsAccount"), c  # fmt: skip
        assert all(re.fullmatch(r"SecretsManager\.[1-4]", ctl) for ctl in c.controls), c
    controls = {c.id: c.controls for c in registry.CHECKS if c.controls}
    assert controls == {
        "rotation": ("SecretsManager.1",),
        "external-rotation": ("SecretsManager.1",),  # automatic rotation enabled, for a managed external secret
        "overdue": ("SecretsManager.2", "SecretsManager.4"),
        "pending": ("SecretsManager.2",),
        "last-rotation": ("SecretsManager.2",),  # why it did not rotate successfully
    }


def test_the_documented_table_is_the_registry() -> None:
    text = (ROOT / "docs" / "live-account.md").read_text()
    rows = re.findall(r"^\| `([a-z-]+)` \| (function|secret) \|", text, re.M)
    assert rows == [(c.id, c.about) for c in registry.CHECKS if c.about != registry.ACCOUNT]


def test_checks_read_aws_through_the_reader_only() -> None:
    for path in sorted(CHECKS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("aws", "call", "call_or_none", "pages"), f"{path.name}: .{node.attr}"
            if isinstance(node, ast.ImportFrom) and node.module == "generator.live.client":
                assert {a.name for a in node.names} <= {"LiveError"}, f"{path.name} imports {node.names}"
