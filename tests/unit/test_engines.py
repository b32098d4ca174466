"""One engine list (generator.engines) for the CLI, the schema, the checks, the created
secrets, AWS's rotation applications and the README. These tests fail when a second list
appears or when one of the users drifts from the list."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from helpers.paths import ROOT

from generator import engines, rotation_apps, schema
from generator.cli import app

STRATEGIES = ("single_user", "alternating_users")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def _init_choices() -> tuple[str, ...]:
    """The choices of `init --engine`: what its parser names when refusing a value, which
    must also be what --help lists and what it accepts."""
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "init", "x.yaml", "--engine", "bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "400", "NO_COLOR": "1", "PATH": ""},
    )
    listed = re.search(r"is not one of: ([a-z0-9]+(?:, [a-z0-9]+)*)", proc.stderr)
    assert proc.returncode == 2 and listed, proc.stderr
    choices = tuple(listed.group(1).split(", "))
    command = typer.main.get_command(app).commands["init"]  # type: ignore[attr-defined]
    param = next(p for p in command.params if p.name == "engine")
    assert ", ".join(choices) in (param.help or ""), "--help lists the engines"
    return choices


def test_cli_choices_are_the_schema_enum_are_the_list() -> None:
    function = schema.manifest_schema()["$defs"]["Function"]["properties"]["engine"]
    assert tuple(function["enum"]) == engines.ENGINES
    assert _init_choices() == engines.ENGINES
    assert "db2" in engines.ENGINES


def test_every_engine_but_other_has_an_application_for_each_strategy_and_partition() -> None:
    for engine in engines.ENGINES:
        assert rotation_apps.supported(engine) == (engine != engines.OTHER), engine
        if engine == engines.OTHER:
            continue
        for strategy in STRATEGIES:
            for partition in PARTITIONS:
                assert rotation_apps.application_id(engine, strategy, partition).endswith(
                    "Rotation" + ("SingleUser" if strategy == "single_user" else "MultiUser")
                )
                assert re.fullmatch(
                    r"[0-9]+\.[0-9]+\.[0-9]+", rotation_apps.pinned_version(engine, strategy, partition)
                )
    # and the pinned versions name no engine that is not in the list
    assert {e for e, _s in rotation_apps._VERSIONS} == set(engines.ENGINES) - {engines.OTHER}


_NAMES = [e for e in engines.ENGINES if e != engines.OTHER]
_ALTERNATIVES = "|".join(_NAMES)
_QUOTED = re.compile(rf"""["']({_ALTERNATIVES})["']""")
_WORD = re.compile(rf"\b({_ALTERNATIVES})\b")
# rotation_apps keys its pinned versions by engine; the test above holds them to the list.
# aws_failure_sites quotes AWS's code ("Database engine must be set to 'postgres' ..."), which
# tests/rotation/test_aws_failures.py holds to that code.
_ALLOWED = {"generator/engines.py", "generator/rotation_apps.py", "generator/aws_failure_sites.py"}


def _sources() -> list[Path]:
    files = sorted((ROOT / "generator").rglob("*.py")) + sorted((ROOT / "templates").rglob("*.j2"))
    files += (
        [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        if (ROOT / "docs").is_dir()
        else [ROOT / "README.md"]
    )
    return files


def test_no_second_engine_list_in_the_package_templates_or_docs() -> None:
    copies = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in _ALLOWED:
            continue
        text = path.read_text(encoding="utf-8")
        if rel.endswith(".py") and len(set(_QUOTED.findall(text))) >= 3:
            copies.append(f"{rel}: quotes {sorted(set(_QUOTED.findall(text)))}")
        for number, line in enumerate(text.splitlines(), 1):
            named = set(_WORD.findall(line))
            # a line naming three or more engines is a list: it must be the whole list
            if len(named) >= 3 and named != set(_NAMES):
                copies.append(f"{rel}:{number}: lists {sorted(named)}, missing {sorted(set(_NAMES) - named)}")
    assert copies == [], "engine lists outside generator/engines.py:\n" + "\n".join(copies)


def test_the_detector_finds_a_partial_copy(tmp_path: Path) -> None:
    line = (
        "    engine: postgresql       # postgresql | mysql | mariadb | oracle | sqlserver | redshift | mongodb | other"
    )
    named = set(_WORD.findall(line))
    assert len(named) >= 3 and named != set(_NAMES)  # the README line of issue 11 (db2 missing) is caught


@pytest.mark.parametrize("engine", engines.ENGINES)
def test_init_accepts_every_engine_the_manifest_accepts(tmp_path: Path, engine: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "init", "rotation.yaml", "--engine", engine],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"engine: {engine}" in (tmp_path / "rotation.yaml").read_text()
