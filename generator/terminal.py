"""Text for a terminal that no value can turn into a terminal escape: the one home of what
counts as invisible, for every language the tool writes (terminal text here; YAML comments
and scalars in :mod:`generator.live.discover`; Markdown in :mod:`generator.markdown`).

Strings read from an AWS account (tags, names, role paths, log lines) and from manifests
reach doctor's table, discover's summary, explain's tables and error messages. A string
that holds ESC (``\\x1b``) would be a CSI sequence (colours, cursor moves, a cleared screen)
or an OSC-8 hyperlink; a C1 control (U+009B is a one-character CSI on some terminals), a
carriage return or a backspace can overwrite what a line showed; a bidirectional override
(U+202E) or isolate reorders what follows it and a zero-width mark hides text from the eye
(https://trojansource.codes/, CVE-2021-42574). :func:`safe` shows each such character as an
escape (``\\u001b``, ``\\u202e``), so the reader sees what the value really is.

What counts (:func:`hidden`): every character of the Unicode general categories Cc (control:
C0, DEL, C1), Cf (format: bidirectional marks, overrides and isolates, zero-width spaces and
joiners, the byte-order mark, tag characters), Cs (a lone surrogate: not text, and not
encodable as UTF-8), Zl and Zp (LINE SEPARATOR, PARAGRAPH SEPARATOR).

It is also the one place that decides where text output goes: whether to colour it
(``--color``, ``NO_COLOR``, a terminal or not: :func:`use_color`), how wide it may be
(:func:`text_width`), whether explain lays out tables for a terminal (:class:`Screen`), and
how a line too wide is broken (:func:`wrap`, :func:`break_token_wise`). The renderers of
:mod:`generator.formats` are told the answers in a :class:`Screen`; none of them asks the
terminal itself. Nothing here imports rich (only :meth:`Screen.console`, when explain draws
its tables) or typer: :mod:`generator.commands` runs a pre-commit hook's ``generate`` and
``validate`` without them, and reads :data:`COLORS` and :func:`use_color` from here.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import unicodedata
from dataclasses import dataclass
from typing import IO, Any, TextIO

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def hidden(ch: str) -> bool:
    """Whether ``ch`` (one character) acts on the terminal or on the text around it instead of
    being seen: a control, a format mark, a lone surrogate or a line or paragraph separator."""
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def escape(ch: str) -> str:
    """``ch`` as an escape that is read back as ``ch`` in a YAML double-quoted scalar, in JSON
    (up to U+FFFF) and in Python: ``\\uXXXX`` up to U+FFFF, ``\\UXXXXXXXX`` above."""
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe(text: str, *, lines: bool = True) -> str:
    """``text`` with every :func:`hidden` character shown as its :func:`escape`. ``lines``:
    keep line feeds (a message of several lines); tabs are always kept. A carriage return is
    always escaped: alone it moves the cursor back over what the line showed."""
    if text.isprintable():  # the usual case: nothing to do (isprintable is False for \\n and \\t too)
        return text
    keep = "\n\t" if lines else "\t"
    return "".join(ch if ch in keep or not hidden(ch) else escape(ch) for ch in text)


def safe_tree(value: Any) -> Any:
    """``value`` with :func:`safe` applied to every string in it: in dicts (keys and values),
    lists, tuples, sets and dataclass fields, for a renderer that writes a whole structure as
    terminal text (explain's facts, a diff). Anything else is returned as it is."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {safe_tree(k): safe_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(safe_tree(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: safe_tree(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changed)
    return value


COLORS = ("auto", "always", "never")
"""``--color``'s words: auto (only on a terminal, and never when NO_COLOR is set), always or never."""

PIPE_WIDTH = 100  # columns of text output that is not going to a terminal
MIN_WIDTH = 40  # narrower terminals get 40 columns: below that no row's head fits


def use_color(color: str, stream: TextIO | None = None) -> bool:
    """Whether to colour ``stream``: --color wins; auto means a terminal without NO_COLOR."""
    if color == "always":
        return True
    if color == "never" or os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def text_width(stream: IO[str]) -> int:
    """The terminal's width (``COLUMNS`` first, as ``shutil.get_terminal_size``) when
    ``stream`` is a terminal; otherwise 100 columns."""
    import shutil

    if getattr(stream, "isatty", lambda: False)():
        return max(MIN_WIDTH, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)
    return PIPE_WIDTH


@dataclass(frozen=True)
class Screen:
    """What the text output may use where it goes; renderers read it and ask nothing else.
    :func:`screen` fills it in for a stream; a library caller may give it directly."""

    color: str = "never"  # --color as given: auto, always or never
    colour: bool = False  # paint with ANSI colours (:func:`use_color`)
    tty: bool = False  # the stream is a terminal
    width: int = PIPE_WIDTH  # columns to fit (:func:`text_width`)

    @property
    def tables(self) -> bool:
        """Lay out for a terminal (explain's rich tables, as wide as the terminal) rather than
        as plain lines for a pipe: with --color always, or auto on a terminal."""
        return self.color == "always" or (self.color == "auto" and self.tty)

    def console(self) -> Any:
        """The rich Console that draws the tables (rich is imported here, and only for them):
        rich finds the width and the colours a terminal takes itself; --color always forces
        a terminal, and auto gives way to NO_COLOR. No manifest value is ever read as markup,
        emoji code or something to highlight."""
        from rich.console import Console

        return Console(
            force_terminal=True if self.color == "always" else None,
            no_color=True if (self.color == "auto" and os.environ.get("NO_COLOR")) else None,
            highlight=False,
            emoji=False,
            markup=False,
        )


def screen(color: str, stream: TextIO | None = None) -> Screen:
    """The :class:`Screen` of ``stream`` (default stdout) under ``--color color``."""
    stream = stream or sys.stdout
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return Screen(color=color, colour=use_color(color, stream), tty=tty, width=text_width(stream))


def break_token_wise(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, broken only after ':' or '/'
    (an ARN's own separators) or at a space; a single token longer than ``width`` is the
    only thing ever cut, since nothing else fits."""
    if width <= 0 or len(text) <= width:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > width:
        cut = max(rest.rfind(":", 0, width), rest.rfind("/", 0, width), rest.rfind(" ", 0, width))
        cut = cut + 1 if cut > 0 else width
        pieces.append(rest[:cut].rstrip(" "))
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def wrap(text: str, head: str, cont: str, width: int) -> list[str]:
    """``text`` after ``head`` on lines of at most ``width`` columns, continued after ``cont``.
    Lines break at spaces; a word wider than a line (an ARN) is broken after a ':' or '/'
    (:func:`break_token_wise`), and only where it has none, anywhere."""
    text = safe(text, lines=False)  # an account's string never becomes a terminal escape
    if width - len(cont) < 40:  # a narrow terminal: continue near the left edge instead
        cont = " " * min(len(cont), 4)
    lines: list[str] = []
    prefix, current = head, ""
    for word in text.split(" "):
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if len(prefix) + len(candidate) <= width:
            current = candidate
            continue
        if current or len(prefix) + 1 > width:  # a head too wide for even one character: alone
            lines.append((prefix + current).rstrip())
            prefix, current = cont, ""
        pieces = break_token_wise(word, width - len(prefix))
        for piece in pieces[:-1]:
            lines.append(prefix + piece)
            prefix = cont
        current = pieces[-1]
    lines.append((prefix + current).rstrip())
    return lines


_DIFF_STYLES = (("+++", "\x1b[1m"), ("---", "\x1b[1m"), ("@@", "\x1b[36m"), ("+", "\x1b[32m"), ("-", "\x1b[31m"))


def colour_diff(diff: str) -> str:
    """A unified diff (``generate --check``) in a terminal's colours."""
    out = []
    for line in diff.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        style = next((code for prefix, code in _DIFF_STYLES if body.startswith(prefix)), None)
        out.append(f"{style}{body}\x1b[0m{nl}" if style else line)
    return "".join(out)
