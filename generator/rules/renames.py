"""Rules on Terraform names across entries: previous names (moved blocks) and the block
names secrets get (naming.secret_ident), which are addresses in the state."""

from __future__ import annotations

from typing import Any

from generator import naming
from generator.errors import Diagnostic
from generator.rules.scope import Scope


def previous_names(sc: Scope, entries: dict[str, Any], section: str) -> list[Diagnostic]:
    """Earlier names must not be in use now, nor claimed by two entries."""
    out = []
    seen: dict[str, str] = {}
    for key in sorted(entries):
        for i, old in enumerate(entries[key].previous_names):
            path = (section, key, "previous_names", i)
            if old in entries:
                out.append(sc.err(path, f"{old!r} is still the name of an entry in {section}"))
            elif old in seen and seen[old] != key:
                out.append(sc.err(path, f"{old!r} is also a previous name of {seen[old]!r}"))
            elif old == key:
                out.append(sc.err(path, "an entry cannot list its own name as a previous name"))
            seen.setdefault(old, key)
    return out


def secret_idents(sc: Scope, secrets: dict[str, Any]) -> list[Diagnostic]:
    """Each secret's blocks are named after it (naming.secret_ident), and that name is an
    address in the state: two secrets may not share it. Reported on the later name in sorted
    order, so the message is stable. (A secret has no previous names: secrets.renamed.)"""
    out = []
    owner: dict[str, str] = {}
    for name in sorted(secrets):
        ident = naming.secret_ident(name)
        if ident in owner:
            out.append(
                sc.err(
                    ("secrets", name),
                    f"secrets {owner[ident]!r} and {name!r} would both be named {ident!r} in Terraform "
                    f"({naming.SECRET_IDENT_RULE}); rename one",
                )
            )
        else:
            owner[ident] = name
    return out
