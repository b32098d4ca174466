"""The library entry points, and the one driver every command runs. Each returns a
:class:`Result`; none prints anything.

A manifest goes through the stages in this order, each in its own module:

1. :mod:`generator.source` reads the file (YAML with positions);
2. :mod:`generator.manifest` validates its shape (pydantic);
3. :mod:`generator.checks` applies the rules that relate fields to each other;
4. :mod:`generator.model` builds the plan (names, grants, policies);
5. :mod:`generator.render` renders every file in memory;
6. :mod:`generator.writer` compares with, or atomically replaces, the module folder.

Stages 1-4 are :func:`load`; stage 5 is :func:`render`; stage 6 is in :func:`generate`
and :func:`generate_many`. Every stage reports bad input as :class:`Failed` diagnostics.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from generator.errors import Diagnostic, Failed, Level, format_path
from generator.exits import Exit as Exit  # the CLI's exit codes (api.Exit, as before)

if TYPE_CHECKING:  # imported lazily at run time: `--version` and `schema` need none of them
    from generator.model import Module
    from generator.source import Source
    from generator.writer import Drift


@dataclass
class Result:
    exit: Exit
    diagnostics: list[Diagnostic] = field(default_factory=list)
    drift: Drift | None = None  # what differs (check mode) or what the write changed
    target: FsPath | None = None
    module: Module | None = None  # when the manifest was valid


def load(path: FsPath, display_name: str | None = None, *, writes: bool = True) -> tuple[Module, list[Diagnostic]]:
    """Stages 1-4: read, validate, check and model a manifest. Returns the module and its
    warnings; raises :class:`Failed` with every error found. ``writes=False`` (diff, which
    writes no module folder) skips the rule that a module name taken from the file name
    must be a safe folder name: ``orders.v1.yaml`` is then module ``orders.v1``."""
    from generator import checks, model
    from generator import source as source_mod
    from generator.manifest import MODULE_PATTERN, Head, Manifest, validate_shape

    src = source_mod.load(path, display_name)  # 1. source
    manifest, diags = validate_shape(src)  # 2. manifest (a partial one when a part is bad)
    if isinstance(manifest, Manifest):  # 3. checks, on what survived stage 2
        diags = checks.run(src, Head.of(manifest), dict(manifest.functions), dict(manifest.secrets))
    else:
        diags = diags + checks.run(src, manifest.head, manifest.functions, manifest.secrets, manifest.dropped)
    _raise_errors(diags)
    if not isinstance(manifest, Manifest):  # pragma: no cover - stage 2 reported why it has none
        raise Failed([])
    module_name = manifest.module or model.default_module_name(path)
    if writes and not re.match(MODULE_PATTERN, module_name):  # the schema's rule, for a name from the file name
        raise Failed(
            [
                src.diag(
                    ("module",),
                    f"the file name gives the module name {module_name!r}, which is not a safe folder name; "
                    "set `module:` to 1-64 letters, digits, '-' or '_'",
                )
            ]
        )
    module, notes = model.build(manifest, src, module_name)  # 4. model
    diags = diags + notes
    _raise_errors(diags)
    return module, sorted(diags, key=_order)


def _raise_errors(diags: list[Diagnostic]) -> None:
    errors = [d for d in diags if d.level is Level.ERROR]
    if errors:
        raise Failed(sorted(errors, key=_order))


def _order(d: Diagnostic) -> tuple[int, int, str, str]:
    return (d.line or 0, d.column or 0, str(d.path), d.message)


@dataclass
class Rendered:
    """One manifest after stage 5: its files in memory, not yet written."""

    manifest: FsPath
    module: Module
    notes: list[Diagnostic]
    target: FsPath
    files: dict[str, str]


def render(manifest: FsPath, out_dir: FsPath) -> Rendered:
    """Stages 1-5. Raises :class:`Failed`."""
    from generator import render as render_mod
    from generator import writer

    module, notes = load(manifest, display_name=str(manifest))
    target = writer.module_dir(out_dir, module.name)
    files = render_mod.render(module, target)
    return Rendered(manifest, module, notes + dropped_created_secrets(manifest, target, module), target, files)


_CREATED_SECRET = re.compile(
    r'^resource "aws_secretsmanager_secret" "[^"]+" \{\n  name += "([^"\\]*)"\n(.*?)^\}', re.M | re.S
)
_RECOVERY = re.compile(r"recovery_window_in_days += ([0-9]+)")


def dropped_created_secrets(manifest: FsPath, target: FsPath, module: Module) -> list[Diagnostic]:
    """A warning for each secret that the module folder's current ``secrets.tf`` creates and
    the manifest no longer does: the next apply deletes it. Secrets Manager cannot rename a
    secret, so a renamed created secret is one of these, and its successor gets a new random
    password. The old ``secrets.tf`` is the tool's own output (names need no unescaping:
    created secret names hold only letters, digits and /_+=.@-)."""
    from generator import render as render_mod

    path = target / "secrets.tf"
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if not render_mod.is_generated(old):
        return []
    kept = {s.name for s in module.managed}
    out = []
    for m in _CREATED_SECRET.finditer(old):
        name = m.group(1)
        if name in kept:
            continue
        days = _RECOVERY.search(m.group(2))
        restore = f"restorable for {days.group(1)} days" if days and days.group(1) != "0" else "without recovery"
        out.append(
            Diagnostic(
                str(manifest),
                None,
                None,
                ("secrets",),
                f"created secret {name!r} is in {path} but no longer in the manifest: the next apply deletes it "
                f"and its password ({restore}). Secrets Manager cannot rename a secret, so a new name is a new "
                "secret with a new random password; put the entry back to keep it",
                level=Level.WARNING,
            )
        )
    return out


def validate(manifest: FsPath) -> Result:
    try:
        module, notes = load(manifest, display_name=str(manifest))
    except Failed as exc:
        return Result(Exit.USAGE, exc.diagnostics)
    return Result(Exit.OK, notes, module=module)


def generate(manifest: FsPath, out_dir: FsPath, check: bool = False) -> Result:
    """Render the module for ``manifest`` under ``out_dir``; write it, or compare in check mode."""
    return generate_many([manifest], out_dir, check=check)[0]


def generate_many(manifests: list[FsPath], out_dir: FsPath, check: bool = False) -> list[Result]:
    """Several manifests in one run (what a pre-commit hook passes); one result per manifest,
    in order. All or nothing: every manifest is loaded and rendered first; if any is bad, or
    two would write the same module folder, or a module folder holds a file the tool did not
    write, nothing is written and the failing manifests have ERROR results."""
    from generator import writer

    jobs: list[Rendered | Result] = []  # per manifest: rendered, or already failed
    seen: dict[FsPath, FsPath] = {}
    claimed = Claimed()
    for manifest in manifests:
        try:
            rendered = render(manifest, out_dir)
        except Failed as exc:
            jobs.append(Result(Exit.USAGE, exc.diagnostics))
            continue
        key = FsPath(os.path.normpath(rendered.target))
        if key in seen:
            msg = f"writes the same module folder {rendered.target} as {seen[key]}; give one of them another `module:` name"
            jobs.append(Result(Exit.USAGE, [Diagnostic(str(manifest), None, None, ("module",), msg)]))
            continue
        seen[key] = manifest
        clashes = claimed.add(rendered)
        jobs.append(Result(Exit.USAGE, clashes) if clashes else rendered)

    drifts: dict[int, Drift] = {}
    for i, item in enumerate(jobs):
        if isinstance(item, Rendered):
            drifts[i] = drift = writer.compare(item.files, item.target, display=str(item.target))
            if not check:  # a foreign file fails the whole run before anything is written
                try:
                    writer.refuse_foreign(item.target, drift.foreign, item.files)
                except Failed as exc:
                    jobs[i] = Result(Exit.USAGE, exc.diagnostics)

    if check or any(isinstance(job, Result) for job in jobs):
        return [_outcome(item, drifts.get(i), check) for i, item in enumerate(jobs)]
    out: list[Result] = []
    for i, item in enumerate(jobs):
        assert isinstance(item, Rendered)
        try:
            writer.write(item.files, item.target)
        except Failed as exc:
            out.append(Result(Exit.USAGE, exc.diagnostics, None, item.target, item.module))
            continue
        out.append(Result(Exit.OK, item.notes, drifts[i], item.target, item.module))  # drift: what the write changed
    return out


def secret_key(m: Module, name: str) -> tuple[str, str, str, str]:
    """Which secret ``name`` is: Secrets Manager names are unique per account and region
    (a secret given by ARN has that name: checks.scope.secret_arn requires the ARN's name,
    without its 6-character suffix, to be the manifest's key, and its account and region to
    be the manifest's)."""
    return (m.partition, m.account_id, m.region, name)


@dataclass(frozen=True)
class _Claim:
    manifest: FsPath
    region: str
    path: tuple[str, ...]  # the manifest field that claims it
    function: str | None = None  # a secret's function (None: managed: true)


class Claimed:
    """What the manifests of one run claim that no two of them may: IAM names (global to an
    account, across regions) and secrets (per account and region). :meth:`add` returns every
    claim of a manifest that an earlier manifest of the run already holds, each named in both
    manifests with file, line and column; the first manifest to claim a name keeps it, so a
    third manifest is told about the first."""

    def __init__(self) -> None:
        self.iam: dict[tuple[str, str, str], _Claim] = {}  # (partition, account, IAM name)
        self.secrets: dict[tuple[str, str, str, str], _Claim] = {}  # secret_key
        self._sources: dict[FsPath, Source] = {}

    def _source(self, manifest: FsPath) -> Source:
        """The manifest's positions, read only on this error path."""
        from generator import source as source_mod

        if manifest not in self._sources:
            self._sources[manifest] = source_mod.load(manifest, str(manifest))
        return self._sources[manifest]

    def _where(self, claim: _Claim) -> str:
        line, col = self._source(claim.manifest).where(claim.path, key=True)
        return str(claim.manifest) + (f":{line}:{col}" if line is not None else "")

    def add(self, rendered: Rendered) -> list[Diagnostic]:
        m = rendered.module
        out = []
        for kind, name, path in m.global_names:
            owner = self.iam.setdefault((m.partition, m.account_id, name), _Claim(rendered.manifest, m.region, path))
            if owner.manifest == rendered.manifest:
                continue
            fix = (
                "set roles.region_in_names: true in both"
                if owner.region != m.region and not m.roles.region_tag
                else "rename the function or set another name_prefix in one of them"
            )
            out.append(
                self._source(rendered.manifest).diag(
                    path,
                    f"the {kind} name {name!r} is also created by {self._where(owner)} ({format_path(owner.path)}, "
                    f"{owner.region}) in account {m.account_id}; IAM names are global to the account across regions, "
                    f"so the second apply would fail with EntityAlreadyExists: {fix}",
                    key=True,
                )
            )
        for s in m.secrets:
            path = ("secrets", s.name)
            owner = self.secrets.setdefault(
                secret_key(m, s.name), _Claim(rendered.manifest, m.region, path, s.function)
            )
            if owner.manifest == rendered.manifest:
                continue
            by = f"function {owner.function!r}" if owner.function is not None else "its own service (managed: true)"
            this_fn = f"function {s.function!r}" if s.function is not None else "its own service (managed: true)"
            out.append(
                self._source(rendered.manifest).diag(
                    path,
                    f"secret {s.name!r} (account {m.account_id}, {m.region}) is also in {self._where(owner)}, rotated "
                    f"there by {by} and here by {this_fn}; the two modules would undo each other's rotation "
                    "(rotation_lambda_arn, schedule) on every apply: keep the secret in one manifest only",
                    key=True,
                )
            )
        return sorted(out, key=_order)


def claims(m: Module) -> list[str]:
    """What a module claims that no other module of one run may: its IAM names (per account)
    and its secrets (per account and region). The hook cache compares these between
    manifests so that a cached ``--check`` cannot skip the two clash checks above."""
    out = [f"iam|{m.partition}|{m.account_id}|{name}" for _kind, name, _path in m.global_names]
    out += ["secret|" + "|".join(secret_key(m, s.name)) for s in m.secrets]
    return sorted(out)


def _outcome(job: Rendered | Result, drift: Drift | None, check: bool) -> Result:
    """The result of a manifest when nothing is written."""
    if isinstance(job, Result):
        return job
    if not check or drift is None:
        return Result(Exit.OK, job.notes, None, job.target, job.module)
    # A foreign file is exit 2, not drift: generate would refuse it too.
    exit = Exit.USAGE if drift.foreign else Exit.CHANGED if drift.count else Exit.OK
    return Result(exit, job.notes, drift, job.target, job.module)
