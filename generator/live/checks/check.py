"""What a ``doctor`` check is, and what its code sees while it judges one subject.

A check is declared once, in the module that judges it (cfn-lint's rule class, Prowler's
metadata file): its id, title, severity, help, the AWS page its rule comes from, the Security
Hub controls it matches, the ASFF type of what it is about, which secrets it judges, what it
reads from the account (methods of :class:`generator.live.reader.Reader`) and the checks it
depends on:

* ``needs``: checks of the same subject that must have found what it judges. It runs only
  where each of them ran and did not stop (a function that does not exist has no runtime; a
  secret that cannot be read has no key to judge).
* ``follows_from``: checks whose failure its finding may name as its cause
  (:func:`generator.live.findings.caused`): a secret's ``grants`` follows from its
  function's ``role``, and from its own ``kms-key``.

The declaration is a typed constant (``KMS_KEY``), so a misspelt check is an undefined name to
mypy rather than a string; :mod:`generator.live.registry` builds the table the renderers read,
and the order the checks run in, from the declarations.

A check's code is a function decorated by its declaration (``@KMS_KEY.judged_by``). It gets
the subject (:class:`FunctionSubject` or :class:`SecretSubject`) and adds its findings there;
it reads AWS through ``on.read`` and the statuses of the checks it declared
(:meth:`Subject.status`, :meth:`Subject.cause`); reading the status of a check it did not
declare is an error. An AWS error it does not handle makes its finding ``unknown`` (denied:
naming the action) and stops the checks that need it: :func:`judge` is the one place where a
:class:`~generator.live.client.LiveError` becomes a finding.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from generator import model as model_mod
from generator.live.client import LiveError
from generator.live.findings import FAIL, WARN, Finding, caused, unknown

if TYPE_CHECKING:
    from generator.live.checks.context import Context
    from generator.live.reader import Reader

# What a finding's subject is (its ``about``).
FUNCTION, SECRET, ACCOUNT = "function", "secret", "account"
# How a secret rotates (its ``kind``): which secrets a secret check judges.
BY_FUNCTION = "function"  # a Lambda rotation function the manifest names
BY_SERVICE = "service"  # managed: true, rotated by the service that owns it
BY_PARTNER = "external"  # a managed external secret, rotated by Secrets Manager as the module's role
EVERY_SECRET = (BY_FUNCTION, BY_SERVICE, BY_PARTNER)

# ASFF resource types (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resources.html)
ASFF_SECRET = "AwsSecretsManagerSecret"
ASFF_FUNCTION = "AwsLambdaFunction"
ASFF_ROLE = "AwsIamRole"
ASFF_KEY = "AwsKmsKey"
ASFF_ACCOUNT = "AwsAccount"

SM_GUIDE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide"
TROUBLESHOOT = f"{SM_GUIDE}/troubleshoot_rotation.html"

# Tests set it (tests/conftest.py): a check that reads what it did not declare is an error.
STRICT_READS_ENV = "ROTATION_TF_STRICT_READS"

S = TypeVar("S", bound="Subject")


@dataclass(frozen=True, eq=False)
class Check(Generic[S]):
    """One check's declaration. Declare it with :func:`function_check`, :func:`secret_check`
    or :func:`account_check`, in the module whose function judges it."""

    id: str
    about: str  # FUNCTION, SECRET or ACCOUNT: what a finding's subject is
    title: str
    severity: str  # ASFF severity label of a failure: CRITICAL, HIGH, MEDIUM, LOW
    help: str
    source: str  # the AWS page the rule comes from
    resource_type: str  # the ASFF resource type the finding is about
    controls: tuple[str, ...] = ()  # Security Hub controls that match
    kinds: tuple[str, ...] = ()  # a secret check: the secrets it judges (BY_FUNCTION, BY_SERVICE, BY_PARTNER)
    needs: tuple[Check[S], ...] = ()  # same subject: it runs only where these ran and did not stop
    follows_from: tuple[Check[Any], ...] = ()  # whose failure its finding may name as its cause
    reads: tuple[Callable[..., Any], ...] = ()  # Reader methods, e.g. Reader.secret
    # the check whose code reports this one, from what it read (egress: network); it has no code of its own
    reported_by: Check[S] | None = None
    module: str = ""  # the module that declares and judges it
    run: Callable[[S], None] | None = field(default=None, repr=False)

    def judged_by(self, run: Callable[[S], None]) -> Callable[[S], None]:
        """Decorates the function that judges this check (once, where it is declared)."""
        assert self.run is None, f"check {self.id} is judged twice"
        object.__setattr__(self, "run", run)
        return run

    @property
    def depends_on(self) -> tuple[Check[Any], ...]:
        return self.needs + tuple(c for c in self.follows_from if c not in self.needs)

    @property
    def read_names(self) -> frozenset[str]:
        return frozenset(r.__name__ for r in self.reads)


def _declared_in() -> str:
    """The module that called the declaring function (two frames up)."""
    return str(sys._getframe(2).f_globals.get("__name__", ""))


def function_check(
    id: str, title: str, severity: str, help: str, source: str, resource_type: str, *,
    needs: tuple[Check[FunctionSubject], ...] = (), reads: tuple[Callable[..., Any], ...] = (),
    reported_by: Check[FunctionSubject] | None = None, controls: tuple[str, ...] = (),
) -> Check[FunctionSubject]:  # fmt: skip
    """A check of each function (subject: the function's key)."""
    return Check(id, FUNCTION, title, severity, help, source, resource_type, controls, (), needs, (), reads,
                 reported_by, _declared_in())  # fmt: skip


def secret_check(
    id: str, title: str, severity: str, help: str, source: str, resource_type: str, *,
    kinds: tuple[str, ...] = EVERY_SECRET, needs: tuple[Check[SecretSubject], ...] = (),
    follows_from: tuple[Check[Any], ...] = (), reads: tuple[Callable[..., Any], ...] = (),
    reported_by: Check[SecretSubject] | None = None, controls: tuple[str, ...] = (),
) -> Check[SecretSubject]:  # fmt: skip
    """A check of each secret (subject: the secret's name)."""
    return Check(id, SECRET, title, severity, help, source, resource_type, controls, kinds, needs, follows_from,
                 reads, reported_by, _declared_in())  # fmt: skip


def account_check(
    id: str, title: str, severity: str, help: str, source: str, resource_type: str, *,
    reads: tuple[Callable[..., Any], ...] = (),
) -> Check[Any]:  # fmt: skip
    """A check of the account itself (subject: the account id), judged before any other."""
    return Check(id, ACCOUNT, title, severity, help, source, resource_type, reads=reads, module=_declared_in())


class UndeclaredRead(AssertionError):
    """A check read a status, a subject's fact or (in tests) the account through a method it
    did not declare: a mistake in the check's declaration."""


class Subject:
    """What a check's code sees of one subject: the run's :class:`Context` (``on.ctx``), the
    account reader (``on.read``), the findings so far and the statuses it declared."""

    def __init__(self, ctx: Context, name: str):
        self._ctx = ctx
        self.name = name
        self.findings: list[Finding] = []
        self._check: Check[Any] | None = None  # the check whose code runs now
        self._done: set[Check[Any]] = set()  # ran, and did not stop
        self._stopped = False
        self._views: dict[Check[Any], Context] = {}
        self._strict = os.environ.get(STRICT_READS_ENV) == "1"

    def judges(self, check: Check[Any]) -> bool:
        """Whether ``check`` is about this subject (its about, and for a secret its kinds)."""
        raise NotImplementedError

    # ---- what the check reads ------------------------------------------------------------
    @property
    def ctx(self) -> Context:
        """The run's context; in tests its reader answers only what the check declared."""
        check = self._running()
        if not self._strict:
            return self._ctx
        view = self._views.get(check)
        if view is None:
            view = self._views[check] = copy.copy(self._ctx)
            view.read = cast("Reader", _Guarded(self._ctx.read, check))
        return view

    @property
    def read(self) -> Reader:
        return self.ctx.read

    def status(self, check: Check[Any]) -> str | None:
        """The status of ``check``'s (first) finding on this subject; None: none yet."""
        self._declared(check)
        return next((f.status for f in self.findings if f.check == check.id), None)

    def cause(self, *checks: Check[Any]) -> tuple[str, str] | None:
        """(subject, check) of the first of ``checks`` that failed: the cause a finding names."""
        for check in checks:
            self._declared(check)
            if self.status(check) == FAIL:
                return (self.name, check.id)
        return None

    # ---- what the check finds ------------------------------------------------------------
    def add(self, check: Check[Any], status: str, message: str, fix: str = "", *, field: tuple[str, ...] = (),
            details: Mapping[str, Any] | None = None, cause: tuple[str, str] | None = None) -> None:  # fmt: skip
        """``field``: the manifest field the finding is about, within its subject's entry
        (SARIF's region), where the check knows it better than the registry's default.
        ``details``: what backs the finding (:attr:`generator.live.findings.Finding.details`).
        ``cause``: (subject, check) of a failure that explains this finding, one the check
        declared in follows_from (see also :meth:`caused`)."""
        self._reports(check)
        if cause is not None:
            self._follows(cause)
        self.findings.append(Finding(self.name, check.id, status, message, fix, field=field, details=details,
                                     cause=cause))  # fmt: skip

    def caused(self, check: Check[Any], cause: tuple[str, str], what: str = "") -> None:
        """``check``'s finding follows from ``cause`` (subject, check), a failure: unknown."""
        self._reports(check)
        self._follows(cause)
        self.findings.append(caused(self.name, check.id, cause, what))

    def unknown(self, check: Check[Any], exc: LiveError, *, then: str = "",
                details: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        """``check``'s finding where AWS did not answer and the check says more than judge()
        would: ``then`` is added to the message (", so ..."), ``details`` what it read before."""
        self._reports(check)
        f = unknown(self.name, check.id, exc)
        self.findings.append(replace(f, message=f.message + then, details=details))

    def by_apply(self, check: Check[Any], now: str, does: str, fix: str, *, field: tuple[str, ...] = ()) -> None:
        """What this module's apply changes: a failure of the account as it is (``now``, fixed
        by ``fix``); with --before-apply a warning saying what the apply ``does``."""
        if self._ctx.before_apply:
            self.add(check, WARN, APPLY_DOES + does, "run terraform apply, then doctor again without --before-apply",
                     field=field)  # fmt: skip
        else:
            self.add(check, FAIL, now, fix, field=field)

    def stop(self) -> None:
        """What the checks that need this one would judge is not there (the function or the
        secret does not exist): they do not run on this subject."""
        self._stopped = True

    # ---- the declarations, held to -------------------------------------------------------
    def _running(self) -> Check[Any]:
        assert self._check is not None, "a check's subject is used outside judge()"
        return self._check

    def _declared(self, check: Check[Any]) -> None:
        running = self._running()
        if check is not running and check.reported_by is not running and check not in running.depends_on:
            raise UndeclaredRead(f"check {running.id} reads {check.id} without declaring it (needs or follows_from)")

    def _follows(self, cause: tuple[str, str]) -> None:
        running = self._running()
        if cause[1] not in {c.id for c in running.follows_from}:
            raise UndeclaredRead(
                f"check {running.id} names {cause[1]} as its cause without declaring it (follows_from)"
            )

    def _reports(self, check: Check[Any]) -> None:
        running = self._running()
        if check is not running and check.reported_by is not running:
            raise UndeclaredRead(
                f"check {running.id} reports {check.id}, whose declaration does not say so (reported_by)"
            )

    def _fact(self, owner: Check[Any] | None, what: str) -> None:
        running = self._running()
        if owner is None or (running is not owner and owner not in running.needs):
            raise UndeclaredRead(f"check {running.id} reads the {what} without needing the check that reads it")


APPLY_DOES = "the apply does this: "


class FunctionSubject(Subject):
    """A function of the manifest (subject: its key). ``conf``: its configuration, as the
    ``function`` check read it (None: it does not exist yet, and the module creates it)."""

    def __init__(self, ctx: Context, fn: model_mod.FunctionPlan):
        super().__init__(ctx, fn.key)
        self.fn = fn
        self._conf: dict[str, Any] | None = None
        self._conf_by: Check[Any] | None = None

    @property
    def conf(self) -> dict[str, Any] | None:
        self._fact(self._conf_by, "function's configuration")
        return self._conf

    @conf.setter
    def conf(self, conf: dict[str, Any] | None) -> None:
        self._conf, self._conf_by = conf, self._running()

    def judges(self, check: Check[Any]) -> bool:
        return check.about == FUNCTION


class SecretSubject(Subject):
    """A secret of the manifest (subject: its name). ``d``: its description, as the ``secret``
    check read it (DescribeSecret's shape; from ListSecrets where it was listed)."""

    def __init__(self, ctx: Context, s: model_mod.SecretPlan):
        super().__init__(ctx, s.name)
        self.s = s
        self.kind = BY_PARTNER if s.external is not None else BY_SERVICE if s.function is None else BY_FUNCTION
        self._fn = ctx.fn_by_key[s.function] if s.function is not None else None
        self._d: dict[str, Any] = {}
        self._d_by: Check[Any] | None = None

    @property
    def fn(self) -> model_mod.FunctionPlan:
        """The function that rotates the secret (checks of BY_FUNCTION secrets only)."""
        assert self._fn is not None, f"secret {self.name} has no function"
        return self._fn

    @property
    def d(self) -> dict[str, Any]:
        self._fact(self._d_by, "secret's description")
        return self._d

    @d.setter
    def d(self, d: dict[str, Any]) -> None:
        self._d, self._d_by = d, self._running()

    def judges(self, check: Check[Any]) -> bool:
        return check.about == SECRET and self.kind in check.kinds

    def status(self, check: Check[Any]) -> str | None:
        if check.about != FUNCTION:
            return super().status(check)
        self._declared(check)  # the secret's function's check, judged before any secret
        return self._ctx.function_statuses.get((self.fn.key, check.id))

    def cause(self, *checks: Check[Any]) -> tuple[str, str] | None:
        for check in checks:
            if self.status(check) == FAIL:
                return (self.fn.key if check.about == FUNCTION else self.name, check.id)
        return None


def judge(on: S, checks: Iterable[Check[S]]) -> list[Finding]:
    """Run ``checks``, each after the checks it depends on (:data:`generator.live.registry.RUN_ORDER`),
    on one subject, and return its findings. A check runs where it judges this subject (its
    about and kinds) and each check it needs ran without stopping. An AWS error its code does
    not handle is its finding: ``unknown``, naming the action when denied (never a pass), and
    the checks that need it do not run."""
    for check in checks:
        if not on.judges(check) or any(n not in on._done for n in check.needs):
            continue
        assert check.run is not None, f"check {check.id} has no code (judged_by)"
        on._check, on._stopped = check, False
        try:
            check.run(on)
        except LiveError as exc:
            on.findings.append(unknown(on.name, check.id, exc))
        else:
            if not on._stopped:
                on._done.add(check)
        finally:
            on._check = None
    return on.findings


class _Guarded:
    """The reader as one check sees it in tests: only the methods it declared in ``reads``."""

    def __init__(self, reader: Any, check: Check[Any]):
        self._reader = reader
        self._check = check

    def __getattr__(self, name: str) -> Any:
        if name not in self._check.read_names:
            raise UndeclaredRead(f"check {self._check.id} reads {name} without declaring it (reads)")
        return getattr(self._reader, name)
