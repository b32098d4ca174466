"""``value`` (``--read-values`` only): the value is JSON with the keys the engine's
function needs. The value is never printed, logged or kept: the reader hands back its keys
and its ``engine`` only."""

from __future__ import annotations

from generator import engines
from generator.live.checks.check import ASFF_SECRET, BY_FUNCTION, SM_GUIDE, SecretSubject, secret_check
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS, WARN
from generator.live.reader import Reader

# The keys AWS's rotation functions read from a database secret
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
VALUE_KEYS = ("engine", "host", "username", "password")


VALUE = secret_check(
    "value", "The secret's value has what the rotation function reads", "MEDIUM",
    "--read-values: the value is JSON with the keys the engine's function needs; it is never shown.",
    f"{SM_GUIDE}/reference_secret_json_structure.html", ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,), reads=(Reader.value_shape,),
)  # fmt: skip


@VALUE.judged_by
def value(on: SecretSubject) -> None:
    """--read-values: which keys the value has. The value itself is never seen here."""
    if not on.ctx.read_values:
        return
    fn = on.fn
    if fn.engine == "other":
        on.add(VALUE, PASS, "engine other: the function's needs are its own; not checked")
        return
    shape = on.read.value_shape(on.d["ARN"])
    keys, engine = shape.keys, shape.fields.get("engine")
    engine_ok = keys is not None and engine == engines.secret_engine(fn.engine)
    if keys is None:
        on.add(VALUE, FAIL, f"the current value is not a JSON object: {shape.why}",
               "store the database credentials as one flat JSON object (engine, host, username, password)")  # fmt: skip
        return
    need = VALUE_KEYS + (("masterarn",) if fn.strategy == "alternating_users" else ())
    missing = [k for k in need if k not in keys]
    if missing:
        on.add(VALUE, FAIL, f"the current value lacks {', '.join(missing)}, which the {fn.engine} rotation function reads",
                f"add {', '.join(missing)} to the secret's JSON")  # fmt: skip
    elif fn.strategy == "single_user" and "masterarn" in keys:
        on.add(VALUE, WARN, "the value names a master secret (masterarn), but the function rotates single_user",
                f"if the function uses alternating users, set functions.{fn.key}.strategy: alternating_users and the master_secret")  # fmt: skip
    elif not engine_ok:
        want = engines.secret_engine(fn.engine)
        on.add(VALUE, WARN, f"the value's engine is not {want!r}, which AWS's {fn.engine} functions expect",
               f"set engine to {want!r} in the secret's JSON")  # fmt: skip
    else:
        on.add(VALUE, PASS, f"the current value has {', '.join(need)} (values not shown)")
