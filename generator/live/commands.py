"""What the CLI's ``doctor``, ``discover`` and ``caller-policy`` commands do, apart from
parsing options. Exit codes: 0 nothing fails, 1 something fails, 2 bad manifest or usage,
3 AWS could not be reached at all (or refused the credentials)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # boto3 is imported only when a command talks to AWS
    from generator.live.client import LiveError, ServiceFailure

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


@dataclass(frozen=True)
class Connection:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5
    timeout: float = 30.0


def _err(text: str) -> None:
    sys.stderr.write(f"rotation-tf: {text}\n")


DISCOVER_SERVICES = ("sts", "secretsmanager", "lambda", "kms", "iam")


def _open(conn: Connection, region: str, services: tuple[str, ...] | None = None) -> Any:
    from generator.live.client import Aws

    return Aws(
        services=services or ("sts", "lambda", "secretsmanager", "kms", "iam", "ec2", "rds", "redshift"),
        region=region,
        profile=conn.profile,
        endpoint_url=conn.endpoint_url,
        max_attempts=conn.max_attempts,
        connect_timeout=min(conn.timeout, 10.0),
        read_timeout=conn.timeout,
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
    return EXIT_UNREACHABLE


# ---- doctor ------------------------------------------------------------------------------

_COLOURS = {"pass": "\x1b[32m", "warn": "\x1b[33m", "fail": "\x1b[31;1m", "unknown": "\x1b[35m"}


def render_text(report: Any, module: Any, colour: bool) -> str:
    """A table grouped by function: each function's own checks, then each of its secrets'."""
    from generator.live.findings import STATUSES

    by_subject: dict[str, list[Any]] = {}
    for f in report.findings:
        by_subject.setdefault(f.subject, []).append(f)
    width = max((len(f.check) for f in report.findings), default=8)

    def paint(status: str) -> str:
        word = status.upper().ljust(7)
        return f"{_COLOURS[status]}{word}\x1b[0m" if colour else word

    def rows(findings: list[Any], indent: str) -> list[str]:
        out = []
        for f in findings:
            out.append(f"{indent}{paint(f.status)} {f.check.ljust(width)}  {f.message}")
            if f.fix and f.status != "pass":
                out.append(f"{indent}{' ' * 8}{' ' * width}  fix: {f.fix}")
        return out

    lines = [f"rotation-tf doctor: account {report.account}, region {report.region}", ""]
    grouped = {fn.key for fn in module.functions} | {s.name for s in module.secrets}
    others = [s for s in by_subject if s not in grouped]
    for s in others:
        lines += [s] + rows(by_subject[s], "  ") + [""]
    for fn in module.functions:
        lines.append(f"function {fn.key} ({fn.function_name})")
        lines += rows(by_subject.get(fn.key, []), "  ")
        for sec in fn.secrets:
            if sec.name in by_subject:
                lines.append(f"  secret {sec.name}")
                lines += rows(by_subject[sec.name], "    ")
        lines.append("")
    own = [s for s in module.secrets if s.function is None and s.name in by_subject]
    if own:  # managed: true
        lines.append("secrets rotated by their own service")
        for sec in own:
            lines.append(f"  secret {sec.name}")
            lines += rows(by_subject[sec.name], "    ")
        lines.append("")
    counts = report.counts()
    lines.append(
        ", ".join(f"{counts[s]} {s}" for s in STATUSES)
        + f" ({len(report.findings)} checks, {sum(report.calls.values())} API calls)"
    )
    return "\n".join(lines) + "\n"


def doctor(manifest: Path, conn: Connection, *, fmt: str = "text", read_values: bool = False, colour: bool = False,
           out: IO[str] | None = None) -> int:  # fmt: skip
    from generator import api
    from generator.api import Exit
    from generator.live.client import LiveError, ServiceFailure, Unreachable

    out = out or sys.stdout
    if _bad_region(conn):
        return EXIT_USAGE
    result = api.validate(manifest)
    for d in result.diagnostics:
        sys.stderr.write(d.render() + "\n")
    if result.exit is not Exit.OK:
        return EXIT_USAGE
    module = result.module
    assert module is not None
    region = module.region
    if conn.region and conn.region != region:
        _err(f"{manifest} describes region {region}; --region {conn.region} does not match (leave it out)")
        return EXIT_USAGE
    from generator.live.doctor import Doctor

    try:
        aws = _open(conn, region)
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, region)}: {exc}")
        return EXIT_UNREACHABLE
    try:
        report = Doctor(aws, module, read_values=read_values).run()
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, region)}: {exc}")
        return EXIT_UNREACHABLE
    except (ServiceFailure, LiveError) as exc:
        return _failed(exc, conn, region)
    finally:
        aws.close()
    if fmt == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        out.write(render_text(report, module, colour))
    return EXIT_FAIL if report.failed else EXIT_OK


# ---- discover ----------------------------------------------------------------------------


def discover(conn: Connection, *, out_path: Path | None, read_values: bool = False, out: IO[str] | None = None) -> int:
    from generator.live.client import LiveError, ServiceFailure, Unreachable
    from generator.live.discover import Discoverer, NothingToWrite

    out = out or sys.stdout
    assert conn.region
    if _bad_region(conn):
        return EXIT_USAGE
    try:
        aws = _open(conn, conn.region, DISCOVER_SERVICES)
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, conn.region)}: {exc}")
        return EXIT_UNREACHABLE
    try:
        text, summary = Discoverer(aws, read_values=read_values).run()
    except Unreachable as exc:
        _err(f"cannot reach AWS at {_where(conn, conn.region)}: {exc}")
        return EXIT_UNREACHABLE
    except NothingToWrite as exc:
        _err(f"discover: {exc}")
        return EXIT_OK
    except (ServiceFailure, LiveError) as exc:
        return _failed(exc, conn, conn.region)
    finally:
        aws.close()
    if out_path is None:
        out.write(text)
    else:
        if out_path.exists():
            _err(f"{out_path} exists; discover never overwrites a file (choose another --out)")
            return EXIT_USAGE
        tmp = out_path.with_name(f".{out_path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_path)
        sys.stderr.write(f"wrote {out_path}; next: rotation-tf validate {out_path}\n")
    sys.stderr.write(summary + "\n")
    return EXIT_OK
