"""``value`` (``--read-values`` only): the value is JSON with the keys the engine's
function needs. The value is never printed, logged or kept: the reader hands back its keys
and its ``engine`` only."""

from __future__ import annotations

from generator import engines
from generator import model as model_mod
from generator.live.checks.context import Context, Findings
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, WARN, Finding

# The keys AWS's rotation functions read from a database secret
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
VALUE_KEYS = ("engine", "host", "username", "password")


def value(ctx: Context, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, arn: str) -> list[Finding]:
    """--read-values: which keys the value has. The value itself is never seen here."""
    out = Findings()
    n = s.name
    if fn.engine == "other":
        out.add(n, "value", PASS, "engine other: the function's needs are its own; not checked")
        return out
    try:
        shape = ctx.read.value_shape(arn)
    except LiveError as exc:
        out.unknown(n, "value", exc)
        return out
    keys, engine = shape.keys, shape.fields.get("engine")
    engine_ok = keys is not None and engine == engines.secret_engine(fn.engine)
    if keys is None:
        out.add(
            n,
            "value",
            FAIL,
            f"the current value is not a JSON object: {shape.why}",
            "store the database credentials as one flat JSON object (engine, host, username, password)",
        )
        return out
    need = VALUE_KEYS + (("masterarn",) if fn.strategy == "alternating_users" else ())
    missing = [k for k in need if k not in keys]
    if missing:
        out.add(n, "value", FAIL, f"the current value lacks {', '.join(missing)}, which the {fn.engine} rotation function reads",
                f"add {', '.join(missing)} to the secret's JSON")  # fmt: skip
    elif fn.strategy == "single_user" and "masterarn" in keys:
        out.add(n, "value", WARN, "the value names a master secret (masterarn), but the function rotates single_user",
                f"if the function uses alternating users, set functions.{fn.key}.strategy: alternating_users and the master_secret")  # fmt: skip
    elif not engine_ok:
        want = engines.secret_engine(fn.engine)
        out.add(
            n,
            "value",
            WARN,
            f"the value's engine is not {want!r}, which AWS's {fn.engine} functions expect",
            f"set engine to {want!r} in the secret's JSON",
        )
    else:
        out.add(n, "value", PASS, f"the current value has {', '.join(need)} (values not shown)")
    return out
