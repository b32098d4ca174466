"""Across accounts: the caller's own session, the read-only role it assumes in every other
account, the organization's account list, and a bounded pool that runs accounts at once.

* The role is ``arn:<partition>:iam::<account>:role/<NAME>`` in every account (one name, put
  there by a StackSet: docs/organization.md). ``sts:AssumeRole`` is called once per account
  with the caller's own credentials; the temporary credentials it returns open an
  :class:`~generator.live.client.Aws` for each region of that account.
* ``--external-id`` and ``--role-session-name`` are passed through as AWS takes them
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html: a session name
  is 2-64 characters of ``[\\w+=,.@-]``, an external id 2-1224 of ``[\\w+=,./@:-]``); the
  session name defaults to ``rotation-tf``, so that CloudTrail names the tool.
* ``organizations:ListAccounts`` is followed to its last page and keeps the accounts whose
  ``State`` is ``ACTIVE`` (``Status`` where an older API answers without ``State``: AWS
  retires ``Status`` in 2026,
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html).
* Accounts run concurrently on a pool of at most ``--max-accounts`` threads; within an
  account, each Aws keeps the per-account concurrency it has alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from generator.live.client import ApiError, Aws, Credentials, LiveError, ServiceFailure

T = TypeVar("T")

DEFAULT_SESSION_NAME = "rotation-tf"
DEFAULT_MAX_ACCOUNTS = 8
# IAM role names (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html): 1-64 of
# [\w+=,.@-], optionally after a path of the same characters.
_ROLE_NAME = re.compile(r"^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", re.ASCII)
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
_EXTERNAL_ID = re.compile(r"^[\w+=,./@:-]{2,1224}$", re.ASCII)
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_PARTITION = re.compile(r"^arn:([a-z-]+):")


@dataclass(frozen=True)
class AssumeRole:
    """What ``--assume-role``, ``--external-id`` and ``--role-session-name`` say."""

    name: str
    external_id: str | None = None
    session_name: str = DEFAULT_SESSION_NAME

    def arn(self, partition: str, account: str) -> str:
        return f"arn:{partition}:iam::{account}:role/{self.name}"

    def problems(self) -> list[str]:
        """Usage errors (exit 2), before any call."""
        out = []
        if not _ROLE_NAME.match(self.name):
            out.append(f"--assume-role {self.name!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-)")
        if not _SESSION_NAME.match(self.session_name):
            out.append(
                f"--role-session-name {self.session_name!r} must be 2-64 of letters, digits and +=,.@_- (AssumeRole's rule)"
            )
        if self.external_id is not None and not _EXTERNAL_ID.match(self.external_id):
            out.append("--external-id must be 2-1224 of letters, digits and +=,./@:_- (AssumeRole's rule)")
        return out


def account_problems(accounts: Iterable[str]) -> list[str]:
    return [f"{a!r} is not a 12-digit AWS account id" for a in accounts if not _ACCOUNT.match(a)]


class Caller:
    """The caller's own credentials: who it is, the roles it assumes, the organization's accounts.

    Each account's role is assumed once, however many manifests or regions it has; the
    credentials (or the error) are remembered for the run.
    """

    def __init__(self, open_aws: Callable[[tuple[str, ...]], Aws]):
        self._open = open_aws
        self._aws: Aws | None = None
        self._lock = threading.Lock()
        self._assumed: dict[str, Credentials | LiveError | ServiceFailure] = {}
        self.account = ""
        self.partition = "aws"

    def __enter__(self) -> Caller:
        return self

    def __exit__(self, *_: Any) -> None:
        if self._aws is not None:
            self._aws.close()

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            self._aws = self._open(("sts", "organizations"))
        return self._aws

    @property
    def calls(self) -> int:
        return self._aws.total_calls if self._aws is not None else 0

    def identify(self) -> str:
        """The caller's account (raises Unreachable when AWS cannot be reached at all)."""
        ident = self.aws.call("sts", "GetCallerIdentity", "get_caller_identity")
        self.account = str(ident.get("Account", ""))
        m = _ARN_PARTITION.match(str(ident.get("Arn", "")))
        self.partition = m.group(1) if m else "aws"
        return self.account

    def credentials(self, role: AssumeRole, partition: str, account: str) -> Credentials:
        """The role's temporary credentials in ``account``; raises the LiveError (or ServiceFailure) that refused them."""
        with self._lock:
            got = self._assumed.get(account)
        if got is None:
            try:
                got = self._assume(role, partition, account)
            except (LiveError, ServiceFailure) as exc:
                got = exc
            with self._lock:
                got = self._assumed.setdefault(account, got)
        if isinstance(got, (LiveError, ServiceFailure)):
            raise got
        return got

    def _assume(self, role: AssumeRole, partition: str, account: str) -> Credentials:
        kwargs: dict[str, Any] = {"RoleArn": role.arn(partition, account), "RoleSessionName": role.session_name}
        if role.external_id is not None:
            kwargs["ExternalId"] = role.external_id
        creds = self.aws.call("sts", "AssumeRole", "assume_role", **kwargs).get("Credentials") or {}
        try:
            return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        except KeyError:
            raise ApiError("sts:AssumeRole", "NoCredentials", "the answer held no credentials") from None

    def organization_accounts(self) -> list[str]:
        """The ACTIVE accounts of the organization, sorted (every page of ListAccounts)."""
        listed = self.aws.pages("organizations", "ListAccounts", "list_accounts", "Accounts")
        return sorted({str(a["Id"]) for a in listed if (a.get("State") or a.get("Status")) == "ACTIVE"})


def bounded(fn: Callable[[Any], T], items: list[Any], bound: int) -> list[T]:
    """``fn`` over ``items`` on at most ``bound`` threads, results in order."""
    if len(items) <= 1 or bound <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(bound, len(items)), thread_name_prefix="rotation-tf-account") as pool:
        return list(pool.map(fn, items))
