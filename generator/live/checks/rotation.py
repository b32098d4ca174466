"""Rotation and its schedule (subject: the secret's name, after apply): ``rotation`` (on,
with the manifest's function), ``schedule`` (the manifest's), ``overdue``
(``LastRotatedDate`` within the schedule) and ``pending`` (no version holds ``AWSPENDING``
without ``AWSCURRENT``); and ``managed: true`` secrets, which their own service rotates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from generator import model as model_mod
from generator.live.checks.context import Context, Findings
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, Finding
from generator.live.registry import TROUBLESHOOT

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$")


def rotation(ctx: Context, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, d: dict[str, Any]) -> list[Finding]:
    out = Findings()
    n = s.name
    ident = s.ident
    resource = f"aws_secretsmanager_secret_rotation.{ident}"
    # A function the manifest names that does not exist: what rotation would use is not known
    # (and "apply points the rotation at it" would break the rotation).
    cause = ctx.function_cause(fn, "function")
    if not d.get("RotationEnabled"):
        if cause:
            out.caused(n, "rotation", cause)
        else:
            out.by_apply(ctx, n, "rotation",
                         "rotation is off" + (f" (it was set up with {d['RotationLambdaARN']})" if d.get("RotationLambdaARN") else ""),
                         f"{resource} turns rotation on with {fn.function_arn}, {_describe_schedule(s.schedule)}",
                         f"run terraform apply ({resource} turns it on)")  # fmt: skip
        out += pending(ctx, s, fn, d)  # a version left pending fails the first rotation too
        return out
    if cause:
        out.caused(n, "rotation", cause)
    elif d.get("RotationLambdaARN") != fn.function_arn:
        out.by_apply(ctx, n, "rotation", f"rotation uses {d.get('RotationLambdaARN')}, not the manifest's function {fn.function_arn}",
                     f"{resource} points the rotation at {fn.function_arn} (now {d.get('RotationLambdaARN')})",
                     f"run terraform apply ({resource} points the rotation at {fn.function_arn})")  # fmt: skip
    else:
        out.add(n, "rotation", PASS, f"rotation is on with {fn.function_arn}")
    out += schedule(ctx, s, resource, d)
    out += overdue(ctx, s, d)
    out += pending(ctx, s, fn, d)
    return out


def schedule(ctx: Context, s: model_mod.SecretPlan, resource: str, d: dict[str, Any]) -> list[Finding]:
    """Rotation is on: only its rules may differ from the manifest's."""
    out = Findings()
    problems = _schedule_problems(s.schedule, d.get("RotationRules") or {})
    if problems:
        out.by_apply(ctx, s.name, "schedule", "; ".join(problems),
                     f"{resource} sets the schedule to the manifest's: {_describe_schedule(s.schedule)} (now it {'; '.join(problems)})",
                     _schedule_fix(resource, s.schedule, problems),
                     field=schedule_field(s.schedule, d.get("RotationRules") or {}))  # fmt: skip
    else:
        out.add(s.name, "schedule", PASS, f"schedule {_describe_schedule(s.schedule)}")
    return out


def service_rotated(ctx: Context, s: model_mod.SecretPlan) -> list[Finding]:
    """managed: true -- the owning service rotates the secret: it must exist and its
    rotation must be on with the manifest's schedule; there is no function to check."""
    out = Findings()
    n = s.name
    try:
        d = ctx.read.secret(s.arn or s.name)
    except LiveError as exc:
        out.unknown(n, "secret", exc)
        return out
    if d is None:
        out.add(n, "secret", FAIL, f"secret {s.arn or s.name} does not exist in {ctx.m.region}",
                 "a managed secret exists once its database has manage_master_user_password; fix the name or arn")  # fmt: skip
        return out
    out.add(
        n,
        "secret",
        PASS,
        f"{d['ARN']} exists" + (f" (owned by {d['OwningService']})" if d.get("OwningService") else ""),
    )
    resource = f"aws_secretsmanager_secret_rotation.{s.ident}"
    if not d.get("RotationEnabled"):
        out.by_apply(ctx, n, "rotation", "rotation is off",
                     f"{resource} turns rotation on, {_describe_schedule(s.schedule)}",
                     f"run terraform apply ({resource} turns it on with the manifest's schedule)")  # fmt: skip
        return out
    out.add(n, "rotation", PASS, "rotation is on, managed by the secret's service")
    out += schedule(ctx, s, resource, d)
    out += overdue(ctx, s, d)
    return out


def overdue(ctx: Context, s: model_mod.SecretPlan, d: dict[str, Any]) -> list[Finding]:
    out = Findings()
    n = s.name
    period = longest_wait(s.schedule)
    last = d.get("LastRotatedDate")
    if isinstance(last, datetime):
        age = ctx.now - last
        if age > allowed(s.schedule):
            out.add(n, "overdue", FAIL,
                     f"last rotated {last.date().isoformat()}, {age.days} days ago; the schedule allows {period.days} days",
                     f"look at the rotation function's logs (/aws/lambda/...), fix the cause, then: aws secretsmanager rotate-secret --secret-id {d['ARN']} ({TROUBLESHOOT})")  # fmt: skip
        else:
            out.add(n, "overdue", PASS, f"last rotated {last.date().isoformat()}, within the schedule")
        return out
    created = d.get("CreatedDate")
    if isinstance(created, datetime) and ctx.now - created > allowed(s.schedule):
        out.add(n, "overdue", FAIL, f"never rotated, and created {created.date().isoformat()}, more than {period.days} days ago",
                 f"aws secretsmanager rotate-secret --secret-id {d['ARN']}; if it fails, see the function's logs ({TROUBLESHOOT})")  # fmt: skip
    else:
        out.add(n, "overdue", PASS, "not rotated yet; the first rotation is not yet due")
    return out


def pending(ctx: Context, s: model_mod.SecretPlan, fn: model_mod.FunctionPlan, d: dict[str, Any]) -> list[Finding]:
    out = Findings()
    n = s.name
    stuck = sorted(
        v
        for v, stages in (d.get("VersionIdsToStages") or {}).items()
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages
    )
    if not stuck:
        out.add(n, "pending", PASS, "no unfinished rotation (no AWSPENDING version without AWSCURRENT)")
        return out
    v = stuck[0]
    out.add(n, "pending", FAIL,
             f"version {v} holds AWSPENDING without AWSCURRENT: a rotation started and did not finish, and the next one fails with "
             "\"A previous rotation isn't complete\". The usual causes: the function could not reach Secrets Manager or the "
             "database (a timeout: no endpoint or NAT route, or a security group), the role or key policy lacks a grant, or "
             "the database refused the new password",
             f"read the function's logs (/aws/lambda/{fn.function_name}) and fix the cause; then rotate again "
             f"(aws secretsmanager rotate-secret --secret-id {d['ARN']}), or drop the pending version: aws secretsmanager "
             f"update-secret-version-stage --secret-id {d['ARN']} --version-stage AWSPENDING --remove-from-version-id {v} ({TROUBLESHOOT})")  # fmt: skip
    return out


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
