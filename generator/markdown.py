"""Markdown that no value can break out of: the one home of the module README's (and the
diff comment's) escaping, as :mod:`generator.hcl` is HCL's.

Values that are not the tool's own words (names, ARNs, role paths, descriptions, anything
read from a manifest or an account) go into code spans (:func:`code`): inside one, CommonMark
recognises no link, image, emphasis, autolink or HTML
(https://spec.commonmark.org/0.31.2/#code-spans). A code span ends at the first run of
backticks as long as its opening run, so the fence is one backtick longer than the longest
run inside the value, and a value that starts or ends with a backtick is padded with one
space on each side, which CommonMark strips again. What a code span cannot hold, a line
break, is a space here (CommonMark turns line endings in a code span into spaces anyway;
a raw one would end a table row or a heading). Control characters and the invisible marks
that reorder or hide text (bidirectional overrides and isolates, zero-width characters: what
:func:`generator.terminal.hidden` names) are shown as escapes (``\\u001b``, ``\\u202e``), so
the README shows what the value really is, and a terminal that shows it obeys nothing in it.

In a table cell (``cell=True``) a ``|`` is written ``\\|``, which GitHub's tables read as a
pipe inside the cell, code spans included (https://github.github.com/gfm/#tables-extension-).
"""

from __future__ import annotations

import re

from generator import terminal

# Every line break CommonMark or Unicode knows (YAML's NEL, LS and PS among them).
LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
_BACKTICKS = re.compile("`+")


def _visible(value: str) -> str:
    """``value`` with every control and invisible mark but the tab shown as its escape."""
    return terminal.safe(value, lines=False)


def one_line(value: object) -> str:
    """``value`` on one line, with nothing invisible: line breaks as spaces, control and
    invisible marks as escapes (for comments and headers, in any of the languages)."""
    return _visible(LINE_BREAKS.sub(" ", str(value)))


def code(value: object, cell: bool = False) -> str:
    """``value`` as one Markdown code span, whatever it holds."""
    text = one_line(value) or " "
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    return f"{fence}{text}{fence}"


# What can start Markdown structure inline that reaches outside the text: links and images
# ([ ]), code spans (`), HTML and autolinks (< >), entity and numeric character references
# (&: ``&#x202e;`` is a bidirectional override once rendered;
# https://spec.commonmark.org/0.31.2/#entity-and-numeric-character-references), and a
# backslash that would escape one of our own escapes. Emphasis (* _) only styles the text
# itself and is left alone, so that the README stays readable as plain text in a review.
_STRUCTURE = re.compile(r"([\\`\[\]<>&])")


def text(value: object, cell: bool = False) -> str:
    """``value`` as plain Markdown text: every character that could start a link, an image,
    HTML, a character reference or a code span is backslash-escaped (CommonMark allows it before any ASCII
    punctuation), line breaks become ``<br>`` in a table cell and a space elsewhere."""
    pieces = [_STRUCTURE.sub(r"\\\1", _visible(piece)) for piece in LINE_BREAKS.split(str(value))]
    if cell:
        return "<br>".join(piece.replace("|", "\\|") for piece in pieces)
    return " ".join(pieces)
