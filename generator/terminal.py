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
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Any

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
