"""What every check sees: the :class:`Context` (the manifest's module, the account reader,
the clock) and the derivations several checks share (the function's real role, a secret's
resolved key, whether a key policy lets a role). Nothing here fetches except through
:class:`generator.live.reader.AccountReader`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from typing import Any

from generator import aws_calls, policies
from generator import model as model_mod
from generator.live import policy_eval as pe
from generator.live.client import LiveError
from generator.live.findings import FAIL, WARN, Finding, caused, unknown
from generator.live.reader import AccountReader

SECRETS_PRINCIPAL = "secretsmanager.amazonaws.com"
ROLE_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):role/(?:.*/)?([^/]+)$")
# What a service-managed master's tag may name (anything else is not used as a resource).
_TAGGED = {
    aws_calls.RDS_MANAGED_DB: re.compile(r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:db:[A-Za-z0-9-]{1,63}$"),
    aws_calls.RDS_MANAGED_CLUSTER: re.compile(r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z0-9-]{1,63}$"),
    aws_calls.REDSHIFT_MANAGED_CLUSTER: re.compile(
        r"^arn:aws[a-z-]*:redshift:[a-z0-9-]+:\d{12}:cluster:[a-z0-9-]{1,63}$"
    ),
}


APPLY_DOES = "the apply does this: "


class Findings(list[Finding]):
    """The findings one check function returns."""

    def add(self, subject: str, check: str, status: str, message: str, fix: str = "", *,
            field: tuple[str, ...] = (), details: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        """``field``: the manifest field the finding is about, within its subject's entry
        (SARIF's region), where the check knows it better than the registry's default.
        ``details``: what backs the finding (:attr:`generator.live.findings.Finding.details`)."""
        self.append(Finding(subject, check, status, message, fix, field=field, details=details))

    def unknown(self, subject: str, check: str, exc: LiveError) -> None:
        self.append(unknown(subject, check, exc))

    def caused(self, subject: str, check: str, cause: tuple[str, str], what: str = "") -> None:
        self.append(caused(subject, check, cause, what))

    def by_apply(self, ctx: Context, subject: str, check: str, now: str, does: str, fix: str, *,
                 field: tuple[str, ...] = ()) -> None:  # fmt: skip
        """What this module's apply changes: a failure of the account as it is (``now``, fixed
        by ``fix``); with --before-apply a warning saying what the apply ``does``."""
        if ctx.before_apply:
            self.add(subject, check, WARN, APPLY_DOES + does, "run terraform apply, then doctor again without --before-apply",
                     field=field)  # fmt: skip
        else:
            self.add(subject, check, FAIL, now, fix, field=field)

    def status(self, subject: str, check: str) -> str | None:
        return next((f.status for f in self if f.check == check and subject in f.subjects), None)


def now() -> datetime:
    """Now, or noon UTC of ``$ROTATION_TF_TODAY`` (YYYY-MM-DD) when set, the date the runtime
    table also uses: tests and CI pin the clock with it."""
    from generator import runtimes

    pinned = os.environ.get(runtimes.TODAY_ENV, "").strip()
    if pinned:
        try:
            return datetime.combine(date.fromisoformat(pinned), time(12, 0), tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.now(timezone.utc)


def secret_id(arn: str) -> str:
    """What DescribeSecret takes for a secret the manifest names by ARN or, as AWS's
    partial-ARN pattern (``...:secret:name-??????``), by name."""
    if arn.endswith("-??????"):
        return arn.split(":secret:", 1)[1][: -len("-??????")]
    return arn


class Context:
    def __init__(
        self, read: AccountReader, module: model_mod.Module, *, read_values: bool, now: datetime,
        before_apply: bool = False,
    ):  # fmt: skip
        self.read = read
        self.m = module
        self.read_values = read_values
        self.now = now
        self.before_apply = before_apply
        # (subject, check) of every function check that failed: the secrets' checks that
        # follow from one are unknown, naming it (set after the function checks ran)
        self.function_failures: frozenset[tuple[str, str]] = frozenset()
        self.fn_by_key = {fn.key: fn for fn in module.functions}
        self.root_arn = f"arn:{module.partition}:iam::{module.account_id}:root"

    def conf_or_none(self, fn: model_mod.FunctionPlan) -> tuple[bool, dict[str, Any] | None]:
        """(known, configuration): known is False when the caller may not read it."""
        try:
            return True, self.read.function_conf(fn.function_name)
        except LiveError:
            return False, None

    def role_of(self, fn: model_mod.FunctionPlan) -> tuple[str | None, str | None]:
        """(role ARN, role name) the function runs as; the module's role before it exists."""
        try:
            conf = self.read.function_conf(fn.function_name)
        except LiveError:
            return None, None  # unreadable: never guess the role
        if conf is not None:
            m = ROLE_ARN.match(conf.get("Role", ""))
            return conf.get("Role"), (m.group(2) if m else None)
        if fn.role_arn and not fn.existing:
            return fn.role_arn, fn.role_name  # the function and its role do not exist yet: the module's
        return None, None

    def function_cause(self, fn: model_mod.FunctionPlan, *checks: str) -> tuple[str, str] | None:
        """(function key, check) of the first of ``checks`` that failed for ``fn``."""
        return next(((fn.key, c) for c in checks if (fn.key, c) in self.function_failures), None)

    def resolve_key(self, key_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(customer managed key ARN or None for an AWS managed key, metadata)."""
        if not key_id:
            return None, None
        meta = self.read.key(key_id)
        if meta is None:
            return key_id, None
        if meta.get("KeyManager") == "AWS":
            return None, meta
        return meta["Arn"], meta

    def secret_key(self, s: model_mod.SecretPlan, d: dict[str, Any]) -> str | None:
        """The customer managed key the secret is encrypted with (None: the AWS managed
        key); the manifest's when the key cannot be read."""
        try:
            return self.resolve_key(d.get("KmsKeyId"))[0]
        except LiveError:
            return s.kms_key_arn

    def master_key(self, s: model_mod.SecretPlan) -> str | None:
        """The customer managed key of the secret's master secret (None: none, or the AWS
        managed key, or no master secret); the manifest's when it cannot be read."""
        if not s.master_arn:
            return None
        try:
            md = self.read.secret(secret_id(s.master_arn))
            if md is None:
                return None
            return self.resolve_key(md.get("KmsKeyId"))[0]
        except LiveError:
            return s.master_kms_key_arn

    def master_arn(self, pattern: str) -> str:
        """The master secret's real ARN when the manifest gives a name or a partial ARN."""
        try:
            md = self.read.secret(secret_id(pattern))
        except LiveError:
            md = None
        return str(md["ARN"]) if md else pattern

    def master_resource(self, s: model_mod.SecretPlan) -> str | None:
        """The database an RDS- or Redshift-managed master secret's tag names, which AWS's
        code describes (None: not such a master, or the tag cannot be read or is not an ARN
        of its kind; the module's grant on the account's databases is then what is asked)."""
        pattern = _TAGGED.get(s.master_kind or "")
        if not s.master_arn or pattern is None:
            return None
        try:
            md = self.read.secret(secret_id(s.master_arn))
        except LiveError:
            return None
        tag = aws_calls.MASTER_TAGS[s.master_kind or ""]
        values = [str(t.get("Value", "")) for t in (md or {}).get("Tags") or [] if str(t.get("Key", "")).lower() == tag]
        return values[0] if values and pattern.match(values[0]) else None

    def account_grant(
        self, s: model_mod.SecretPlan, arn: str, key_arn: str | None, master_key: str | None
    ) -> policies.SecretGrant:
        """The secret's path as the account holds it: its real ARN and key, its master's real
        ARN and key, and the database a managed master's tag names."""
        master = self.master_arn(s.master_arn) if s.master_arn else None
        return policies.SecretGrant(arn, key_arn, master, master_key, s.master_kind, s.replica, self.master_resource(s))

    def request_context(self, r: policies.Request) -> dict[str, str]:
        """The condition context of a request as the function makes it: the keys of its path,
        the caller's account, and for KMS what Secrets Manager adds on the caller's behalf."""
        if r.action.startswith("kms:"):
            return self.kms_context(r.context_map)
        return {"aws:PrincipalAccount": self.m.account_id, **r.context_map}

    def kms_context(self, extra: dict[str, str]) -> dict[str, str]:
        return {"kms:ViaService": f"secretsmanager.{self.m.region}.amazonaws.com", "kms:CallerAccount": self.m.account_id,
                "aws:PrincipalAccount": self.m.account_id, **extra}  # fmt: skip

    def key_allows(
        self, key_arn: str, role_arn: str, actions: tuple[str, ...], context: dict[str, str]
    ) -> tuple[str, str]:
        """('role' | 'iam' | 'no' | 'deny' | 'unsure', detail) for the key policy and this role."""
        doc = self.read.key_policy(key_arn)
        ctx = self.kms_context(context)
        role_results = [pe.evaluate([doc], pe.Request(a, key_arn, ctx), principals=[role_arn]) for a in actions]
        if pe.DENIED in role_results:
            return "deny", "the key policy denies the role"
        if all(r == pe.ALLOWED for r in role_results):
            return "role", "names the role"
        root = [
            pe.evaluate([doc], pe.Request(a, key_arn, ctx), principals=[self.root_arn, self.m.account_id])
            for a in actions
        ]
        if all(r == pe.ALLOWED for r in root):
            return "iam", "delegates to IAM (the account's root principal)"
        if pe.UNSURE in role_results + root:
            return "unsure", "has conditions doctor cannot evaluate"
        return "no", ""
