"""The command line. It parses options, calls one library function, prints the result and
maps it to an exit code: 0 ok, 1 drift (``--check``), 2 bad input or usage."""

from __future__ import annotations

import os
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from generator import __version__
from generator.api import Exit, Result
from generator.engines import ENGINES

if TYPE_CHECKING:
    from generator.model import Module

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    help="Generate the Terraform that lets AWS Secrets Manager secrets rotate safely.",
    pretty_exceptions_enable=False,
)

ManifestArg = Annotated[
    Path,
    typer.Argument(help="The rotation manifest (YAML).", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rotation-tf {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Generate the Terraform that lets AWS Secrets Manager secrets rotate safely.

    Exit codes: 0 ok, 1 drift (generate --check), 2 bad input or usage.
    """


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class Format(str, Enum):
    text = "text"
    json = "json"


ColorOpt = Annotated[
    Color,
    typer.Option(
        "--color",
        help="Colour: auto (only on a terminal, and never when NO_COLOR is set), always or never.",
        case_sensitive=False,
    ),
]


def use_color(color: Color, stream: TextIO | None = None) -> bool:
    """Whether to colour ``stream``: --color wins; auto means a terminal without NO_COLOR."""
    if color is Color.always:
        return True
    if color is Color.never or os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


_DIFF_STYLES = (("+++", "\x1b[1m"), ("---", "\x1b[1m"), ("@@", "\x1b[36m"), ("+", "\x1b[32m"), ("-", "\x1b[31m"))


def colour_diff(diff: str) -> str:
    out = []
    for line in diff.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        style = next((code for prefix, code in _DIFF_STYLES if body.startswith(prefix)), None)
        out.append(f"{style}{body}\x1b[0m{nl}" if style else line)
    return "".join(out)


def _report(result: Result) -> None:
    for d in result.diagnostics:
        typer.echo(d.render(), err=True)


def _valid_module(manifest: Path) -> Module:
    """The manifest's module; on a bad manifest, report every error and exit 2."""
    from generator import api

    result = api.validate(manifest)
    _report(result)
    if result.module is None:
        raise typer.Exit(int(Exit.ERROR))
    return result.module


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@app.command()
def generate(
    manifests: Annotated[
        list[Path],
        typer.Argument(
            help="One or more rotation manifests (YAML); a pre-commit hook passes every changed one.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder that holds the module folder.")] = Path("out"),
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing. Exit 0 when the module is up to date, 1 when it would change "
            "(a unified diff goes to stdout, a summary to stderr), 2 when the manifest is bad or the "
            "module folder holds a file rotation-tf did not generate (FOREIGN:).",
        ),
    ] = False,
    fail_on_change: Annotated[
        bool,
        typer.Option(
            "--fail-on-change",
            help="Write, then exit 1 if any file was created, changed or removed (for pre-commit, "
            "which does not notice new files by itself).",
        ),
    ] = False,
    color: ColorOpt = Color.auto,
) -> None:
    """Write the module for each MANIFEST into OUT/<module>/ (atomically), or check it with --check.

    With several manifests nothing is written unless every one of them is valid.

    Exit 0 ok, 1 when --check finds drift, 2 when a manifest is bad or the module folder holds a
    file that rotation-tf did not generate.
    """
    from generator import api

    results = api.generate_many(manifests, out, check=check)
    for result in results:
        _report(result)
    errors = sum(1 for r in results for d in r.diagnostics if d.level.value == "error")
    if any(r.exit is Exit.ERROR and r.drift is None for r in results):  # bad manifests (--check: foreign files below)
        typer.echo(f"rotation-tf: {errors} error(s); nothing was written.", err=True)
        raise typer.Exit(int(Exit.ERROR))
    if not check:
        changed = 0
        for result in results:
            count = result.drift.count if result.drift is not None else 0
            changed += count
            typer.echo(f"wrote {result.target}" + (f" ({_plural(count, 'file')} changed)" if count else " (unchanged)"), err=True)
        if fail_on_change and changed:
            targets = " ".join(shlex.quote(str(r.target)) for r in results if r.drift is not None and r.drift.count)
            typer.echo(f"{_plural(changed, 'file')} changed; review and stage them: git add {targets}", err=True)
            raise typer.Exit(int(Exit.DRIFT))
        return
    paint = use_color(color, sys.stdout)
    changed_files = 0
    stale: list[Path] = []
    foreign: list[str] = []
    for manifest, result in zip(manifests, results, strict=True):
        drift = result.drift
        assert drift is not None
        if drift.diff:
            sys.stdout.write(colour_diff(drift.diff) if paint else drift.diff)
        for name in drift.missing:
            typer.echo(f"MISSING: {result.target}/{name}")
        for name in drift.extra:
            typer.echo(f"EXTRA: {result.target}/{name}")
        for name in drift.foreign:
            typer.echo(f"FOREIGN: {result.target}/{name} (not generated by rotation-tf)")
            foreign.append(f"{result.target}/{name}")
        if drift.foreign:
            typer.echo(f"{result.target} holds files that rotation-tf did not generate.", err=True)
        elif drift.count:
            changed_files += drift.count
            stale.append(manifest)
            typer.echo(f"{result.target} is out of date.", err=True)
        else:
            typer.echo(f"{result.target} is up to date.", err=True)
    if foreign:
        # generate refuses to overwrite or delete them, so suggesting it would not help
        them = "it" if len(foreign) == 1 else "them"
        typer.echo(
            f"rotation-tf: {_plural(len(foreign), 'file')} in the module folder not generated by rotation-tf "
            f"(no header); generate refuses to overwrite or delete {them}: move {them} out of the module "
            "folder, then run generate.",
            err=True,
        )
    elif stale:
        command = "rotation-tf generate " + " ".join(shlex.quote(str(m)) for m in stale)
        if out != Path("out"):
            command += f" --out {shlex.quote(str(out))}"
        typer.echo(f"{_plural(changed_files, 'file')} would change; run: {command}", err=True)
    raise typer.Exit(int(max(r.exit for r in results)))


@app.command()
def schema() -> None:
    """Print the manifest's JSON Schema (derived from the models that validate manifests).

    Save it and point your editor at it, e.g. first line of a manifest:
    # yaml-language-server: $schema=rotation-tf.schema.json
    """
    from generator import schema as schema_mod

    sys.stdout.write(schema_mod.dumps())


@app.command()
def explain(
    manifest: ManifestArg,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (tables; rich on a terminal) or json.", case_sensitive=False)
    ] = Format.text,
    color: ColorOpt = Color.auto,
) -> None:
    """Show each rotation function and every action its role may take, on which resources, and why.

    On a terminal the tables follow its width and colours (NO_COLOR turns colour off);
    piped, the output is plain text. Exit 0, or 2 when the manifest is bad.
    """
    from generator import explain as explain_mod

    data = explain_mod.facts(_valid_module(manifest))
    if fmt is Format.json:
        sys.stdout.write(explain_mod.to_json(data))
        return
    tty = sys.stdout.isatty()
    if color is Color.never or (color is Color.auto and not tty):
        sys.stdout.write(explain_mod.plain(data))
        return
    from rich.console import Console

    console = Console(
        force_terminal=True if color is Color.always else None,
        no_color=True if (color is Color.auto and os.environ.get("NO_COLOR")) else None,
        highlight=False,
        emoji=False,
        markup=False,
    )
    for renderable in explain_mod.rich_tables(data):
        console.print(renderable)
        console.print()


# The choices of --engine are the manifest's engines (generator.engines), not a copy.
Engine = Enum("Engine", {name: name for name in ENGINES}, type=str)  # type: ignore[misc]


class Strategy(str, Enum):
    single_user = "single_user"
    alternating_users = "alternating_users"


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the manifest.")] = Path("rotation.yaml"),
    engine: Annotated[Engine, typer.Option("--engine", "-e", help="Database engine.")] = Engine["postgresql"],
    strategy: Annotated[Strategy, typer.Option("--strategy", "-s", help="Rotation strategy.")] = Strategy.single_user,
    account_id: Annotated[str, typer.Option("--account-id", help="12-digit AWS account id.")] = "111122223333",
    region: Annotated[str, typer.Option("--region", help="AWS region.")] = "us-east-1",
) -> None:
    """Write a commented starter manifest that validates as written. Never overwrites a file.

    Exit 0 when written, 2 when PATH exists or an option is invalid.
    """
    from generator import starter
    from generator.errors import Failed

    try:
        starter.write(path, engine=engine.value, strategy=strategy.value, account_id=account_id, region=region)
    except Failed as exc:
        for d in exc.diagnostics:
            typer.echo(d.render(), err=True)
        raise typer.Exit(int(Exit.ERROR)) from None
    typer.echo(f"wrote {path}; next: rotation-tf generate {shlex.quote(str(path))}", err=True)


@app.command()
def validate(manifest: ManifestArg) -> None:
    """Check MANIFEST only; write nothing. Exit 0 when valid, 2 when not."""
    from generator import api

    result = api.validate(manifest)
    _report(result)
    if result.exit is Exit.OK:
        typer.echo(f"{manifest}: ok", err=True)
    raise typer.Exit(int(result.exit))


@app.command()
def imports(
    manifest: ManifestArg,
    module_address: Annotated[
        str, typer.Option("--module-address", help="How the root configuration calls the module.")
    ] = "module.rotation",
) -> None:
    """Print root-module import blocks for what is marked `import: true`. Exit 0, or 2 on a bad manifest."""
    import re

    from generator import imports as imports_mod

    if not re.fullmatch(r"module\.[A-Za-z_][A-Za-z0-9_-]*(\[[^\]]+\])?(\.module\.[A-Za-z_][A-Za-z0-9_-]*)*", module_address):
        typer.echo(f"rotation-tf: {module_address!r} is not a module address such as module.rotation", err=True)
        raise typer.Exit(2)
    sys.stdout.write(imports_mod.render(_valid_module(manifest), module_address))


@app.command("deployer-policy")
def deployer_policy(manifest: ManifestArg) -> None:
    """Print the deployer's least-privilege policy (JSON). Needs roles.permissions_boundary; exit 2 without."""
    import json

    from generator import grants

    policy = grants.deployer_policy(_valid_module(manifest))
    if policy is None:
        typer.echo(f"{manifest}: set roles.permissions_boundary; without a boundary no deployer policy can be safe", err=True)
        raise typer.Exit(2)
    sys.stdout.write(json.dumps(policy, indent=2) + "\n")


def run() -> None:
    try:
        app(prog_name="rotation-tf")
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
