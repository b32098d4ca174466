"""Read AWS's rotation functions (the unmodified copy in ../shared/aws-rotation-functions/)
with Python's ``ast`` and list every failure each one reports itself: every ``logger.error``
and every ``raise``, where it is and which rotation steps reach it. The tables in
generator/aws_failures.py are checked against what this reads (tests/rotation/test_aws_failures.py).

* **Scopes.** Each function (``def``, and each method of a class) of a file is a scope, with
  its first and last line. ``lambda_handler`` is split further: the body of each
  ``if step == "<Step>":`` branch of its dispatch is a scope of that step alone, and the final
  ``else`` (an invalid Step) a scope of no step; the rest of ``lambda_handler`` (the checks
  before the dispatch) runs in every step. The steps of a helper are those of every scope
  that calls it, followed to a fixpoint; a call ``f(...)`` names a function of the same file
  (or a class, whose ``__init__`` it runs), a call ``x.m(...)`` any method ``m`` of a class
  in the folder (an over-approximation: every method of that name).
* **Messages.** ``logger.error`` / ``logger.exception`` / ``logger.critical`` (kind ``error``)
  and ``raise`` (kind: the exception's name; ``raise`` for a bare re-raise). The text is the
  message as a template: literal text, with each value the code formats into it
  (``%s``/``%d`` with ``%``, logging's own arguments, f-strings) written ``{expression}``; a
  literal ``{`` or ``}`` is doubled. An exception built with several arguments prints the
  tuple of them (``str(ValueError("a %s", x))`` is ``('a %s', 'x')``), and the template says so.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
LOGGER_ERRORS = ("error", "exception", "critical")
_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[a-zA-Z%]")

Scope = tuple[str, int, int, tuple[str, ...]]  # (where, first line, last line, steps)
Message = tuple[int, str, str, str]  # (line, kind, where, text)


def _esc(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _percent(fmt: str, args: list[ast.expr]) -> str:
    """``fmt % args`` as a template: each conversion becomes ``{argument}``."""
    out, pos, i = [], 0, 0
    for m in _SPEC.finditer(fmt):
        out.append(_esc(fmt[pos : m.start()]))
        if m.group() == "%%":
            out.append("%")
        else:
            out.append("{" + (ast.unparse(args[i]) if i < len(args) else "?") + "}")
            i += 1
        pos = m.end()
    out.append(_esc(fmt[pos:]))
    return "".join(out)


def template(node: ast.expr | None) -> str:
    """The text a message expression produces, as a template."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _esc(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
        right = node.right
        args = list(right.elts) if isinstance(right, ast.Tuple) else [right]
        return _percent(str(node.left.value), args)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(_esc(str(v.value)))
            elif isinstance(v, ast.FormattedValue):
                parts.append("{" + ast.unparse(v.value) + "}")
        return "".join(parts)
    return "{" + ast.unparse(node) + "}"


def _exception_text(call: ast.Call) -> str:
    if len(call.args) <= 1:
        return template(call.args[0] if call.args else None)
    # str() of an exception with several arguments is the repr of their tuple
    items = []
    for a in call.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            items.append(_esc(repr(a.value)))
        else:
            items.append("'{" + ast.unparse(a) + "}'")
    return "(" + ", ".join(items) + ")"


class _File:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.defs: dict[str, ast.FunctionDef] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                self.defs[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        self.defs[f"{node.name}.{item.name}"] = item


def _step_of(test: ast.expr) -> str | None:
    """The Step an ``if step == "<Step>"`` test selects."""
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value in STEPS
    ):
        return str(test.comparators[0].value)
    return None


def _last_line(node: ast.AST) -> int:
    return max(getattr(n, "end_lineno", 0) or 0 for n in ast.walk(node))


class Folder:
    """One of AWS's functions: every Python file of its folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = {p.name: _File(p) for p in sorted(folder.glob("*.py"))}
        self.methods: dict[str, list[tuple[str, str]]] = {}  # method name -> [(file, qualified name)]
        for fname, f in self.files.items():
            for q in f.defs:
                if "." in q:
                    self.methods.setdefault(q.split(".", 1)[1], []).append((fname, q))
        self.scopes: dict[str, list[tuple[str, int, int, set[str]]]] = {name: [] for name in self.files}
        self._solve()

    def _callees(self, fname: str, node: ast.AST) -> set[tuple[str, str]]:
        f = self.files[fname]
        out = set()
        for n in ast.walk(node):
            if not isinstance(n, ast.Call):
                continue
            if isinstance(n.func, ast.Name):
                name = n.func.id
                if name in f.defs:
                    out.add((fname, name))
                for other, g in self.files.items():  # a class, here or imported from another file
                    if name in g.classes and f"{name}.__init__" in g.defs:
                        out.add((other, f"{name}.__init__"))
            elif isinstance(n.func, ast.Attribute):
                out.update(self.methods.get(n.func.attr, []))
        return out

    def _solve(self) -> None:
        reach: dict[tuple[str, str], set[str]] = {(fn, q): set() for fn, f in self.files.items() for q in f.defs}
        seeds: list[tuple[str, ast.AST, set[str]]] = []  # (file, node, steps its calls carry)
        main = self.files.get("lambda_function.py")
        handler = main.defs.get("lambda_handler") if main else None
        if handler is not None:
            first, last = handler.lineno, _last_line(handler)
            self.scopes["lambda_function.py"].append(("lambda_handler", first, last, set(STEPS)))
            for stmt in handler.body:
                branch: ast.stmt | None = stmt
                handled = False
                while isinstance(branch, ast.If) and _step_of(branch.test) is not None:
                    handled = True
                    step = _step_of(branch.test)
                    assert step is not None
                    lo, hi = branch.body[0].lineno, max(_last_line(b) for b in branch.body)
                    self.scopes["lambda_function.py"].append((f"lambda_handler:{step}", lo, hi, {step}))
                    for b in branch.body:
                        seeds.append(("lambda_function.py", b, {step}))
                    rest = branch.orelse
                    if len(rest) == 1 and isinstance(rest[0], ast.If):
                        branch = rest[0]
                        continue
                    if rest:
                        lo, hi = rest[0].lineno, max(_last_line(b) for b in rest)
                        self.scopes["lambda_function.py"].append(("lambda_handler:else", lo, hi, set()))
                        for b in rest:
                            seeds.append(("lambda_function.py", b, set()))
                    break
                if not handled:
                    seeds.append(("lambda_function.py", stmt, set(STEPS)))
        for fname, node, steps in seeds:
            for callee in self._callees(fname, node):
                if callee[1] != "lambda_handler":
                    reach[callee] |= steps
        for _ in range(100):  # bounded fixpoint
            changed = False
            for (fname, q), steps in list(reach.items()):
                if not steps or q == "lambda_handler":
                    continue
                for callee in self._callees(fname, self.files[fname].defs[q]):
                    if callee[1] != "lambda_handler" and not steps <= reach[callee]:
                        reach[callee] |= steps
                        changed = True
            if not changed:
                break
        else:  # pragma: no cover
            raise AssertionError("the step analysis did not converge")
        for (fname, q), steps in reach.items():
            if q == "lambda_handler":
                continue
            node = self.files[fname].defs[q]
            self.scopes[fname].append((q, node.lineno, _last_line(node), steps))

    def where(self, fname: str, line: int) -> tuple[str, tuple[str, ...]]:
        """The innermost scope holding ``line`` (``""``, no steps: module level)."""
        best = None
        for name, lo, hi, steps in self.scopes[fname]:
            if lo <= line <= hi and (best is None or hi - lo < best[2] - best[1]):
                best = (name, lo, hi, steps)
        if best is None:
            return "", ()
        return best[0], tuple(s for s in STEPS if s in best[3])

    def scope_table(self, fname: str) -> tuple[Scope, ...]:
        rows = [(n, lo, hi, tuple(s for s in STEPS if s in steps)) for n, lo, hi, steps in self.scopes[fname]]
        return tuple(sorted(rows, key=lambda r: (r[1], r[2], r[0])))

    def messages(self, fname: str) -> tuple[Message, ...]:
        out = []
        for node in ast.walk(self.files[fname].tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if f.attr in LOGGER_ERRORS and isinstance(f.value, ast.Name) and f.value.id == "logger":
                    first = node.args[0] if node.args else None
                    if len(node.args) > 1 and isinstance(first, ast.Constant) and isinstance(first.value, str):
                        text = _percent(first.value, list(node.args[1:]))  # logging's own %-formatting
                    else:
                        text = template(first)
                    out.append((node.lineno, "error", self.where(fname, node.lineno)[0], text))
            elif isinstance(node, ast.Raise):
                exc = node.exc
                if exc is None:
                    kind, text = "raise", ""
                elif isinstance(exc, ast.Call):
                    kind, text = ast.unparse(exc.func), _exception_text(exc)
                else:
                    kind, text = ast.unparse(exc), ""
                out.append((node.lineno, kind, self.where(fname, node.lineno)[0], text))
        return tuple(sorted(out))

    def imports(self) -> tuple[str, ...]:
        """Top-level modules every file imports (the drivers among them)."""
        names = set()
        for f in self.files.values():
            for node in ast.walk(f.tree):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
        return tuple(sorted(names))

    def connect_catches(self) -> tuple[tuple[int, str, str], ...]:
        """Every ``except`` of the functions that open database connections
        (``get_connection``, ``connect_and_authenticate``): (line, where, what it catches)."""
        out = []
        f = self.files.get("lambda_function.py")
        if f is None:
            return ()
        for name in ("get_connection", "connect_and_authenticate"):
            node = f.defs.get(name)
            if node is None:
                continue
            for n in ast.walk(node):
                if isinstance(n, ast.ExceptHandler):
                    out.append((n.lineno, name, ast.unparse(n.type) if n.type is not None else "*"))
        return tuple(sorted(out))


def read(folder: Path) -> dict[str, tuple[tuple[Scope, ...], tuple[Message, ...]]]:
    """file name -> (scopes, messages) for one of AWS's functions."""
    f = Folder(folder)
    return {name: (f.scope_table(name), f.messages(name)) for name in f.files}


def connect_timeout(folder: Path) -> int | None:
    """Seconds each database connection attempt of the function may wait: the
    ``connect_timeout`` / ``login_timeout`` (seconds) or ``connectTimeoutMS`` (milliseconds)
    its driver calls pass; None when they pass none (the driver's default applies)."""
    found = set()
    for f in Folder(folder).files.values():
        for node in ast.walk(f.tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                    if not isinstance(value, int):
                        continue
                    if kw.arg in ("connect_timeout", "login_timeout"):
                        found.add(value)
                    elif kw.arg == "connectTimeoutMS":
                        found.add(value // 1000)
    assert len(found) <= 1, found
    return found.pop() if found else None


def keys(folder: Path) -> dict[str, str]:
    """table key -> file name: the function's folder name for lambda_function.py, and
    ``<folder>/<file>`` for its other files."""
    return {(folder.name if n == "lambda_function.py" else f"{folder.name}/{n}"): n for n in Folder(folder).files}


def dq(value: object) -> str:
    """repr() with double-quoted strings where the string allows it (the project's style)."""
    if isinstance(value, str):
        r = repr(value)
        if r.startswith("'") and '"' not in value:
            return '"' + r[1:-1].replace("\\'", "'") + '"'
        return r
    if isinstance(value, tuple):
        inner = ", ".join(dq(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def literal_rows(rows: tuple[tuple, ...], indent: str = "        ") -> str:
    return "\n".join(f"{indent}{dq(row)}," for row in rows)


def drivers(folder: Path) -> tuple[str, ...]:
    """The modules the function imports that are neither Python's standard library, nor the
    AWS SDK (which Lambda's Python runtimes include), nor files of its own folder: the
    database and service drivers its deployment package must bring."""
    import sys

    f = Folder(folder)
    local = {Path(n).stem for n in f.files}
    return tuple(
        m for m in f.imports() if m not in sys.stdlib_module_names and m not in ("boto3", "botocore") and m not in local
    )
