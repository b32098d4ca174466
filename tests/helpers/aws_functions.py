"""Read AWS's rotation functions (the unmodified copy in ../shared/aws-rotation-functions/)
with Python's ``ast`` and list every AWS API call each one can make, on any path.

A call is ``(service, operation, target)``: the boto3 client's service name, the client
method (boto3's snake_case name of the API operation) and what it acts on. The target of a
Secrets Manager call is found by following its ``SecretId`` argument back to where the value
comes from, across the module's functions (every call site of a helper counts, so a helper
called once with the rotated secret and once with the master secret targets both):

* ``secret``: the event's ``SecretId``, the secret being rotated;
* ``master``: a ``masterarn`` (or ``adminarn``) field of a secret's JSON, the master secret;
* ``env``: an environment variable (ElastiCache's ``SECRET_ARN``);
* ``*``: a call without ``SecretId`` (``GetRandomPassword``);
* ``?``: anything else, which the table in generator/aws_calls.py must then explain.

Every other service's call targets the resource type its API describes (``rds:db``,
``rds:cluster``, ...), from :data:`RESOURCE_OF`; a call of another service or operation is
``?`` and fails the test until someone looks at it.

The analysis is flow-insensitive and over-approximates: it never misses a call that is in the
file (every ``<client>.<method>(...)`` on a value that came from ``boto3.client`` or
``Session().client`` counts, reachable or not), and where a value may come from two places
the call gets both targets. One refinement keeps the targets exact for AWS's code: inside
``if <flag> ...:`` (a parameter, alone or first of an ``and``), a parameter holds only what the
call sites that pass that flag as ``True`` give it, so ``get_secret_dict(..., master_secret=True)``
makes the tag lookup's ``DescribeSecret`` target the master only.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FUNCTIONS_ENV = "ROTATION_TF_AWS_FUNCTIONS"  # the rotation tier and the tables of AWS's calls read it


def shared_copy() -> Path | None:
    """The unmodified copy of AWS's functions: $ROTATION_TF_AWS_FUNCTIONS, else
    ../shared/aws-rotation-functions beside the checkout (or beside its worktree folder)."""
    given = os.environ.get(FUNCTIONS_ENV)
    root = Path(__file__).resolve().parents[2]
    candidates = [Path(given)] if given else [p / "shared" / "aws-rotation-functions" for p in root.parents[:2]]
    return next(
        (c for c in candidates if (c / "SecretsManagerRotationTemplate" / "lambda_function.py").is_file()), None
    )


def required_copy() -> Path:
    """:func:`shared_copy`, or the test skips (fails under CI) saying where it looked."""
    from helpers.harness import skip_or_fail

    found = shared_copy()
    if found is None:
        skip_or_fail(f"AWS's rotation functions not found (../shared/aws-rotation-functions; set {FUNCTIONS_ENV})")
    return found


RESOURCE_OF = {
    ("rds", "describe_db_instances"): "rds:db",
    ("rds", "describe_db_clusters"): "rds:cluster",
    ("redshift", "describe_clusters"): "redshift:cluster",
    ("redshift-serverless", "list_namespaces"): "redshift-serverless:*",
    ("redshift-serverless", "list_workgroups"): "redshift-serverless:*",
    ("elasticache", "describe_users"): "elasticache:user",
    ("elasticache", "modify_user"): "elasticache:user",
    ("ds", "describe_directories"): "ds:directory",
    ("ds", "reset_user_password"): "ds:directory",
    ("timestream-influxdb", "get_db_instance"): "timestream-influxdb:db-instance",
}
MASTER_FIELDS = ("masterarn", "adminarn")


@dataclass(frozen=True, order=True)
class Found:
    service: str
    operation: str
    target: str
    line: int


def _const(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


class _Module:
    def __init__(self, tree: ast.Module) -> None:
        self.defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        # labels per (function, local name); "" is the module level
        self.env: dict[tuple[str, str], set[str]] = {}
        # labels a parameter gets from the call sites that pass flag parameter P as True:
        # (function, P, parameter) -> labels; and the flags guarding each node (if P: ...)
        self.flagged: dict[tuple[str, str, str], set[str]] = {}
        self.guard: dict[int, frozenset[str]] = {}
        self.tree = tree
        for name, node in self.defs.items():
            self._mark_guards(node.body, frozenset(), set(self._params(name)))

    def _params(self, fn: str) -> list[str]:
        return [a.arg for a in self.defs[fn].args.args] if fn in self.defs else []

    def _mark_guards(self, body: list[ast.stmt], guards: frozenset[str], params: set[str]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If):
                test = stmt.test
                conj = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
                flags = {v.id for v in conj if isinstance(v, ast.Name) and v.id in params}
                for n in ast.walk(test):
                    self.guard[id(n)] = guards
                self._mark_guards(stmt.body, guards | flags, params)
                self._mark_guards(stmt.orelse, guards, params)
                continue
            for n in ast.walk(stmt):
                self.guard[id(n)] = guards

    def labels(self, fn: str, node: ast.AST | None) -> set[str]:
        if node is None:
            return set()
        if isinstance(node, ast.Name):
            guards = self.guard.get(id(node), frozenset())
            if guards and node.id in self._params(fn):
                # inside `if <flag>:`, a parameter holds only what the call sites that pass the
                # flag as True give it (get_secret_dict(..., master_secret=True) -> the master)
                out = set.intersection(*(set(self.flagged.get((fn, g, node.id), set())) for g in guards))
                return out
            return set(self.env.get((fn, node.id), set())) | set(self.env.get(("", node.id), set()))
        if isinstance(node, ast.Subscript):
            key = _const(node.slice)
            if isinstance(node.value, ast.Name) and node.value.id == "event" and key == "SecretId":
                return {"secret"}
            if isinstance(key, str) and key.lower() in MASTER_FIELDS:
                return {"master"}
            if (
                isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "os"
                and node.value.attr == "environ"
            ):
                return {"env"}
            return set()
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "client" and node.args:
                svc = _const(node.args[0])
                if isinstance(svc, str):
                    return {f"client:{svc}"}
            if isinstance(f, ast.Attribute) and f.attr == "get" and node.args:
                key = _const(node.args[0])
                if isinstance(key, str) and key.lower() in MASTER_FIELDS:
                    return {"master"}
                if isinstance(f.value, ast.Attribute) and f.value.attr == "environ":
                    return {"env"}
            return set()
        if isinstance(node, ast.IfExp):
            return self.labels(fn, node.body) | self.labels(fn, node.orelse)
        if isinstance(node, ast.BoolOp):
            out: set[str] = set()
            for v in node.values:
                out |= self.labels(fn, v)
            return out
        if isinstance(node, ast.NamedExpr):
            return self.labels(fn, node.value)
        return set()

    def _bind(self, fn: str, target: ast.AST, labels: set[str]) -> bool:
        changed = False
        if isinstance(target, ast.Name):
            cur = self.env.setdefault((fn, target.id), set())
            if not labels <= cur:
                cur |= labels
                changed = True
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                changed |= self._bind(fn, t, set())
        return changed

    def _scopes(self) -> Iterator[tuple[str, list[ast.AST]]]:
        """(function name, its nodes); "" is the module level outside every function."""
        top: list[ast.AST] = []
        for stmt in self.tree.body:
            if not isinstance(stmt, ast.FunctionDef):
                top.extend(ast.walk(stmt))
        yield "", top
        for name, node in self.defs.items():
            yield name, list(ast.walk(node))

    def solve(self) -> None:
        for _ in range(50):  # bounded fixpoint; these files converge in a few rounds
            changed = False
            for fn, nodes in self._scopes():
                for node in nodes:
                    if isinstance(node, ast.Assign):
                        lab = self.labels(fn, node.value)
                        for t in node.targets:
                            changed |= self._bind(fn, t, lab)
                    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                        changed |= self._bind(fn, node.target, self.labels(fn, node.value))
                    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                        changed |= self._bind(fn, node.optional_vars, self.labels(fn, node.context_expr))
                    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.defs:
                        callee = self.defs[node.func.id]
                        params = self._params(callee.name)
                        given = {params[i]: arg for i, arg in enumerate(node.args) if i < len(params)}
                        given.update({kw.arg: kw.value for kw in node.keywords if kw.arg in params})
                        true_flags = [p for p, v in given.items() if _const(v) is True]
                        for param, arg in given.items():
                            lab = self.labels(fn, arg)
                            changed |= self._bind(callee.name, ast.Name(param), lab)
                            for flag in true_flags:
                                cur = self.flagged.setdefault((callee.name, flag, param), set())
                                if not lab <= cur:
                                    cur |= lab
                                    changed = True
            if not changed:
                return
        raise AssertionError("the call analysis did not converge")

    def calls(self) -> list[Found]:
        out = []
        for fn, nodes in self._scopes():
            for node in nodes:
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                clients = {lab[7:] for lab in self.labels(fn, node.func.value) if lab.startswith("client:")}
                for svc in sorted(clients):
                    op = node.func.attr
                    if svc == "secretsmanager":
                        arg = next((kw.value for kw in node.keywords if kw.arg == "SecretId"), None)
                        targets = {t for t in self.labels(fn, arg) if not t.startswith("client:")} if arg else {"*"}
                        for t in sorted(targets or {"?"}):
                            out.append(Found(svc, op, t, node.lineno))
                    else:
                        out.append(Found(svc, op, RESOURCE_OF.get((svc, op), "?"), node.lineno))
        return sorted(out)


def read_calls(path: Path) -> dict[tuple[str, str, str], tuple[int, ...]]:
    """(service, operation, target) -> the lines of the file where such a call is made."""
    module = _Module(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    module.solve()
    found: dict[tuple[str, str, str], list[int]] = {}
    for f in module.calls():
        found.setdefault((f.service, f.operation, f.target), []).append(f.line)
    return {k: tuple(sorted(set(v))) for k, v in sorted(found.items())}


def function_files(shared: Path) -> dict[str, Path]:
    """Every AWS function in the shared copy: folder name -> its lambda_function.py."""
    return {p.parent.name: p for p in sorted(shared.glob("*/lambda_function.py"))}


def environment_reads(path: Path) -> dict[str, object]:
    """Every ``os.environ.get(NAME, default)`` / ``os.environ[NAME]`` and
    ``get_environment_bool(NAME, default)`` in the file: name -> default (None: required)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            is_env_get = (
                isinstance(f, ast.Attribute)
                and f.attr == "get"
                and isinstance(f.value, ast.Attribute)
                and f.value.attr == "environ"
            )
            is_bool = isinstance(f, ast.Name) and f.id == "get_environment_bool"
            if (is_env_get or is_bool) and node.args and isinstance(_const(node.args[0]), str):
                name = str(_const(node.args[0]))
                out[name] = _const(node.args[1]) if len(node.args) > 1 else None
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)  # a read; os.environ['X'] = ... sets X for a library
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
        ):
            key = _const(node.slice)
            if isinstance(key, str):
                out.setdefault(key, None)
    return out
