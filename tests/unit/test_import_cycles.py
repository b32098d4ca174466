"""The package has no import circle (issue 28).

Every import statement of every module counts: at the top of the module, inside a function
(a lazy import), under ``if TYPE_CHECKING:`` and inside a ``try``. A circle of lazy imports
runs today and breaks the day one of them moves to the top of its module, and it means that
no stage of the pipeline can be read, tested or moved without the others.

The walk reads the source with :mod:`ast` and imports nothing. An arrow goes to the module
an import names (``from generator import model`` names ``generator.model``; ``from
generator.model import Module`` names ``generator.model`` too), not to the packages above it
that Python also runs: a package's ``__init__`` importing its own modules is no circle.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from helpers.paths import ROOT

PACKAGE = ROOT / "generator"

Graph = dict[str, dict[str, tuple[str, int]]]  # module -> {module it imports: (file, line)}


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its ``__init__.py``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(package: Path, planted: dict[str, str] | None = None) -> Graph:
    """The arrows between the modules of ``package``, each with the file and line of the
    first import statement that draws it. ``planted``: text added to the end of a module
    (by dotted name), to prove that the walk finds what it should."""
    planted = planted or {}
    mods = modules(package)
    graph: Graph = {name: {} for name in mods}
    for name, path in mods.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        nodes = _imports(path)
        if name in planted:  # its lines follow the module's
            extra = ast.parse(planted[name])
            ast.increment_lineno(extra, len(path.read_text(encoding="utf-8").splitlines()))
            nodes = nodes + [n for n in ast.walk(extra) if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in nodes:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                for alias in node.names:  # import a.b.c runs a.b.c
                    target = alias.name
                    while target and target not in mods:
                        target = target.rpartition(".")[0]
                    targets.append(target)
            else:
                if node.level:  # from . import x, from ..live import y
                    base = here[: len(here) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                for alias in node.names:  # a name is a module of its own, or defined in origin
                    sub = f"{origin}.{alias.name}"
                    targets.append(sub if sub in mods else origin)
            for target in targets:
                if target in mods and target != name:
                    graph[name].setdefault(target, (path.relative_to(package.parent).as_posix(), node.lineno))
    return graph


@functools.cache
def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of a module, wherever it is (a module is read once per run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def cycles(graph: Graph) -> list[list[str]]:
    """One circle through each set of modules that import one another (a strongly connected
    component of more than one module, Tarjan's algorithm), as the list of modules met
    going round it, the first again at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_round(graph, set(c), c[0]) for c in sorted(components)]


def _round(graph: Graph, component: set[str], start: str) -> list[str]:
    """A shortest circle from ``start`` back to it inside ``component`` (breadth first)."""
    came: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, v, start]
                if w in component and w not in came:
                    came[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"{start} is in no circle")  # pragma: no cover - Tarjan put it in one


def describe(graph: Graph, circle: list[str]) -> str:
    lines = []
    for a, b in zip(circle, circle[1:], strict=False):
        file, line = graph[a][b]
        lines.append(f"  {a} -> {b}  ({file}:{line})")
    return "import circle:\n" + "\n".join(lines)


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    found = cycles(graph)
    assert not found, "\n".join(describe(graph, c) for c in found)


def test_the_walk_sees_top_level_lazy_and_type_checking_imports() -> None:
    graph = import_graph(PACKAGE)
    assert "generator.errors" in graph["generator.api"]  # at the top of api.py
    assert "generator.writer" in graph["generator.api"]  # inside generate_many
    assert "generator.source" in graph["generator.api"]  # under TYPE_CHECKING, and inside load
    assert "generator.live.registry" in graph["generator.live.commands"]  # from generator.live import registry


def test_the_writer_stands_below_the_renderer() -> None:
    """The last stage needs only errors (and the model's type): what marks a file as the
    tool's (writer.MARKER, writer.is_generated) is the writer's, and render imports it."""
    graph = import_graph(PACKAGE)
    assert set(graph["generator.writer"]) <= {"generator.errors", "generator.model"}, graph["generator.writer"]
    assert "generator.writer" in graph["generator.render"]


PLANTED = {
    "lazy": "\n\ndef _planted() -> None:\n    from generator import api  # noqa\n",
    "lazy, a name from the module": "\n\ndef _planted() -> None:\n    from generator.api import Exit  # noqa\n",
    "lazy, import a.b": "\n\ndef _planted() -> None:\n    import generator.api  # noqa\n",
    "relative": "\n\ndef _planted() -> None:\n    from . import api  # noqa\n",
    "type checking": "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from generator.api import Result  # noqa\n",
    "try": "\n\ntry:\n    from generator import api  # noqa\nexcept ImportError:\n    pass\n",
}


@pytest.mark.parametrize("form", sorted(PLANTED))
def test_a_planted_cycle_is_found(form: str) -> None:
    """api imports model (inside load); an import of api planted in model closes a circle,
    whatever form the import takes."""
    graph = import_graph(PACKAGE, {"generator.model": PLANTED[form]})
    found = cycles(graph)
    assert len(found) == 1, found
    circle = found[0]
    assert circle[0] == circle[-1] and {"generator.api", "generator.model"} <= set(circle)
    message = describe(graph, circle)
    assert "generator.model -> generator.api  (generator/model.py:" in message, message


def test_a_planted_cycle_inside_a_subpackage_is_found() -> None:
    planted = "\n\ndef _planted() -> None:\n    from generator.live import commands  # noqa\n"
    found = cycles(import_graph(PACKAGE, {"generator.live.findings": planted}))
    assert any({"generator.live.findings", "generator.live.commands"} <= set(c) for c in found), found


def _test_module_imports(source: str) -> list[tuple[str, int]]:
    """The imports in ``source`` of a test module (``test_*``), top-level or lazy."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(n, node.lineno) for n in names if n.split(".")[-1].startswith("test_")]
    return found


def test_no_test_module_imports_another() -> None:
    """tests/README.md: what two test files share lives in tests/helpers/. A test module that
    imports another works only while pytest happens to have put that file's folder on
    sys.path first, and it runs the other module's tests' imports and fixtures with it."""
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for name, line in _test_module_imports(path.read_text(encoding="utf-8"))
    ]
    assert not found, found


def test_an_import_of_a_test_module_is_found() -> None:
    lazy = "def f():\n    from test_markdown_safety import _parse\n"
    assert _test_module_imports(lazy) == [("test_markdown_safety", 2)]
    assert _test_module_imports("import helpers.injection\nfrom helpers import testing\n") == []
