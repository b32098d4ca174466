"""Rotation and its schedule (subject: the secret's name): ``rotation`` (on, with the
manifest's function; a ``managed: true`` secret's own service rotates it), ``schedule`` (the
manifest's), ``overdue`` (``LastRotatedDate`` within the schedule) and ``pending`` (no
version holds ``AWSPENDING`` without ``AWSCURRENT``). A managed external secret's rotation
is ``external-rotation`` (:mod:`.external`); its schedule and age are judged here too."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from generator import model as model_mod
from generator.live.checks.check import (
    ASFF_SECRET,
    BY_FUNCTION,
    BY_PARTNER,
    BY_SERVICE,
    SM_GUIDE,
    TROUBLESHOOT,
    SecretSubject,
    secret_check,
)
from generator.live.checks.function import FUNCTION_EXISTS
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.findings import FAIL, PASS

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$")


ROTATION = secret_check(
    "rotation", "Rotation is on, with the manifest's function", "MEDIUM",
    "Rotation is enabled and points at the manifest's function.",
    f"{SM_GUIDE}/rotating-secrets.html", ASFF_SECRET,
    kinds=(BY_FUNCTION, BY_SERVICE), needs=(SECRET_EXISTS,),
    # a function the manifest names that does not exist: what rotation would use is not known
    # (and "apply points the rotation at it" would break the rotation)
    follows_from=(FUNCTION_EXISTS,), controls=("SecretsManager.1",),
)  # fmt: skip


@ROTATION.judged_by
def rotation(on: SecretSubject) -> None:
    s, d = on.s, on.d
    resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
    if on.kind == BY_SERVICE:  # managed: true -- the owning service rotates it; there is no function to check
        if not d.get("RotationEnabled"):
            on.by_apply(ROTATION, "rotation is off", f"{resource} turns rotation on, {_describe_schedule(s.schedule)}",
                        f"run terraform apply ({resource} turns it on with the manifest's schedule)")  # fmt: skip
        else:
            on.add(ROTATION, PASS, "rotation is on, managed by the secret's service")
        return
    fn = on.fn
    cause = on.cause(FUNCTION_EXISTS)
    if not d.get("RotationEnabled"):
        if cause:
            on.caused(ROTATION, cause)
        else:
            on.by_apply(ROTATION,
                        "rotation is off" + (f" (it was set up with {d['RotationLambdaARN']})" if d.get("RotationLambdaARN") else ""),
                        f"{resource} turns rotation on with {fn.function_arn}, {_describe_schedule(s.schedule)}",
                        f"run terraform apply ({resource} turns it on)")  # fmt: skip
    elif cause:
        on.caused(ROTATION, cause)
    elif d.get("RotationLambdaARN") != fn.function_arn:
        on.by_apply(ROTATION, f"rotation uses {d.get('RotationLambdaARN')}, not the manifest's function {fn.function_arn}",
                    f"{resource} points the rotation at {fn.function_arn} (now {d.get('RotationLambdaARN')})",
                    f"run terraform apply ({resource} points the rotation at {fn.function_arn})")  # fmt: skip
    else:
        on.add(ROTATION, PASS, f"rotation is on with {fn.function_arn}")


def _rotating(on: SecretSubject) -> bool:
    """Rotation is on (a managed external secret: and the manifest turns it on): only then do
    its rules and its age say anything."""
    return bool(on.d.get("RotationEnabled")) and (on.kind != BY_PARTNER or on.s.rotates)


SCHEDULE = secret_check(
    "schedule", "The rotation schedule is the manifest's", "LOW",
    "The rotation rules (days or expression, and window) are the manifest's schedule.",
    f"{SM_GUIDE}/rotate-secrets_schedule.html", ASFF_SECRET,
    needs=(SECRET_EXISTS,),
)  # fmt: skip


@SCHEDULE.judged_by
def schedule(on: SecretSubject) -> None:
    """Rotation is on: only its rules may differ from the manifest's."""
    if not _rotating(on):
        return
    s, rules = on.s, on.d.get("RotationRules") or {}
    resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
    problems = _schedule_problems(s.schedule, rules)
    if not problems:
        on.add(SCHEDULE, PASS, f"schedule {_describe_schedule(s.schedule)}")
    elif on.kind == BY_PARTNER:
        on.add(SCHEDULE, FAIL, "; ".join(problems), _schedule_fix(resource, s.schedule, problems),
               field=schedule_field(s.schedule, rules))  # fmt: skip
    else:
        on.by_apply(SCHEDULE, "; ".join(problems),
                    f"{resource} sets the schedule to the manifest's: {_describe_schedule(s.schedule)} (now it {'; '.join(problems)})",
                    _schedule_fix(resource, s.schedule, problems),
                    field=schedule_field(s.schedule, rules))  # fmt: skip


OVERDUE = secret_check(
    "overdue", "The secret was rotated within its schedule", "HIGH",
    "LastRotatedDate (or, never rotated, CreatedDate) is within the schedule's period and window.",
    TROUBLESHOOT, ASFF_SECRET,
    needs=(SECRET_EXISTS,), controls=("SecretsManager.2", "SecretsManager.4"),
)  # fmt: skip


@OVERDUE.judged_by
def overdue(on: SecretSubject) -> None:
    if not _rotating(on):
        return
    s, d, now = on.s, on.d, on.ctx.now
    period = longest_wait(s.schedule)
    last = d.get("LastRotatedDate")
    if isinstance(last, datetime):
        age = now - last
        if age > allowed(s.schedule):
            on.add(OVERDUE, FAIL,
                   f"last rotated {last.date().isoformat()}, {age.days} days ago; the schedule allows {period.days} days",
                   f"look at the rotation function's logs (/aws/lambda/...), fix the cause, then: aws secretsmanager rotate-secret --secret-id {d['ARN']} ({TROUBLESHOOT})")  # fmt: skip
        else:
            on.add(OVERDUE, PASS, f"last rotated {last.date().isoformat()}, within the schedule")
        return
    created = d.get("CreatedDate")
    if isinstance(created, datetime) and now - created > allowed(s.schedule):
        on.add(OVERDUE, FAIL, f"never rotated, and created {created.date().isoformat()}, more than {period.days} days ago",
               f"aws secretsmanager rotate-secret --secret-id {d['ARN']}; if it fails, see the function's logs ({TROUBLESHOOT})")  # fmt: skip
    else:
        on.add(OVERDUE, PASS, "not rotated yet; the first rotation is not yet due")


PENDING = secret_check(
    "pending", "No rotation is left unfinished", "HIGH",
    "A version holding AWSPENDING without AWSCURRENT makes the next rotation fail.",
    TROUBLESHOOT, ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,), controls=("SecretsManager.2",),
)  # fmt: skip


@PENDING.judged_by
def pending(on: SecretSubject) -> None:
    """Whether or not rotation is on: a version left pending fails the first rotation too; the
    fix drops it before rotating again (:func:`rotate_again`)."""
    fn, d = on.fn, on.d
    stuck = sorted(
        v
        for v, stages in (d.get("VersionIdsToStages") or {}).items()
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages
    )
    if not stuck:
        on.add(PENDING, PASS, "no unfinished rotation (no AWSPENDING version without AWSCURRENT)")
        return
    v = stuck[0]
    on.add(PENDING, FAIL,
             f"version {v} holds AWSPENDING without AWSCURRENT: a rotation started and did not finish, and the next one fails with "
             "\"A previous rotation isn't complete\". The usual causes: the function could not reach Secrets Manager or the "
             "database (a timeout: no endpoint or NAT route, or a security group), the role or key policy lacks a grant, or "
             "the database refused the new password",
             f"read the function's logs (/aws/lambda/{fn.function_name}) and fix the cause; "
             f"{rotate_again(d['ARN'], v)} ({TROUBLESHOOT})")  # fmt: skip


def rotate_again(arn: str, pending: str) -> str:
    """How to rotate again (``pending``: the version left holding AWSPENDING, or ""): "If the
    AWSPENDING staging label is present but not attached to the same version as AWSCURRENT, then
    any later invocation of RotateSecret assumes that a previous rotation request is still in
    progress and returns an error" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html),
    so that version is dropped first."""
    rotate = f"aws secretsmanager rotate-secret --secret-id {arn}"
    if not pending:
        return f"then rotate again: {rotate}"
    return (f"then drop the pending version (aws secretsmanager update-secret-version-stage --secret-id {arn} "
            f"--version-stage AWSPENDING --remove-from-version-id {pending}) and rotate again: {rotate}")  # fmt: skip


def allowed(schedule: model_mod.Schedule) -> timedelta:
    """How long after the last rotation (or the creation) a secret is overdue: the schedule's
    longest wait, a day, and the rotation window."""
    window = timedelta(hours=int(schedule.window[:-1])) if schedule.window else timedelta(0)
    return longest_wait(schedule) + timedelta(days=1) + window


def longest_wait(schedule: model_mod.Schedule) -> timedelta:
    """The longest a schedule may wait between rotations. For cron expressions an upper bound:
    a day for daily, a week when a day of the week is set, 31 days when a day of the month is
    set, a year when the month is set."""
    if schedule.every_days:
        return timedelta(days=schedule.every_days)
    expr = (schedule.expression or "").strip()
    m = _RATE.match(expr)
    if m:
        n = int(m.group(1))
        return timedelta(hours=n) if m.group(2).startswith("hour") else timedelta(days=n)
    fields = expr[len("cron(") : -1].split() if expr.startswith("cron(") else []
    if len(fields) == 6:
        _min, _hour, dom, month, dow, _year = fields
        if month not in ("*", "?"):
            return timedelta(days=366)
        if dom not in ("*", "?"):
            return timedelta(days=31)
        if dow not in ("*", "?"):
            return timedelta(days=7)
        return timedelta(days=1)
    return timedelta(days=366)


def _describe_schedule(schedule: model_mod.Schedule) -> str:
    text = f"every {schedule.every_days} days" if schedule.every_days else str(schedule.expression)
    return text + (f", window {schedule.window}" if schedule.window else "")


def _norm(expr: str | None) -> str:
    return " ".join((expr or "").split())


def _schedule_fix(resource: str, schedule: model_mod.Schedule, problems: list[str]) -> str:
    """The fix of a schedule check that failed while rotation is on: what apply changes (the
    schedule, the window or both), not "turns it on"."""
    window_only = all(p.startswith("window ") for p in problems)
    what = (
        "sets the window"
        if window_only
        else "sets the schedule" + (" and window" if any(p.startswith("window ") for p in problems) else "")
    )
    return f"run terraform apply ({resource} {what} to the manifest's: {_describe_schedule(schedule)}); rotation is already on"


def _schedule_problems(schedule: model_mod.Schedule, rules: dict[str, Any]) -> list[str]:
    return [problem for _field, problem in schedule_differences(schedule, rules)]


def schedule_field(schedule: model_mod.Schedule, rules: dict[str, Any]) -> tuple[str, ...]:
    """The manifest field a schedule finding is about (where SARIF puts it): the first that differs."""
    return next((f for f, _ in schedule_differences(schedule, rules)), ("schedule",))


def schedule_differences(schedule: model_mod.Schedule, rules: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """(the manifest's field, what differs) for each way the rotation rules differ from it."""
    problems: list[tuple[tuple[str, ...], str]] = []
    days = rules.get("AutomaticallyAfterDays")
    expr = _norm(rules.get("ScheduleExpression"))
    if schedule.every_days:
        if days != schedule.every_days and expr != f"rate({schedule.every_days} days)":
            problems.append((("schedule", "every_days"),
                f"rotates {('every ' + str(days) + ' days') if days else (expr or 'on no schedule')}, not every {schedule.every_days} days"
            ))  # fmt: skip
    else:
        want = _norm(schedule.expression)
        m = _RATE.match(want)
        if expr != want and not (m and m.group(2).startswith("day") and days == int(m.group(1))):
            problems.append((("schedule", "expression"),
                f"rotates on {expr or (('every ' + str(days) + ' days') if days else 'no schedule')}, not {want}"
            ))  # fmt: skip
    if schedule.window and rules.get("Duration") != schedule.window:
        problems.append((("schedule", "window"), f"window {rules.get('Duration') or 'none'}, not {schedule.window}"))
    return problems
