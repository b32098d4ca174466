"""Stage 1: read a manifest into plain Python data plus a map of source positions.

:func:`load` reads a file; :func:`load_text` takes text that is not on disk (a ``git show``
blob, discover's draft, init's starter). Both give the one :class:`Source` that every later
stage reads: the text, its positions, and where relative paths in it start. Nothing reads
the manifest again.

PyYAML's C-accelerated composer builds the node graph (with line and column marks); this
module turns nodes into values itself, so that it can

* reject duplicate keys, which YAML loaders silently resolve to the last one;
* keep mapping keys as the text the user wrote (``2024:`` stays the string ``"2024"``);
* bound alias expansion (a "billion laughs" document is rejected before it is expanded);
* remember where every field came from, for error messages.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from generator.errors import Diagnostic, Failed, Path

try:  # the C composer is ~10x faster; fall back to pure Python where libyaml is absent
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """The safe loader, resolving the tag of each distinct plain scalar once.

    A plain scalar's implicit tag depends only on its text (the safe loader has no path
    resolvers), and manifests repeat the same keys and values thousands of times.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._plain_tags: dict[str, str] = {}

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = self._plain_tags[value] = _base_resolve(self, kind, value, implicit)
            return tag
        return _base_resolve(self, kind, value, implicit)


# PyYAML's resolver is untyped in its stubs; this names the signature it has.
_base_resolve: Callable[[_Loader, type, Any, tuple[bool, bool]], str] = _BaseLoader.resolve

MAX_BYTES = 32 * 1024 * 1024
"""Manifests larger than this are rejected unread (10,000 secrets take about 3 MB)."""

MAX_VALUES = 2_000_000
"""Upper bound on values built from the document, counting every alias expansion."""

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


@dataclass
class Source:
    """A loaded manifest: its data, the name to show in messages, and field positions."""

    display_name: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    base_dir: FsPath = field(default_factory=lambda: FsPath("."))  # where relative paths (a package's zip) start
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    text: str = ""  # as read: decoded, without a byte order mark
    file_name: str = ""  # in generated headers; its stem is the module name when the manifest sets none

    def where(self, path: Path, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of the value at ``path`` (of its key with ``key=True``), or of
        its nearest ancestor that has a position."""
        p = tuple(path)
        if key and p in self.key_positions:
            return self.key_positions[p]
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return (None, None)
            p = p[:-1]

    def diag(self, path: Path, message: str, *, key: bool = False, **kw: Any) -> Diagnostic:
        line, col = self.where(path, key)
        return Diagnostic(self.display_name, line, col, tuple(path), message, **kw)


class _Builder:
    def __init__(self, name: str):
        self.name = name
        self.positions: dict[Path, tuple[int, int]] = {}
        self.key_positions: dict[Path, tuple[int, int]] = {}
        self.errors: list[Diagnostic] = []
        self.count = 0
        self._sizes: dict[int, int] = {}
        self._ctor = yaml.constructor.SafeConstructor()

    def err(self, node: yaml.Node | None, path: Path, message: str) -> None:
        line = col = None
        if node is not None:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.errors.append(Diagnostic(self.name, line, col, path, message))

    def size(self, node: yaml.Node, stack: set[int] | None = None) -> int:
        """Number of values ``node`` expands to, aliases included (memoised, cycle-safe)."""
        key = id(node)
        if key in self._sizes:
            return self._sizes[key]
        stack = stack if stack is not None else set()
        if key in stack:
            raise _Recursive(node)
        stack.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self.size(n, stack) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(self.size(k, stack) + self.size(v, stack) for k, v in node.value)
        stack.discard(key)
        self._sizes[key] = total
        return total

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig(node)
        if path not in self.positions:  # aliases: the first use
            mark = node.start_mark
            self.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.err(node, path, f"unsupported YAML tag {node.tag!r}")
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.err(node, path, f"unsupported YAML tag {node.tag!r}")
            return self.mapping(node, path)
        raise AssertionError(f"unknown node type {type(node)}")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.err(node, path, f"unsupported YAML tag {node.tag!r}")
            return node.value
        if node.tag == _STR:
            return node.value
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # keep dates as the text written; no field is a date
        value = self._ctor.construct_object(node)
        if isinstance(value, (datetime.date, datetime.datetime)):  # pragma: no cover
            return node.value
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: dict[str, yaml.Node] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                self.merge(value_node, path, merged)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.err(key_node, path, "mapping keys must be plain text, not a list or mapping")
                continue
            key = key_node.value
            if key in explicit:
                first = explicit[key].start_mark.line + 1
                self.err(key_node, path + (key,), f"duplicate key {key!r} (first defined on line {first})")
                continue
            explicit[key] = key_node
            sub = path + (key,)
            mark = key_node.start_mark
            self.key_positions[sub] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, sub)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def merge(self, value_node: yaml.Node, path: Path, into: dict[str, Any]) -> None:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                self.err(src, path, "a merge key '<<' must refer to a mapping")
                continue
            built = self.mapping(src, path)
            for key, value in built.items():
                into.setdefault(key, value)


class _Recursive(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


class _TooBig(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _indent_tab(text: str, line: int | None) -> tuple[int, int] | None:
    """(line, column) of the first tab in a line's indentation, at or before the line where
    PyYAML gave up (its message is "found character '\\t' that cannot start any token" or
    a confusing one further on); None when the indentation holds no tab."""
    if line is None:
        return None
    lines = text.split("\n")
    for i in range(min(line, len(lines) - 1), -1, -1):
        body = lines[i]
        indent = body[: len(body) - len(body.lstrip(" \t"))]
        if "\t" in indent and body.strip() and not body.lstrip(" \t").startswith("#"):
            return i + 1, indent.index("\t") + 1
        if i < line and body.strip() and not indent:
            break  # a top-level line: the tab, if any, is not above it
    return None


def _token_start(exc: yaml.MarkedYAMLError) -> yaml.Mark | None:
    """Where the token that PyYAML could not finish starts, when its error names one: a
    quoted scalar, key, anchor or tag being scanned ("while scanning ..."), or a flow
    collection being parsed. A quote left open on line 6 fails at the end of the stream;
    the user's mistake is on line 6. For a block mapping or sequence PyYAML's context is
    where the enclosing block starts (often line 1): the problem's own mark is closer."""
    context = exc.context or ""
    if exc.context_mark is not None and context.startswith(("while scanning", "while parsing a flow")):
        return exc.context_mark
    return None


def load(path: FsPath, display_name: str | None = None) -> Source:
    """Load the manifest file ``path``; raise :class:`Failed` with diagnostics when it is not
    a usable manifest. Relative paths in it start at the file's folder."""
    name = display_name or str(path)

    def fail(message: str) -> Failed:
        return Failed([Diagnostic(name, None, None, (), message)])

    if not path.exists():
        raise fail("no such file")
    if path.is_dir():
        raise fail("is a directory, not a manifest file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise fail(_too_big(size))
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:  # pragma: no cover - file grew between stat and read
        raise fail(f"file is larger than {MAX_BYTES:,} bytes")
    return load_text(raw, name, path.parent, path.name)


def _too_big(size: int) -> str:
    return f"file is {size:,} bytes; manifests are limited to {MAX_BYTES:,} bytes"


def load_text(
    text: str | bytes, display_name: str, base_dir: FsPath = FsPath("."), file_name: str | None = None
) -> Source:
    """Load a manifest that is not on disk, with the same checks and messages as a file's
    (bytes are decoded as a file's are). ``display_name`` names it in messages; relative
    paths in it start at ``base_dir``; ``file_name`` (default: the last part of
    ``display_name``) gives the module name when the manifest sets none."""
    name = display_name
    if file_name is None:
        file_name = name.replace("\\", "/").rsplit("/", 1)[-1]

    def fail(message: str, line: int | None = None, col: int | None = None) -> Failed:
        return Failed([Diagnostic(name, line, col, (), message)])

    if isinstance(text, bytes):
        raw = text
        if len(raw) > MAX_BYTES:
            raise fail(_too_big(len(raw)))
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise fail("the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8", 1, 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise fail(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line, col) from None
    elif len(text) > MAX_BYTES // 4:  # fewer characters cannot take MAX_BYTES in UTF-8
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise fail(_too_big(size))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise fail("the manifest is empty")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        tab = _indent_tab(text, mark.line if mark is not None else None)
        if tab is not None:
            raise fail("tabs are not allowed for indentation in YAML; indent with spaces", *tab) from None
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}: {problem}" if exc.context not in problem else problem
        at = _token_start(exc) or mark
        if at is not None and mark is not None and (at.line, at.column) != (mark.line, mark.column):
            problem += f" (at {mark.line + 1}:{mark.column + 1})"
        if at is not None:
            raise fail(f"YAML syntax error: {problem}", at.line + 1, at.column + 1) from None
        raise fail(f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise fail(f"YAML error: {exc}") from None
    if node is None:
        raise fail("the manifest is empty")
    builder = _Builder(name)
    try:
        # Only an alias can make the document expand beyond what was read, and an alias
        # needs an anchor ("&"). Without one, build() counts the values as it goes.
        total = builder.size(node) if "&" in text else 0
        if total > MAX_VALUES:
            raise fail(
                f"the document expands to more than {MAX_VALUES:,} values through YAML aliases; refusing to expand it",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        data = builder.build(node, ())
    except _Recursive as exc:
        raise fail("recursive YAML alias", exc.node.start_mark.line + 1, exc.node.start_mark.column + 1) from None
    except _TooBig as exc:
        raise fail(
            f"the document holds more than {MAX_VALUES:,} values; refusing to read it",
            exc.node.start_mark.line + 1,
            exc.node.start_mark.column + 1,
        ) from None
    if builder.errors:
        raise Failed(sorted(builder.errors))
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise fail(f"the manifest must be a mapping of fields, not {kind}", 1, 1)
    return Source(name, data, builder.positions, base_dir, builder.key_positions, text, file_name)
