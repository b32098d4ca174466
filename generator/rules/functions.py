"""Rules on each rotation function: where it comes from (one of an existing ARN, a package
or AWS's rotation application), its runtime, the AWS names the module gives it, and how the
manifest's secrets use it."""

from __future__ import annotations

import re

from generator import aws, aws_calls, naming, rotation_apps, runtimes
from generator.errors import Diagnostic, Path
from generator.manifest import SOURCES, Function, Secret
from generator.rules.scope import Scope, arn, description, same_account, tags


def check(sc: Scope, key: str, fn: Function) -> list[Diagnostic]:
    path = ("functions", key)
    out = []
    problem = naming.function_key_problem(key)
    if problem:
        out.append(sc.err(path, f"function name {key!r} {problem}"))
    if fn.description is not None and fn.existing_function_arn is not None:
        out.append(
            sc.err(
                path + ("description",),
                "a description on a function given by existing_function_arn describes nothing: the module creates "
                "no role or function for it (its inline policy and permission take no description); describe the "
                "function and its role where they are defined",
            )
        )
    elif fn.description is not None:
        out += description(sc, path + ("description",), fn.description)
    if fn.tags and fn.existing_function_arn is not None:
        out.append(
            sc.err(
                path + ("tags",),
                "tags on a function given by existing_function_arn tag nothing: the module creates no role or "
                "function for it (its inline policy and permission take no tags); tag the function and its role "
                "where they are defined",
            )
        )
    elif fn.tags:
        out += tags(sc, path + ("tags",), fn.tags, sc.manifest_tags)
    out += _source(sc, path, fn)
    if fn.execution_role_arn is not None:
        out += _execution_role(sc, path + ("execution_role_arn",), fn)
    out += _runtime(sc, path, fn)
    if fn.package is not None:
        out += _package_environment(sc, path + ("package",), fn)
    if not sc.is_dropped(("name_prefix",)):
        out += names(
            sc, fn.previous_names[0] if fn.previous_names else key, creates_function=fn.existing_function_arn is None
        )
    for i, old in enumerate(fn.previous_names):
        old_problem = naming.function_key_problem(old)
        if old_problem:
            out.append(sc.err(path + ("previous_names", i), f"{old!r} is not a valid function name: it {old_problem}"))
    return out


def _package_environment(sc: Scope, path: Path, fn: Function) -> list[Diagnostic]:
    """Password options that GetRandomPassword can honour, and a user name limit only where
    AWS's function reads one (aws_calls.CLONE_LIMITS)."""
    assert fn.package is not None
    out = []
    pw = fn.package.password
    if pw is not None:
        kinds = ("numbers", "punctuation", "uppercase", "lowercase")
        if all(getattr(pw, f"exclude_{k}") is True for k in kinds):
            out.append(
                sc.err(path + ("password",), "excludes every kind of character: GetRandomPassword has none left to use")
            )
        included = sum(getattr(pw, f"exclude_{k}") is not True for k in kinds)
        if pw.length is not None and pw.require_each_included_type is not False and pw.length < included:
            out.append(
                sc.err(
                    path + ("password", "length"),
                    f"{pw.length} is shorter than the {included} kinds of character that "
                    "require_each_included_type (true by default) puts in every password",
                )
            )
    if fn.package.username_character_limit is not None:
        function = aws_calls.function_for(fn.engine, fn.strategy)
        env = aws_calls.CLONE_LIMITS.get(function, (0, None))[1]
        if env != "USERNAME_CHARACTER_LIMIT":
            out.append(
                sc.err(
                    path + ("username_character_limit",),
                    f"only AWS's MySQL alternating-users function reads USERNAME_CHARACTER_LIMIT; "
                    f"this function is {fn.engine} {fn.strategy}",
                )
            )
    return out


def _source(sc: Scope, path: Path, fn: Function) -> list[Diagnostic]:
    """Exactly one of existing_function_arn, package and rotation_app, each well formed."""
    out = []
    given = SOURCES
    sources = [n for n in given if getattr(fn, n) is not None]
    if len(sources) != 1 and not any(sc.is_dropped(path + (n,)) for n in given):
        out.append(
            sc.err(
                path,
                f"give exactly one of {', '.join(given[:-1])} or {given[-1]}"
                + (f"; got {' and '.join(sources)}" if sources else ""),
            )
        )
    if fn.import_ and fn.rotation_app is not None:
        out.append(
            sc.err(
                path + ("import",),
                "import adopts a role, policy and permission the module manages; a rotation_app brings its own",
            )
        )
    if fn.rotation_app is not None and not rotation_apps.supported(fn.engine):
        out.append(
            sc.err(
                path + ("engine",),
                f"AWS publishes no rotation function for engine {fn.engine!r}; use package or existing_function_arn",
            )
        )
    if fn.existing_function_arn is not None:
        p: Path = path + ("existing_function_arn",)
        parsed, found = arn(sc, p, fn.existing_function_arn, "lambda", "a Lambda function")
        out += found
        if parsed is not None:
            m = aws.LAMBDA_RESOURCE_RE.match(parsed.resource)
            if not m:
                out.append(sc.err(p, f"{fn.existing_function_arn!r} is not a Lambda function ARN"))
            elif m.group(2):
                out.append(
                    sc.err(
                        p,
                        f"{fn.existing_function_arn!r} is qualified (:{m.group(2)}); give the unqualified function ARN "
                        "so that the permission and the rotation name the same function",
                    )
                )
            else:
                out += same_account(sc, p, parsed)
    if fn.package is not None:
        pkg = fn.package
        p = path + ("package", "filename")
        if pkg.filename.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", pkg.filename):
            out.append(sc.err(p, "give the zip's path relative to the manifest, not an absolute path"))
        elif not pkg.filename.endswith(".zip"):
            out.append(sc.err(p, f"{pkg.filename!r} must be a .zip file"))
        elif not (sc.source.base_dir / pkg.filename).is_file():
            out.append(sc.warn(p, f"{pkg.filename!r} does not exist yet; terraform plan needs it"))
    return out


def _execution_role(sc: Scope, p: Path, fn: Function) -> list[Diagnostic]:
    """execution_role_arn names the role an existing function runs as: an IAM role ARN, with
    or without a path, in the manifest's partition and account."""
    text = fn.execution_role_arn
    assert text is not None
    if fn.existing_function_arn is None:
        return [
            sc.err(
                p,
                "execution_role_arn names the role of an existing function (existing_function_arn); "
                "the module creates the role of a package function, and a rotation_app brings its own",
            )
        ]
    parsed = aws.parse_arn(text)
    if parsed is None and aws.IAM_NAME_RE.match(text) and len(text) <= aws.ROLE_NAME_MAX:  # a bare role name
        if sc.partition is not None and sc.head.account_id is not None:
            full = f"arn:{sc.partition}:iam::{sc.head.account_id}:role/{text}"
            return [
                sc.err(
                    p,
                    f"{text!r} is a role name, not an ARN; did you mean {full!r} (in this manifest's account; "
                    "with the role's path before its name if it has one)?",
                )
            ]
        return [
            sc.err(p, f"{text!r} is a role name, not an ARN; give its ARN, arn:<partition>:iam::<account>:role/{text}")
        ]
    if parsed is None or parsed.service != "iam" or parsed.region or not aws.ROLE_RESOURCE_RE.match(parsed.resource):
        return [sc.err(p, f"{text!r} is not an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)")]
    if sc.partition is not None and parsed.partition != sc.partition:
        return [sc.err(p, f"{text!r} is in partition {parsed.partition!r}, but the manifest's is {sc.partition!r}")]
    if sc.head.account_id is not None and parsed.account != sc.head.account_id:
        return [
            sc.err(p, f"{text!r} is in account {parsed.account}, but the manifest's account_id is {sc.head.account_id}")
        ]
    return []


def _runtime(sc: Scope, path: Path, fn: Function) -> list[Diagnostic]:
    """Warn on a runtime Lambda has deprecated or will within runtimes.WARN_DAYS."""
    out = []
    if fn.package is not None and not sc.is_dropped(path + ("package", "runtime")):
        found = runtimes.package_finding(fn.package.runtime, sc.today)
        if found is not None:
            out.append(sc.warn(path + ("package", "runtime"), found.message))
    app = fn.rotation_app
    if app is not None and sc.partition is not None and rotation_apps.supported(fn.engine):
        if sc.is_dropped(path + ("rotation_app", "semantic_version")):
            return out
        found = runtimes.app_finding(fn.engine, fn.strategy, sc.partition, app.semantic_version, sc.today)
        if found is not None:
            where = path + (("rotation_app", "semantic_version") if app.semantic_version else ("rotation_app",))
            out.append(sc.warn(where, found.message))
    return out


def names(sc: Scope, key: str, creates_function: bool = True) -> list[Diagnostic]:
    """AWS's length limits on the names the module creates. An existing function keeps
    its own name, so its name is not checked (the module creates none)."""
    out = []
    made = naming.Names(sc.head.name_prefix, key, naming.region_tag(sc.head.region, sc.head.roles.region_in_names))
    if len(sc.head.roles.path) + len(made.role) > aws.ROLE_PATH_AND_NAME_MAX:
        out.append(
            sc.err(("roles", "path"), f"the role path and name together exceed {aws.ROLE_PATH_AND_NAME_MAX} characters")
        )
    path = ("functions", key)
    for what, value, limit in (
        ("role name", made.role, aws.ROLE_NAME_MAX),
        ("policy name", made.policy, aws.POLICY_NAME_MAX),
        ("function name", made.function if creates_function else None, aws.FUNCTION_NAME_MAX),
        ("permission statement id", made.statement_id, aws.STATEMENT_ID_MAX),
    ):
        if value is not None and len(value) > limit:
            out.append(sc.err(path, f"the {what} {value!r} is {len(value)} characters; AWS allows {limit}"))
    return out


def usage(sc: Scope, functions: dict[str, Function], secrets: dict[str, Secret]) -> list[Diagnostic]:
    """How the secrets use each function: a rotation application takes one key and one
    master secret; lock_to_secret needs exactly one secret; a function without secrets is
    worth a warning."""
    out = []
    # A secret whose function is in error (a shape error, none given, or a name that is no
    # function: each reported) may be meant for any function; counting the users of one
    # would add a second error that the fix of the first undoes.
    raw = sc.source.data.get("secrets")
    unknown_users = not isinstance(raw, dict) or any(
        name not in secrets
        or sc.is_dropped(("secrets", name, "function"))
        or (not secrets[name].managed and secrets[name].function not in functions)
        for name in raw
    )
    for key, fn in functions.items():
        if fn.rotation_app is not None:
            mine = [s for s in secrets.values() if s.function == key]
            for what, values in (
                ("kms_key_arn", {s.kms_key_arn for s in mine}),
                ("master_secret.arn", {s.master_secret.arn for s in mine if s.master_secret}),
                ("master_secret.kms_key_arn", {s.master_secret.kms_key_arn for s in mine if s.master_secret}),
            ):
                if len(values) > 1:
                    out.append(
                        sc.err(
                            ("functions", key, "rotation_app"),
                            f"AWS's rotation application takes one {what} per function, but its secrets use "
                            f"{len(values)} different values; split them over several functions",
                        )
                    )
        if (
            fn.existing_function_arn is not None
            and fn.execution_role_arn is None
            and sc.head.roles.permissions_boundary is not None
        ):
            out.append(
                sc.err(
                    ("functions", key),
                    "roles.permissions_boundary makes the module write a deployer policy, which must name every role "
                    "it may put a policy on; give execution_role_arn, the role this existing function runs as",
                )
            )
        if fn.lock_to_secret and not unknown_users:
            users = sorted(n for n, s in secrets.items() if s.function == key)
            if len(users) != 1:
                out.append(
                    sc.err(
                        ("functions", key, "lock_to_secret"),
                        f"lock_to_secret needs exactly one secret using function {key!r}; {len(users)} do"
                        + (f" ({', '.join(users[:5])}{', ...' if len(users) > 5 else ''})" if users else ""),
                    )
                )
    used = {s.function for s in secrets.values()}
    for key in functions:
        if key not in used and secrets:
            out.append(
                sc.warn(
                    ("functions", key),
                    f"function {key!r} rotates no secret; its role and permission are still generated",
                )
            )
    return out
