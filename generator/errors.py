"""Errors as values.

Every stage of the pipeline returns problems as :class:`Diagnostic` values instead of
raising. The CLI is the single place that prints them. A diagnostic names the file, the
line and column where known, and the field path inside the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Level(str, Enum):
    ERROR = "error"
    WARNING = "warning"


Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """Render a field path the way a user would write it: ``secrets["a/b"].schedule``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and all(c.isalnum() or c in "_-" for c in part) and not part[0].isdigit():
            out += ("." if out else "") + part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out or "(top level)"


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int | None
    column: int | None
    path: Path
    message: str
    level: Level = field(default=Level.ERROR, compare=False)

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field_part = f" {format_path(self.path)}:" if self.path else ""
        return f"{where}: {self.level.value}:{field_part} {self.message}"


class Failed(Exception):
    """Raised only across stage boundaries to carry collected diagnostics upward."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.render() for d in diagnostics))
        self.diagnostics = diagnostics
