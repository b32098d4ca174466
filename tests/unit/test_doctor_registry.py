"""doctor's checks are declared once, beside their code (generator/live/checks/check.py), and
the registry (generator/live/registry.py) is built from the declarations: every check is a
typed constant its code reports by (never a string), every declaration has code or names the
check that reports it, the order checks run in follows their declared dependencies (a cycle,
or a dependency that cannot be met, is refused), a check that reads a status, a subject's
facts or the account through a method it did not declare is an error, the user
documentation's table lists the registry's checks in order, and checks read AWS through the
account reader only."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import fake_account as fa
from helpers.paths import ROOT

from generator.live import registry
from generator.live.checks import check as declare
from generator.live.checks.check import Check, SecretSubject, UndeclaredRead, judge, secret_check
from generator.live.checks.context import Context
from generator.live.checks.keys import KMS_KEY
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import PASS
from generator.live.reader import Reader

CHECKS = ROOT / "generator" / "live" / "checks"
# What a check's code sees of other checks: methods whose first argument is a check.
CHECK_ARGUMENT = {"add", "caused", "by_apply", "status", "cause"}


def test_every_check_is_declared_once_in_a_module_of_its_concern() -> None:
    ids = [c.id for c in registry.CHECKS]
    assert len(set(ids)) == len(ids), "a check id is declared twice"
    assert registry.BY_ID == {c.id: c for c in registry.CHECKS}
    modules = {m.__name__ for m in registry.CONCERNS}
    declared_anywhere = {
        id(v) for m in registry.CONCERNS for v in vars(m).values() if isinstance(v, Check)
    }  # imported ones included
    assert declared_anywhere == {id(c) for c in registry.CHECKS}, "a declaration no module of CONCERNS holds"
    for c in registry.CHECKS:
        assert c.module in modules, c.id
        if c.about == registry.ACCOUNT:
            continue  # judged by doctor before any subject (checks/account.py)
        # code of its own, in its module, or reported by a check of its module that has code
        assert (c.run is None) != (c.reported_by is None), c.id
        owner = c.reported_by or c
        assert owner.run is not None and owner.run.__module__ == c.module, c.id
        assert c.about in (registry.FUNCTION, registry.SECRET), c.id
        assert bool(c.kinds) == (c.about == registry.SECRET), c.id


def test_checks_report_by_their_declarations_never_by_a_string() -> None:
    """mypy then catches a misspelt check: its constant is not defined. (This replaced a test
    that parsed the source for string ids to keep them in step with the registry.)"""
    reports = 0
    for path in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in CHECK_ARGUMENT and getattr(f.value, "id", "") == "on":
                assert node.args and isinstance(node.args[0], ast.Name), f"{path.name}:{node.lineno}: .{f.attr}()"
                reports += 1
            if getattr(f, "id", "") in ("Finding", "caused", "unknown"):  # a finding built by hand: account.py
                strings = [a.value for a in ast.walk(node) if isinstance(a, ast.Constant) and a.value in registry.BY_ID]
                assert not strings, f"{path.name}:{node.lineno}: {strings}"
    assert reports > 100


def test_a_check_s_code_reads_only_the_statuses_it_declares() -> None:
    """Statically, on every path: each ``.status(X)`` or ``.cause(X, ...)`` in a check's code names
    checks it declares (needs or follows_from); judge() also refuses it as it runs (below)."""
    by_name = {(m.__name__, name): v for m in registry.CONCERNS for name, v in vars(m).items() if isinstance(v, Check)}
    seen = 0
    for module in registry.CONCERNS:
        tree = ast.parse(Path(module.__file__ or "").read_text())
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            judged = [d.value.id for d in fn.decorator_list if isinstance(d, ast.Attribute) and d.attr == "judged_by"
                      and isinstance(d.value, ast.Name)]  # fmt: skip
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr not in ("status", "cause"):
                    continue
                assert judged, f"{module.__name__}.{fn.name} reads a status outside a check's own code"
                running = by_name[(module.__name__, judged[0])]
                for arg in node.args:
                    assert isinstance(arg, ast.Name), ast.dump(arg)
                    read = by_name[(module.__name__, arg.id)]
                    assert read in running.depends_on, f"{running.id} reads {read.id} without declaring it"
                    seen += 1
    assert seen >= 5  # grants (function, role, kms-key, master-secret) and rotation (function)


def test_checks_run_after_what_they_depend_on() -> None:
    for about, order in registry.RUN_ORDER.items():
        assert [c.about for c in order] == [about] * len(order)
        assert {c for c in registry.CHECKS if c.about == about and c.run is not None} == set(order)
        for i, c in enumerate(order):
            for d in c.depends_on:
                owner = d.reported_by or d
                if owner.about == about:
                    assert owner in order[:i], f"{c.id} runs before {d.id}, which it depends on"
                else:  # a secret check on its function's: every function is judged first
                    assert (c.about, owner.about) == (registry.SECRET, registry.FUNCTION), c.id
            for n in c.needs:  # it must apply wherever the check that needs it does
                assert n.about == c.about and set(c.kinds) <= set(n.kinds), (c.id, n.id)
    # what the issue named: grants after the checks whose failure it names
    secret = [c.id for c in registry.RUN_ORDER[registry.SECRET]]
    assert secret.index("grants") > max(secret.index(x) for x in ("kms-key", "key-policy", "master-secret"))


def _check(ident: str, run: Any, **kw: Any) -> Check[Any]:
    c = secret_check(ident, "t", "LOW", "h", "https://docs.aws.amazon.com/", registry.ASFF_SECRET, **kw)
    c.judged_by(run)
    return c


def _nothing(on: SecretSubject) -> None:
    return None


def test_a_cycle_or_a_dependency_that_cannot_be_met_is_refused() -> None:
    a = _check("a", _nothing)
    b = _check("b", _nothing, needs=(a,))
    c = _check("c", _nothing, needs=(b,))
    object.__setattr__(a, "needs", (c,))
    with pytest.raises(ValueError, match="depend on each other: a, b, c"):
        registry.run_order((a, b, c))
    # a function check cannot depend on a secret check: secrets are judged after every function
    fn = declare.function_check("f", "t", "LOW", "h", "https://docs.aws.amazon.com/", registry.ASFF_FUNCTION,
                                needs=(SECRET_EXISTS,))  # fmt: skip
    fn.judged_by(_nothing)
    with pytest.raises(ValueError, match="judged after it"):
        registry.run_order((fn,))
    # a dependency outside the table
    with pytest.raises(ValueError, match="depends on a, which is not in the table"):
        registry.run_order((_check("d", _nothing, needs=(a,)),))
    # the registry's own order has none of these
    assert registry.run_order(tuple(c for c in registry.CHECKS if c.about == registry.SECRET))


def _secret_subject(tmp_path: Path) -> SecretSubject:
    account, data = fa.healthy()
    module = fa.load(tmp_path, data)
    ctx = Context(account, module, read_values=False, now=fa.NOW)
    return SecretSubject(ctx, next(s for s in module.secrets if s.name == fa.ORDERS))


def test_reading_an_undeclared_status_or_fact_is_an_error(tmp_path: Path) -> None:
    def reads_kms_key(on: SecretSubject) -> None:
        on.status(KMS_KEY)

    def reads_the_description(on: SecretSubject) -> None:
        on.d.get("ARN")

    order = registry.RUN_ORDER[registry.SECRET]
    for run in (reads_kms_key, reads_the_description):
        sneaky = _check("sneaky", run)  # declares neither kms-key nor the secret
        with pytest.raises(UndeclaredRead):
            judge(_secret_subject(tmp_path), (*order, sneaky))
    # declared, the same reads are fine
    fine = _check("fine", lambda on: on.add(fine, PASS, str(on.status(KMS_KEY)) + on.d["ARN"]),
                  needs=(SECRET_EXISTS,), follows_from=(KMS_KEY,))  # fmt: skip
    got = judge(_secret_subject(tmp_path), (*order, fine))
    assert [f.message for f in got if f.check == "fine"] == [f"pass{fa.SECRET_ARNS[fa.ORDERS]}"]
    # and a check reports only itself (or what its declaration says it reports)
    other = _check("other", lambda on: on.add(KMS_KEY, PASS, "not mine"), needs=(SECRET_EXISTS,))
    with pytest.raises(UndeclaredRead, match="reports kms-key"):
        judge(_secret_subject(tmp_path), (*order, other))


def test_reading_the_account_through_an_undeclared_method_is_an_error_in_tests(tmp_path: Path) -> None:
    assert declare.STRICT_READS_ENV == "ROTATION_TF_STRICT_READS"  # tests/conftest.py sets it
    sneaky = _check("sneaky", lambda on: on.read.key_policy(fa.KEY), needs=(SECRET_EXISTS,), reads=(Reader.key,))
    with pytest.raises(UndeclaredRead, match="reads key_policy"):
        judge(_secret_subject(tmp_path), (*registry.RUN_ORDER[registry.SECRET], sneaky))
    fine = _check("fine", lambda on: on.read.key_policy(fa.KEY), needs=(SECRET_EXISTS,), reads=(Reader.key_policy,))
    judge(_secret_subject(tmp_path), (*registry.RUN_ORDER[registry.SECRET], fine))


def test_every_declared_read_is_a_reader_method() -> None:
    methods = {n for n in dir(Reader) if not n.startswith("_")}
    for c in registry.CHECKS:
        assert c.read_names <= methods, c.id
    # and every reader method is read by some check (or the account's)
    assert set().union(*(c.read_names for c in registry.CHECKS)) == methods


def test_registry_rows_are_complete() -> None:
    for c in registry.CHECKS:
        assert c.about in (registry.FUNCTION, registry.SECRET, registry.ACCOUNT), c
        assert c.severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"), c
        assert c.title and c.help and c.source.startswith("https://docs.aws.amazon.com/"), c
        assert c.resource_type in ("AwsSecretsManagerSecret", "AwsLambdaFunction", "AwsIamRole", "AwsKmsKey",
                                   "AwsAccount"), c  # fmt: skip
        assert all(re.fullmatch(r"SecretsManager\.[1-4]", ctl) for ctl in c.controls), c
    controls = {c.id: c.controls for c in registry.CHECKS if c.controls}
    assert controls == {
        "rotation": ("SecretsManager.1",),
        "external-rotation": ("SecretsManager.1",),  # automatic rotation enabled, for a managed external secret
        "overdue": ("SecretsManager.2", "SecretsManager.4"),
        "pending": ("SecretsManager.2",),
        "last-rotation": ("SecretsManager.2",),  # why it did not rotate successfully
    }


def test_the_documented_table_is_the_registry() -> None:
    text = (ROOT / "docs" / "live-account.md").read_text()
    rows = re.findall(r"^\| `([a-z-]+)` \| (function|secret) \|", text, re.M)
    assert rows == [(c.id, c.about) for c in registry.CHECKS if c.about != registry.ACCOUNT]


def test_checks_read_aws_through_the_reader_only() -> None:
    for path in sorted(CHECKS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("aws", "call", "call_or_none", "pages"), f"{path.name}: .{node.attr}"
            if isinstance(node, ast.ImportFrom) and node.module == "generator.live.client":
                assert {a.name for a in node.names} <= {"LiveError"}, f"{path.name} imports {node.names}"


def test_one_place_maps_an_aws_error_to_a_finding() -> None:
    """judge() turns a LiveError its check's code does not handle into that check's unknown;
    elsewhere a LiveError is the fallback of or_else (the manifest's value), or last-rotation's
    unknown that also names the signs that sent doctor to the log (Subject.unknown)."""
    handlers = {}
    for path in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and "LiveError" in ast.dump(node.type or ast.Name("")):
                handlers.setdefault(path.name, 0)
                handlers[path.name] += 1
    assert handlers == {"check.py": 1, "context.py": 1, "last_rotation.py": 2}, handlers
