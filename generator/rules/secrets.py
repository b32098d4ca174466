"""Rules on each secret: its name and ARN, its function and master secret, its keys, its
schedule (generator/schedules.py), and the fields of a secret the module creates or that
its own service rotates (managed: true)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from generator import aws, aws_calls, schedules
from generator.errors import Diagnostic, Path
from generator.manifest import Function, Secret
from generator.rules import external as external_rules
from generator.rules.scope import Scope, arn, kms_key, missing_suffix, same_account, secret_arn, tags


def check(sc: Scope, name: str, sec: Secret, functions: dict[str, Function]) -> list[Diagnostic]:
    path = ("secrets", name)
    out = _name(sc, path, name, sec)
    if sec.previous_names:
        out.append(renamed(sc, path, name, sec))
    if sec.external is not None:
        out += external_rules.check(sc, path, name, sec)
        if not sec.create:
            return out + _created(sc, path, sec)  # the fields of created secrets are errors here too
        if sec.tags:
            out += tags(sc, path + ("tags",), sec.tags, sc.manifest_tags)
        return out + _replicas(sc, path, sec)
    if sec.managed:
        return out + _service_rotated(sc, path, sec)
    if sec.function is None:
        if not sc.is_dropped(path + ("function",)):
            out.append(
                sc.err(
                    path + ("function",),
                    "give function (the key of a rotation function), managed: true when the service "
                    "that owns the secret rotates it, or external when Secrets Manager rotates it with a partner",
                )
            )
        return out
    fn = functions.get(sec.function)
    if fn is None and sc.raw_function_keys is not None and sec.function not in sc.raw_function_keys:
        close = difflib.get_close_matches(sec.function, sorted(sc.raw_function_keys), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if "functions" not in sc.source.data:
            hint = "; the manifest has no functions: add them, or set managed: true where the secret's own service rotates it"
        out.append(sc.err(path + ("function",), f"no function named {sec.function!r} in functions{hint}"))
    if sec.arn is not None:
        out += secret_arn(sc, path + ("arn",), sec.arn, name)
    if sec.kms_key_arn is not None:
        out += kms_key(sc, path + ("kms_key_arn",), sec.kms_key_arn)
    if fn is not None and not sc.is_dropped(path + ("master_secret",)):
        out += _needs_master(sc, path, sec, fn)
    if sec.replica_of_master is not None:
        out += _replica(sc, path, sec, fn)
    if sec.master_secret is not None:
        out += _master(sc, path, name, sec, fn)
        if sec.master_secret.kms_key_arn is not None:
            out += kms_key(sc, path + ("master_secret", "kms_key_arn"), sec.master_secret.kms_key_arn)
    out += schedules.check(sc.source, path + ("schedule",), sec.schedule, sc.dropped)
    out += _created(sc, path, sec, fn)
    if fn is not None and sec.connection is not None:
        out += _clone_name(sc, path + ("connection", "username"), sec.connection.username, sec.function, fn)
    return out


def _clone_name(sc: Scope, path: Path, username: str, key: str, fn: Function) -> list[Diagnostic]:
    """Alternating users: AWS's function refuses to clone a user whose name would pass its
    limit once _clone is appended (aws_calls.CLONE_LIMITS); the first rotation would fail."""
    function = aws_calls.function_for(fn.engine, fn.strategy)
    if fn.strategy != "alternating_users" or function not in aws_calls.CLONE_LIMITS:
        return []
    limit, env = aws_calls.CLONE_LIMITS[function]
    raised = fn.package.username_character_limit if fn.package is not None else None
    if env is not None and raised is not None:
        limit = raised
    clone = username + aws_calls.CLONE_SUFFIX
    if username.endswith(aws_calls.CLONE_SUFFIX) or len(clone) <= limit:
        return []
    how = ""
    if env is not None:
        how = (
            f", or raise {env} with functions.{key}.package.username_character_limit (MySQL 5.7.8 and later "
            f"allow {aws.MYSQL_USERNAME_MAX})"
            if fn.package is not None
            else f", or raise {env} in the function's environment"
        )
    return [
        sc.err(
            path,
            f"{username!r} becomes {clone!r} ({len(clone)} characters) when AWS's {function} clones it, over its "
            f"limit of {limit}{' (' + env + ')' if env else ''}: the first rotation would fail. Use a user name "
            f"of at most {limit - len(aws_calls.CLONE_SUFFIX)} characters{how}",
        )
    ]


def _needs_master(sc: Scope, path: Path, sec: Secret, fn: Function) -> list[Diagnostic]:
    """A master secret exactly where AWS's function reads one (aws_calls: every alternating-users
    function, and Db2's single-user one, as a Db2 user cannot change its own password); and a
    master that the function can use (an rds!cluster- master needs a function that reads its tag)."""
    needed = aws_calls.reads_master(fn.engine, fn.strategy)
    mpath = path + ("master_secret",)
    if needed and sec.master_secret is None:
        if fn.strategy == "alternating_users":
            return [sc.err(mpath, f"function {sec.function!r} uses alternating_users, which needs a master_secret")]
        return [
            sc.err(
                mpath,
                f"function {sec.function!r} rotates {fn.engine} single_user, which needs a master_secret: a "
                f"{fn.engine} user cannot change its own password, so AWS's rotation function "
                f"({aws_calls.function_for(fn.engine, fn.strategy)}) sets it as the admin user of the master "
                f"secret ({aws_calls.STRATEGY_PAGE})",
            )
        ]
    if not needed and sec.master_secret is not None:
        return [sc.err(mpath, f"function {sec.function!r} uses {fn.strategy}, which takes no master_secret")]
    master = sec.master_secret
    if master is None or fn.rotation_app is not None:
        return []
    name = master.name if master.name is not None else aws.secret_name(master.arn or "")
    kind = aws_calls.master_kind(name, master.managed_by)
    function = aws_calls.function_for(fn.engine, fn.strategy)
    redshift = name.startswith("redshift!")
    if master.managed_by is not None and not redshift:
        return [
            sc.err(
                mpath + ("managed_by",),
                f"managed_by says which Redshift resource owns a Redshift-managed admin secret (redshift!...); "
                f"{name!r} is not one: remove managed_by",
            )
        ]
    if redshift and not aws_calls.REDSHIFT_MASTER_KINDS.get(function):
        return [
            sc.err(
                mpath,
                f"{name!r} is a Redshift-managed admin secret (redshift!...), which holds no host: only AWS's "
                f"Redshift alternating-users function looks it up from the secret's tags, not {function}; give a "
                "master secret with host and engine",
            )
        ]
    if kind == aws_calls.REDSHIFT_MANAGED:
        return [
            sc.err(
                mpath,
                f"{name!r} is a Redshift-managed admin secret (redshift!...), and its name does not say what owns "
                "it: set managed_by: redshift_cluster (a provisioned cluster's; AWS's function then calls "
                "redshift:DescribeClusters) or redshift_serverless (a Serverless namespace's; "
                "redshift-serverless:ListNamespaces and ListWorkgroups)",
            )
        ]
    if kind in aws_calls.RDS_MANAGED_KINDS and kind not in aws_calls.RDS_MASTER_KINDS.get(function, ()):
        supported = aws_calls.RDS_MASTER_KINDS.get(function, ())
        can = f"it reads only an {' or '.join(k + '-' for k in supported)} master" if supported else "it reads none"
        return [
            sc.err(
                mpath,
                f"{name!r} is an RDS-managed master secret ({kind}-...), which holds no host: AWS's {function} "
                f"looks the host up from the secret's tag, and {can}; give a master secret with host and engine",
            )
        ]
    return []


def _replica(sc: Scope, path: Path, sec: Secret, fn: Function | None) -> list[Diagnostic]:
    """replica_of_master: exactly one of its fields, a master secret to be a replica of, and a
    function whose AWS code accepts that kind of replica (aws_calls.REPLICA_PATHS)."""
    r = sec.replica_of_master
    assert r is not None
    rpath = path + ("replica_of_master",)
    if (r.db_instance is None) == (r.db_cluster is None):
        return [
            sc.err(
                rpath,
                "give db_instance (the secret's host is a read replica of the master's DB instance) or db_cluster "
                "(an Aurora reader of the master's cluster)" + (", not both" if r.db_instance else ""),
            )
        ]
    if fn is None:
        return []
    function = aws_calls.function_for(fn.engine, fn.strategy)
    if not aws_calls.reads_master(fn.engine, fn.strategy):
        return [
            sc.err(
                rpath,
                f"replica_of_master says the secret's host is a replica of its master secret's database; function "
                f"{sec.function!r} ({fn.engine} {fn.strategy}) reads no master secret: remove replica_of_master",
            )
        ]
    kind = aws_calls.REPLICA_INSTANCE if r.db_instance is not None else aws_calls.REPLICA_CLUSTER
    supported = aws_calls.REPLICA_PATHS.get(function, ())
    if kind not in supported:
        why = (
            "accepts only a read replica of the master's DB instance (db_instance), not an Aurora reader"
            if supported
            else "accepts no host other than its master's (it has no is_rds_replica_database): give the secret its "
            "master's host and remove replica_of_master"
        )
        return [sc.err(rpath + (kind,), f"AWS's {function} {why}")]
    if fn.rotation_app is not None:
        return [
            sc.err(
                rpath,
                f"function {sec.function!r} is AWS's rotation application, which runs as the role the application "
                "creates: the module cannot grant it the replica check; use package or existing_function_arn",
            )
        ]
    return []


def renamed(sc: Scope, path: Path, name: str, sec: Secret) -> Diagnostic:
    """Secrets Manager has no rename: a moved block would only hide a replacement."""
    olds = ", ".join(repr(o) for o in sec.previous_names)
    message = (
        f"Secrets Manager cannot rename a secret: {olds} and {name!r} are different secrets, so the plan "
        f"deletes the rotation of {olds} and creates one for {name!r} whatever the module writes "
        "(a moved block would still replace it)"
    )
    if sec.create:
        days = sec.recovery_window_days
        restore = f"restorable for {days} days" if days else "at once, without recovery"
        message += (
            f"; and this module created {olds}: the apply deletes it ({restore}) and creates {name!r} "
            "with a new random password that the database does not know. Keep the old name, or remove "
            "previous_names if that is what you want"
        )
    else:
        message += f". Remove previous_names (list {olds} as a secret of its own to keep rotating it)"
    return sc.err(path + ("previous_names",), message)


def _first_rotation(sc: Scope, path: Path, sec: Secret, fn: Function) -> list[Diagnostic]:
    """A created secret's first password is random and no database knows it. A single_user
    function logs in with it, so rotation can only start once someone has set it in the
    database; an alternating_users function has the master secret set the password."""
    p: Path = path + ("password_in_database",)
    if fn.strategy == "single_user":
        if sec.password_in_database is None:
            return [
                sc.err(
                    path + ("create",),
                    "a single_user function logs in with the secret's current password, and the database does "
                    "not know the random first password the module creates, so the first rotation would fail. "
                    "Set password_in_database: false (the module creates the secret without rotation and "
                    "lists it in the output passwords_to_set; set that password in the database, then set "
                    "password_in_database: true), or use an alternating_users function, whose master secret "
                    "sets the password",
                )
            ]
        if sec.password_in_database is False and sec.rotate_immediately:
            return [
                sc.err(
                    path + ("rotate_immediately",),
                    "rotation stays off while password_in_database is false; set rotate_immediately once it is true",
                )
            ]
        return []
    if sec.password_in_database is not None:
        return [
            sc.err(
                p,
                "password_in_database is for single_user functions; with alternating_users the master secret sets the password",
            )
        ]
    if not sec.rotate_immediately:
        return [
            sc.warn(
                path + ("rotate_immediately",),
                "without rotate_immediately, Secrets Manager tests the new rotation with the secret's current "
                "version (the testSecret step), whose random password the database does not know; "
                "rotate_immediately: true lets the master secret set the password first",
            )
        ]
    return []


def _name(sc: Scope, path: Path, name: str, sec: Secret) -> list[Diagnostic]:
    name_re = aws.SERVICE_SECRET_NAME_RE if sec.managed else aws.SECRET_NAME_RE
    if name and len(name) <= aws.SECRET_NAME_MAX and name_re.match(name):
        return []
    if not sec.managed and "!" in name and aws.SERVICE_SECRET_NAME_RE.match(name):
        return [
            sc.err(
                path,
                f"secret name {name!r} holds '!', which only secrets created by an AWS service carry "
                "(RDS: rds!db-<id>); if the service rotates it, set managed: true instead of function",
            )
        ]
    allowed = r"[A-Za-z0-9/_+=.@!-]" if sec.managed else r"[A-Za-z0-9/_+=.@-]"
    bad = sorted({c for c in name if not re.match(allowed, c)})
    detail = f" (not allowed: {' '.join(repr(c) for c in bad)})" if bad else ""
    return [
        sc.err(path, f"secret name {name!r} must be 1-{aws.SECRET_NAME_MAX} of letters, digits and /_+=.@-{detail}")
    ]


def _service_rotated(sc: Scope, path: Path, sec: Secret) -> list[Diagnostic]:
    """managed: true -- the owning service rotates the secret (managed rotation,
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_managed.html):
    the module only sets the schedule, so the function-related fields have no meaning."""
    out = []
    if sec.function is not None:
        out.append(
            sc.err(
                path + ("function",),
                "a managed secret is rotated by the service that owns it: remove function (or managed: true)",
            )
        )
    for field, why in (
        ("master_secret", "the service rotates its own secret"),
        ("replica_of_master", "the service rotates its own secret"),
        ("kms_key_arn", "the module grants no function access to the secret"),
    ):
        if getattr(sec, field) is not None:
            out.append(sc.err(path + (field,), f"{field} does not apply to a managed secret: {why}"))
    if sec.create:
        out.append(
            sc.err(
                path + ("create",),
                "a managed secret is created by its service (manage_master_user_password), not by the module",
            )
        )
    if sec.arn is not None:
        out += secret_arn(sc, path + ("arn",), sec.arn, str(path[1]))
    out += schedules.check(sc.source, path + ("schedule",), sec.schedule, sc.dropped)
    if not sec.create:
        out += _created(sc, path, sec)  # the fields of created secrets are errors here too
    return out


def _master(sc: Scope, path: Path, name: str, sec: Secret, fn: Function | None) -> list[Diagnostic]:
    """The master secret: by ARN, or by name (its grants then name AWS's partial ARN,
    name-??????, like a rotated secret given by name)."""
    master = sec.master_secret
    assert master is not None
    mpath = path + ("master_secret",)
    if (master.arn is None) == (master.name is None):
        return [
            sc.err(
                mpath,
                "give the master secret's arn or its name, not both"
                if master.arn
                else "give the master secret's arn or its name",
            )
        ]
    if master.arn is not None:
        p = mpath + ("arn",)
        parsed, out = arn(sc, p, master.arn, "secretsmanager", "a Secrets Manager secret")
        if parsed is not None:
            m = aws.SECRET_RESOURCE_RE.match(parsed.resource)
            given = parsed.resource.removeprefix("secret:")
            if not m and parsed.resource.startswith("secret:") and aws.SECRET_NAME_RE.match(given):
                by_name = sec.create or (fn is not None and fn.rotation_app is not None)
                out.append(
                    sc.err(
                        p,
                        missing_suffix(master.arn, given)
                        + (
                            "; give the full ARN (DescribeSecret shows it)"
                            if by_name
                            else f"; give the full ARN, or replace arn with name: {given} (the grants then name "
                            "AWS's partial ARN, name-??????)"
                        ),
                    )
                )
            elif not m:
                out.append(sc.err(p, f"{master.arn!r} is not a secret ARN (…:secret:<name>-<6 characters>)"))
            elif m.group(1) == name:
                out.append(sc.err(p, "the master secret must be a different secret from the one it rotates"))
            else:
                out += same_account(sc, p, parsed)
        return out
    p = mpath + ("name",)
    assert master.name is not None
    # a service's own secret (rds!db-...) may be a master: '!' is allowed here
    if not master.name or len(master.name) > aws.SECRET_NAME_MAX or not aws.SERVICE_SECRET_NAME_RE.match(master.name):
        return [
            sc.err(p, f"secret name {master.name!r} must be 1-{aws.SECRET_NAME_MAX} of letters, digits and /_+=.@-")
        ]
    if master.name == name:
        return [sc.err(p, "the master secret must be a different secret from the one it rotates")]
    if sec.create:
        return [
            sc.err(
                p, "a created secret's first version names its master secret by ARN (masterarn); give master_secret.arn"
            )
        ]
    if fn is not None and fn.rotation_app is not None:
        return [
            sc.err(
                p, "AWS's rotation application takes the master secret's ARN (masterSecretArn); give master_secret.arn"
            )
        ]
    return []


def _created(sc: Scope, path: Path, sec: Secret, fn: Function | None = None) -> list[Diagnostic]:
    """create: true -- the module creates the secret and its first version; the fields for
    that are errors on any other secret."""
    out: list[Diagnostic] = []
    if not sec.create:
        if sec.password_in_database is not None:
            out.append(sc.err(path + ("password_in_database",), "password_in_database is only used with create: true"))
        for field in ("description",) if sec.external is not None else ("description", "connection"):
            if getattr(sec, field) is not None:
                out.append(sc.err(path + (field,), f"{field} is only used with create: true"))
        if sec.replicas:
            out.append(sc.err(path + ("replicas",), "replicas are only used with create: true"))
        if sec.recovery_window_days != 30:
            out.append(sc.err(path + ("recovery_window_days",), "recovery_window_days is only used with create: true"))
        if sec.tags:
            out.append(
                sc.err(
                    path + ("tags",),
                    "tags on a secret are only used with create: true (the module tags what it creates; "
                    "tag an existing secret where it is defined, and the function's role with functions.<name>.tags)",
                )
            )
        return out
    if sec.tags:
        out += tags(sc, path + ("tags",), sec.tags, sc.manifest_tags)
    if sec.arn is not None:
        out.append(sc.err(path + ("arn",), "a secret with create: true gets its ARN when it is created; remove arn"))
    if sec.import_:
        out.append(sc.err(path + ("import",), "a secret with create: true has no existing rotation to import"))
    if fn is not None and not sc.is_dropped(path + ("password_in_database",)):
        out += _first_rotation(sc, path, sec, fn)
    if sec.connection is None:
        out.append(
            sc.err(path + ("connection",), "create: true needs connection (host, username; port and dbname optional)")
        )
    lo, hi = aws.RECOVERY_WINDOW_MIN, aws.RECOVERY_WINDOW_MAX
    if sec.recovery_window_days != 0 and not lo <= sec.recovery_window_days <= hi:
        out.append(
            sc.err(
                path + ("recovery_window_days",), f"{sec.recovery_window_days} must be 0 (delete at once) or {lo}-{hi}"
            )
        )
    if sec.description is not None and any(ord(c) < 0x20 and c not in "\t\n\r" for c in sec.description):
        out.append(
            sc.err(path + ("description",), "the description holds control characters that Secrets Manager rejects")
        )
    return out + _replicas(sc, path, sec)


def _replicas(sc: Scope, path: Path, sec: Secret) -> list[Diagnostic]:
    out = []
    seen: set[str] = set()
    for i, rep in enumerate(sec.replicas):
        p: tuple[Any, ...] = path + ("replicas", i)
        if rep.region not in aws.REGIONS:
            out.append(sc.err(p + ("region",), f"{rep.region!r} is not an AWS region"))
        elif rep.region == sc.head.region:
            out.append(sc.err(p + ("region",), "a replica must be in another region than the secret"))
        elif sc.partition is not None and aws.partition_of(rep.region) != sc.partition:
            out.append(sc.err(p + ("region",), f"{rep.region!r} is in another partition"))
        if rep.region in seen:
            out.append(sc.err(p + ("region",), f"{rep.region!r} is listed twice"))
        seen.add(rep.region)
        if rep.kms_key_arn is not None:
            parsed = aws.parse_arn(rep.kms_key_arn)
            if (
                parsed is None
                and aws.KEY_RESOURCE_RE.match(f"key/{rep.kms_key_arn}")
                and sc.partition is not None
                and sc.head.account_id is not None
                and rep.region in aws.REGIONS
            ):
                full = aws.Arn(sc.partition, "kms", rep.region, sc.head.account_id, f"key/{rep.kms_key_arn}")
                out.append(
                    sc.err(
                        p + ("kms_key_arn",),
                        f"{rep.kms_key_arn!r} is a KMS key id, not an ARN; did you mean {str(full)!r} "
                        "(in this manifest's account and the replica's region)?",
                    )
                )
            elif parsed is None or parsed.service != "kms" or not aws.KEY_RESOURCE_RE.match(parsed.resource):
                out.append(sc.err(p + ("kms_key_arn",), f"{rep.kms_key_arn!r} is not a KMS key ARN"))
            elif parsed.region != rep.region:
                out.append(
                    sc.err(p + ("kms_key_arn",), f"the replica's key must be in {rep.region}, not {parsed.region}")
                )
    return out
