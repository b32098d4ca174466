"""The library entry points, and the one driver every command runs. Each returns a
:class:`Result`; none prints anything.

A manifest goes through the stages in this order, each in its own module:

1. :mod:`generator.source` reads the file, or takes text that is not on disk, into one
   :class:`~generator.source.Source` (YAML with positions) that every later stage reads;
   the module keeps it (``Module.source``), so nothing reads the manifest twice;
2. :mod:`generator.manifest` validates its shape (pydantic);
3. :mod:`generator.rules` applies the rules that relate fields to each other;
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


def load(
    manifest: FsPath | Source, display_name: str | None = None, *, writes: bool = True
) -> tuple[Module, list[Diagnostic]]:
    """Stages 1-4: read, validate, check and model a manifest: a file, or a
    :class:`~generator.source.Source` already loaded (:func:`generator.source.load_text`
    for text that is not on disk; ``display_name`` is then its own). Returns the module,
    which keeps the source, and its warnings; raises :class:`Failed` with every error found.
    ``writes=False`` (diff, which writes no module folder) skips the rule that a module
    name taken from the file name must be a safe folder name: ``orders.v1.yaml`` is then
    module ``orders.v1``."""
    from generator import model, rules
    from generator import source as source_mod
    from generator.manifest import MODULE_PATTERN, Head, Manifest, validate_shape

    if isinstance(manifest, source_mod.Source):
        src = manifest
    else:
        src = source_mod.load(manifest, display_name)  # 1. source
    shape, diags = validate_shape(src)  # 2. manifest (a partial one when a part is bad)
    if isinstance(shape, Manifest):  # 3. rules, on what survived stage 2
        diags = rules.run(src, Head.of(shape), dict(shape.functions), dict(shape.secrets))
    else:
        diags = diags + rules.run(src, shape.head, shape.functions, shape.secrets, shape.dropped)
    _raise_errors(diags)
    if not isinstance(shape, Manifest):  # pragma: no cover - stage 2 reported why it has none
        raise Failed([])
    module_name = shape.module or model.default_module_name(FsPath(src.file_name))
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
    module, notes = model.build(shape, src, module_name)  # 4. model
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
    return Rendered(manifest, module, notes + writer.dropped_created_secrets(manifest, target, module), target, files)


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
    (a secret given by ARN has that name: rules.scope.secret_arn requires the ARN's name,
    without its 6-character suffix, to be the manifest's key, and its account and region to
    be the manifest's)."""
    return (m.partition, m.account_id, m.region, name)


@dataclass(frozen=True)
class _Claim:
    manifest: FsPath
    source: Source = field(compare=False, repr=False)  # its positions
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

    def _where(self, claim: _Claim) -> str:
        line, col = claim.source.where(claim.path, key=True)
        return str(claim.manifest) + (f":{line}:{col}" if line is not None else "")

    def add(self, rendered: Rendered) -> list[Diagnostic]:
        m = rendered.module
        out = []
        for kind, name, path in m.global_names:
            owner = self.iam.setdefault(
                (m.partition, m.account_id, name), _Claim(rendered.manifest, m.source, m.region, path)
            )
            if owner.manifest == rendered.manifest:
                continue
            fix = (
                "set roles.region_in_names: true in both"
                if owner.region != m.region and not m.roles.region_tag
                else "rename the function or set another name_prefix in one of them"
            )
            out.append(
                m.source.diag(
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
                secret_key(m, s.name), _Claim(rendered.manifest, m.source, m.region, path, s.function)
            )
            if owner.manifest == rendered.manifest:
                continue
            by = f"function {owner.function!r}" if owner.function is not None else "its own service (managed: true)"
            this_fn = f"function {s.function!r}" if s.function is not None else "its own service (managed: true)"
            out.append(
                m.source.diag(
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
