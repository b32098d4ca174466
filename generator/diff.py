"""``rotation-tf diff BASE NEW``: what a manifest change grants, revokes and rotates.

The reviewer of a manifest change wants to know which role gains or loses which action on
which resource. This compares the two *models* (:mod:`generator.model`) and their role
policies as data (:mod:`generator.policies`), not the generated HCL: a grant is one
(action, resource, condition) of a function's role, with a condition of several values
split into one grant per value (IAM matches any of them), so adding a secret that shares a
KMS key shows as exactly one new ``kms:Decrypt`` grant for that secret, not as a rewritten
statement.

What counts as a change (each one makes ``diff`` exit 1):

* ``grant``: an action on a resource (under a condition) added to or removed from a
  function's role, with the reason ``explain`` gives;
* ``permission``: the Lambda permission that lets Secrets Manager invoke a function
  (added, removed, or changed: another function ARN, account or ``lock_to_secret``);
* ``rotation``: a secret that starts or stops rotating;
* ``secret_function``: a secret that moves to another function;
* ``schedule``: a secret's schedule, window or ``rotate_immediately``;
* ``resource``: a secret, role or function the module creates or destroys;
* ``policy_form``: a role switching between the explicit and the compact policy form;
* ``function_source``: a function that changes between existing, zip and rotation app.

Anything else (tags, descriptions, memory size) grants nothing and rotates nothing: with
only such differences ``diff`` exits 0.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from generator.errors import Diagnostic, Failed
from generator.model import FunctionPlan, Module, SecretPlan
from generator.policies import RolePolicy

NOTHING = "/dev/null"
"""BASE or NEW that stands for no manifest (a manifest added or deleted by the change)."""


# --------------------------------------------------------------------------------------
# Loading either side


def load_side(spec: str, cwd: FsPath | None = None) -> Module | None:
    """The module of ``spec``: a manifest file, ``git:REV:PATH`` (read with ``git show``,
    no checkout; PATH as git reads it: from the repository's root, or ``./`` for the
    current folder) or ``/dev/null`` for none. Raises :class:`Failed` on bad input."""
    from generator import api, source

    if spec == NOTHING:
        return None
    if not spec.startswith("git:"):
        module, _notes = api.load(FsPath(spec), display_name=spec, writes=False)
        return module
    rev, sep, path = spec[len("git:") :].partition(":")
    if not sep or not rev or not path:
        raise Failed(
            [Diagnostic(spec, None, None, (), "expected git:REV:PATH, for example git:origin/main:rotation.yaml")]
        )
    try:
        proc = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=cwd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Failed([Diagnostic(spec, None, None, (), f"cannot run git: {exc}")]) from None
    if proc.returncode != 0:
        raise Failed(
            [Diagnostic(spec, None, None, (), git_error(proc.stderr.decode("utf-8", "replace"), proc.returncode))]
        )
    # The manifest's file name gives the module name, so keep it; its folder matters only
    # to a warning about a zip that does not exist, which diff does not show.
    src = source.load_text(
        proc.stdout, spec, FsPath(cwd or ".") / os.path.dirname(path), file_name=os.path.basename(path)
    )
    module, _notes = api.load(src, writes=False)
    return module


def git_error(stderr: str, returncode: int) -> str:
    """What ``git show`` said: its first ``fatal:``/``error:`` line (the cause), then its
    ``hint:`` lines (the fix it suggests), on one line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    cause = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    if cause is None:
        cause = next((line for line in lines if not line.startswith("hint:")), f"git show exited {returncode}")
    message = cause.removeprefix("fatal: ").removeprefix("error: ")
    hints = [line.removeprefix("hint:").strip() for line in lines if line.startswith("hint:")]
    if hints:
        message += " (hint: " + " ".join(h for h in hints if h) + ")"
    if "does not exist in" in cause or "exists on disk, but not in" in cause:
        message += f"; use {NOTHING} as BASE for a manifest that the change adds"
    if "does not exist in" in cause or "exists, but not" in cause:
        message += "; PATH is read from the repository's root, ./PATH from the current folder"
    return message


# --------------------------------------------------------------------------------------
# The comparison


Condition = tuple[tuple[str, str, str], ...]  # (operator, key, one value), sorted


@dataclass(frozen=True)
class Why:
    sid: str
    reason: str


def grants(fn: FunctionPlan) -> dict[tuple[str, str, Condition], Why]:
    """Every (action, resource, condition) the function's role allows, with its statement."""
    return policy_grants(fn.policy)


def policy_grants(policy: RolePolicy | None) -> dict[tuple[str, str, Condition], Why]:
    """Every (action, resource, condition) a role's policy allows, with its statement.
    A condition key with several values becomes one grant per value (any one matches);
    several keys, the product (all must match)."""
    out: dict[tuple[str, str, Condition], Why] = {}
    if policy is None:
        return out
    for st in policy.statements:
        parts: list[list[tuple[str, str, str]]] = []
        for operator in sorted(st.condition):
            for key in sorted(st.condition[operator]):
                values = st.condition[operator][key]
                values = values if isinstance(values, list) else [values]
                parts.append([(operator, key, str(v)) for v in values])
        combos: list[Condition] = [tuple(c) for c in itertools.product(*parts)] if parts else [()]
        for action in st.actions:
            for resource in st.resources:
                for cond in combos:
                    out.setdefault((action, resource, cond), Why(st.sid, st.reason))
    return out


def permission_text(module: Module, fn: FunctionPlan) -> str:
    text = f"secretsmanager.amazonaws.com may invoke {fn.function_arn} (aws:SourceAccount {module.account_id}"
    if fn.lock_secret is not None:
        text += f", only for secret {fn.lock_secret}"
    return text + ")"


def _source(fn: FunctionPlan) -> str:
    if fn.existing:
        return f"existing function {fn.function_name}"
    if fn.app is not None:
        return f"AWS rotation application {fn.app.application_id.rsplit('/', 1)[1]} {fn.app.semantic_version}"
    assert fn.package is not None
    return f"zip {fn.package.filename} ({fn.package.runtime})"


def _schedule(s: SecretPlan) -> dict[str, Any]:
    return {
        "every_days": s.schedule.every_days,
        "expression": s.schedule.expression,
        "window": s.schedule.window,
        "rotate_immediately": s.rotate_immediately,
    }


@dataclass
class Diff:
    base: str
    new: str
    base_module: str | None
    new_module: str | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    new_functions: frozenset[str] = frozenset()  # keys of the functions that BASE does not have

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def of(self, kind: str, change: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.changes if c["kind"] == kind and (change is None or c["change"] == change)]


def _functions(module: Module | None) -> dict[str, FunctionPlan]:
    return {f.key: f for f in module.functions} if module is not None else {}


def _match(base: dict[str, FunctionPlan], new: dict[str, FunctionPlan]) -> dict[str, str]:
    """BASE function key -> NEW key: the same key, or a key that lists it in previous_names."""
    out = {k: k for k in base if k in new}
    for key, fn in new.items():
        for old in fn.previous_names:
            if old in base and old not in new:
                out[old] = key
    return out


def compare(base: Module | None, new: Module | None, base_name: str = "BASE", new_name: str = "NEW") -> Diff:
    diff = Diff(base_name, new_name, base.name if base else None, new.name if new else None)
    out = diff.changes
    bf, nf = _functions(base), _functions(new)
    renamed = _match(bf, nf)  # BASE key -> NEW key
    new_key_of = {k: renamed.get(k, k) for k in bf}
    old_key_of = {n: b for b, n in renamed.items()}
    pairs: list[tuple[str, FunctionPlan | None, FunctionPlan | None]] = [
        (key, bf.get(old_key_of[key]) if key in old_key_of else None, fn) for key, fn in nf.items()
    ]
    pairs += [(key, fn, None) for key, fn in bf.items() if key not in renamed]
    diff.new_functions = frozenset(key for key, b, n in pairs if b is None)
    for key, b, n in sorted(pairs, key=lambda p: p[0]):
        # grants of the function's role
        before = grants(b) if b is not None else {}
        after = grants(n) if n is not None else {}
        for change, side, other, owner in (("added", after, before, n), ("removed", before, after, b)):
            assert owner is not None or side.keys() <= other.keys()
            out += _grant_rows(change, side, other, key, owner.role_text if owner else "")
        # the Lambda permission (who may invoke the function)
        p_before = permission_text(base, b) if base is not None and b is not None else None
        p_after = permission_text(new, n) if new is not None and n is not None else None
        if p_before != p_after:
            for change, perm in (("removed", p_before), ("added", p_after)):
                if perm is not None:
                    out.append({"kind": "permission", "change": change, "function": key, "permission": perm})
        if b is not None and n is not None:
            b_form = b.policy.form if b.policy else None
            n_form = n.policy.form if n.policy else None
            if b_form and n_form and b_form != n_form:
                out.append(
                    {"kind": "policy_form", "change": "changed", "function": key, "before": b_form, "after": n_form}
                )
            if _source(b) != _source(n):
                out.append(
                    {
                        "kind": "function_source",
                        "change": "changed",
                        "function": key,
                        "before": _source(b),
                        "after": _source(n),
                    }
                )

    # the role Secrets Manager assumes for managed external secrets
    bx = base.external_role if base else None
    nx = new.external_role if new else None
    before_x = policy_grants(bx.policy if bx else None)
    after_x = policy_grants(nx.policy if nx else None)
    for change, side, other, holder in (("added", after_x, before_x, nx), ("removed", before_x, after_x, bx)):
        assert holder is not None or side.keys() <= other.keys()
        out += _grant_rows(change, side, other, None, holder.role_name if holder else "")

    # secrets: rotation on/off, function, schedule
    bs = {s.name: s for s in base.secrets} if base else {}
    ns = {s.name: s for s in new.secrets} if new else {}
    for name in sorted(set(bs) | set(ns)):
        bsec, nsec = bs.get(name), ns.get(name)
        if bsec is None and nsec is not None:
            out.append(
                {
                    "kind": "rotation",
                    "change": "added",
                    "secret": name,
                    "function": nsec.function,
                    **_external_field("external", nsec),
                    "schedule": _schedule(nsec),
                }
            )
        elif nsec is None and bsec is not None:
            out.append(
                {
                    "kind": "rotation",
                    "change": "removed",
                    "secret": name,
                    "function": bsec.function,
                    **_external_field("external", bsec),
                }
            )
        elif bsec is not None and nsec is not None:
            before_fn = new_key_of.get(bsec.function, bsec.function) if bsec.function is not None else None
            if before_fn != nsec.function or _external(bsec) != _external(nsec):
                out.append(
                    {
                        "kind": "secret_function",
                        "change": "changed",
                        "secret": name,
                        "before": bsec.function,
                        "after": nsec.function,
                        **_external_field("external_before", bsec),
                        **_external_field("external_after", nsec),
                    }
                )
            if _schedule(bsec) != _schedule(nsec):
                out.append(
                    {
                        "kind": "schedule",
                        "change": "changed",
                        "secret": name,
                        "function": nsec.function,
                        "before": _schedule(bsec),
                        "after": _schedule(nsec),
                    }
                )

    # resources the module creates
    before_r, after_r = _resources(base), _resources(new)
    for change, made, gone in (("created", after_r, before_r), ("destroyed", before_r, after_r)):
        for rtype, name, of_name in sorted(made - gone):
            of = "secret" if rtype == "secret" else "function"
            entry = {"kind": "resource", "change": change, "type": rtype, "name": name}
            if of_name:  # the external rotation role belongs to no function or secret
                entry[of] = of_name
            out.append(entry)
    return diff


def _resources(module: Module | None) -> set[tuple[str, str, str]]:
    """(type, AWS name, the manifest's name for it: its function's key or its secret's name)."""
    if module is None:
        return set()
    out = {("secret", s.name, s.name) for s in module.secrets if s.managed is not None}
    for fn in module.functions:
        if fn.creates_role and fn.role_name:  # an existing function's role is not the module's
            out.add(("role", fn.role_name, fn.key))
        if not fn.existing:
            out.add(("function", fn.function_name, fn.key))
    if module.external_role is not None:
        out.add(("role", module.external_role.role_name, ""))
    return out


def _grant_rows(
    change: str,
    side: dict[tuple[str, str, Condition], Why],
    other: dict[tuple[str, str, Condition], Why],
    function: str | None,
    role: str,
) -> list[dict[str, Any]]:
    """One ``grant`` change per (action, resource, condition) in ``side`` and not in ``other``:
    the rows of a function's role, or (``function`` None) of the external-secrets role."""
    rows = []
    for grant in sorted(set(side) - set(other)):
        action, resource, cond = grant
        why = side[grant]
        rows.append(
            {
                "kind": "grant",
                "change": change,
                "function": function,
                "role": role,
                "action": action,
                "resource": resource,
                "condition": _condition_json(cond),
                "sid": why.sid,
                "reason": why.reason,
            }
        )
    return rows


def _condition_json(cond: Condition) -> dict[str, dict[str, str]] | None:
    if not cond:
        return None
    out: dict[str, dict[str, str]] = {}
    for operator, key, value in cond:
        out.setdefault(operator, {})[key] = value
    return out


def _external(s: SecretPlan) -> str | None:
    return s.external.secret_type if s.external is not None else None


def _external_field(name: str, s: SecretPlan) -> dict[str, str]:
    """The secret type of a managed external secret, under ``name``; nothing for any other."""
    return {name: s.external.secret_type} if s.external is not None else {}
