"""The deployer's policy as AWS evaluates it, and the module it is tested on (tests/unit/test_deployer.py, tests/moto/test_moto_deployer.py)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import yaml

from generator import api, model
from helpers.paths import ROOT

SERVICES = {
    "IAM": "iam",
    "Lambda": "lambda",
    "Secrets Manager": "secretsmanager",
    "STS": "sts",
    "KMS": "kms",
    "EC2": "ec2",
}
_CALL = re.compile(r"rpc\.method=(\w+)")
_SERVICE = re.compile(r'rpc\.service=("([^"]+)"|(\w+))')


def _matches(patterns, value: str) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _condition_holds(condition: dict, context: dict) -> bool:
    for op, pairs in condition.items():
        for key, expected in pairs.items():
            if key not in context:
                return False
            values = [expected] if isinstance(expected, str) else expected
            actual = context[key]
            if op == "StringEquals" and actual not in values:
                return False
            if op == "StringLike" and not _matches(values, actual):
                return False
    return True


def allowed(policy: dict, action: str, resource: str, context: dict | None = None) -> bool:
    """IAM's evaluation for one identity policy: an explicit Deny wins, then any Allow."""
    context = context or {}
    decision = False
    for st in policy["Statement"]:
        if not (_matches(st["Action"], action) and _matches(st["Resource"], resource)):
            continue
        if not _condition_holds(st.get("Condition", {}), context):
            continue
        if st["Effect"] == "Deny":
            return False
        decision = True
    return decision


def _module(tmp_path: Path) -> tuple[Path, model.Module]:
    data = yaml.safe_load((ROOT / "examples" / "hardened.yaml").read_text())
    manifest = tmp_path / "hardened.yaml"
    manifest.write_text(yaml.safe_dump(data))
    (tmp_path / "build").mkdir(exist_ok=True)
    (tmp_path / "build" / "rotator.zip").write_bytes((ROOT / "examples" / "build" / "rotator.zip").read_bytes())
    module, _ = api.load(manifest)
    return manifest, module
