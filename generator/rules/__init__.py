"""Stage 3: rules that relate fields to each other and to AWS's limits.

Each rule is a function that returns diagnostics; none stops early, so one run reports
every problem. Rules are grouped by concern:

* :mod:`.head` -- the manifest's top level (region, partition, prefix, boundary, tags);
* :mod:`.functions` -- each function, the names the module gives it, how secrets use it;
* :mod:`.secrets` -- each secret, its master secret, keys, created and managed secrets;
* :mod:`generator.schedules` -- schedules, as Secrets Manager evaluates them;
* :mod:`.renames` -- previous names and the Terraform names of secrets;
* :mod:`.scope` -- what every rule sees, and the ARN, key, description and tag rules.

Contradictions between an ARN and the manifest's account, region or partition are errors:
the module would create grants that can never match.
"""

from __future__ import annotations

from typing import Any

from generator.errors import Diagnostic
from generator.manifest import (
    ACCOUNT_PLACEHOLDER,
    FIELD_PLACEHOLDERS,
    PLACEHOLDERS,
    Function,
    Head,
    Secret,
    placeholder_message,
)
from generator.rules import functions as function_rules
from generator.rules import head as head_rules
from generator.rules import renames
from generator.rules import secrets as secret_rules
from generator.rules.scope import Scope, scope
from generator.source import Source

__all__ = ["Scope", "run"]


def run(
    source: Source,
    head: Head,
    functions: dict[str, Function],
    secrets: dict[str, Secret],
    dropped: frozenset[tuple[Any, ...]] = frozenset(),
) -> list[Diagnostic]:
    """Every rule on what survived the shape check (``head`` may be partial, and only the
    well-formed functions and secrets are given); the caller sorts the diagnostics."""
    sc = scope(source, head, _function_keys(source), frozenset(dropped))
    out = head_rules.check(sc)
    for key, fn in functions.items():
        out += function_rules.check(sc, key, fn)
    for name, sec in secrets.items():
        out += secret_rules.check(sc, name, sec, functions)
    out += renames.previous_names(sc, functions, "functions")
    out += renames.secret_idents(sc, secrets)
    out += function_rules.usage(sc, functions, secrets)
    out += placeholders(source)
    return out


def _function_keys(source: Source) -> frozenset[str] | None:
    """The keys the file gives under ``functions``: none when it has no ``functions`` (then
    every secret's function is unknown), None when ``functions`` is not a mapping (a shape
    error, reported; references to it are not checked)."""
    if "functions" not in source.data:
        return frozenset()
    raw = source.data["functions"]
    return frozenset(raw) if isinstance(raw, dict) else None


def placeholders(source: Source) -> list[Diagnostic]:
    """``rotation-tf init``'s (and ``discover``'s) FILL-IN-... placeholders left in a key or a
    value, each named at its field. The account id's has its own messages (manifest.py,
    rules.scope.arn), and so has a discover placeholder that is its field's whole value
    (manifest.FIELD_PLACEHOLDERS: the enum's or the ARN's own check names it)."""
    out: list[Diagnostic] = []
    wanted = [p for p in PLACEHOLDERS if p != ACCOUNT_PLACEHOLDER]

    def visit(value: Any, path: tuple[Any, ...], key: bool = False) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(k, path + (k,), key=True)
                visit(v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, path + (i,))
        elif isinstance(value, str) and "FILL-IN-" in value:
            if path and FIELD_PLACEHOLDERS.get(str(path[-1])) == value:
                return
            for token in wanted:
                if token in value:
                    out.append(source.diag(path, placeholder_message(token), key=key))

    visit(source.data, ())
    return out
