"""``account`` (subject: the account id): the credentials are for the account the manifest
describes. Judged before any other check; where it fails, nothing else is judged (another
account would be judged instead)."""

from __future__ import annotations

from generator import model as model_mod
from generator.live.checks.check import ASFF_ACCOUNT, account_check
from generator.live.findings import FAIL, Finding
from generator.live.reader import Reader

ACCOUNT_MATCHES = account_check(
    "account", "The credentials are for the manifest's account", "HIGH",
    "doctor reads the account the manifest describes; other credentials would judge another account.",
    "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html", ASFF_ACCOUNT,
    reads=(Reader.caller_account,),
)  # fmt: skip


def wrong_account(read: Reader, m: model_mod.Module) -> Finding | None:
    """The failure when the credentials are another account's; None when they are the manifest's.
    An AWS error here ends the run (exit 3): without the account nothing can be judged."""
    account = read.caller_account()
    if account == m.account_id:
        return None
    return Finding(
        m.account_id, ACCOUNT_MATCHES.id, FAIL,
        f"the credentials are for account {account}, the manifest describes {m.account_id}",
        f"use credentials for account {m.account_id}: a profile for it (--profile), or --assume-role NAME "
        "to read it through a read-only role in it (docs/organization.md; rotation-tf caller-policy doctor "
        "--assume-role NAME prints both policies)",
    )  # fmt: skip
