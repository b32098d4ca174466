"""The library entry points. Each returns a :class:`Result`; none prints anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path as FsPath

from generator.errors import Diagnostic, Failed


class Exit(IntEnum):
    OK = 0
    DRIFT = 1
    ERROR = 2


@dataclass
class Result:
    exit: Exit
    diagnostics: list[Diagnostic] = field(default_factory=list)
    drift: object | None = None  # writer.Drift in check mode
    target: FsPath | None = None
    module: object | None = None  # model.Module when the manifest was valid


def _load(manifest: FsPath):
    from generator import model

    return model.load(manifest, display_name=str(manifest))


def validate(manifest: FsPath) -> Result:
    try:
        module, notes = _load(manifest)
    except Failed as exc:
        return Result(Exit.ERROR, exc.diagnostics)
    return Result(Exit.OK, notes, module=module)


def render(manifest: FsPath, out_dir: FsPath):
    """Load and render: (files, target folder, module, notes). Raises Failed."""
    from generator import render as render_mod
    from generator import writer

    module, notes = _load(manifest)
    target = writer.module_dir(out_dir, module.name)
    return render_mod.render(module, target), target, module, notes


def generate(manifest: FsPath, out_dir: FsPath, check: bool = False) -> Result:
    """Render the module for ``manifest`` under ``out_dir``; write it, or compare in check mode."""
    from generator import writer

    try:
        files, target, module, notes = render(manifest, out_dir)
        if check:
            drift = writer.compare(files, target, display=str(target))
            return Result(Exit.DRIFT if drift.count else Exit.OK, notes, drift, target, module)
        writer.write(files, target)
    except Failed as exc:
        return Result(Exit.ERROR, exc.diagnostics)
    return Result(Exit.OK, notes, None, target, module)
