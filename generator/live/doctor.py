"""``rotation-tf doctor``: for the account a manifest describes, can each rotation succeed?

Every check yields :class:`~generator.live.findings.Finding` records (subject, check,
status, message, fix). A check that could not run because the caller was denied an action
is ``unknown`` and names the action; it is never a pass.

One root cause, one failure: a check that follows from a failing one is ``unknown`` and
names it (``Finding.cause``: the secrets' grants and rotation follow from their function's
``function`` or ``role`` check, which runs first; grants follow from ``key-policy``,
``kms-key`` or ``master-secret``), and findings with one cause and one fix are grouped into
one naming every subject (:func:`generator.live.findings.group`). With ``before_apply``
(``doctor --before-apply``) what this module's apply creates or changes is a warning, "the
apply does this: ..." (:meth:`generator.live.checks.context.Findings.by_apply`); only what
the apply cannot fix fails.

The room it lives in:

* :mod:`generator.live.reader` -- the account reader: everything read from AWS, each thing
  fetched once, behind one interface;
* :mod:`generator.live.checks` -- the checks by concern, each a function from what was read
  to findings;
* :mod:`generator.live.registry` -- each check's id, title, severity, help text, AWS source,
  Security Hub control and ASFF resource type (what the renderers read);
* this module -- runs the checks of every function and secret on the reader's pool and
  orders the findings: each function, then its secrets (the text table's grouping).

API calls: ``ListSecrets``, 100 secrets a call (an entry carries the key, the rotation,
the schedule, ``LastRotatedDate`` and the version stages); ``DescribeSecret`` only for a
secret the list did not answer, and again for a secret with a finding that is not a pass
(the list is eventually consistent); ``GetSecretValue`` only with ``--read-values``;
everything per function, role, policy, key, VPC and security group is fetched once
(:class:`generator.live.client.Memo`); CloudTrail's rotation events once a run, and one paged
``FilterLogEvents`` per secret whose rotation shows a sign of failure (``last-rotation``).
"""

from __future__ import annotations

import queue
from concurrent.futures import Future
from datetime import datetime

from generator import model as model_mod
from generator.live import checks
from generator.live.client import Aws
from generator.live.findings import FAIL, PASS, STATUSES, UNKNOWN, WARN, Finding, Report, denied_fix, group
from generator.live.reader import AccountReader
from generator.live.registry import FUNCTION_CHECKS, ORDER, SECRET_CHECKS

__all__ = ["FAIL", "FUNCTION_CHECKS", "PASS", "SECRET_CHECKS", "STATUSES", "UNKNOWN", "WARN", "Doctor", "Finding",
           "Report", "denied_fix"]  # fmt: skip


class Doctor:
    def __init__(
        self, aws: Aws, module: model_mod.Module, *, read_values: bool = False, now: datetime | None = None,
        list_secrets: bool = True, before_apply: bool = False, simulate: bool = True,
    ):  # fmt: skip
        """``list_secrets=False`` describes every secret one by one (the bench's "before");
        ``simulate=False`` (``--no-simulate``) never asks IAM's policy simulator."""
        self.m = module
        self.list_secrets = list_secrets
        self.before_apply = before_apply
        self.reader = AccountReader(aws, module.region, simulate=simulate)
        self.ctx = checks.Context(
            self.reader, module, read_values=read_values, now=now or checks.context.now(), before_apply=before_apply
        )
        self._subject_order: dict[str, int] = {}
        for i, fn in enumerate(module.functions):  # each function, then its secrets (the text table's grouping)
            self._subject_order[fn.key] = 1 + i * 1_000_000
            for j, sec in enumerate(fn.secrets, 1):
                self._subject_order.setdefault(sec.name, 1 + i * 1_000_000 + j)

    def run(self) -> Report:
        account = self.reader.caller_account()
        if account != self.m.account_id:
            return self._report([Finding(
                self.m.account_id, "account", FAIL,
                f"the credentials are for account {account}, the manifest describes {self.m.account_id}",
                f"use credentials for account {self.m.account_id}: a profile for it (--profile), or --assume-role NAME "
                "to read it through a read-only role in it (docs/organization.md; rotation-tf caller-policy doctor "
                "--assume-role NAME prints both policies)",
            )])  # fmt: skip
        # The secrets are listed page after page while the functions' checks run beside them
        # on the pool (those read functions, roles, keys and networks, never a secret); once
        # the functions are judged, each secret is checked as soon as the page naming it (and
        # its master secret) is in, while the next pages are fetched.
        secrets = self.m.secrets
        waiting: dict[str, list[int]] = {}  # a secret id not listed yet -> the secrets reading it
        missing: list[set[str]] = []
        for i, s in enumerate(secrets):
            missing.append(set(_secret_ids(s)))
            for ident in missing[-1]:
                waiting.setdefault(ident, []).append(i)
        ready: queue.SimpleQueue[int | None] = queue.SimpleQueue()

        def listed(idents: list[str]) -> None:  # on the listing's thread, after each page
            for ident in idents:
                for i in waiting.pop(ident, ()):
                    missing[i].discard(ident)
                    if not missing[i]:
                        ready.put(i)

        def list_all() -> None:
            try:
                self.reader.list_secrets(list(waiting), listed)
            finally:
                ready.put(None)

        listing = self.reader.aws.submit(list_all) if self.list_secrets else None
        found: list[Finding] = []
        for got in self.reader.map(lambda fn: checks.function_checks(self.ctx, fn), self.m.functions):
            found += got
        self.ctx.function_failures = frozenset((f.subject, f.check) for f in found if f.status == FAIL)

        def check(i: int) -> list[Finding]:
            return checks.secret_checks(self.ctx, secrets[i])

        started: dict[int, Future[list[Finding]]] = {}
        if listing is not None:
            while (next_one := ready.get()) is not None:
                started[next_one] = self.reader.aws.submit(check, next_one)
            listing.result()
        for i in range(len(secrets)):  # not listed (or not listing): described one by one
            if i not in started:
                started[i] = self.reader.aws.submit(check, i)
        by_secret = [started[i].result() for i in range(len(secrets))]
        # ListSecrets may lag by minutes: a secret judged from its list entry with anything but
        # a pass is described and judged again, so that no failure rests on a stale entry.
        again = [i for i, (s, got) in enumerate(zip(self.m.secrets, by_secret, strict=True))
                 if any(f.status != PASS for f in got) and self.reader.forget_listed(_secret_ids(s))]  # fmt: skip
        for i, got in zip(
            again, self.reader.map(lambda i: checks.secret_checks(self.ctx, self.m.secrets[i]), again), strict=True
        ):
            by_secret[i] = got
        for got in by_secret:
            found += got
        return self._report(found)

    def _order(self, f: Finding) -> tuple[int, int, str, int]:
        return (
            self._subject_order.get(f.subject, 0),
            0 if f.subject in self.ctx.fn_by_key else 1,
            f.subject,
            ORDER.get(f.check, 99),
        )

    def _report(self, found: list[Finding]) -> Report:
        """The findings in the text table's order, those of one cause and one fix grouped."""
        findings = group(sorted(found, key=self._order))
        return Report(self.m.account_id, self.m.region, findings, self.reader.calls, self.before_apply)


def _secret_ids(s: model_mod.SecretPlan) -> list[str]:
    """The ids the checks of ``s`` read secrets by: its own, and its master secret's."""
    return [s.arn or s.name] + ([checks.context.secret_id(s.master_arn)] if s.master_arn else [])
