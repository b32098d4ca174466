"""What every check sees: the :class:`Context` (the manifest's module, the account reader,
the clock) and the derivations several checks share (the function's real role, a secret's
resolved key, whether a key policy lets a role). Nothing here fetches except through
the account reader (:class:`generator.live.reader.Reader`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any, TypeVar

from generator import aws_calls, policies
from generator import model as model_mod
from generator import policy_eval as pe
from generator.live.client import LiveError
from generator.live.reader import Reader

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


T = TypeVar("T")
D = TypeVar("D")


def or_else(default: D, read: Callable[[], T]) -> T | D:
    """``read()``, or ``default`` where AWS does not answer it (any LiveError): for what a check
    can judge without (the manifest's key when the account's cannot be read). The check whose
    subject it is reports the error itself."""
    try:
        return read()
    except LiveError:
        return default


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
        self, read: Reader, module: model_mod.Module, *, read_values: bool, now: datetime,
        before_apply: bool = False,
    ):  # fmt: skip
        self.read = read
        self.m = module
        self.read_values = read_values
        self.now = now
        self.before_apply = before_apply
        # (function key, check id) -> status, once every function was judged: what the
        # secrets' checks that follow from a function check read (SecretSubject.status)
        self.function_statuses: dict[tuple[str, str], str] = {}
        self.fn_by_key = {fn.key: fn for fn in module.functions}
        self.root_arn = f"arn:{module.partition}:iam::{module.account_id}:root"

    def conf_or_none(self, fn: model_mod.FunctionPlan) -> tuple[bool, dict[str, Any] | None]:
        """(known, configuration): known is False when the caller may not read it."""
        return or_else((False, None), lambda: (True, self.read.function_conf(fn.function_name)))

    def role_of(self, fn: model_mod.FunctionPlan) -> tuple[str | None, str | None]:
        """(role ARN, role name) the function runs as; the module's role before it exists."""
        known, conf = self.conf_or_none(fn)
        if not known:
            return None, None  # unreadable: never guess the role
        if conf is not None:
            m = ROLE_ARN.match(conf.get("Role", ""))
            return conf.get("Role"), (m.group(2) if m else None)
        if fn.role_arn and not fn.existing:
            return fn.role_arn, fn.role_name  # the function and its role do not exist yet: the module's
        return None, None

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
        return or_else(s.kms_key_arn, lambda: self.resolve_key(d.get("KmsKeyId"))[0])

    def master_key(self, s: model_mod.SecretPlan) -> str | None:
        """The customer managed key of the secret's master secret (None: none, or the AWS
        managed key, or no master secret); the manifest's when it cannot be read."""
        master = s.master_arn
        if not master:
            return None

        def read() -> str | None:
            md = self.read.secret(secret_id(master))
            return None if md is None else self.resolve_key(md.get("KmsKeyId"))[0]

        return or_else(s.master_kms_key_arn, read)

    def master_arn(self, pattern: str) -> str:
        """The master secret's real ARN when the manifest gives a name or a partial ARN."""
        md = or_else(None, lambda: self.read.secret(secret_id(pattern)))
        return str(md["ARN"]) if md else pattern

    def master_resource(self, s: model_mod.SecretPlan) -> str | None:
        """The database an RDS- or Redshift-managed master secret's tag names, which AWS's
        code describes (None: not such a master, or the tag cannot be read or is not an ARN
        of its kind; the module's grant on the account's databases is then what is asked)."""
        pattern = _TAGGED.get(s.master_kind or "")
        master = s.master_arn
        if not master or pattern is None:
            return None
        md = or_else(None, lambda: self.read.secret(secret_id(master)))
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
