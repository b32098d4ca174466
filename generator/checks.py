"""Stage 2b: rules that relate fields to each other and to AWS's limits.

Each check appends diagnostics; none stops early, so one run reports every problem.
Contradictions between an ARN and the manifest's account, region or partition are
errors: the module would create grants that can never match.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from generator import aws, naming, rotation_apps, runtimes, schedules
from generator.errors import Diagnostic, Level, Path
from generator.manifest import ACCOUNT_PLACEHOLDER, Function, Manifest, Secret
from generator.source import Source


class Checker:
    def __init__(
        self,
        source: Source,
        head: Manifest | None,
        raw_function_keys: set[str] | None,
        dropped: frozenset[tuple[Any, ...]] = frozenset(),
    ):
        self.s = source
        self.head = head
        self.raw_function_keys = raw_function_keys  # None when `functions` is not a mapping
        self.dropped = dropped  # paths whose values had shape errors (already reported)
        self.out: list[Diagnostic] = []
        self.partition: str | None = None
        self.today = runtimes.today()  # what runtime deprecation warnings are relative to
        if head is not None:
            self._check_head(head)

    def err(self, path: tuple[Any, ...], message: str) -> None:
        self.out.append(self.s.diag(path, message))

    def warn(self, path: tuple[Any, ...], message: str) -> None:
        self.out.append(self.s.diag(path, message, level=Level.WARNING))

    # ---- top level ------------------------------------------------------------------
    def _dropped(self, path: tuple[Any, ...]) -> bool:
        """Whether ``path`` or a value inside it had a shape error."""
        n = len(path)
        return any(d[:n] == path for d in self.dropped)

    def _check_head(self, m: Manifest) -> None:
        # m may be partial (see manifest.validate_shape): a field with a shape error is None.
        if m.region is None:
            pass
        elif m.region not in aws.REGIONS:
            self.err(("region",), aws.not_a_region(m.region))
        else:
            implied = aws.partition_of(m.region)
            if m.partition is not None and m.partition != implied:
                self.err(("partition",), f"region {m.region} is in partition {implied!r}, not {m.partition!r}")
            elif not self._dropped(("partition",)):
                self.partition = implied
        if m.name_prefix and not aws.IAM_NAME_RE.match(m.name_prefix):
            self.err(("name_prefix",), f"{m.name_prefix!r} may only hold letters, digits and +=,.@_-")
        elif m.name_prefix and not aws.STATEMENT_ID_RE.match(m.name_prefix):
            self.err(
                ("name_prefix",),
                f"{m.name_prefix!r} is part of each Lambda permission's statement id, which may only hold "
                "letters, digits, '-' and '_'",
            )
        if m.roles is not None and m.roles.permissions_boundary is not None:
            arn = aws.parse_arn(m.roles.permissions_boundary)
            path = ("roles", "permissions_boundary")
            if arn is None or arn.service != "iam" or arn.region or not arn.resource.startswith("policy/"):
                self.err(path, f"{m.roles.permissions_boundary!r} is not an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)")
            elif self.partition is not None and arn.partition != self.partition:
                self.err(path, f"{m.roles.permissions_boundary!r} is in partition {arn.partition!r}, not {self.partition!r}")
        self._tags(("tags",), m.tags)

    def _tags(self, path: tuple[Any, ...], tags: dict[str, str], merged_over: dict[str, str] | None = None) -> None:
        """Tag keys and values as IAM, Lambda and Secrets Manager accept them; with
        ``merged_over`` (the manifest's tags), the merged set must fit AWS's 50 per resource."""
        for key, value in tags.items():
            p = path + (key,)
            if not key or len(key) > aws.TAG_KEY_MAX or not aws.TAG_CHARS_RE.match(key):
                self.err(p, f"tag key {key!r} must be 1-{aws.TAG_KEY_MAX} letters, digits, spaces or _.:/=+-@")
            elif key.lower().startswith("aws:"):
                self.err(p, f"tag key {key!r} uses the reserved prefix 'aws:'")
            if len(value) > aws.TAG_VALUE_MAX or not aws.TAG_CHARS_RE.match(value):
                self.err(p, f"tag value {value!r} must be 0-{aws.TAG_VALUE_MAX} letters, digits, spaces or _.:/=+-@")
        total = len({**(merged_over or {}), **tags})
        if total > aws.TAGS_MAX:
            self.err(path, f"{total} tags once merged over the manifest's; AWS allows {aws.TAGS_MAX} per resource")

    @property
    def ready(self) -> bool:
        return self.head is not None and self.partition is not None and self.head.region is not None

    def _arn(self, path: tuple[Any, ...], text: str, service: str, what: str) -> aws.Arn | None:
        arn = aws.parse_arn(text)
        if arn is None and ACCOUNT_PLACEHOLDER in text:
            self.err(path, f"replace {ACCOUNT_PLACEHOLDER} in this ARN with your 12-digit AWS account id")
            return None
        if arn is None:
            self.err(path, f"{text!r} is not a valid ARN")
            return None
        if arn.service != service:
            self.err(path, f"{text!r} is a {arn.service} ARN; expected {what} ({service})")
            return None
        if not self.ready:
            return arn
        assert self.head is not None
        if arn.partition != self.partition:
            self.err(path, f"{text!r} is in partition {arn.partition!r}, but the manifest's is {self.partition!r}")
            return None
        if arn.region != self.head.region:
            self.err(path, f"{text!r} is in region {arn.region!r}, but the manifest's region is {self.head.region!r}")
            return None
        return arn

    def _same_account(self, path: tuple[Any, ...], arn: aws.Arn) -> None:
        if self.ready and self.head is not None and self.head.account_id is not None and arn.account != self.head.account_id:
            self.err(path, f"{str(arn)!r} is in account {arn.account}, but the manifest's account_id is {self.head.account_id}")

    def _kms(self, path: tuple[Any, ...], text: str) -> None:
        arn = self._arn(path, text, "kms", "a KMS key")
        if arn is None:
            return
        if arn.resource.startswith("alias/"):
            self.err(path, f"{text!r} is an alias; IAM grants need the key ARN (arn:...:key/<key id>)")
        elif not aws.KEY_RESOURCE_RE.match(arn.resource):
            self.err(path, f"{text!r} is not a KMS key ARN (arn:...:key/<key id>)")

    def _description(self, path: tuple[Any, ...], text: str) -> None:
        size = len(text.encode("utf-8"))
        if size > aws.DESCRIPTION_MAX_BYTES:
            self.err(path, f"is {size} bytes long in UTF-8; Lambda allows {aws.DESCRIPTION_MAX_BYTES}")
        if not aws.DESCRIPTION_RE.match(text):
            bad = sorted({c for c in text if not aws.DESCRIPTION_CHAR_RE.match(c)})
            shown = " ".join(f"U+{ord(c):04X}" for c in bad[:10])
            self.err(
                path,
                f"holds characters that IAM role descriptions do not allow ({shown}); "
                "use tab, newline, printable ASCII or Latin-1 letters",
            )

    # ---- functions ---------------------------------------------------------------
    def function(self, key: str, fn: Function) -> None:
        path = ("functions", key)
        if not naming.FUNCTION_KEY_RE.match(key):
            self.err(path, f"function name {key!r} must start with a letter and hold only letters, digits, '-' and '_'")
        if fn.description is not None:
            self._description(path + ("description",), fn.description)
        if fn.tags:
            self._tags(path + ("tags",), fn.tags, self.head.tags if self.head is not None and self.head.tags else {})
        sources = [n for n in ("existing_function_arn", "package", "rotation_app") if getattr(fn, n) is not None]
        if len(sources) != 1 and not any(self._dropped(path + (n,)) for n in ("existing_function_arn", "package", "rotation_app")):
            self.err(
                path,
                "give exactly one of existing_function_arn, package or rotation_app"
                + (f"; got {' and '.join(sources)}" if sources else ""),
            )
        if fn.import_ and fn.rotation_app is not None:
            self.err(path + ("import",), "import adopts a role, policy and permission the module manages; a rotation_app brings its own")
        if fn.rotation_app is not None and not rotation_apps.supported(fn.engine):
            self.err(path + ("engine",), f"AWS publishes no rotation function for engine {fn.engine!r}; use package or existing_function_arn")
        if fn.existing_function_arn is not None:
            p: Path = path + ("existing_function_arn",)
            arn = self._arn(p, fn.existing_function_arn, "lambda", "a Lambda function")
            if arn is not None:
                m = aws.LAMBDA_RESOURCE_RE.match(arn.resource)
                if not m:
                    self.err(p, f"{fn.existing_function_arn!r} is not a Lambda function ARN")
                elif m.group(2):
                    self.err(
                        p,
                        f"{fn.existing_function_arn!r} is qualified (:{m.group(2)}); give the unqualified function ARN "
                        "so that the permission and the rotation name the same function",
                    )
                else:
                    self._same_account(p, arn)
        self._runtime(path, fn)
        if fn.package is not None:
            pkg = fn.package
            p = path + ("package", "filename")
            if pkg.filename.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", pkg.filename):
                self.err(p, "give the zip's path relative to the manifest, not an absolute path")
            elif not pkg.filename.endswith(".zip"):
                self.err(p, f"{pkg.filename!r} must be a .zip file")
            elif not (self.s.base_dir / pkg.filename).is_file():
                self.warn(p, f"{pkg.filename!r} does not exist yet; terraform plan needs it")
        if self.head is not None and not self._dropped(("name_prefix",)):
            self._names(fn.previous_names[0] if fn.previous_names else key, creates_function=fn.existing_function_arn is None)
        for i, old in enumerate(fn.previous_names):
            if not naming.FUNCTION_KEY_RE.match(old):
                self.err(path + ("previous_names", i), f"{old!r} is not a valid function name")

    def _runtime(self, path: tuple[Any, ...], fn: Function) -> None:
        """Warn on a runtime Lambda has deprecated or will within runtimes.WARN_DAYS."""
        if fn.package is not None and not self._dropped(path + ("package", "runtime")):
            found = runtimes.package_finding(fn.package.runtime, self.today)
            if found is not None:
                self.warn(path + ("package", "runtime"), found.message)
        app = fn.rotation_app
        if app is not None and self.partition is not None and rotation_apps.supported(fn.engine):
            if self._dropped(path + ("rotation_app", "semantic_version")):
                return
            found = runtimes.app_finding(fn.engine, fn.strategy, self.partition, app.semantic_version, self.today)
            if found is not None:
                where = path + (("rotation_app", "semantic_version") if app.semantic_version else ("rotation_app",))
                self.warn(where, found.message)

    def _names(self, key: str, creates_function: bool = True) -> None:
        """AWS's length limits on the names the module creates. An existing function keeps
        its own name, so its name is not checked (the module creates none)."""
        assert self.head is not None
        in_names = self.head.roles.region_in_names if self.head.roles is not None else True
        names = naming.Names(self.head.name_prefix, key, naming.region_tag(self.head.region, in_names))
        if self.head.roles is not None and len(self.head.roles.path) + len(names.role) > aws.ROLE_PATH_AND_NAME_MAX:
            self.err(("roles", "path"), f"the role path and name together exceed {aws.ROLE_PATH_AND_NAME_MAX} characters")
        path = ("functions", key)
        for what, value, limit in (
            ("role name", names.role, aws.ROLE_NAME_MAX),
            ("policy name", names.policy, aws.POLICY_NAME_MAX),
            ("function name", names.function if creates_function else None, aws.FUNCTION_NAME_MAX),
            ("permission statement id", names.statement_id, aws.STATEMENT_ID_MAX),
        ):
            if value is not None and len(value) > limit:
                self.err(path, f"the {what} {value!r} is {len(value)} characters; AWS allows {limit}")

    # ---- secrets -----------------------------------------------------------------
    def secret(self, name: str, sec: Secret, functions: dict[str, Function]) -> None:
        path = ("secrets", name)
        name_re = aws.SERVICE_SECRET_NAME_RE if sec.managed else aws.SECRET_NAME_RE
        if not name or len(name) > aws.SECRET_NAME_MAX or not name_re.match(name):
            allowed = r"[A-Za-z0-9/_+=.@!-]" if sec.managed else r"[A-Za-z0-9/_+=.@-]"
            bad = sorted({c for c in name if not re.match(allowed, c)})
            detail = f" (not allowed: {' '.join(repr(c) for c in bad)})" if bad else ""
            if not sec.managed and "!" in name and aws.SERVICE_SECRET_NAME_RE.match(name):
                self.err(
                    path,
                    f"secret name {name!r} holds '!', which only secrets created by an AWS service carry "
                    "(RDS: rds!db-<id>); if the service rotates it, set managed: true instead of function",
                )
            else:
                self.err(path, f"secret name {name!r} must be 1-{aws.SECRET_NAME_MAX} of letters, digits and /_+=.@-{detail}")
        if sec.managed:
            self._service_rotated(path, sec)
            return
        if sec.function is None:
            if not self._dropped(path + ("function",)):
                self.err(
                    path + ("function",),
                    "give function (the key of a rotation function), or managed: true when the service "
                    "that owns the secret rotates it",
                )
            return
        fn = functions.get(sec.function)
        if fn is None and self.raw_function_keys is not None and sec.function not in self.raw_function_keys:
            close = difflib.get_close_matches(sec.function, sorted(self.raw_function_keys), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.err(path + ("function",), f"no function named {sec.function!r} in functions{hint}")
        if sec.arn is not None:
            p: Path = path + ("arn",)
            arn = self._arn(p, sec.arn, "secretsmanager", "a Secrets Manager secret")
            if arn is not None:
                m = aws.SECRET_RESOURCE_RE.match(arn.resource)
                if not m:
                    self.err(p, f"{sec.arn!r} is not a secret ARN (…:secret:<name>-<6 characters>)")
                elif m.group(1) != name:
                    self.err(p, f"{sec.arn!r} is the ARN of secret {m.group(1)!r}, not {name!r}")
                else:
                    self._same_account(p, arn)
        if sec.kms_key_arn is not None:
            self._kms(path + ("kms_key_arn",), sec.kms_key_arn)
        if fn is not None and not self._dropped(path + ("master_secret",)):
            if fn.strategy == "alternating_users" and sec.master_secret is None:
                self.err(path + ("master_secret",), f"function {sec.function!r} uses alternating_users, which needs a master_secret")
            if fn.strategy == "single_user" and sec.master_secret is not None:
                self.err(path + ("master_secret",), f"function {sec.function!r} uses single_user, which takes no master_secret")
        if sec.master_secret is not None:
            self._master(path, name, sec, functions.get(sec.function))
            if sec.master_secret.kms_key_arn is not None:
                self._kms(path + ("master_secret", "kms_key_arn"), sec.master_secret.kms_key_arn)
        self.out.extend(schedules.check(self.s, path + ("schedule",), sec.schedule, self.dropped))
        self._created(path, sec)

    def _service_rotated(self, path: Path, sec: Secret) -> None:
        """managed: true -- the owning service rotates the secret (managed rotation,
        https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_managed.html):
        the module only sets the schedule, so the function-related fields have no meaning."""
        if sec.function is not None:
            self.err(path + ("function",), "a managed secret is rotated by the service that owns it: remove function (or managed: true)")
        for field, why in (
            ("master_secret", "the service rotates its own secret"),
            ("kms_key_arn", "the module grants no function access to the secret"),
        ):
            if getattr(sec, field) is not None:
                self.err(path + (field,), f"{field} does not apply to a managed secret: {why}")
        if sec.create:
            self.err(
                path + ("create",),
                "a managed secret is created by its service (manage_master_user_password), not by the module",
            )
        if sec.arn is not None:
            p: Path = path + ("arn",)
            arn = self._arn(p, sec.arn, "secretsmanager", "a Secrets Manager secret")
            if arn is not None:
                m = aws.SECRET_RESOURCE_RE.match(arn.resource)
                if not m:
                    self.err(p, f"{sec.arn!r} is not a secret ARN (…:secret:<name>-<6 characters>)")
                elif m.group(1) != path[1]:
                    self.err(p, f"{sec.arn!r} is the ARN of secret {m.group(1)!r}, not {path[1]!r}")
                else:
                    self._same_account(p, arn)
        self.out.extend(schedules.check(self.s, path + ("schedule",), sec.schedule, self.dropped))
        if not sec.create:
            self._created(path, sec)  # the fields of created secrets are errors here too

    def _master(self, path: tuple[Any, ...], name: str, sec: Secret, fn: Function | None) -> None:
        """The master secret: by ARN, or by name (its grants then name AWS's partial ARN,
        name-??????, like a rotated secret given by name)."""
        master = sec.master_secret
        assert master is not None
        mpath = path + ("master_secret",)
        if (master.arn is None) == (master.name is None):
            self.err(mpath, "give the master secret's arn or its name, not both" if master.arn else "give the master secret's arn or its name")
            return
        if master.arn is not None:
            p = mpath + ("arn",)
            arn = self._arn(p, master.arn, "secretsmanager", "a Secrets Manager secret")
            if arn is not None:
                m = aws.SECRET_RESOURCE_RE.match(arn.resource)
                if not m:
                    self.err(p, f"{master.arn!r} is not a secret ARN (…:secret:<name>-<6 characters>)")
                elif m.group(1) == name:
                    self.err(p, "the master secret must be a different secret from the one it rotates")
                else:
                    self._same_account(p, arn)
            return
        p = mpath + ("name",)
        assert master.name is not None
        if not master.name or len(master.name) > aws.SECRET_NAME_MAX or not aws.SECRET_NAME_RE.match(master.name):
            self.err(p, f"secret name {master.name!r} must be 1-{aws.SECRET_NAME_MAX} of letters, digits and /_+=.@-")
        elif master.name == name:
            self.err(p, "the master secret must be a different secret from the one it rotates")
        elif sec.create:
            self.err(p, "a created secret's first version names its master secret by ARN (masterarn); give master_secret.arn")
        elif fn is not None and fn.rotation_app is not None:
            self.err(p, "AWS's rotation application takes the master secret's ARN (masterSecretArn); give master_secret.arn")

    def _created(self, path: tuple[Any, ...], sec: Secret) -> None:
        if not sec.create:
            for field in ("description", "connection"):
                if getattr(sec, field) is not None:
                    self.err(path + (field,), f"{field} is only used with create: true")
            if sec.replicas:
                self.err(path + ("replicas",), "replicas are only used with create: true")
            if sec.recovery_window_days != 30:
                self.err(path + ("recovery_window_days",), "recovery_window_days is only used with create: true")
            if sec.tags:
                self.err(
                    path + ("tags",),
                    "tags on a secret are only used with create: true (the module tags what it creates; "
                    "tag an existing secret where it is defined, and the function's role with functions.<name>.tags)",
                )
            return
        if sec.tags:
            self._tags(path + ("tags",), sec.tags, self.head.tags if self.head is not None and self.head.tags else {})
        if sec.arn is not None:
            self.err(path + ("arn",), "a secret with create: true gets its ARN when it is created; remove arn")
        if sec.import_:
            self.err(path + ("import",), "a secret with create: true has no existing rotation to import")
        if sec.connection is None:
            self.err(path + ("connection",), "create: true needs connection (host, username; port and dbname optional)")
        lo, hi = aws.RECOVERY_WINDOW_MIN, aws.RECOVERY_WINDOW_MAX
        if sec.recovery_window_days != 0 and not lo <= sec.recovery_window_days <= hi:
            self.err(path + ("recovery_window_days",), f"{sec.recovery_window_days} must be 0 (delete at once) or {lo}-{hi}")
        if sec.description is not None and any(ord(c) < 0x20 and c not in "\t\n\r" for c in sec.description):
            self.err(path + ("description",), "the description holds control characters that Secrets Manager rejects")
        seen: set[str] = set()
        for i, rep in enumerate(sec.replicas):
            p = path + ("replicas", i)
            if rep.region not in aws.REGIONS:
                self.err(p + ("region",), f"{rep.region!r} is not an AWS region")
            elif self.head is not None and rep.region == self.head.region:
                self.err(p + ("region",), "a replica must be in another region than the secret")
            elif self.partition is not None and aws.partition_of(rep.region) != self.partition:
                self.err(p + ("region",), f"{rep.region!r} is in another partition")
            if rep.region in seen:
                self.err(p + ("region",), f"{rep.region!r} is listed twice")
            seen.add(rep.region)
            if rep.kms_key_arn is not None:
                arn = aws.parse_arn(rep.kms_key_arn)
                if arn is None or arn.service != "kms" or not aws.KEY_RESOURCE_RE.match(arn.resource):
                    self.err(p + ("kms_key_arn",), f"{rep.kms_key_arn!r} is not a KMS key ARN")
                elif arn.region != rep.region:
                    self.err(p + ("kms_key_arn",), f"the replica's key must be in {rep.region}, not {arn.region}")


def _previous_names(checker: Checker, entries: dict[str, Any], section: str) -> None:
    """Earlier names must not be in use now, nor claimed by two entries."""
    seen: dict[str, str] = {}
    for key in sorted(entries):
        for i, old in enumerate(entries[key].previous_names):
            path = (section, key, "previous_names", i)
            if old in entries:
                checker.err(path, f"{old!r} is still the name of an entry in {section}")
            elif old in seen and seen[old] != key:
                checker.err(path, f"{old!r} is also a previous name of {seen[old]!r}")
            elif old == key:
                checker.err(path, "an entry cannot list its own name as a previous name")
            seen.setdefault(old, key)


def _secret_idents(checker: Checker, secrets: dict[str, Any]) -> None:
    """Each secret's blocks are named after it (naming.secret_ident), and that name is an
    address in the state: two secrets may not share it, and a previous name may not take
    another secret's. Reported on the later name in sorted order, so the message is stable."""
    owner: dict[str, str] = {}
    for name in sorted(secrets):
        ident = naming.secret_ident(name)
        if ident in owner:
            checker.err(
                ("secrets", name),
                f"secrets {owner[ident]!r} and {name!r} would both be named {ident!r} in Terraform "
                f"({naming.SECRET_IDENT_RULE}); rename one",
            )
        else:
            owner[ident] = name
    for name in sorted(secrets):
        for i, old in enumerate(secrets[name].previous_names):
            other = owner.get(naming.secret_ident(old))
            if other is not None and other != name and old not in secrets:
                checker.err(
                    ("secrets", name, "previous_names", i),
                    f"{old!r} would be named {naming.secret_ident(old)!r} in Terraform, already the name of secret {other!r}",
                )


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def run(
    source: Source,
    head: Manifest | None,
    functions: dict[str, Function],
    secrets: dict[str, Secret],
    dropped: frozenset[tuple[Any, ...]] = frozenset(),
) -> list[Diagnostic]:
    raw = source.data.get("functions")
    raw_keys = set(raw) if isinstance(raw, dict) else None
    checker = Checker(source, head, raw_keys, frozenset(dropped))
    for key, fn in functions.items():
        checker.function(key, fn)
    for name, sec in secrets.items():
        checker.secret(name, sec, functions)
    _previous_names(checker, functions, "functions")
    _previous_names(checker, secrets, "secrets")
    _secret_idents(checker, secrets)
    for key, fn in functions.items():
        if fn.rotation_app is not None:
            mine = [s for s in secrets.values() if s.function == key]
            for what, values in (
                ("kms_key_arn", {s.kms_key_arn for s in mine}),
                ("master_secret.arn", {s.master_secret.arn for s in mine if s.master_secret}),
                ("master_secret.kms_key_arn", {s.master_secret.kms_key_arn for s in mine if s.master_secret}),
            ):
                if len(values) > 1:
                    checker.err(
                        ("functions", key, "rotation_app"),
                        f"AWS's rotation application takes one {what} per function, but its secrets use "
                        f"{len(values)} different values; split them over several functions",
                    )
        if fn.lock_to_secret:
            users = sorted(n for n, s in secrets.items() if s.function == key)
            if len(users) != 1:
                checker.err(
                    ("functions", key, "lock_to_secret"),
                    f"lock_to_secret needs exactly one secret using function {key!r}; {len(users)} do"
                    + (f" ({', '.join(users[:5])}{', ...' if len(users) > 5 else ''})" if users else ""),
                )
    if head is not None:
        used = {s.function for s in secrets.values()}
        for key in functions:
            if key not in used and secrets:
                checker.warn(("functions", key), f"function {key!r} rotates no secret; its role and permission are still generated")
    return checker.out
