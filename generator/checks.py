"""Stage 2b: rules that relate fields to each other and to AWS's limits.

Each check appends diagnostics; none stops early, so one run reports every problem.
Contradictions between an ARN and the manifest's account, region or partition are
errors: the module would create grants that can never match.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from generator import aws, naming, rotation_apps, runtimes
from generator.errors import Diagnostic, Level, Path
from generator.manifest import Function, Manifest, Schedule, Secret
from generator.source import Source

MIN_INTERVAL_HOURS = 4
MAX_DAYS = 1000
_RATE_RE = re.compile(r"^rate\(\s*([0-9]+)\s+(hour|hours|day|days)\s*\)$")
_CRON_RE = re.compile(r"^cron\((.*)\)$")


@dataclass(frozen=True)
class ScheduleFacts:
    """What a valid schedule means: start hours in a UTC day and the shortest gap."""

    interval_hours: int | None  # shortest time between two rotations, when known
    start_hours: tuple[int, ...]  # hours of the UTC day at which a window opens


def _expand_hours(field: str) -> list[int] | None:
    hours: set[int] = set()
    for part in field.split(","):
        m = re.fullmatch(r"(\*|[0-9]{1,2}(?:-[0-9]{1,2})?)(?:/([0-9]{1,2}))?", part)
        if not m:
            return None
        rng, step = m.group(1), int(m.group(2)) if m.group(2) else 1
        if step < 1:
            return None
        if rng == "*":
            lo, hi = 0, 23
        elif "-" in rng:
            lo, hi = (int(x) for x in rng.split("-"))
        else:
            lo = int(rng)
            hi = 23 if m.group(2) else lo
        if not (0 <= lo <= 23 and 0 <= hi <= 23 and lo <= hi):
            return None
        hours.update(range(lo, hi + 1, step))
    return sorted(hours)


@lru_cache(maxsize=1024)  # pure; manifests repeat a handful of expressions thousands of times
def schedule_facts(expr: str) -> tuple[ScheduleFacts | None, str | None]:
    """Parse a rate() or cron() expression; return facts or an error message."""
    m = _RATE_RE.match(expr)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n < 1:
            return None, f"rate must be at least 1; got {expr!r}"
        if unit.startswith("hour"):
            if n < MIN_INTERVAL_HOURS:
                return None, f"{expr!r} rotates more often than Secrets Manager allows (every 4 hours at most)"
            if n > 24 * MAX_DAYS:
                return None, f"{expr!r} is longer than {MAX_DAYS} days"
            return ScheduleFacts(n, tuple(range(0, 24, n)) if n < 24 else (0,)), None
        if n > MAX_DAYS:
            return None, f"{expr!r} is longer than {MAX_DAYS} days"
        return ScheduleFacts(24 * n, (0,)), None
    m = _CRON_RE.match(expr)
    if m:
        fields = m.group(1).split()
        if len(fields) != 6:
            return None, (
                f"{expr!r} has {len(fields)} fields; a Secrets Manager cron needs 6: "
                "minutes hours day-of-month month day-of-week year, e.g. cron(0 4 ? * SUN *)"
            )
        minute, hour, dom, _month, dow, year = fields
        if minute != "0":
            return None, f"{expr!r}: the minutes field must be 0 (rotation windows start on the hour)"
        if year != "*":
            return None, f"{expr!r}: the year field must be * (a schedule that ends would stop rotation)"
        if (dom == "?") == (dow == "?"):
            return None, f"{expr!r}: exactly one of day-of-month and day-of-week must be '?'"
        hours = _expand_hours(hour)
        if not hours:
            return None, f"{expr!r}: cannot read the hours field {hour!r}"
        gaps = [b - a for a, b in pairwise(hours)] + [hours[0] + 24 - hours[-1]]
        interval = min(gaps)
        if interval < MIN_INTERVAL_HOURS:
            return None, f"{expr!r} rotates {interval} hour(s) apart; Secrets Manager needs at least 4 hours"
        return ScheduleFacts(interval, tuple(hours)), None
    return None, f"{expr!r} must be rate(N hours), rate(N days) or cron(0 H D M W *)"


def check_schedule(
    source: Source, path: tuple[Any, ...], sched: Schedule, dropped: frozenset[tuple[Any, ...]] = frozenset()
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if path + ("every_days",) in dropped or path + ("expression",) in dropped:
        return out  # the form given has a shape error, already reported
    if sched.every_days is not None and sched.expression is not None:
        out.append(source.diag(path, "give either every_days or expression, not both"))
        return out
    if sched.every_days is None and sched.expression is None:
        out.append(source.diag(path, "give one of every_days or expression"))
        return out
    facts: ScheduleFacts | None
    if sched.every_days is not None:
        if not 1 <= sched.every_days <= MAX_DAYS:
            out.append(source.diag(path + ("every_days",), f"{sched.every_days} is outside 1-{MAX_DAYS}"))
            return out
        facts = ScheduleFacts(24 * sched.every_days, (0,))
    else:
        facts, problem = schedule_facts(sched.expression or "")
        if problem:
            out.append(source.diag(path + ("expression",), problem))
            return out
    if sched.window is not None and facts is not None:
        hours = int(sched.window[:-1])
        if facts.interval_hours is not None and hours > facts.interval_hours:
            out.append(
                source.diag(
                    path + ("window",),
                    f"the {sched.window} window is longer than the {facts.interval_hours}-hour interval between rotations",
                )
            )
        else:
            late = [h for h in facts.start_hours if h + hours > 24]
            if late:
                out.append(
                    source.diag(
                        path + ("window",),
                        f"a {sched.window} window opening at {late[-1]:02d}:00 UTC would run past midnight; "
                        "Secrets Manager windows must end within the UTC day",
                    )
                )
    return out


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
            close = min(sorted(aws.REGIONS), key=lambda r: (_distance(r, m.region), r))  # ties: by name
            self.err(("region",), f"{m.region!r} is not an AWS region; did you mean {close!r}?")
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
        for key, value in m.tags.items():
            path = ("tags", key)
            if not key or len(key) > aws.TAG_KEY_MAX or not aws.TAG_CHARS_RE.match(key):
                self.err(path, f"tag key {key!r} must be 1-128 letters, digits, spaces or _.:/=+-@")
            elif key.lower().startswith("aws:"):
                self.err(path, f"tag key {key!r} uses the reserved prefix 'aws:'")
            if len(value) > aws.TAG_VALUE_MAX or not aws.TAG_CHARS_RE.match(value):
                self.err(path, f"tag value {value!r} must be 0-256 letters, digits, spaces or _.:/=+-@")

    @property
    def ready(self) -> bool:
        return self.head is not None and self.partition is not None and self.head.region is not None

    def _arn(self, path: tuple[Any, ...], text: str, service: str, what: str) -> aws.Arn | None:
        arn = aws.parse_arn(text)
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
        names = naming.Names(self.head.name_prefix, key)
        if self.head.roles is not None and len(self.head.roles.path) + len(names.role) > 512:
            self.err(("roles", "path"), "the role path and name together exceed 512 characters")
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
        if not name or len(name) > aws.SECRET_NAME_MAX or not aws.SECRET_NAME_RE.match(name):
            bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9/_+=.@-]", c)})
            detail = f" (not allowed: {' '.join(repr(c) for c in bad)})" if bad else ""
            self.err(path, f"secret name {name!r} must be 1-512 of letters, digits and /_+=.@-{detail}")
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
            p = path + ("master_secret", "arn")
            arn = self._arn(p, sec.master_secret.arn, "secretsmanager", "a Secrets Manager secret")
            if arn is not None:
                m = aws.SECRET_RESOURCE_RE.match(arn.resource)
                if not m:
                    self.err(p, f"{sec.master_secret.arn!r} is not a secret ARN (…:secret:<name>-<6 characters>)")
                elif m.group(1) == name:
                    self.err(p, "the master secret must be a different secret from the one it rotates")
                else:
                    self._same_account(p, arn)
            if sec.master_secret.kms_key_arn is not None:
                self._kms(path + ("master_secret", "kms_key_arn"), sec.master_secret.kms_key_arn)
        self.out.extend(check_schedule(self.s, path + ("schedule",), sec.schedule, self.dropped))
        self._created(path, sec)

    def _created(self, path: tuple[Any, ...], sec: Secret) -> None:
        if not sec.create:
            for field in ("description", "connection"):
                if getattr(sec, field) is not None:
                    self.err(path + (field,), f"{field} is only used with create: true")
            if sec.replicas:
                self.err(path + ("replicas",), "replicas are only used with create: true")
            if sec.recovery_window_days != 30:
                self.err(path + ("recovery_window_days",), "recovery_window_days is only used with create: true")
            return
        if sec.arn is not None:
            self.err(path + ("arn",), "a secret with create: true gets its ARN when it is created; remove arn")
        if sec.import_:
            self.err(path + ("import",), "a secret with create: true has no existing rotation to import")
        if sec.connection is None:
            self.err(path + ("connection",), "create: true needs connection (host, username; port and dbname optional)")
        if sec.recovery_window_days != 0 and not 7 <= sec.recovery_window_days <= 30:
            self.err(path + ("recovery_window_days",), f"{sec.recovery_window_days} must be 0 (delete at once) or 7-30")
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
