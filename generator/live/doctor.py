"""``rotation-tf doctor``: for the account a manifest describes, can each rotation succeed?

Every check yields :class:`~generator.live.findings.Finding` records (subject, check,
status, message, fix). A check that could not run because the caller was denied an action
is ``unknown`` and names the action; it is never a pass.

One root cause, one failure: a check that follows from a failing one is ``unknown`` and
names it (``Finding.cause``; each check declares what it follows from: the secrets' grants
and rotation follow from their function's ``function`` or ``role`` check, judged first;
grants follow from ``key-policy``, ``kms-key`` or ``master-secret``), and findings with one
cause and one fix are grouped into one naming every subject
(:func:`generator.live.findings.group`). With ``before_apply`` (``doctor --before-apply``)
what this module's apply creates or changes is a warning, "the apply does this: ..."
(:meth:`generator.live.checks.check.Subject.by_apply`); only what the apply cannot fix fails.

The room it lives in:

* :mod:`generator.live.reader` -- the account reader: everything read from AWS, each thing
  fetched once, behind one interface;
* :mod:`generator.live.checks` -- the checks by concern, each declared once beside the
  function that judges it (:mod:`generator.live.checks.check`: what a check is);
* :mod:`generator.live.registry` -- the table of every check, and the order they run in,
  built from the declarations (what the renderers read);
* this module -- judges every function, then every secret, on the reader's pool, each
  subject's checks in the registry's order (:func:`generator.live.checks.check.judge`), and
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
from generator.live.checks import account, context
from generator.live.checks.check import FunctionSubject, SecretSubject, judge
from generator.live.checks.context import Context, secret_id
from generator.live.client import Aws
from generator.live.findings import FAIL, PASS, STATUSES, UNKNOWN, WARN, Finding, Report, denied_fix, group
from generator.live.reader import AccountReader
from generator.live.registry import FUNCTION, FUNCTION_CHECKS, ORDER, RUN_ORDER, SECRET, SECRET_CHECKS

__all__ = ["FAIL", "FUNCTION_CHECKS", "PASS", "SECRET_CHECKS", "STATUSES", "UNKNOWN", "WARN", "Doctor", "Finding",
           "Report", "denied_fix"]  # fmt: skip


class Doctor:
    def __init__(
        self, aws: Aws | None, module: model_mod.Module, *, read_values: bool = False, now: datetime | None = None,
        list_secrets: bool = True, before_apply: bool = False, simulate: bool = True,
        reader: AccountReader | None = None,
    ):  # fmt: skip
        """``list_secrets=False`` describes every secret one by one (the bench's "before");
        ``simulate=False`` (``--no-simulate``) never asks IAM's policy simulator. ``reader``:
        the account as read already (tests: one held in dicts, tests/helpers/fake_account.py),
        instead of ``aws``'s."""
        self.m = module
        self.list_secrets = list_secrets
        self.before_apply = before_apply
        if reader is None:
            assert aws is not None
            reader = AccountReader(aws, module.region, simulate=simulate)
        self.reader = reader
        self.ctx = Context(self.reader, module, read_values=read_values, now=now or context.now(),
                           before_apply=before_apply)  # fmt: skip
        self._subject_order: dict[str, int] = {}
        for i, fn in enumerate(module.functions):  # each function, then its secrets (the text table's grouping)
            self._subject_order[fn.key] = 1 + i * 1_000_000
            for j, sec in enumerate(fn.secrets, 1):
                self._subject_order.setdefault(sec.name, 1 + i * 1_000_000 + j)

    def run(self) -> Report:
        wrong = account.wrong_account(self.reader, self.m)
        if wrong is not None:
            return self._report([wrong])
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

        listing = self.reader.submit(list_all) if self.list_secrets else None
        found: list[Finding] = []
        for got in self.reader.map(self._judge_function, self.m.functions):
            found += got
        for f in found:  # what the secrets' checks that follow from a function check read
            self.ctx.function_statuses.setdefault((f.subject, f.check), f.status)

        def check(i: int) -> list[Finding]:
            return self._judge_secret(secrets[i])

        started: dict[int, Future[list[Finding]]] = {}
        if listing is not None:
            while (next_one := ready.get()) is not None:
                started[next_one] = self.reader.submit(check, next_one)
            listing.result()
        for i in range(len(secrets)):  # not listed (or not listing): described one by one
            if i not in started:
                started[i] = self.reader.submit(check, i)
        by_secret = [started[i].result() for i in range(len(secrets))]
        # ListSecrets may lag by minutes: a secret judged from its list entry with anything but
        # a pass is described and judged again, so that no failure rests on a stale entry.
        again = [i for i, (s, got) in enumerate(zip(self.m.secrets, by_secret, strict=True))
                 if any(f.status != PASS for f in got) and self.reader.forget_listed(_secret_ids(s))]  # fmt: skip
        for i, got in zip(again, self.reader.map(lambda i: self._judge_secret(self.m.secrets[i]), again), strict=True):
            by_secret[i] = got
        for got in by_secret:
            found += got
        return self._report(found)

    def _judge_function(self, fn: model_mod.FunctionPlan) -> list[Finding]:
        return judge(FunctionSubject(self.ctx, fn), RUN_ORDER[FUNCTION])

    def _judge_secret(self, s: model_mod.SecretPlan) -> list[Finding]:
        return judge(SecretSubject(self.ctx, s), RUN_ORDER[SECRET])

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
    return [s.arn or s.name] + ([secret_id(s.master_arn)] if s.master_arn else [])
