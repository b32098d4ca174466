"""The rotation tier's IAM evaluation: strict, and closed on anything it cannot evaluate.

moto 5.x enforces IAM in ways that would make a rotation proof hollow (issue 18): it checks
Secrets Manager calls against resource ``*`` (so an exact ARN or a ``name-??????`` pattern
is denied), crashes on ``?`` in a resource, matches actions case-sensitively, ignores
``NotResource`` and the conditions of an Allow, applies a Deny whatever its condition, and
does not enforce KMS at all. The rotation tier therefore never turns moto's enforcement on:
its proxy (tests/helpers/rotation_proxy.py) asks :func:`decide` about every call a rotation function
makes, with the role's policies as IAM holds them in moto.

This follows IAM's policy evaluation logic for one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins; otherwise an identity-policy Allow is needed, and with a permissions
boundary the boundary must allow the action too. Action, NotAction, Resource and NotResource
match with ``*`` and ``?`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html),
actions case-insensitively (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
Conditions follow https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
a key absent from the request makes a positive operator false and a negated one true,
``...IfExists`` true, and ``Null`` tests presence.

It is written independently of ``generator/policy_eval.py`` (doctor's evaluator), and
tests/rotation/test_rotation_eval.py holds both to the same table of cases.

Fails closed: :class:`CannotEvaluate` is raised for an operator it does not implement, a
multi-valued (``ForAnyValue``/``ForAllValues``) condition, a condition key the caller did
not declare it can supply (``known_keys``), a ``Principal``/``NotPrincipal`` in an identity
policy, or a statement without an action or resource element. The proxy turns it into a
denial.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class CannotEvaluate(Exception):
    """The policy uses something this evaluator does not implement: the call is denied."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _pattern(text: str, *, ignore_case: bool) -> re.Pattern[str]:
    out = []
    for ch in text:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(out), re.S | (re.I if ignore_case else 0))


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(pattern, ignore_case=ignore_case).fullmatch(value) is not None


# operator -> (compare(wanted, actual) -> bool, negated)
_STRING_OPS = {
    "StringEquals": (lambda w, a: w == a, False),
    "StringNotEquals": (lambda w, a: w == a, True),
    "StringEqualsIgnoreCase": (lambda w, a: w.lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda w, a: w.lower() == a.lower(), True),
    "StringLike": (lambda w, a: wildcard(w, a), False),
    "StringNotLike": (lambda w, a: wildcard(w, a), True),
    "ArnEquals": (lambda w, a: wildcard(w, a), False),
    "ArnLike": (lambda w, a: wildcard(w, a), False),
    "ArnNotEquals": (lambda w, a: wildcard(w, a), True),
    "ArnNotLike": (lambda w, a: wildcard(w, a), True),
    "Bool": (lambda w, a: w.lower() == a.lower(), False),
}


@dataclass(frozen=True)
class Call:
    """One request as IAM sees it: action, resource and the request context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    # Condition keys the caller can supply; a condition on any other key cannot be evaluated.
    # Entries ending in "/" are prefixes (aws:ResourceTag/).
    known_keys: frozenset[str] = frozenset()

    def knows(self, key: str) -> bool:
        k = key.lower()
        return any(k == kk or (kk.endswith("/") and k.startswith(kk)) for kk in self.known_keys)


def _condition_holds(condition: Mapping[str, Any], call: Call) -> bool:
    ctx = {k.lower(): v for k, v in call.context.items()}
    if not isinstance(condition, Mapping):
        raise CannotEvaluate(f"condition is not an object: {condition!r}")
    for raw_op, pairs in condition.items():
        if ":" in raw_op:
            raise CannotEvaluate(f"multi-valued condition operator {raw_op}")
        op, if_exists = (raw_op[: -len("IfExists")], True) if raw_op.endswith("IfExists") else (raw_op, False)
        if not isinstance(pairs, Mapping):
            raise CannotEvaluate(f"{raw_op}: not an object")
        for key, wanted in pairs.items():
            if not call.knows(key):
                raise CannotEvaluate(f"condition key {key} is not one the caller supplies")
            present = key.lower() in ctx
            values = [str(w) for w in _as_list(wanted)]
            if op == "Null":
                if if_exists or len(values) != 1 or values[0].lower() not in ("true", "false"):
                    raise CannotEvaluate(f"Null with {values}")
                if (values[0].lower() == "true") == present:
                    return False
                continue
            if op not in _STRING_OPS:
                raise CannotEvaluate(f"condition operator {raw_op}")
            compare, negated = _STRING_OPS[op]
            if not present:
                if if_exists or negated:
                    continue
                return False
            hit = any(compare(w, ctx[key.lower()]) for w in values)
            if hit == negated:
                return False
    return True


def _applies(st: Mapping[str, Any], call: Call) -> bool:
    if "Principal" in st or "NotPrincipal" in st:
        raise CannotEvaluate("Principal in an identity policy")
    if st.get("Effect") not in ("Allow", "Deny"):
        raise CannotEvaluate(f"Effect {st.get('Effect')!r}")
    if "Action" in st:
        if not any(wildcard(a, call.action, ignore_case=True) for a in _as_list(st["Action"])):
            return False
    elif "NotAction" in st:
        if any(wildcard(a, call.action, ignore_case=True) for a in _as_list(st["NotAction"])):
            return False
    else:
        raise CannotEvaluate("statement without Action or NotAction")
    if "Resource" in st:
        if not any(wildcard(r, call.resource) for r in _as_list(st["Resource"])):
            return False
    elif "NotResource" in st:
        if any(wildcard(r, call.resource) for r in _as_list(st["NotResource"])):
            return False
    else:
        raise CannotEvaluate("statement without Resource or NotResource")
    return _condition_holds(st.get("Condition") or {}, call)


def _verdict(documents: Iterable[Mapping[str, Any]], call: Call) -> str:
    allowed = False
    for doc in documents:
        for st in _as_list(doc.get("Statement")):
            if _applies(st, call):
                if st["Effect"] == "Deny":
                    return "deny"
                allowed = True
    return "allow" if allowed else "implicit"


def decide(policies: Iterable[Mapping[str, Any]], call: Call, boundary: Mapping[str, Any] | None = None) -> bool:
    """True when IAM allows ``call`` under the identity ``policies`` (and the ``boundary``).

    Raises :class:`CannotEvaluate` when a statement that could apply uses something this
    evaluator does not implement (callers deny the call then)."""
    verdict = _verdict(list(policies), call)
    if verdict != "allow":
        return False
    if boundary is not None and _verdict([boundary], call) != "allow":
        return False
    return True
