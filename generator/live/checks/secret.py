"""``secret`` (subject: the secret's name): the secret exists. Every other check of a secret
needs it: they judge the description it reads (``on.d``: DescribeSecret's shape, from
ListSecrets where the secret was listed), and do not run where the secret is missing or
cannot be read."""

from __future__ import annotations

from generator.live.checks.check import (
    APPLY_DOES,
    ASFF_SECRET,
    BY_PARTNER,
    BY_SERVICE,
    SM_GUIDE,
    SecretSubject,
    secret_check,
)
from generator.live.findings import FAIL, PASS, WARN
from generator.live.reader import Reader

SECRET_EXISTS = secret_check(
    "secret", "The secret exists", "HIGH",
    "The secret the manifest names exists in the region (a secret the module creates may not, before apply).",
    f"{SM_GUIDE}/manage_search-secret.html", ASFF_SECRET,
    reads=(Reader.secret,),
)  # fmt: skip


@SECRET_EXISTS.judged_by
def secret(on: SecretSubject) -> None:
    s, ctx = on.s, on.ctx
    d = on.read.secret(s.arn or s.name)
    if d is not None:
        on.d = d
        owner = f" (owned by {d['OwningService']})" if on.kind == BY_SERVICE and d.get("OwningService") else ""
        on.add(SECRET_EXISTS, PASS, f"{d['ARN']} exists{owner}")
        return
    on.stop()
    missing = f"secret {s.arn or s.name} does not exist in {ctx.m.region}"
    if on.kind == BY_SERVICE:
        on.add(SECRET_EXISTS, FAIL, missing,
               "a managed secret exists once its database has manage_master_user_password; fix the name or arn")  # fmt: skip
    elif on.kind == BY_PARTNER:
        x = s.external
        assert x is not None
        if s.managed is not None:
            on.add(SECRET_EXISTS, WARN, "does not exist yet; terraform apply creates it with its type",
                   "run terraform apply, put the partner's fields in it, then doctor again")  # fmt: skip
        else:
            on.add(SECRET_EXISTS, FAIL, missing,
                   f"create it as a {x.secret_type} secret with the partner's fields ({x.page}), or fix its name or arn")  # fmt: skip
    elif s.managed is not None and ctx.before_apply:
        on.add(SECRET_EXISTS, WARN, f"{APPLY_DOES}creates the secret",
               "run terraform apply, then doctor again without --before-apply")  # fmt: skip
    elif s.managed is not None:
        on.add(
            SECRET_EXISTS,
            WARN,
            "does not exist yet; terraform apply creates it",
            "run terraform apply, then doctor again",
        )
    else:
        on.add(SECRET_EXISTS, FAIL, missing, "fix the secret's name or arn in the manifest, or create the secret")
