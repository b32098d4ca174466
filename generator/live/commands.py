"""What the CLI's ``doctor``, ``discover`` and ``caller-policy`` commands do, apart from
parsing options: open the AWS sessions, enter the accounts, run the audits and say what
could not be read. (The manifest commands' bodies are in :mod:`generator.commands`; how
doctor's findings are laid out, in :mod:`generator.formats.doctor`.)

Exit codes: 0 every check judged and none fails (``discover``: the manifest was written, or
nothing rotates), 1 something fails, 2 bad manifest or usage, 3 something was not seen: AWS
could not be reached, or stopped answering mid-run (refused, closed, reset, timed out, an
answer cut short), or refused the credentials, or a check is ``unknown`` that
``--allow-unknown`` does not accept; 4 ``discover`` wrote nothing because of its own error."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from generator import formats, terminal
from generator.exits import Exit
from generator.live.findings import Audit
from generator.terminal import Screen, text_width

if TYPE_CHECKING:  # boto3 is imported only when a command talks to AWS
    from generator.live.client import LiveError, ServiceFailure
    from generator.source import Source


@dataclass(frozen=True)
class Connection:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5
    timeout: float = 30.0


def _err(text: str) -> None:
    _say(f"rotation-tf: {text}")


def _say(text: str) -> None:
    """A line on stderr: the one way these commands write one, so that no string from the
    account or a log becomes a terminal escape (generator.terminal)."""
    sys.stderr.write(terminal.safe(text) + "\n")


DISCOVER_SERVICES = ("sts", "secretsmanager", "lambda", "kms", "iam")


def _open(conn: Connection, region: str, services: tuple[str, ...] | None = None, credentials: Any = None) -> Any:
    from generator.live.client import DOCTOR_SERVICES, Aws

    return Aws(
        services=services or DOCTOR_SERVICES,
        region=region,
        profile=conn.profile,
        endpoint_url=conn.endpoint_url,
        max_attempts=conn.max_attempts,
        connect_timeout=min(conn.timeout, 10.0),
        read_timeout=conn.timeout,
        credentials=credentials,
    )


def _where(conn: Connection, region: str) -> str:
    return f"{conn.endpoint_url or 'AWS'} ({region}{', profile ' + conn.profile if conn.profile else ''})"


def _bad_region(conn: Connection) -> bool:
    """--region is checked as the manifest's region is, before any call (exit 2)."""
    from generator import aws

    if conn.region is not None and conn.region not in aws.REGIONS:
        _err(f"--region: {aws.not_a_region(conn.region)}")
        return True
    return False


def _failed(exc: LiveError | ServiceFailure, conn: Connection, region: str) -> int:
    """An AWS answer that the retries did not cure, or that no check expects: one line, exit 3."""
    from generator.live.client import failure_line

    _err(f"AWS failed at {_where(conn, region)}: {failure_line(exc)}; nothing was reported")
    return Exit.UNREADABLE


# ---- doctor ------------------------------------------------------------------------------


def _unreadable_report(module: Any, reason: str, fix: str) -> Any:
    from generator.live.doctor import UNKNOWN, Finding, Report

    finding = Finding(module.account_id, "account", UNKNOWN, f"could not read the account: {reason}", fix)
    return Report(module.account_id, module.region, [finding])


# Where in its entry a finding of each check sits (SARIF's region): the first of these fields
# the entry has; a check that knows better sets Finding.field (schedule: the field that
# differs). A check not here, or an entry without the field, sits on the entry's key.
_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "function": (("existing_function_arn",), ("rotation_app",), ("package",)),
    "runtime": (("package", "runtime"), ("existing_function_arn",), ("rotation_app",)),
    "vpc-config": (("vpc",),),
    "network": (("vpc",),),
    "egress": (("vpc", "security_group_ids"), ("vpc",)),
    "permission": (("existing_function_arn",),),
    "role": (("execution_role_arn",), ("existing_function_arn",)),
    "secret": (("arn",),),
    "kms-key": (("kms_key_arn",), ("arn",)),
    "key-state": (("kms_key_arn",),),
    "key-policy": (("kms_key_arn",),),
    "master-secret": (("master_secret", "arn"), ("master_secret", "name"), ("master_secret",)),
    "rotation": (("function",), ("managed",), ("external",)),
    "schedule": (("schedule",),),
    "overdue": (("schedule",),),
    "secret-type": (("external", "type"), ("external",)),
    "external-trust": (("external",),),
    "external-grants": (("external",),),
    "external-rotation": (("external", "metadata"), ("external",)),
    "database": (("connection", "host"), ("connection",)),
}


class _Places:
    """Line and column of the manifest's entries and their fields (1-based, of the key), from
    its :class:`generator.source.Source` as the module keeps it."""

    def __init__(self, src: Source):
        self.src = src

    def of(self, entry: tuple[str, ...], fields: tuple[tuple[str, ...], ...]) -> tuple[int, int]:
        for field in fields:
            got = self.src.key_positions.get(entry + field)
            if got and got[0]:
                return got[0], got[1] or 0
        line, col = self.src.where(entry, key=True)
        return line or 0, col or 0


def repository_root(path: Path) -> Path:
    """What code scanning resolves a SARIF URI against: the git repository holding ``path``
    (the nearest folder above it with a ``.git``, a worktree's file included), else the
    working directory."""
    here = path.resolve().parent
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd().resolve()


def _where_file(path: Path) -> tuple[str, str]:
    """(the manifest relative to its root, with forward slashes; the root as an absolute
    POSIX path), or (its absolute path, '') when it is not under the root."""
    root = repository_root(path)
    try:
        return path.resolve().relative_to(root).as_posix(), root.as_posix()
    except ValueError:
        return path.resolve().as_posix(), ""


def _resource(module: Any, f: Any) -> str:
    """The ARN of what a finding is about, of the kind its check names in the registry."""
    from generator.live import registry

    p, region, account = module.partition, module.region, module.account_id
    check = registry.BY_ID.get(f.check)
    kind = check.resource_type if check is not None else ""
    about = check.about if check is not None else ""
    fn = next((x for x in module.functions if x.key == f.subject), None) if about != registry.SECRET else None
    sec = next((x for x in module.secrets if x.name == f.subject), None) if about != registry.FUNCTION else None
    if sec is not None:
        fn = next((x for x in module.functions if x.key == sec.function), None)
        secret_arn = sec.arn or f"arn:{p}:secretsmanager:{region}:{account}:secret:{sec.name}"
        if kind == registry.ASFF_KEY:
            return sec.kms_key_arn or f"arn:{p}:kms:{region}:{account}:alias/aws/secretsmanager"
        if kind == registry.ASFF_ROLE and fn is not None and fn.role_arn:
            return str(fn.role_arn)
        return str(secret_arn)
    if fn is not None:
        if kind == registry.ASFF_ROLE and fn.role_arn:
            return str(fn.role_arn)
        return str(fn.function_arn)
    return f"arn:{p}:iam::{account}:root"


def _stamped(audit: Audit) -> None:
    """Every finding carries where it is: the account and region, the manifest's file (relative
    to the repository's root) and the line and column of the exact field it is about (SARIF),
    and the ARN of its resource (ASFF). Renderers read findings only."""
    from dataclasses import replace

    from generator.live import registry

    report, module = audit.report, audit.module
    places = _Places(module.source)
    functions = {fn.key for fn in module.functions}
    secrets = {s.name for s in module.secrets}
    file, root = _where_file(audit.manifest)

    def place(f: Any) -> tuple[int, int]:
        about = registry.BY_ID[f.check].about if f.check in registry.BY_ID else ""
        fields = ((f.field,) if f.field else ()) + _FIELDS.get(f.check, ())
        if f.subject in functions and about != registry.SECRET:
            return places.of(("functions", f.subject), fields)
        if f.subject in secrets and about != registry.FUNCTION:
            return places.of(("secrets", f.subject), fields)
        return places.of(("account_id",), ())

    stamped = []
    for f in report.findings:
        line, column = place(f)
        stamped.append(replace(f, account=report.account, region=report.region, file=file, root=root, line=line,
                               column=column, resource=_resource(module, f), module=module.name))  # fmt: skip
    report.findings = stamped


def doctor(
    manifests: Path | Sequence[Path],
    conn: Connection,
    *,
    fmt: str = "text",
    read_values: bool = False,
    colour: bool = False,
    out: IO[str] | None = None,
    assume: Any = None,
    max_accounts: int = 8,
    to_security_hub: bool = False,
    security_hub_account: str | None = None,
    before_apply: bool = False,
    simulate: bool = True,
    width: int | None = None,
    allow_unknown: Sequence[str] = (),
) -> int:
    """``width``: of the text output (default: :func:`text_width` of ``out``).

    Exit 3 when any account could not be read (or stopped answering), a finding could not be
    sent to Security Hub, or a check is ``unknown`` (not judged, and no failure explains it)
    and ``allow_unknown`` does not name it; else 1 when any check fails; else 0: every check was
    judged and none fails (2: bad manifest or usage, before any call). With ``assume`` (an
    accounts.AssumeRole), each manifest whose account is not the caller's is read through that
    role in its account."""
    from generator import api
    from generator.api import Exit
    from generator.live.accounts import Caller
    from generator.live.client import LiveError, ServiceFailure, Unreachable

    out = out or sys.stdout
    if _bad_region(conn):
        return Exit.USAGE
    paths = [manifests] if isinstance(manifests, Path) else list(manifests)
    audits: list[Audit] = []
    bad = False
    for path in paths:
        result = api.validate(path)
        for d in result.diagnostics:
            _say(d.render())
        if result.exit is not Exit.OK:
            bad = True
            continue
        assert result.module is not None
        if conn.region and conn.region != result.module.region:
            _err(
                f"{path} describes region {result.module.region}; --region {conn.region} does not match (leave it out)"
            )
            bad = True
            continue
        audits.append(Audit(path, result.module, None))
    problems = assume.problems() if assume is not None else []
    problems += allow_unknown_problems(allow_unknown)
    if fmt not in formats.names("doctor"):
        problems.append(f"--format: {fmt!r} is not one of: {', '.join(formats.names('doctor'))}")
    if security_hub_account is not None:
        from generator.live.accounts import account_problems

        problems += [f"--security-hub-account: {p}" for p in account_problems([security_hub_account])]
        if not to_security_hub:
            problems.append("--security-hub-account needs --to-security-hub")
    for problem in problems:
        _err(problem)
    if bad or problems or not audits:
        return Exit.USAGE
    from generator.live.doctor import Doctor

    classic = len(audits) == 1 and assume is None
    first_region = audits[0].module.region
    with Caller(lambda services: _open(conn, first_region, services)) as caller:
        if assume is not None:
            try:
                caller.identify()
            except Unreachable as exc:
                _err(f"cannot reach AWS at {_where(conn, first_region)}: {exc}")
                return Exit.UNREADABLE
            except (ServiceFailure, LiveError) as exc:
                return _failed(exc, conn, first_region)

        def run_one(audit: Audit, credentials: Any) -> None:
            from generator.live.client import failure_line

            m = audit.module
            where = _where(conn, m.region)
            try:
                aws = _open(conn, m.region, credentials=credentials)
            except Unreachable as exc:
                audit.error, audit.unreadable = exc, f"cannot reach AWS at {where}: {exc}"
            else:
                try:
                    audit.report = Doctor(
                        aws, m, read_values=read_values, before_apply=before_apply, simulate=simulate
                    ).run()
                except Unreachable as exc:
                    audit.error, audit.unreadable = exc, f"cannot reach AWS at {where}: {exc}"
                except (ServiceFailure, LiveError) as exc:
                    audit.error, audit.unreadable = exc, f"AWS failed at {where}: {failure_line(exc)}"
                finally:
                    aws.close()
            if audit.unreadable:
                if classic:  # one manifest, the caller's credentials: one line, nothing reported
                    return
                _err(f"{audit.manifest}: account {m.account_id}: {audit.unreadable}")
                fix = "check the endpoint, the network and the credentials, then re-run doctor"
                audit.report = _unreadable_report(m, audit.unreadable, fix)

        def run_account(account: str) -> None:
            mine = [a for a in audits if a.module.account_id == account]
            credentials = None
            if assume is not None and account != caller.account:
                partition = mine[0].module.partition
                arn = assume.arn(partition, account)
                try:
                    credentials = caller.credentials(assume, partition, account)
                except (LiveError, ServiceFailure) as exc:
                    reason = f"could not assume {arn}: {exc}"
                    fix = (
                        f"put the read-only role {assume.name} in account {account} (docs/organization.md) and let the "
                        "caller assume it (rotation-tf caller-policy --assume-role prints both policies)"
                    )
                    for audit in mine:
                        audit.unreadable = reason
                        audit.report = _unreadable_report(audit.module, reason, fix)
                    _err(f"account {account}: {reason}")
                    return
            for audit in mine:
                run_one(audit, credentials)

        from generator.live.accounts import bounded

        accounts = list(dict.fromkeys(a.module.account_id for a in audits))
        bounded(run_account, accounts, max_accounts)
        if classic and audits[0].error is not None:
            error = audits[0].error
            if isinstance(error, Unreachable):
                _err(f"cannot reach AWS at {_where(conn, first_region)}: {error}")
                return Exit.UNREADABLE
            return _failed(error, conn, first_region)
        for audit in audits:
            _stamped(audit)
        delivered = True
        if to_security_hub:
            delivered = _to_security_hub(audits, conn, caller, assume, security_hub_account)
    from generator.formats.doctor import unseen_lines

    accepted = frozenset(allow_unknown)
    width = width or text_width(out)
    text = formats.render("doctor", fmt, audits, Screen(colour=colour, width=width))
    notes = unseen_lines(audits, accepted, read_values=read_values, assume=assume, width=width)
    if not formats.get("doctor", fmt).document:
        out.write(text + "".join(f"{line}\n" for line in notes))
    else:  # stdout is a document: the summary goes to stderr
        out.write(text)
        for line in notes:
            _say(line)
    return doctor_exit(audits, accepted, delivered)


def doctor_exit(audits: list[Audit], accepted: frozenset[str], delivered: bool = True) -> int:
    """3 when anything was not seen: an account not read, a finding not delivered, or an
    ``unknown`` (:func:`generator.live.findings.unseen`) not accepted; else 1 when a check
    fails; else 0. An unknown that a failure explains (``cause``) leaves the exit to that failure."""
    from generator.live.findings import unseen

    if any(a.unreadable for a in audits) or not delivered:
        return Exit.UNREADABLE
    if any(unseen(a.report.findings, accepted) for a in audits):
        return Exit.UNREADABLE
    return Exit.CHANGED if any(a.report.failed for a in audits) else Exit.OK


def allow_unknown_problems(names: Sequence[str]) -> list[str]:
    """``--allow-unknown``: each name must be a check of the registry (exit 2 otherwise, before
    any call). ``account`` is never accepted: an account doctor could not read is exit 3."""
    import difflib

    from generator.live import registry

    problems = []
    for name in names:
        if name == "account":
            problems.append("--allow-unknown: 'account' cannot be accepted: an account doctor could not read is exit 3")
        elif name not in registry.BY_ID:
            near = difflib.get_close_matches(name, list(registry.BY_ID), n=1)
            hint = (
                f"did you mean {near[0]!r}?"
                if near
                else "the checks: " + ", ".join(c for c in registry.BY_ID if c != "account")
            )
            problems.append(f"--allow-unknown: {name!r} is not a doctor check; {hint}")
    return problems


def _to_security_hub(audits: list[Audit], conn: Connection, caller: Any, assume: Any, hub_account: str | None) -> bool:
    """Send the ASFF findings (generator.live.securityhub); False when any was not imported."""
    from generator import aws as aws_mod
    from generator.formats import asff
    from generator.live import securityhub
    from generator.live.checks.context import now
    from generator.live.client import LiveError, ServiceFailure

    stamp = now()
    findings = asff.render([f for a in audits for f in a.report.findings], stamp, hub_account=hub_account)
    scopes = [
        securityhub.Scope(
            a.module.account_id, a.module.region, a.module.name,
            frozenset(fn.key for fn in a.module.functions) | frozenset(s.name for s in a.module.secrets),
            judged=not a.unreadable and not any(f.status == "unknown" for f in a.report.findings),
        )
        for a in audits
    ]  # fmt: skip
    if not findings and not any(s.judged for s in scopes):
        _say("security hub: nothing to send (no check fails, and no account was judged whole)")
        return True
    try:
        if not caller.account:
            caller.identify()
    except (LiveError, ServiceFailure) as exc:
        _err(f"security hub: cannot reach AWS: {exc}")
        return False

    def open_aws(account: str, region: str) -> Any:
        credentials = None
        if account != caller.account:
            if assume is None:
                raise LiveError(f"account {account} is not the caller's ({caller.account}); give --assume-role")
            credentials = caller.credentials(assume, aws_mod.partition_of(region), account)
        return _open(conn, region, ("securityhub",), credentials)

    results = securityhub.send(findings, open_aws, scopes=scopes, now=stamp, hub_account=hub_account)
    if not results:
        _say("security hub: nothing to send (no check fails, and nothing sent earlier is left to archive)")
    for r in results:
        _say(r.line())
    return not any(r.failed for r in results)


# ---- caller-policy -----------------------------------------------------------------------


def caller_policy(which: str, read_values: bool, to_security_hub: bool, assume_role: str | None) -> int:
    """The IAM policy (JSON) that lets the caller run doctor and/or discover
    (:mod:`generator.live.caller_policy`); with ``assume_role``, the read-only role's policy and
    the caller's. 2 when ``assume_role`` is not a role name."""
    from generator.live.caller_policy import cross_account, policy

    if assume_role is None:
        doc = policy(which, read_values, to_security_hub)
    else:
        from generator.live.accounts import AssumeRole

        problems = AssumeRole(assume_role).problems()
        if problems:
            _err(problems[0])
            return Exit.USAGE
        doc = cross_account(which, assume_role, read_values, to_security_hub)
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    return Exit.OK


# ---- discover ----------------------------------------------------------------------------


def discover(conn: Connection, *, out_path: Path | None, read_values: bool = False, out: IO[str] | None = None) -> int:
    from generator.live.client import LiveError, ServiceFailure, Unreachable
    from generator.live.discover import CannotWrite, Discoverer, NothingToWrite

    out = out or sys.stdout
    assert conn.region
    if _bad_region(conn):
        return Exit.USAGE
    try:
        aws = _open(conn, conn.region, DISCOVER_SERVICES)
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, conn.region)}: {exc}")
        return Exit.UNREADABLE
    try:
        text, summary = Discoverer(aws, read_values=read_values).run()
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, conn.region)}: {exc}")
        return Exit.UNREADABLE
    except NothingToWrite as exc:
        _err(f"discover: {exc}")
        return Exit.OK
    except CannotWrite as exc:
        _err(f"discover wrote nothing: {_one_line(str(exc))} (rotation-tf's own error: please report it)")
        return Exit.INTERNAL
    except (ServiceFailure, LiveError) as exc:
        return _failed(exc, conn, conn.region)
    finally:
        aws.close()
    if out_path is None:
        out.write(text)
    else:
        if out_path.exists():
            _err(f"{out_path} exists; discover never overwrites a file (choose another --out)")
            return Exit.USAGE
        tmp = out_path.with_name(f".{out_path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_path)
        _say(f"wrote {out_path}; next: rotation-tf validate {out_path}")
    _say(summary)
    return Exit.OK


def discover_accounts(
    conn: Connection,
    *,
    accounts: list[str] | None,
    regions: list[str],
    assume: Any,
    out_dir: Path | None,
    read_values: bool = False,
    max_accounts: int = 8,
) -> int:
    """``discover --organization`` (``accounts`` None) or ``--accounts``: one manifest per
    account and region where something rotates, ``out_dir/<account>-<region>.yaml``.

    Nothing is written when any of those files exists already (discover never overwrites);
    an account that cannot be entered is named on stderr and the others still run (exit 3
    at the end). Each manifest is validated before it is written (the single-account rule)."""
    from generator import aws as aws_mod
    from generator.live.accounts import Caller, account_problems, bounded
    from generator.live.client import LiveError, ServiceFailure, Unreachable
    from generator.live.discover import CannotWrite, Discoverer, NothingToWrite

    problems = []
    if assume is None:
        problems.append("--organization and --accounts need --assume-role NAME (the read-only role in each account)")
    else:
        problems += assume.problems()
    if out_dir is None:
        problems.append("--organization and --accounts need --out DIR (one manifest per account and region)")
    elif out_dir.exists() and not out_dir.is_dir():
        problems.append(f"--out {out_dir} is a file; with several accounts it names a folder")
    if not regions:
        problems.append("name the regions with --regions R,R")
    problems += [f"--regions: {aws_mod.not_a_region(r)}" for r in regions if r not in aws_mod.REGIONS]
    if len({aws_mod.partition_of(r) for r in regions}) > 1:
        problems.append("--regions: one partition at a time (the role is assumed once per account)")
    if accounts is not None:
        problems += account_problems(accounts)
        if not accounts:
            problems.append("--accounts names no account")
    for problem in problems:
        _err(problem)
    if problems:
        return Exit.USAGE
    assert out_dir is not None and assume is not None
    regions = list(dict.fromkeys(regions))
    with Caller(lambda services: _open(conn, regions[0], services)) as caller:
        try:
            caller.identify()
            if accounts is None:
                accounts = caller.organization_accounts()
        except (LiveError, ServiceFailure) as exc:
            what = "list the organization's accounts" if caller.account else "reach AWS"
            _err(f"cannot {what} at {_where(conn, regions[0])}: {exc}")
            return Exit.UNREADABLE
        accounts = list(dict.fromkeys(accounts))
        targets = {(a, r): out_dir / f"{a}-{r}.yaml" for a in accounts for r in regions}
        taken = sorted(str(p) for p in targets.values() if p.exists())
        if taken:
            for p in taken:
                _err(f"{p} exists; discover never overwrites a file (choose another --out)")
            return Exit.USAGE
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = threading.Lock()
        written: list[Path] = []
        failed: list[str] = []
        broken: list[str] = []  # discover's own error: nothing written for that account and region

        def say(text: str) -> None:
            with lock:
                _say(text)

        def run_account(account: str) -> None:
            credentials = None
            if account != caller.account:
                partition = aws_mod.partition_of(regions[0])
                try:
                    credentials = caller.credentials(assume, partition, account)
                except (LiveError, ServiceFailure) as exc:
                    say(f"rotation-tf: account {account}: could not assume {assume.arn(partition, account)}: {exc}")
                    with lock:
                        failed.append(account)
                    return
            for region in regions:
                try:
                    aws = _open(conn, region, DISCOVER_SERVICES, credentials)
                except Unreachable as exc:
                    say(f"rotation-tf: account {account}, {region}: cannot reach AWS: {exc}")
                    with lock:
                        failed.append(account)
                    continue
                try:
                    text, summary = Discoverer(aws, read_values=read_values).run()
                except NothingToWrite as exc:
                    say(f"discover: account {account}, {region}: {exc}")
                    continue
                except CannotWrite as exc:
                    say(f"rotation-tf: account {account}, {region}: discover wrote nothing: {_one_line(str(exc))} "
                        "(rotation-tf's own error: please report it)")  # fmt: skip
                    with lock:
                        broken.append(f"{account} {region}")
                    continue
                except (LiveError, ServiceFailure) as exc:
                    say(f"rotation-tf: account {account}, {region}: could not read: {exc}")
                    with lock:
                        failed.append(account)
                    continue
                finally:
                    aws.close()
                path = targets[(account, region)]
                try:
                    with open(path, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
                        fh.write(text)
                except FileExistsError:
                    say(f"rotation-tf: {path} appeared meanwhile; discover never overwrites a file")
                    with lock:
                        failed.append(account)
                    continue
                with lock:
                    written.append(path)
                say(f"wrote {path}: {summary.removeprefix('discover: ')}")

        bounded(run_account, accounts, max_accounts)
    _say(
        f"discover: {len(written)} manifest(s) written for {len(accounts)} account(s) x {len(regions)} region(s)"
        + (f"; could not read account(s) {', '.join(sorted(set(failed)))}" if failed else "")
        + (f"; wrote nothing for {', '.join(sorted(broken))} (its own error)" if broken else "")
        + (f"; next: rotation-tf validate {out_dir}/*.yaml" if written else "")
    )
    return Exit.INTERNAL if broken else Exit.UNREADABLE if failed else Exit.OK


def _one_line(text: str) -> str:
    return " ".join(text.split())
