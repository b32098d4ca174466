"""One table of output formats per command (generator.formats.FORMATS, issue 28 section 3):
``--format`` takes its names and no other, ``--help`` lists them, every name is laid out by
the renderer the table names, and a format added to the table alone is offered and works.
What the screen allows (colour, a terminal's layout) is decided in generator.terminal."""

from __future__ import annotations

import ast
import inspect
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.cli import cli
from helpers.paths import ROOT

from generator import api, formats, terminal

COMMAND_ARGS = {
    "explain": ["examples/rotation.yaml"],
    "diff": ["/dev/null", "examples/rotation.yaml"],
    "doctor": ["examples/rotation.yaml"],
}


def test_the_table_covers_every_command_with_a_format_option() -> None:
    assert set(formats.FORMATS) == set(COMMAND_ARGS)
    for command, fmts in formats.FORMATS.items():
        assert formats.default(command) == "text" == fmts[0].name
        assert len(set(formats.names(command))) == len(fmts), command
        assert [f.name for f in fmts if not f.document] == ["text"], command  # only text shares stdout with notes


def test_every_format_names_its_renderer_and_every_renderer_is_in_the_table() -> None:
    named = set()
    for command, fmts in formats.FORMATS.items():
        for f in fmts:
            fn = formats.renderer(command, f.name)
            assert list(inspect.signature(fn).parameters)[1:] == ["screen"], f.renderer
            named.add(f.renderer)
    defined = set()
    for module in ("explain", "diff", "doctor"):
        path = ROOT / "generator" / "formats" / f"{module}.py"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("as_"):
                defined.add(f"generator.formats.{module}:{node.name}")
    assert defined == named


@pytest.mark.parametrize("command", sorted(formats.FORMATS))
def test_help_lists_each_format_from_the_table(command: str) -> None:
    run = cli(command, "--help", env={"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"})
    assert run.returncode == 0, run.stderr
    flat = " ".join(run.stdout.replace("│", " ").split())
    assert formats.help_text(command) in flat, flat
    assert f"[{'|'.join(formats.names(command))}]" in flat


@pytest.mark.parametrize("command", sorted(formats.FORMATS))
def test_a_format_not_in_the_table_is_a_usage_error_naming_them(command: str) -> None:
    run = cli(command, *COMMAND_ARGS[command], "--format", "yaml")
    assert run.returncode == 2
    flat = " ".join(run.stderr.replace("│", " ").split())
    assert f"'yaml' is not one of: {', '.join(formats.names(command))}" in flat, flat
    assert run.stdout == ""


def test_a_format_added_to_the_table_appears_in_help_and_works(tmp_path: Path) -> None:
    """The table alone: a format declared there (here, at run time, before the CLI is built)
    is in --help, is accepted, and its renderer lays the command's result out."""
    (tmp_path / "added_format.py").write_text(
        "def as_count(results, screen):\n    return f\"{sum(len(r['functions']) for r in results)} functions\\n\"\n",
        encoding="utf-8",
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from generator import formats
        formats.FORMATS["explain"] += (formats.Format("count", "the number of functions", "added_format:as_count"),)
        from generator import cli
        sys.argv = ["rotation-tf", *sys.argv[1:]]
        cli.run()
        """
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
        return subprocess.run(
            [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
        )

    helped = run("explain", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "text (tables; rich on a terminal), json or count (the number of functions)." in helped.stdout
    assert "[text|json|count]" in helped.stdout
    manifests = ("examples/rotation.yaml", "examples/minimal.yaml")
    counted = run("explain", *manifests, "--format", "count")
    functions = 0
    for manifest in manifests:
        module = api.validate(ROOT / manifest).module
        assert module is not None
        functions += len(module.functions)
    assert (counted.returncode, counted.stdout) == (0, f"{functions} functions\n"), counted.stderr


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("color", "tty", "no_color", "colour", "tables"),
    [
        ("auto", False, False, False, False),  # piped: plain, no colour
        ("auto", True, False, True, True),  # a terminal: its layout, in colour
        ("auto", True, True, False, True),  # NO_COLOR: a terminal's layout, no colour
        ("always", False, False, True, True),  # forced, even into a pipe
        ("always", False, True, True, True),  # --color always outranks NO_COLOR
        ("never", True, False, False, False),  # never: plain on a terminal too
    ],
)
def test_the_screen_is_decided_in_one_place(
    color: str, tty: bool, no_color: bool, colour: bool, tables: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "72")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    screen = terminal.screen(color, _Tty() if tty else io.StringIO())
    assert (screen.colour, screen.tables) == (colour, tables)
    assert screen.width == (72 if tty else terminal.PIPE_WIDTH)


def test_the_cli_chooses_no_format_and_exits_with_named_codes() -> None:
    """cli.py parses and dispatches: no comparison with a format's name, no rich Console,
    no exit code as a bare number (generator.exits names them)."""
    tree = ast.parse((ROOT / "generator" / "cli.py").read_text(encoding="utf-8"))
    names = {n for fmts in formats.FORMATS.values() for n in (f.name for f in fmts)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                assert not (isinstance(side, ast.Constant) and side.value in names), ast.unparse(node)
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            assert called != "Console", ast.unparse(node)
            if called in ("typer.Exit", "sys.exit", "_exit", "SystemExit"):
                for arg in node.args:
                    assert not (isinstance(arg, ast.Constant) and isinstance(arg.value, int)), ast.unparse(node)
