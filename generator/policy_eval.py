"""A small evaluator of IAM policy documents, for what ``doctor`` asks of a role or key policy:
may this principal take action A on resource R, given these request context keys?

It follows IAM's evaluation logic for one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, then an Allow is needed; with a permissions boundary, the action
must be allowed by both. Action and Resource (and NotAction / NotResource) match with
IAM's ``*`` and ``?`` wildcards, actions case-insensitively. Conditions are evaluated for
the string, ARN, Null and Bool operators (with ``IfExists`` and the ``ForAnyValue`` /
``ForAllValues`` qualifiers on single values); a condition on a key the caller did not
give, or with another operator, makes the answer :data:`UNSURE` rather than a guess.

A caller that knows a key's absence is a fact (it read every tag of the secret, say) names
the key, or a prefix ending in ``/``, in ``Request.known_keys``. An absent known key then
follows IAM (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
a positive operator does not match, a negated one (``StringNotEquals``, ``ArnNotLike``, ...)
matches, and ``...IfExists`` matches. The rotation tier's strict evaluator
(tests/helpers/iam_strict.py) holds this module to a shared table (tests/rotation/test_rotation_eval.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ALLOWED = "allowed"
DENIED = "denied"  # explicitly
IMPLICIT = "implicit"  # no statement allows it
UNSURE = "unsure"  # an Allow depends on a condition this evaluator cannot decide


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


@functools.lru_cache(maxsize=8192)
def _compiled(pattern: str) -> re.Pattern[str]:
    # IAM's wildcards: * any run of characters, ? one character; nothing else is special.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def _wild(pattern: str, value: str, *, fold: bool) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    # Compiled once per pattern: doctor asks the same role's patterns about every secret.
    return _compiled(pattern).fullmatch(value) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_wild(p, action, fold=True) for p in patterns)


def resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(_wild(p, resource, fold=False) for p in patterns)


def _cond_one(op: str, key_values: list[str], wanted: list[str]) -> bool:
    base = op
    if base.startswith("String"):
        fold = "IgnoreCase" in base
        neg = "Not" in base
        like = base.endswith("Like")

        def match(v: str) -> bool:
            if like:
                return any(_wild(w, v, fold=fold) for w in wanted)
            return any((w.lower() == v.lower()) if fold else (w == v) for w in wanted)

        hits = [match(v) for v in key_values]
        return not any(hits) if neg else any(hits)
    if base.startswith("Arn"):
        neg = "Not" in base
        hits = [any(_wild(w, v, fold=False) for w in wanted) for v in key_values]
        return not any(hits) if neg else any(hits)
    if base == "Bool":
        return any(str(v).lower() in [str(w).lower() for w in wanted] for v in key_values)
    raise KeyError(op)


_SUPPORTED = re.compile(
    r"^(String(Not)?(Equals|Like)(IgnoreCase)?|StringEqualsIgnoreCase|StringNotEqualsIgnoreCase|Arn(Not)?(Equals|Like)|Bool|Null)$"
)


def _known(key: str, known_keys: Iterable[str]) -> bool:
    k = key.lower()
    return any(k == kk.lower() or (kk.endswith("/") and k.startswith(kk.lower())) for kk in known_keys)


def conditions_hold(
    condition: Mapping[str, Any] | None, context: Mapping[str, str], known_keys: Iterable[str] = ()
) -> bool | None:
    """True / False, or None when this evaluator cannot decide."""
    if not condition:
        return True
    known = list(known_keys)
    ctx = {k.lower(): v for k, v in context.items()}
    for raw_op, pairs in condition.items():
        op = raw_op
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        if ":" in op:  # ForAnyValue:/ForAllValues: on single-valued keys act like the plain operator
            op = op.split(":", 1)[1]
        if not _SUPPORTED.match(op) or not isinstance(pairs, Mapping):
            return None
        for key, wanted in pairs.items():
            present = key.lower() in ctx
            if op == "Null":
                want_null = str(_list(wanted)[0]).lower() == "true"
                if want_null == present:
                    return False
                continue
            if not present:
                if if_exists:
                    continue
                if _known(key, known):  # absent for a fact: IAM's rule for a missing key
                    if "Not" in op:
                        continue
                    return False
                return None
            if not _cond_one(op, [ctx[key.lower()]], [str(w) for w in _list(wanted)]):
                return False
    return True


def _principal_matches(principal: Any, principals: Iterable[str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    # AWS principals (key policies), and service principals (a role's trust policy).
    named = _list(principal.get("AWS")) + _list(principal.get("Service"))
    return any(p == "*" or p in principals for p in named)


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str]
    # Condition keys (or prefixes ending in "/") whose absence from ``context`` is a fact.
    known_keys: frozenset[str] = frozenset()


def evaluate(documents: Iterable[Mapping[str, Any]], req: Request, *, principals: Iterable[str] | None = None) -> str:
    """ALLOWED, DENIED, IMPLICIT or UNSURE for ``req`` under the documents together.

    With ``principals`` the documents are resource policies (key policies): a statement
    applies only when its Principal names one of them (or ``*``).
    """
    allowed = False
    unsure_allow = unsure_deny = False
    names = list(principals) if principals is not None else None
    for doc in documents:
        for st in _list(doc.get("Statement")):
            if not isinstance(st, Mapping):
                continue
            if names is not None:
                if "Principal" in st and not _principal_matches(st["Principal"], names):
                    continue
                if "NotPrincipal" in st:
                    continue
            if "Action" in st:
                if not action_matches(_list(st["Action"]), req.action):
                    continue
            elif "NotAction" in st:
                if action_matches(_list(st["NotAction"]), req.action):
                    continue
            else:
                continue
            if "Resource" in st:
                if not resource_matches(_list(st["Resource"]), req.resource):
                    continue
            elif "NotResource" in st:
                if resource_matches(_list(st["NotResource"]), req.resource):
                    continue
            held = conditions_hold(st.get("Condition"), req.context, req.known_keys)
            if st.get("Effect") == "Deny":
                if held is True:
                    return DENIED
                if held is None:
                    unsure_deny = True
            elif st.get("Effect") == "Allow":
                if held is True:
                    allowed = True
                elif held is None:
                    unsure_allow = True
    if allowed:
        return UNSURE if unsure_deny else ALLOWED
    return UNSURE if unsure_allow else IMPLICIT
