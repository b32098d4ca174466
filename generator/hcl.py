"""HCL text: escaping, values, identifiers and layout. The one place that escapes.

Everything a manifest author wrote reaches the output through :func:`string`, which
turns any Python string into an HCL quoted-string literal whose value is exactly that
string: backslashes, quotes and control characters are escaped, and the template
sequences ``${`` and ``%{`` are written with their first character as a unicode escape
(``\u0024{``, ``\u0025{``) so that Terraform never interpolates them.

Why not HCL's own ``$${`` / ``%%{``: Terraform reads both forms the same, but python-hcl2
(the parser behind checkov and other scanners that read generated modules) rejects
``"$${"`` when no ``}`` follows and rejects ``"%%{"`` outright. Template sequences are found
in the raw text before escapes are decoded, so ``\u0024{`` is always a literal ``${``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

INDENT = "  "
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
KEYWORDS = frozenset({"true", "false", "null", "for", "in", "if", "endif", "endfor", "else"})
"""HCL's keywords: never a bare identifier or object key (Terraform would read ``x.true`` in
a reference, or ``true = 1`` in an object, as the keyword)."""
_SIMPLE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    if c in _SIMPLE:
        return _SIMPLE[c]
    cat = unicodedata.category(c)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        code = ord(c)
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return c


# Printable ASCII other than the quote and the backslash: such a string needs no escaping
# unless it holds a template sequence. Nearly every value (ARNs, names) takes this path.
_PLAIN = re.compile(r"[ !#-\[\]-~]*")


def escape(value: str) -> str:
    """The body of an HCL quoted string whose value is ``value``."""
    if _PLAIN.fullmatch(value):
        if "{" not in value:
            return value
        return value.replace("${", "\\u0024{").replace("%{", "\\u0025{")
    out = "".join(_escape_char(c) for c in value)
    # Template sequences: "${" and "%{" start interpolations and directives. Writing the
    # introducer as a unicode escape makes them literal (see the module docstring). No
    # escape produced above ends in "$" or "%" or starts with "{", so only sequences of
    # the input are matched.
    return out.replace("${", "\\u0024{").replace("%{", "\\u0025{")


def string(value: str) -> str:
    """An HCL quoted-string literal for ``value``."""
    return f'"{escape(value)}"'


def ident(value: str) -> str:
    """``value`` as a Terraform identifier; refuse anything that is not one."""
    if not IDENT_RE.match(value) or value in KEYWORDS:
        raise ValueError(f"{value!r} cannot be a Terraform identifier")
    return value


def key(value: str) -> str:
    """An object key: bare when it is a plain identifier, quoted otherwise."""
    if IDENT_RE.match(value) and value not in KEYWORDS:
        return value
    return string(value)


class Raw(str):
    """An HCL expression to emit as is (a reference such as ``aws_iam_role.x.arn``)."""


def value(v: Any, level: int = 0) -> str:
    """Render a Python value as an HCL expression; nested lines are indented from ``level``."""
    if isinstance(v, Raw):
        return str(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return string(v)
    pad = INDENT * (level + 1)
    end = INDENT * level
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        items = "".join(f"{pad}{value(item, level + 1)},\n" for item in v)
        return f"[\n{items}{end}]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        lines = "".join(f"{pad}{key(str(k))} = {value(item, level + 1)}\n" for k, item in v.items())
        return f"{{\n{lines}{end}}}"
    raise TypeError(f"cannot render {type(v).__name__} as HCL")


def template_path(raw_prefix: str, literal: str) -> str:
    """A quoted string that starts with a raw template (``${path.module}/``) then literal text."""
    return f'"{raw_prefix}{escape(literal)}"'


# --------------------------------------------------------------------------------------
# Layout: align "=" the way `terraform fmt` does


# ``  key = value``: indent, key (an identifier or a quoted string with backslash escapes)
# and value; ``==`` is not an assignment.
_ATTR = re.compile(r'( *)([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*")\s*=\s*(?!=)(.*)', re.DOTALL)
_OPENERS = ("{", "[", "(", "<<EOT", "<<-EOT")


def align(text: str) -> str:
    """Pad the keys of consecutive one-line attributes at one indent so their ``=`` line up.

    Blank lines, block headers, closing brackets and attributes whose value spans lines
    end a run, which is what ``terraform fmt`` does.
    """
    lines = text.split("\n")
    match = _ATTR.match
    run: list[tuple[int, str, str, str]] = []  # (line number, indent, key, value)

    def flush() -> None:
        width = max(len(k) for _, _, k, _ in run)
        for i, ind, k, v in run:
            lines[i] = f"{ind}{k.ljust(width)} = {v}"
        run.clear()

    for i, line in enumerate(lines):
        m = match(line)
        if m is None:
            if run:
                flush()
            continue
        ind, k, v = m.groups()
        if v.rstrip().endswith(_OPENERS):
            if run:
                flush()
            lines[i] = f"{ind}{k} = {v}"
            continue
        if run and run[0][1] != ind:
            flush()
        run.append((i, ind, k, v))
    if run:
        flush()
    return "\n".join(lines)
