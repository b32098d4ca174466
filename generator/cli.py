"""The command line. It parses options and calls one function per command, which prints
and returns the exit code (:mod:`generator.exits`, which ``--help`` prints): the manifest
commands' bodies are in :mod:`generator.commands`, the live-account commands' in
:mod:`generator.live.commands`. The output formats that ``--format`` offers, and their help,
come from :data:`generator.formats.FORMATS`; colour is decided in
:mod:`generator.terminal`."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from generator import __version__, exits, formats
from generator.engines import ENGINES
from generator.exits import Exit
from generator.terminal import COLORS


def _clean_params(params: list[Any]) -> list[Any]:
    """Help without type labels that say nothing to a user: flags get no ``<bool>``, and
    every other parameter shows its metavar (typer 0.2x labels them ``<list[Path]>``)."""
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", "") is None:
            p.metavar = ""
        if getattr(p, "param_type_name", "") == "argument" and getattr(p, "metavar", None):
            name = p.metavar + ("..." if p.nargs != 1 else "")
            usage = name if p.required else f"[{name}]"
            # typer 0.2x's private hooks: a type label beside the name, {braces} in usage
            if hasattr(p, "display_type_rich"):
                p.display_type_rich = lambda ctx=None: None
            if hasattr(p, "_rich_display_name"):
                p._rich_display_name = lambda name=name: name
            if hasattr(p, "_usage_display_name"):
                p._usage_display_name = lambda usage=usage: usage
    return params


@contextmanager
def _whole_option_names() -> Iterator[None]:
    """While typer renders help: its tables keep option names whole. typer builds each
    options table from rich's Table without column settings, so on a narrow terminal rich
    shrinks every column alike and cuts long names (``--role-session-n…`` at 80 columns);
    here only the last two columns (the metavar and the help text) wrap, and a word longer
    than its column is folded onto the next line instead of cut. Swapped in for the call
    only; tests/cli/test_ux.py renders every command's help at 80 columns."""
    import rich.columns
    import rich.table
    import rich.text

    try:
        import typer.rich_utils as rich_utils
    except ImportError:  # pragma: no cover - typer without rich: click's plain help never cuts
        yield
        return

    class WholeNames(rich.table.Table):
        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            for cell in renderables:  # typer groups a help text's parts in rich Columns
                for part in getattr(cell, "renderables", ()) if isinstance(cell, rich.columns.Columns) else ():
                    if isinstance(part, rich.text.Text):
                        part.overflow = "fold"
            super().add_row(*renderables, **kwargs)

        def __rich_console__(self, console: Any, options: Any) -> Any:
            for i, column in enumerate(self.columns):
                column.overflow = "fold"  # a word wider than its column goes on, never ends in '…'
                column.no_wrap = column.no_wrap or i < len(self.columns) - 2
            return super().__rich_console__(console, options)

    saved: Any = getattr(rich_utils, "Table", None)
    setattr(rich_utils, "Table", WholeNames)  # noqa: B010 - typer's module does not export the name
    try:
        yield
    finally:
        setattr(rich_utils, "Table", saved)  # noqa: B010


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _clean_params(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _whole_option_names():
            super().format_help(ctx, formatter)


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _clean_params(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _whole_option_names():
            super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        """Every command, its options' parsing included: an exception no command expects is
        one line on stderr and exit 4 (generator.crash), never a traceback."""
        try:
            return super().invoke(ctx)
        except _CONTROL:
            raise  # typer's own: exits, aborts, usage errors
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # stdout closed by the reader (| head): typer ends quietly
            raise typer.Exit(_crashed(ctx.invoked_subcommand, exc)) from None
        except Exception as exc:
            raise typer.Exit(_crashed(ctx.invoked_subcommand, exc)) from None


# typer's control flow, which click turns into exit codes and usage messages
_CONTROL: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


def _crashed(command: str | None, exc: BaseException) -> int:
    from generator import crash

    return crash.report(command or "", exc)


app = typer.Typer(
    cls=_Group,
    add_completion=True,
    no_args_is_help=True,
    help="Generate the Terraform that lets AWS Secrets Manager secrets rotate safely.",
    epilog=exits.help_text(),
    pretty_exceptions_enable=False,
)


def command(name: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return app.command(name, cls=_Command)


def _choice(values: tuple[str, ...]) -> Callable[[str], str]:
    """A parser for a closed set of words (case-insensitive), with our own message: typer
    0.2x wraps its choice errors in pydantic's "Value error," prefix."""

    def parse(value: str) -> str:
        if isinstance(value, Enum):
            return str(value.value)
        low = str(value).lower()
        if low in values:
            return low
        import difflib

        close = difflib.get_close_matches(low, values, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(values)}{hint}")

    return parse


ManifestsArg = Annotated[
    list[Path],
    typer.Argument(help="One or more rotation manifests (YAML).", show_default=False, metavar="MANIFEST"),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rotation-tf {__version__}")
        raise typer.Exit(int(Exit.OK))


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Generate the Terraform that lets AWS Secrets Manager secrets rotate safely (the app's
    help and its exit codes, generator.exits, are given to typer.Typer above)."""


def _metavar(values: tuple[str, ...]) -> str:
    return f"[{'|'.join(values)}]"


def _format(command: str) -> Any:
    """``--format`` of ``command``: the names, their help and the default come from the one
    table of formats (generator.formats.FORMATS); any other word is a usage error (exit 2)."""
    return typer.Option(
        "--format",
        "-f",
        help=formats.help_text(command),
        parser=_choice(formats.names(command)),
        metavar=_metavar(formats.names(command)),
    )


ColorOpt = Annotated[
    str,
    typer.Option(
        "--color",
        help="Colour: auto (only on a terminal, and never when NO_COLOR is set), always or never.",
        parser=_choice(COLORS),
        metavar="[auto|always|never]",
    ),
]


def _exit(code: int) -> None:
    raise typer.Exit(int(code))  # a plain int: an IntEnum prints as its name on Python 3.10


@command()
def generate(
    manifests: ManifestsArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder that holds the module folder.", metavar="DIR")
    ] = Path("out"),
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
    color: ColorOpt = "auto",
) -> None:
    """Write the module for each MANIFEST into OUT/<module>/ (atomically), or check it with --check.

    With several manifests nothing is written unless every one of them is valid; a pre-commit hook passes every changed one.

    Exit 0 ok, 1 when --check finds drift, 2 when a manifest is bad or the module folder holds a file that rotation-tf did not generate.
    """
    from generator import commands

    _exit(commands.generate(manifests, out, check, fail_on_change, color))


@command()
def schema() -> None:
    """Print the manifest's JSON Schema (derived from the models that validate manifests).

    Save it and point your editor at it, e.g. first line of a manifest:
    # yaml-language-server: $schema=rotation-tf.schema.json
    """
    from generator import schema as schema_mod

    sys.stdout.write(schema_mod.dumps())


@command()
def explain(
    manifests: ManifestsArg,
    fmt: Annotated[str, _format("explain")] = formats.default("explain"),
    color: ColorOpt = "auto",
) -> None:
    """Show each function, its secrets and schedules, and every action its role may take, and why.

    Piped, the output is plain text with one resource or condition value a line. On a terminal it follows the width and colours (NO_COLOR turns colour off), and a value too wide is broken only after a ':' or '/' of the ARN.

    With several manifests, json prints a list. Exit 0, or 2 when a manifest is bad.
    """
    from generator import commands

    _exit(commands.explain(manifests, fmt, color))


STRATEGIES = ("single_user", "alternating_users")


@command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the manifest.", metavar="PATH")] = Path("rotation.yaml"),
    engine: Annotated[
        str,
        typer.Option(
            "--engine", "-e", help=f"Database engine: {', '.join(ENGINES)}.", parser=_choice(ENGINES), metavar="ENGINE"
        ),
    ] = "postgresql",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            "-s",
            help=f"Rotation strategy: {', '.join(STRATEGIES)}.",
            parser=_choice(STRATEGIES),
            metavar="STRATEGY",
        ),
    ] = "single_user",
    account_id: Annotated[
        str | None,
        typer.Option(
            "--account-id",
            help="12-digit AWS account id. Without it the account is one more FILL-IN-... placeholder.",
            metavar="ID",
            show_default=False,
        ),
    ] = None,
    region: Annotated[str, typer.Option("--region", help="AWS region.", metavar="REGION")] = "us-east-1",
) -> None:
    """Write a commented starter manifest (default rotation.yaml), and rotation-tf.schema.json beside it for editors when that is absent. Never overwrites a file.

    What init cannot know (the function's and the secrets' names, the master secret, the account without --account-id) is a FILL-IN-... placeholder that validate rejects, naming its field, until you replace it.

    Exit 0 when written, 2 when PATH exists or an option is invalid.
    """
    from generator import commands

    _exit(commands.init(path, engine, strategy, account_id, region))


@command()
def validate(manifests: ManifestsArg) -> None:
    """Check each MANIFEST only; write nothing. Exit 0 when all are valid, 2 when one is not."""
    from generator import commands

    _exit(commands.validate(manifests))


@command()
def diff(
    base: Annotated[
        str,
        typer.Argument(
            help="The manifest before the change: a file, git:REV:PATH (read with git show, no checkout; PATH from "
            "the repository's root as git reads it, ./PATH from the current folder) or /dev/null.",
            metavar="BASE",
            show_default=False,
        ),
    ],
    new: Annotated[
        str,
        typer.Argument(help="The manifest after the change, in the same forms.", metavar="NEW", show_default=False),
    ],
    fmt: Annotated[str, _format("diff")] = formats.default("diff"),
    color: ColorOpt = "auto",
) -> None:
    """Show which role gains or loses which action on which resource, and what starts or stops rotating.

    Compares the two manifests' grants (action, resource, condition, with explain's reason), invoke permissions, secrets and their functions and schedules, created secrets, roles and functions, and explicit/compact policy switches. Nothing is generated or written.

    Exit 0 when nothing that grants or rotates changed, 1 when something did, 2 on a bad manifest or git error.
    """
    from generator import commands

    _exit(commands.diff(base, new, fmt, color))


ManifestArg = Annotated[
    Path,
    typer.Argument(help="The rotation manifest (YAML).", show_default=False, metavar="MANIFEST"),
]


@command()
def imports(
    manifest: ManifestArg,
    module_address: Annotated[
        str | None,
        typer.Option(
            "--module-address",
            help="How the root configuration calls the module (default: module.NAME, NAME the manifest's "
            "module: or file name, as generate names the folder out/NAME).",
            metavar="ADDRESS",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print root-module import blocks for what is marked `import: true`. Exit 0, or 2 on a bad manifest."""
    from generator import commands

    _exit(commands.imports(manifest, module_address))


@command("deployer-policy")
def deployer_policy(manifest: ManifestArg) -> None:
    """Print the deployer's least-privilege policy (JSON). Needs roles.permissions_boundary.

    Exit 0, or 2 on a bad manifest or one without roles.permissions_boundary.
    """
    from generator import commands

    _exit(commands.deployer_policy(manifest))


def run() -> None:
    try:
        app(prog_name="rotation-tf")
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(int(Exit.INTERRUPTED))
    except Exception as exc:  # outside any command (typer itself): the same one line
        sys.exit(_crashed(None, exc))


# ---- live-account commands (boto3 is imported inside generator.live only) ---------------

ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile (default: boto3's credential chain).")]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="One endpoint for every AWS service (moto, LocalStack, a proxy).", metavar="URL"
    ),
]
AttemptsOpt = Annotated[
    int, typer.Option("--max-attempts", min=1, max=20, help="Attempts per API call, retries of throttling included.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, max=300, help="Seconds to wait for each AWS response.")
]
ReadValuesOpt = Annotated[
    bool,
    typer.Option(
        "--read-values",
        help="Also call GetSecretValue (see the command). Values are never printed, logged or kept.",
    ),
]


AssumeRoleOpt = Annotated[
    str | None,
    typer.Option(
        "--assume-role",
        help="In every account that is not the caller's, read through arn:<partition>:iam::<account>:role/NAME.",
        metavar="NAME",
    ),
]
ExternalIdOpt = Annotated[
    str | None, typer.Option("--external-id", help="The external id the role's trust policy requires.", metavar="X")
]
SessionNameOpt = Annotated[
    str,
    typer.Option("--role-session-name", help="The session name CloudTrail shows for the assumed role.", metavar="N"),
]
MaxAccountsOpt = Annotated[
    int, typer.Option("--max-accounts", min=1, max=64, help="Accounts read at the same time.", metavar="N")
]


def _assume(role: str | None, external_id: str | None, session_name: str) -> Any:
    from generator.live.accounts import AssumeRole

    if role is None:
        if external_id is not None:
            typer.echo("rotation-tf: --external-id needs --assume-role", err=True)
            raise typer.Exit(int(Exit.USAGE))
        return None
    return AssumeRole(role, external_id, session_name)


@command()
def doctor(
    manifests: ManifestsArg,
    profile: ProfileOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="Must be the manifest's region (the default).")] = None,
    endpoint_url: EndpointOpt = None,
    fmt: Annotated[str, _format("doctor")] = formats.default("doctor"),
    read_values: ReadValuesOpt = False,
    assume_role: AssumeRoleOpt = None,
    external_id: ExternalIdOpt = None,
    role_session_name: SessionNameOpt = "rotation-tf",
    max_accounts: MaxAccountsOpt = 8,
    to_security_hub: Annotated[
        bool,
        typer.Option(
            "--to-security-hub",
            help="Also send the ASFF findings to Security Hub (BatchImportFindings) in each audited account, and archive "
            "the ones earlier runs sent that now pass.",
        ),
    ] = False,
    security_hub_account: Annotated[
        str | None,
        typer.Option(
            "--security-hub-account", help="Send them to this account instead (with --to-security-hub).", metavar="ID"
        ),
    ] = None,
    before_apply: Annotated[
        bool,
        typer.Option(
            "--before-apply",
            help="Judge the account as it will be once this module is applied: what the apply creates or changes is a warning; only what it cannot fix fails.",
        ),
    ] = False,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate/--no-simulate",
            help="Let IAM's policy simulator judge the grants where the caller may call it (one IAM call per secret); --no-simulate: doctor's own evaluator alone.",
        ),
    ] = True,
    allow_unknown: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-unknown",
            help="Accept these checks as unknown (not judged) without exit 3, e.g. value,database; repeatable.",
            metavar="CHECK,...",
        ),
    ] = None,
    max_attempts: AttemptsOpt = 5,
    timeout: TimeoutOpt = 30.0,
    color: ColorOpt = "auto",
) -> None:
    """Check the account against MANIFEST: can each secret rotate, and if not, why and how to fix it.

    Read-only. Before apply it checks the functions, their network path to Secrets Manager, the secrets, their keys and key policies; after apply also the invoke permissions, the real roles' grants, rotation, schedule, overdue and unfinished rotations. --read-values also checks which JSON keys each value has. With --assume-role, a manifest of another account is read through that role in its account, up to --max-accounts accounts at once. --before-apply (before terraform apply, a gate for a pipeline): what the apply does (the module's policy on the role, the permission, rotation on, the schedule, a function or role it creates) is a warning, and only what the apply cannot fix fails. Text output fits the terminal's width (100 columns when piped).

    Exit 3 when anything was not seen: an account could not be read (AWS unreachable or stopped answering, or the role could not be assumed), a finding could not be sent to Security Hub, or a check is unknown that --allow-unknown does not accept; else 1 when a check fails; else 0 (every check judged, none fails); 2 bad manifest or usage.
    """
    from generator.live import commands
    from generator.terminal import use_color

    conn = commands.Connection(profile, region, endpoint_url, max_attempts, timeout)
    assume = _assume(assume_role, external_id, role_session_name)
    _exit(
        commands.doctor(
            manifests,
            conn,
            fmt=fmt,
            read_values=read_values,
            colour=use_color(color, sys.stdout),
            assume=assume,
            before_apply=before_apply,
            simulate=simulate,
            max_accounts=max_accounts,
            to_security_hub=to_security_hub,
            security_hub_account=security_hub_account,
            allow_unknown=[c for v in allow_unknown or [] for c in _ids(v)],
        )
    )


def _ids(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@command()
def discover(
    region: Annotated[str | None, typer.Option("--region", help="AWS region to list (one account).")] = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the manifest here (never overwrites); default stdout. With --organization or --accounts: "
            "the folder that gets <account>-<region>.yaml.",
            metavar="FILE|DIR",
        ),
    ] = None,
    organization: Annotated[
        bool, typer.Option("--organization", help="Every ACTIVE account of the organization (ListAccounts).")
    ] = False,
    accounts: Annotated[
        str | None, typer.Option("--accounts", help="These accounts (comma-separated ids).", metavar="ID,ID")
    ] = None,
    regions: Annotated[
        str | None, typer.Option("--regions", help="With --organization or --accounts: the regions.", metavar="R,R")
    ] = None,
    assume_role: AssumeRoleOpt = None,
    external_id: ExternalIdOpt = None,
    role_session_name: SessionNameOpt = "rotation-tf",
    max_accounts: MaxAccountsOpt = 8,
    read_values: ReadValuesOpt = False,
    max_attempts: AttemptsOpt = 5,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Write a manifest for the secrets that already rotate in REGION, every one marked import: true.

    With --organization (or --accounts ID,ID), --regions R,R, --assume-role NAME and --out DIR: one manifest per account and region where something rotates, DIR/<account>-<region>.yaml; an account that cannot be entered is named on stderr and the rest still run.

    Read-only; never reads a secret value unless --read-values is given, and then takes only engine, host and masterarn from each value (and host and engine from master secrets).

    Exit 0, 2 on bad usage or an existing file, 3 when AWS (or an account) could not be reached.
    """
    from generator.live import commands

    assume = _assume(assume_role, external_id, role_session_name)
    if organization or accounts is not None:
        if organization and accounts is not None:
            typer.echo("rotation-tf: give --organization or --accounts, not both", err=True)
            raise typer.Exit(int(Exit.USAGE))
        if region is not None:
            typer.echo("rotation-tf: with --organization or --accounts, name the regions with --regions", err=True)
            raise typer.Exit(int(Exit.USAGE))
        conn = commands.Connection(profile, None, endpoint_url, max_attempts, timeout)
        _exit(
            commands.discover_accounts(
                conn,
                accounts=None if organization else _ids(accounts),
                regions=_ids(regions),
                assume=assume,
                out_dir=out,
                read_values=read_values,
                max_accounts=max_accounts,
            )  # fmt: skip
        )
    if region is None or regions is not None or assume is not None:
        typer.echo(
            "rotation-tf: discover needs --region R (one account), or --organization / --accounts with --regions, "
            "--assume-role and --out",
            err=True,
        )
        raise typer.Exit(int(Exit.USAGE))
    conn = commands.Connection(profile, region, endpoint_url, max_attempts, timeout)
    _exit(commands.discover(conn, out_path=out, read_values=read_values))


@command("caller-policy")
def caller_policy(
    which: Annotated[
        str,
        typer.Argument(
            help="doctor, discover or all.",
            parser=_choice(("doctor", "discover", "all")),
            metavar="[doctor|discover|all]",
        ),
    ] = "all",
    read_values: Annotated[bool, typer.Option("--read-values", help="Include what --read-values needs.")] = False,
    to_security_hub: Annotated[
        bool,
        typer.Option(
            "--to-security-hub",
            help="Include securityhub:BatchImportFindings and GetFindings (doctor --to-security-hub).",
        ),
    ] = False,
    assume_role: Annotated[
        str | None,
        typer.Option(
            "--assume-role",
            help="Print {role: the policy of the read-only role NAME in every account, caller: what the caller needs "
            "(sts:AssumeRole on those roles, organizations:ListAccounts)}.",
            metavar="NAME",
        ),
    ] = None,
) -> None:
    """Print the IAM policy (JSON) that lets the caller run doctor and/or discover; all of it read-only.

    Exit 0, or 2 when --assume-role is not a role name.
    """
    from generator.live import commands

    _exit(commands.caller_policy(which, read_values, to_security_hub, assume_role))
