"""Rules on a managed external secret (``external:``): its partner metadata, checked against
the type's page (generator/partners.py), and the fields that have no meaning without a
rotation function."""

from __future__ import annotations

import difflib

from generator import aws, partners, schedules
from generator.errors import Diagnostic, Path
from generator.manifest import Secret
from generator.rules.scope import Scope, arn, kms_key, same_account, secret_arn


def check(sc: Scope, path: Path, name: str, sec: Secret) -> list[Diagnostic]:
    ext = sec.external
    assert ext is not None
    out: list[Diagnostic] = []
    why_no_function = "Secrets Manager rotates a managed external secret itself, with the partner's API"
    if sec.function is not None:
        out.append(sc.err(path + ("function",), f"{why_no_function}: remove function (or external)"))
    if sec.managed:
        out.append(
            sc.err(
                path + ("managed",),
                "managed: true is for secrets their own AWS service rotates; an external secret is rotated "
                "by Secrets Manager with its partner: remove managed",
            )
        )
    if sec.master_secret is not None:
        p = partners.partner(ext.type)
        hint = (
            f"name the admin secret in external.metadata.{partners.ADMIN_SECRET_KEY}"
            if partners.ADMIN_SECRET_KEY in p.keys
            else f"{ext.type} uses no admin secret"
        )
        out.append(
            sc.err(
                path + ("master_secret",),
                f"master_secret is for alternating-users rotation functions; {hint}",
            )
        )
    if sec.replica_of_master is not None:
        out.append(
            sc.err(
                path + ("replica_of_master",),
                "replica_of_master is for alternating-users rotation functions, which compare a secret's host with "
                "its master's; remove it",
            )
        )
    if sec.connection is not None:
        out.append(
            sc.err(
                path + ("connection",),
                f"connection holds database fields; a {ext.type} secret holds the partner's fields "
                f"({partners.partner(ext.type).page}), which the module cannot know: remove connection",
            )
        )
    if sec.create and sec.password_in_database is not None:
        out.append(
            sc.err(
                path + ("password_in_database",),
                "password_in_database is for database secrets; with create: true use external.credentials_stored",
            )
        )
    if "rotate_immediately" in _raw(sc, path) and not sec.rotate_immediately:
        out.append(
            sc.err(
                path + ("rotate_immediately",),
                "rotate_immediately: false asks Secrets Manager to test the rotation with the testSecret step of "
                f"a Lambda rotation function instead of rotating ({partners.ROTATE_SECRET_PAGE}); a managed "
                "external secret has no function, so the module rotates it when rotation is turned on: remove "
                "rotate_immediately",
            )
        )
    if sec.arn is not None:
        out += secret_arn(sc, path + ("arn",), sec.arn, name)
    if sec.kms_key_arn is not None:
        out += kms_key(sc, path + ("kms_key_arn",), sec.kms_key_arn)
    out += _metadata(sc, path + ("external",), name, sec)
    out += _created(sc, path, sec)
    out += schedules.check(sc.source, path + ("schedule",), sec.schedule, sc.dropped)
    return out


def _raw(sc: Scope, path: Path) -> dict[str, object]:
    node: object = sc.source.data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _metadata(sc: Scope, path: Path, name: str, sec: Secret) -> list[Diagnostic]:
    ext = sec.external
    assert ext is not None
    if sc.is_dropped(path + ("metadata",)):
        return []
    p = partners.partner(ext.type)
    page = p.page
    out: list[Diagnostic] = []
    mpath = path + ("metadata",)
    for key, value in ext.metadata.items():
        kpath = mpath + (key,)
        if not 1 <= len(key) <= partners.METADATA_KEY_MAX:
            out.append(
                sc.source.diag(
                    kpath,
                    f"a metadata key must be 1-{partners.METADATA_KEY_MAX} characters, not {len(key):,} "
                    f"({partners.METADATA_ITEM_PAGE})",
                    key=True,
                )
            )
            continue
        if key not in p.keys:
            takes = f"takes {', '.join(p.keys)}" if p.keys else "takes no rotation metadata"
            close = difflib.get_close_matches(key, list(p.keys), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; {ext.type} {takes}"
            out.append(sc.source.diag(kpath, f"unknown metadata key {key!r} for {ext.type} ({page}){hint}", key=True))
            continue
        if not 1 <= len(value) <= partners.METADATA_VALUE_MAX:
            out.append(
                sc.err(
                    kpath,
                    f"a metadata value must be 1-{partners.METADATA_VALUE_MAX:,} characters, not {len(value):,} "
                    f"({partners.METADATA_ITEM_PAGE})",
                )
            )
        elif key == partners.ADMIN_SECRET_KEY:
            out += _admin(sc, kpath, name, sec, value)
    for key in p.required:
        if key not in ext.metadata:
            out.append(sc.err(mpath, f"{ext.type} needs metadata {key!r} ({page})"))
    if ext.admin_kms_key_arn is not None:
        kp = path + ("admin_kms_key_arn",)
        if partners.ADMIN_SECRET_KEY not in ext.metadata:
            out.append(
                sc.err(
                    kp,
                    f"admin_kms_key_arn is the key of the secret metadata {partners.ADMIN_SECRET_KEY} names; there is none",
                )
            )
        else:
            out += kms_key(sc, kp, ext.admin_kms_key_arn)
    return out


def _admin(sc: Scope, path: Path, name: str, sec: Secret, value: str) -> list[Diagnostic]:
    """adminSecretArn: another secret's full ARN in this account and region; the role may read it."""
    parsed, out = arn(sc, path, value, "secretsmanager", "a Secrets Manager secret")
    if parsed is None:
        return out
    m = aws.SECRET_RESOURCE_RE.match(parsed.resource)
    if not m:
        return out + [sc.err(path, f"{value!r} is not a secret ARN (…:secret:<name>-<6 characters>)")]
    if m.group(1) == name or (sec.arn is not None and value == sec.arn):
        return out + [sc.err(path, "the admin secret must be another secret than the one it rotates")]
    return out + same_account(sc, path, parsed)


def _created(sc: Scope, path: Path, sec: Secret) -> list[Diagnostic]:
    ext = sec.external
    assert ext is not None
    p: Path = path + ("external", "credentials_stored")
    if not sec.create:
        if ext.credentials_stored is not None:
            return [sc.err(p, "credentials_stored is only used with create: true")]
        return []
    out = []
    if sec.arn is not None:
        out.append(sc.err(path + ("arn",), "a secret with create: true gets its ARN when it is created; remove arn"))
    if sec.import_:
        out.append(sc.err(path + ("import",), "a secret with create: true has no existing rotation to import"))
    if ext.credentials_stored is None:
        out.append(
            sc.err(
                path + ("create",),
                f"the module creates a {ext.type} secret without a value: only you have the partner's fields "
                f"({partners.partner(ext.type).page}), and rotation fails until they are in it. Set "
                "external.credentials_stored: false (the module creates the secret with its type and without "
                "rotation; put the fields in it), then true to turn rotation on",
            )
        )
    lo, hi = aws.RECOVERY_WINDOW_MIN, aws.RECOVERY_WINDOW_MAX
    if sec.recovery_window_days != 0 and not lo <= sec.recovery_window_days <= hi:
        out.append(
            sc.err(
                path + ("recovery_window_days",), f"{sec.recovery_window_days} must be 0 (delete at once) or {lo}-{hi}"
            )
        )
    return out
