"""Lambda runtime deprecation dates, and the runtime of each rotation application version.

Two dated tables, each entry with its source, and three functions for the rest of the tool
(``validate`` and ``doctor``):

* :func:`deprecation` -- Lambda's dates for a runtime identifier (``python3.12``), or None.
* :func:`app_runtime` -- what the tables know of the runtime that a rotation application's
  semantic version deploys: the exact runtime, or the bounds between two known versions.
* :func:`findings` -- the warnings for a function: a packaged function's runtime, or a
  rotation application's pinned or chosen version, that Lambda has deprecated or will
  deprecate within :data:`WARN_DAYS`, each naming what to use instead.

"Today" is :func:`today`: the ``ROTATION_TF_TODAY`` environment variable (YYYY-MM-DD) when
set, so that tests and CI pin it, else the UTC date. The tables are facts as of their dates;
refresh them when Lambda moves a date (it has, more than once) or AWS publishes a new
rotation application version.

Lambda's policy (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html,
"Runtime deprecation policy"): on the *deprecation* date a runtime stops getting security
patches; some weeks or months later Lambda blocks creating functions on it, then updating
them. Existing functions keep running. A rotation function that cannot be updated cannot be
fixed when a database driver or the Secrets Manager API changes, which is why ``validate``
warns at the deprecation date, not at the block dates.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from generator import rotation_apps

WARN_DAYS = 90
"""Warn this many days before a runtime's deprecation date."""

TODAY_ENV = "ROTATION_TF_TODAY"


def today() -> date:
    """The date the warnings are relative to: ``$ROTATION_TF_TODAY`` (YYYY-MM-DD) or the UTC date."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            pass  # a bad value falls back to the clock rather than failing every command
    return datetime.now(timezone.utc).date()


# --------------------------------------------------------------------------------------
# Table 1: Lambda's deprecation dates, per runtime identifier.

_LAMBDA_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
_TFLINT = (
    "tflint-ruleset-aws rules/aws_lambda_function_deprecated_runtime.go at 0103795 "
    f"(transcribes {_LAMBDA_PAGE}; python3.9 moved to 2025-12-15 by its PR #969 of 2025-11-01)"
)
_ENDOFLIFE = f"https://endoflife.date/aws-lambda (mirrors {_LAMBDA_PAGE})"
_REPOST_PY39 = (
    "https://repost.aws/questions/QUwvZZcO78S2iFe9UF6rK4nw (citing the Lambda runtime deprecation table: "
    "python3.9 block create 2027-02-01, block update 2027-03-03)"
)


@dataclass(frozen=True)
class Deprecation:
    runtime: str
    deprecated: date  # Lambda stops patching the runtime
    block_create: date | None  # no new functions on it (None: not recorded here)
    block_update: date | None  # no updates of existing functions
    source: str
    as_of: date  # when the source stated these dates


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _dep(
    runtime: str, deprecated: str, source: str, as_of: str, create: str | None = None, update: str | None = None
) -> Deprecation:
    return Deprecation(
        runtime, _d(deprecated), _d(create) if create else None, _d(update) if update else None, source, _d(as_of)
    )


DEPRECATIONS: dict[str, Deprecation] = {
    d.runtime: d
    for d in (
        # Python
        _dep("python3.14", "2029-06-30", _ENDOFLIFE, "2026-02-11", update="2029-08-31"),
        _dep("python3.13", "2029-06-30", _ENDOFLIFE, "2026-02-11", update="2029-08-31"),
        _dep("python3.12", "2028-10-31", _TFLINT, "2025-11-01"),
        _dep("python3.11", "2026-06-30", _TFLINT, "2025-11-01"),
        _dep("python3.10", "2026-06-30", _TFLINT, "2025-11-01"),
        _dep("python3.9", "2025-12-15", _REPOST_PY39, "2026-01-15", create="2027-02-01", update="2027-03-03"),
        _dep("python3.8", "2024-10-14", _TFLINT, "2025-11-01"),
        _dep("python3.7", "2023-12-04", _TFLINT, "2025-11-01"),
        _dep("python3.6", "2022-07-18", _TFLINT, "2025-11-01"),
        _dep("python2.7", "2021-07-15", _TFLINT, "2025-11-01"),
        # Node.js
        _dep("nodejs24.x", "2028-04-30", _ENDOFLIFE, "2026-02-11", update="2028-07-01"),
        _dep("nodejs22.x", "2027-04-30", _TFLINT, "2025-11-01"),
        _dep("nodejs20.x", "2026-04-30", _TFLINT, "2025-11-01"),
        _dep("nodejs18.x", "2025-09-01", _TFLINT, "2025-11-01"),
        _dep("nodejs16.x", "2024-06-12", _TFLINT, "2025-11-01"),
        _dep("nodejs14.x", "2023-12-04", _TFLINT, "2025-11-01"),
        _dep("nodejs12.x", "2023-03-31", _TFLINT, "2025-11-01"),
        _dep("nodejs10.x", "2021-07-30", _TFLINT, "2025-11-01"),
        # Java
        _dep("java25", "2029-06-30", _ENDOFLIFE, "2026-02-11", update="2029-08-31"),
        _dep("java21", "2029-06-30", _TFLINT, "2025-11-01"),
        _dep("java17", "2026-06-30", _TFLINT, "2025-11-01"),
        _dep("java11", "2026-06-30", _TFLINT, "2025-11-01"),
        _dep("java8", "2024-01-08", _TFLINT, "2025-11-01"),
        # .NET
        _dep("dotnet10", "2028-11-14", _ENDOFLIFE, "2026-02-11", update="2029-01-15"),
        _dep("dotnet8", "2026-11-10", _TFLINT, "2025-11-01"),
        _dep("dotnet6", "2024-11-12", _TFLINT, "2025-11-01"),
        # Ruby
        _dep("ruby3.4", "2028-03-31", _ENDOFLIFE, "2026-02-11", update="2028-05-31"),
        _dep("ruby3.3", "2027-03-31", _TFLINT, "2025-11-01"),
        _dep("ruby3.2", "2026-03-31", _TFLINT, "2025-11-01"),
        _dep("ruby2.7", "2023-11-27", _TFLINT, "2025-11-01"),
        # OS-only
        _dep("provided.al2023", "2029-06-30", _TFLINT, "2025-11-01"),
        _dep("provided.al2", "2026-06-30", _TFLINT, "2025-11-01"),
    )
}


def deprecation(runtime: str) -> Deprecation | None:
    """Lambda's dates for ``runtime``, or None when the table does not know it."""
    return DEPRECATIONS.get(runtime)


def runtime_problem(runtime: str, on: date) -> str | None:
    """Why ``runtime`` is a problem on date ``on``: deprecated already, or within WARN_DAYS;
    None when it is not (or the table does not know it)."""
    d = DEPRECATIONS.get(runtime)
    if d is None:
        return None
    if d.deprecated <= on:
        text = f"Lambda deprecated {runtime} on {d.deprecated.isoformat()}"
        later = [f"blocks creating functions on it from {d.block_create.isoformat()}"] if d.block_create else []
        if d.block_update:
            later.append(f"updating them from {d.block_update.isoformat()}")
        return text + (f" and {' and '.join(later)}" if later else "")
    days = (d.deprecated - on).days
    if days <= WARN_DAYS:
        return f"Lambda deprecates {runtime} on {d.deprecated.isoformat()}, in {days} days"
    return None


def supported_runtimes(family: str, on: date) -> list[str]:
    """Runtimes of a family (``python``, ``nodejs``...) that are not a problem on ``on``, newest first."""
    names = [r for r in DEPRECATIONS if r.startswith(family) and runtime_problem(r, on) is None]
    return sorted(names, key=lambda r: DEPRECATIONS[r].deprecated, reverse=True)


# --------------------------------------------------------------------------------------
# Table 2: the runtime of each rotation application semantic version.
#
# AWS publishes one version line per partition for the applications of every engine but
# Db2 (the CDK pins 1.1.670/1.1.671 for all of them in aws), and a separate line for Db2.
# Versions only move forward in runtime, so a version between two known ones runs on one of
# their runtimes (or one in between). The applications take no runtime parameter: their
# templates fix it ("The SAM template does not currently take Runtime as a parameter",
# https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/issues/62); the only
# way to a newer runtime is a newer semantic version.

_CDK_37660 = (
    "https://github.com/aws/aws-cdk/pull/37660 (merged, 2026-04-21: 'The latest semantic versions use "
    "Python 3.12 for the rotation lambda functions, instead of Python 3.10'; adds the Db2 applications); "
    "functions: https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/pull/174"
)


@dataclass(frozen=True)
class AppVersion:
    line: str  # "rds" (every engine but Db2) or "db2"
    partition: str
    version: str
    runtime: str
    source: str
    as_of: date

    @property
    def key(self) -> tuple[int, ...]:
        return _version_key(self.version)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _app(line: str, partition: str, version: str, runtime: str, source: str, as_of: str) -> AppVersion:
    return AppVersion(line, partition, version, runtime, source, _d(as_of))


APP_VERSIONS: tuple[AppVersion, ...] = (
    _app(
        "rds",
        "aws",
        "1.0.117",
        "python2.7",
        "https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/issues/18 ('The SAR apps vended by "
        "Secrets Manager use the 2.7 runtime as of today')",
        "2019-10-09",
    ),
    _app(
        "rds",
        "aws",
        "1.1.225",
        "python3.7",
        "https://github.com/aws/aws-cdk/issues/26866 ('version 1.1.225 of the application, which uses Python 3.7')",
        "2023-08-24",
    ),
    _app(
        "rds",
        "aws",
        "1.1.367",
        "python3.9",
        "https://github.com/aws/aws-cdk/pull/26884 ('bump the deployed lambdas from Python 3.7 ... to Python 3.9')",
        "2023-08-25",
    ),
    _app(
        "rds",
        "aws",
        "1.1.618",
        "python3.10",
        "https://github.com/aws/aws-cdk/pull/35528 ('Updated semantic version to 1.1.618, that will upgrade the "
        "python version ... to version 3.10')",
        "2025-09-19",
    ),
    _app("rds", "aws", "1.1.670", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws", "1.1.671", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-cn", "1.1.440", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-cn", "1.1.441", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-cn", "1.1.442", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-us-gov", "1.1.397", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-us-gov", "1.1.398", "python3.12", _CDK_37660, "2026-04-21"),
    _app("rds", "aws-us-gov", "1.1.399", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws", "1.1.271", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws", "1.1.272", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws-cn", "1.1.240", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws-cn", "1.1.242", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws-us-gov", "1.1.197", "python3.12", _CDK_37660, "2026-04-21"),
    _app("db2", "aws-us-gov", "1.1.199", "python3.12", _CDK_37660, "2026-04-21"),
)


def _line(engine: str) -> str:
    return "db2" if engine == "db2" else "rds"


@dataclass(frozen=True)
class AppRuntime:
    """What the table knows of the runtime a version deploys."""

    version: str
    exact: AppVersion | None  # the version itself is in the table
    below: AppVersion | None  # the newest known version older than it
    above: AppVersion | None  # the oldest known version newer than it

    @property
    def runtime(self) -> str | None:
        """The runtime when it is known for sure (the version is in the table, or lies between
        two versions on the same runtime)."""
        if self.exact is not None:
            return self.exact.runtime
        if self.below is not None and self.above is not None and self.below.runtime == self.above.runtime:
            return self.below.runtime
        return None

    @property
    def oldest_possible(self) -> AppVersion | None:
        """The known version whose runtime is the oldest this version may run on: itself, or
        the known version below it (None when it is older than every known version: then its
        runtime is at most ``above``'s)."""
        return self.exact or self.below


def app_runtime(engine: str, partition: str, version: str) -> AppRuntime:
    """The runtime facts for rotation application ``version`` of ``engine`` in ``partition``."""
    line = _line(engine)
    known = sorted((a for a in APP_VERSIONS if a.line == line and a.partition == partition), key=lambda a: a.key)
    key = _version_key(version)
    exact = next((a for a in known if a.key == key), None)
    below = next((a for a in reversed(known) if a.key < key), None)
    above = next((a for a in known if a.key > key), None)
    return AppRuntime(version, exact, below, above)


# --------------------------------------------------------------------------------------
# What validate and doctor say.


@dataclass(frozen=True)
class Finding:
    field: str  # "package.runtime" or "rotation_app.semantic_version"
    message: str


_URL_RE = re.compile(r"https://[^\s)'\"]+")


def source_url(source: str) -> str:
    """The first address in a table entry's source text (the whole text when it has none)."""
    m = _URL_RE.search(source)
    return m.group(0) if m else source


_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


def package_finding(runtime: str, on: date) -> Finding | None:
    """A packaged function's runtime: deprecated or about to be, with the runtime to use."""
    problem = runtime_problem(runtime, on)
    if problem is None:
        return None
    family = re.match(r"^[a-z]+", runtime)
    better = supported_runtimes(family.group(0), on) if family else []
    advice = (
        f"; move to {better[0]} (supported until {DEPRECATIONS[better[0]].deprecated.isoformat()})" if better else ""
    )
    return Finding("package.runtime", f"{problem}{advice} (source: {source_url(DEPRECATIONS[runtime].source)})")


def app_finding(engine: str, strategy: str, partition: str, version: str | None, on: date) -> Finding | None:
    """A rotation application's chosen (``version``) or pinned (None) version: a warning when
    it runs, or may run, on a runtime that Lambda has deprecated or will within WARN_DAYS."""
    if not rotation_apps.supported(engine) or partition not in ("aws", "aws-cn", "aws-us-gov"):
        return None
    pinned = rotation_apps.pinned_version(engine, strategy, partition)
    chosen = version or pinned
    if not _VERSION_RE.match(chosen):
        return None
    facts = app_runtime(engine, partition, chosen)
    what = f"rotation application version {chosen}" + (" (the version rotation-tf pins)" if version is None else "")
    if facts.exact is not None or facts.runtime is not None:
        runtime = facts.runtime
        assert runtime is not None
        problem = runtime_problem(runtime, on)
        lead = f"{what} runs on {runtime}"
        ref = facts.exact or facts.below
    elif facts.below is None and facts.above is not None:
        # Older than every known version: at most the runtime of the oldest known one.
        runtime = facts.above.runtime
        problem = runtime_problem(runtime, on)
        lead = f"{what} is older than {facts.above.version}, which runs on {runtime}, so it runs on {runtime} or older"
        ref = facts.above
    elif facts.below is not None:
        # Between two known versions (or newer than all): at least the older one's runtime.
        runtime = facts.below.runtime
        problem = runtime_problem(runtime, on)
        upper = f" and {facts.above.version} ({facts.above.runtime})" if facts.above is not None else ""
        lead = f"{what} lies between {facts.below.version} ({runtime}){upper}; it may run on {runtime}"
        if facts.above is None:
            return None  # newer than every version the table knows: nothing to say
        ref = facts.below
    else:
        return None
    if problem is None or ref is None:
        return None
    pinned_facts = app_runtime(engine, partition, pinned)
    pinned_runtime = pinned_facts.runtime
    if version is not None and pinned != chosen and pinned_runtime and runtime_problem(pinned_runtime, on) is None:
        advice = f"; use {pinned} (rotation-tf's pin, {pinned_runtime}), or leave semantic_version unset"
    else:
        advice = (
            "; rotation-tf knows no newer version: look for one with `aws serverlessrepo list-application-versions "
            f"--application-id {rotation_apps.application_id(engine, strategy, partition)}` and set semantic_version"
        )
    return Finding("rotation_app.semantic_version", f"{lead}: {problem}{advice} (source: {source_url(ref.source)})")
