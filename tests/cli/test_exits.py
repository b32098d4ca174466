"""One table of exit codes (generator/exits.py) for the whole CLI: every command is in it,
each command's --help names the codes it returns, the root --help and docs/exit-codes.md
print its meanings, and no command exits with a literal number of its own."""

from __future__ import annotations

import re

import typer.main
from helpers.cli import cli
from helpers.paths import ROOT

from generator import exits
from generator.cli import app
from generator.exits import Exit


def _commands() -> dict[str, str]:
    group = typer.main.get_command(app)
    return {name: cmd.help or "" for name, cmd in group.commands.items()}  # type: ignore[attr-defined]


def test_every_command_says_which_codes_it_returns() -> None:
    commands = _commands()
    assert set(commands) == set(exits.BY_COMMAND)
    for name, text in commands.items():
        said = {int(n) for sentence in re.findall(r"\bExit\b[^.]*\.", text) for n in re.findall(r"\b\d\b", sentence)}
        codes = {int(c) for c in exits.BY_COMMAND[name]}
        assert said == (codes if codes != {0} else set()), f"{name}'s --help names {said}, it returns {codes}"


def test_root_help_prints_every_meaning() -> None:
    run = cli("--help", env={"COLUMNS": "400"})
    assert run.returncode == Exit.OK
    text = " ".join(run.stdout.split())
    assert exits.help_text() in text
    assert all(f"{int(code)} {exits.MEANINGS[code][0]}" in text for code in Exit)


def test_the_docs_table_is_generated_from_the_enum() -> None:
    text = (ROOT / exits.DOC).read_text(encoding="utf-8")
    assert f"{exits.BEGIN}\n{exits.markdown_table()}{exits.END}" in text, (
        f"{exits.DOC} is stale; run: .venv/bin/python -m generator.exits --update-docs"
    )


def test_no_command_exits_with_a_number_of_its_own() -> None:
    """Exit codes are Exit members everywhere: no typer.Exit(2), sys.exit(130) or EXIT_X = 3."""
    literal = re.compile(r"(typer\.Exit|sys\.exit|SystemExit)\(\s*\d|\bEXIT_\w+\s*(,\s*EXIT_\w+\s*)*=\s*\d")
    found = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
        for path in sorted((ROOT / "generator").rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []


def test_the_codes_are_the_documented_numbers() -> None:
    """Pipelines depend on the numbers: they never move."""
    assert [(c.name, int(c)) for c in Exit] == [
        ("OK", 0),
        ("CHANGED", 1),
        ("USAGE", 2),
        ("UNREADABLE", 3),
        ("INTERNAL", 4),
        ("INTERRUPTED", 130),
    ]


def test_api_exit_is_the_enum() -> None:
    from generator import api

    assert api.Exit is Exit
