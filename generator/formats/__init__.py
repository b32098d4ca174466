"""How each command's result becomes the text a user reads, and the one table of formats.

:data:`FORMATS` declares every output format of every command that has ``--format``, once.
``--format``'s parser accepts these names and no other (anything else is a usage error,
exit 2, that lists them), ``--help`` lists them with what each one is (:func:`help_text`),
and :func:`render` lays a command's result out in the chosen one. A format added here is
offered, documented and dispatched; there is no second list.

A renderer is a function ``(result, screen) -> str``. ``result`` is the command's result as
plain data: explain's facts (:func:`generator.explain.facts`, one per manifest), a
:class:`generator.diff.Diff`, doctor's :class:`generator.live.findings.Audit` list.
``screen`` is the :class:`~generator.terminal.Screen` the text goes to (colour, width),
decided in :mod:`generator.terminal` alone. Each command's renderers live in its module here
(:mod:`.explain`, :mod:`.diff`, :mod:`.doctor`, with :mod:`.sarif` and :mod:`.asff`); they
are named below as ``module:function`` and imported only when their format is chosen, so
that ``--help`` and the hook's fast path load neither rich nor the model for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.terminal import Screen


@dataclass(frozen=True)
class Format:
    name: str  # the word --format takes
    about: str  # what --help says of it, in brackets after the name ("" for nothing)
    renderer: str  # "module:function", a function (result, screen) -> str
    document: bool = True  # a document for a program: stdout holds it alone, notes go to stderr


FORMATS: dict[str, tuple[Format, ...]] = {
    "explain": (
        Format("text", "tables; rich on a terminal", "generator.formats.explain:as_text", document=False),
        Format("json", "", "generator.formats.explain:as_json"),
    ),
    "diff": (
        Format("text", "coloured on a terminal", "generator.formats.diff:as_text", document=False),
        Format("markdown", "a pull-request comment", "generator.formats.diff:as_markdown"),
        Format("json", "", "generator.formats.diff:as_json"),
    ),
    "doctor": (
        Format("text", "a table grouped by function", "generator.formats.doctor:as_text", document=False),
        Format("json", "", "generator.formats.doctor:as_json"),
        Format("sarif", "SARIF 2.1.0, for code scanning", "generator.formats.doctor:as_sarif"),
        Format("asff", "AWS Security Finding Format", "generator.formats.doctor:as_asff"),
    ),
}
"""The output formats of each command that has ``--format``, the first its default."""


def names(command: str) -> tuple[str, ...]:
    """The words ``command``'s ``--format`` takes, the default first."""
    return tuple(f.name for f in FORMATS[command])


def default(command: str) -> str:
    return FORMATS[command][0].name


def help_text(command: str) -> str:
    """``--format``'s help: each format, what it is in brackets, ``a, b or c.``"""
    parts = [f"{f.name} ({f.about})" if f.about else f.name for f in FORMATS[command]]
    return (", ".join(parts[:-1]) + " or " if len(parts) > 1 else "") + parts[-1] + "."


def get(command: str, name: str) -> Format:
    """The format ``name`` of ``command``; a ValueError that lists them for any other."""
    for f in FORMATS[command]:
        if f.name == name:
            return f
    raise ValueError(f"{name!r} is not a format of {command}: {', '.join(names(command))}")


def renderer(command: str, name: str) -> Callable[[Any, Screen], str]:
    """The renderer of ``command``'s format ``name``, imported now."""
    module, _, function = get(command, name).renderer.partition(":")
    found: Callable[[Any, Screen], str] = getattr(importlib.import_module(module), function)
    return found


def render(command: str, name: str, result: Any, screen: Screen) -> str:
    """``result`` of ``command`` laid out in its format ``name`` for ``screen``."""
    return renderer(command, name)(result, screen)
