"""A small manifest of the rotation surface, written to a folder (tests/unit/test_surface.py, tests/moto/test_moto_surface.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

BASE = {
    "version": 1,
    "account_id": "111122223333",
    "region": "eu-west-1",
    "functions": {
        "pg": {
            "strategy": "single_user",
            "engine": "postgresql",
            "existing_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:pg-rotator",
        }
    },
    "secrets": {"prod/a": {"function": "pg", "schedule": {"every_days": 30}}},
}


def _write(tmp_path: Path, data: dict, name: str = "rotation.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
