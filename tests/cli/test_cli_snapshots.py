"""What a user reads: every command's --help, and the messages of common mistakes, as
reviewed snapshots (tests/snapshots/cli/<case>.txt: the exit code, stdout, stderr).

Help is rendered at 100 columns without colour. After an intended change, regenerate with

    pytest tests/cli/test_cli_snapshots.py --update-snapshots

and review the diff. Whatever the wording, help never shows a type label such as <bool>
or <list[Path]>, nor {braces}, and no message leaks pydantic's "Value error," prefix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots" / "cli"
REGENERATE = "pytest tests/cli/test_cli_snapshots.py --update-snapshots"
COMMANDS = ("", "generate", "validate", "explain", "init", "schema", "imports", "deployer-policy", "diff")

TWO = """\
version: 1
account_id: "111122223333"
region: us-east-1
functions:
  pg:
    strategy: single_user
    engine: postgresql
    existing_function_arn: arn:aws:lambda:us-east-1:111122223333:function:PgRotator
secrets:
  app/pg:
    function: pg
    schedule: {every_days: 7}
"""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env.update({"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def snapshot(name: str, proc: subprocess.CompletedProcess, request: pytest.FixtureRequest) -> str:
    text = f"exit: {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
    path = SNAPSHOTS / f"{name}.txt"
    if request.config.getoption("--update-snapshots"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run: {REGENERATE}"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; if intended, run: {REGENERATE}"
    return text


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    proc = run([command, "--help"] if command else ["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = snapshot(f"help-{command or 'root'}", proc, request)
    assert not re.search(r"<(bool|path|text|list\[[^\]]*\]|[a-z]+\|[a-z|]+)>", text), text
    assert not re.search(r"\{[a-z_]+\}", text) and "{MANIFEST" not in text, text
    if command not in ("", "schema"):
        assert "Exit 0" in text or "exit 0" in text.lower() or "Exit codes" in text, "help states the exit codes"


MISTAKES = {
    "init-bad-engine": ["init", "x.yaml", "--engine", "postgres"],
    "init-bad-region": ["init", "x.yaml", "--region", "eu-wset-1"],
    "init-bad-account": ["init", "x.yaml", "--account-id", "12345"],
    "generate-bad-color": ["generate", "two.yaml", "--color", "sometimes"],
    "explain-bad-format": ["explain", "two.yaml", "--format", "yaml"],
    "validate-no-file": ["validate"],
    "validate-missing-file": ["validate", "two.yaml", "nope.yaml"],
    "unknown-option": ["generate", "two.yaml", "--chek"],
    "unknown-command": ["generat", "two.yaml"],
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_mistakes(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    (tmp_path / "two.yaml").write_text(TWO)
    proc = run(MISTAKES[case], tmp_path)
    assert proc.returncode == 2, proc.stderr
    text = snapshot(f"error-{case}", proc, request)
    assert "Traceback" not in text and "Value error" not in text, text
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "out").exists()
