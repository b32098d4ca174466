"""The table of every ``doctor`` check, built from the declarations: each check is declared
once, beside the code that judges it (generator/live/checks/*.py, :mod:`.checks.check`), with
its id, what it is about, title, severity, help text, the AWS page its rule comes from, the
Security Hub controls it matches, the ASFF resource type of its subject, what it reads and
which checks it depends on.

The renderers (text, JSON, SARIF, ASFF), ``--allow-unknown`` and the order of findings read
:data:`CHECKS` and :data:`BY_ID`; ``doctor`` runs the checks of each subject in
:data:`RUN_ORDER`. Adding a check: declare it and its code in the module of its concern (a new
concern: a module, listed in :data:`CONCERNS`).

Security Hub's Secrets Manager controls
(https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html):
SecretsManager.1 "secrets should have automatic rotation enabled" (``rotation``),
SecretsManager.2 "secrets configured with automatic rotation should rotate successfully"
(``overdue``: not rotated within the schedule; ``pending``: a rotation that did not
finish; ``last-rotation``: why it failed), SecretsManager.4 "secrets should be rotated within a specified number of days"
(``overdue``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from generator.live.checks import (
    account,
    database,
    external,
    function,
    grants,
    invocation,
    keys,
    last_rotation,
    network,
    replica,
    rotation,
    secret,
    value,
)
from generator.live.checks.check import (
    ACCOUNT,
    ASFF_ACCOUNT,
    ASFF_FUNCTION,
    ASFF_KEY,
    ASFF_ROLE,
    ASFF_SECRET,
    FUNCTION,
    SECRET,
    TROUBLESHOOT,
    Check,
)

__all__ = ["ACCOUNT", "ASFF_ACCOUNT", "ASFF_FUNCTION", "ASFF_KEY", "ASFF_ROLE", "ASFF_SECRET", "BY_ID", "CHECKS",
           "CONCERNS", "FUNCTION", "FUNCTION_CHECKS", "ORDER", "RUN_ORDER", "SECRET", "SECRET_CHECKS", "TROUBLESHOOT",
           "Check", "declared", "run_order"]  # fmt: skip

# The modules that declare checks, in the order their findings are shown for one subject.
CONCERNS: tuple[ModuleType, ...] = (
    account, function, network, invocation, secret, keys, grants, rotation, last_rotation, external, database, value,
    replica,
)  # fmt: skip


def declared(module: ModuleType) -> tuple[Check[Any], ...]:
    """The checks ``module`` declares, in the order it declares them."""
    return tuple(v for v in vars(module).values() if isinstance(v, Check) and v.module == module.__name__)


def run_order(checks: tuple[Check[Any], ...]) -> tuple[Check[Any], ...]:
    """The checks with code of one kind of subject, each after every check of that kind it
    depends on (``needs``, ``follows_from``); among those ready, in the order of ``checks``.
    A check's dependencies on the function's checks are met by judging every function before
    any secret. Raises ValueError on a cycle, or on a dependency that cannot be met."""
    table = set(checks)
    for c in checks:
        for d in c.depends_on:
            if d.about != c.about:
                if (c.about, d.about) != (SECRET, FUNCTION):
                    raise ValueError(
                        f"check {c.id} ({c.about}) depends on {d.id} ({d.about}), which is judged after it"
                    )
                continue
            if d not in table:
                raise ValueError(f"check {c.id} depends on {d.id}, which is not in the table")
            if d in c.needs and d.run is None:
                raise ValueError(f"check {c.id} needs {d.id}, which has no code of its own (reported_by)")
    todo = [c for c in checks if c.run is not None]
    done: list[Check[Any]] = []

    def judged(d: Check[Any]) -> bool:  # a check without code is judged by the check that reports it
        return (d.reported_by or d) in done

    while todo:
        ready = next((c for c in todo if all(judged(d) or d.about != c.about for d in c.depends_on)), None)
        if ready is None:
            raise ValueError("checks that depend on each other: " + ", ".join(c.id for c in todo))
        done.append(ready)
        todo.remove(ready)
    return tuple(done)


CHECKS: tuple[Check[Any], ...] = tuple(c for module in CONCERNS for c in declared(module))
BY_ID = {c.id: c for c in CHECKS}
FUNCTION_CHECKS = tuple(c.id for c in CHECKS if c.about == FUNCTION)
SECRET_CHECKS = tuple(c.id for c in CHECKS if c.about == SECRET)
ORDER = {c.id: i for i, c in enumerate(CHECKS)}  # the order of findings of one subject
RUN_ORDER: dict[str, tuple[Check[Any], ...]] = {
    about: run_order(tuple(c for c in CHECKS if c.about == about)) for about in (FUNCTION, SECRET)
}
