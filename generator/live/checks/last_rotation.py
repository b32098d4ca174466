"""``last-rotation`` (subject: the secret's name): did the secret's last rotation fail, and why.

Which secrets. One whose rotation shows a sign of failure since its last success:

* a version holding ``AWSPENDING`` without ``AWSCURRENT`` (a rotation that did not finish);
* ``LastRotatedDate`` ("the most recent date and time that the Secrets Manager rotation
  process was successfully completed", SecretListEntry) or, never rotated, ``CreatedDate``,
  older than the schedule allows (``overdue``'s rule);
* ``NextRotationDate`` passed by more than an hour: "If rotation fails, Secrets Manager retries
  the entire rotation process multiple times. If rotation is unsuccessful, this date may be in
  the past" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html);
* where the caller may read CloudTrail's event history, a ``RotationFailed`` or
  ``RotationAbandoned`` event naming the secret (``additionalEventData.SecretId``) after its
  last success (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html).
  ``RotationStarted`` and ``RotationSucceeded`` are not read: a success is ``LastRotatedDate``
  already, and those two are one event per rotation of every secret, the many pages a run
  would pay for nothing the others do not say. CloudTrail is optional: denied, or not
  answering, the secret is judged from the rest and the finding says so.

Every other secret passes with no call of its own (CloudTrail: one call per event name a run,
:meth:`generator.live.reader.AccountReader.rotation_events`).

Where to read. For a secret with a sign, one paged FilterLogEvents request
(:func:`generator.rotation_logs.request`) on the function's log group (its LoggingConfig's, or
``/aws/lambda/<name>``) for the secret's lines and Lambda's own, from its last success (less
15 minutes, Lambda's longest run, so the attempt that ended then is whole) to now, and never
further back than the schedule allows plus a day: Secrets Manager reattempts a rotation that
failed ("A previous rotation isn't complete. That rotation will be reattempted.",
https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html), so the
last attempt is within one schedule of now. :func:`generator.rotation_logs.read` then names
the step, the time, the cause and the fix, the log line and the request id.

The finding: ``fail`` with the cause and the fix (and, in ``details``, the log line, the
request id and stream, the step, the traceback); ``pass`` when nothing shows a sign, or when
the log shows the rotation finished after the sign; ``unknown`` when the log could not say:
access denied (naming ``logs:FilterLogEvents``), the log group does not exist, the reading
hit its page bound, or the log holds no failure of the secret in the window. An unknown of
what the log does not say (no group, no failure in it) names as its ``cause`` the ``pending`` or
``overdue`` failure that sent doctor to the log, so the run's exit is that failure's; one of
what the caller may not see (denied, the bound) is "not seen" (exit 3 unless accepted).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from generator import model as model_mod
from generator import rotation_logs
from generator.live.checks import rotation
from generator.live.checks.check import ASFF_SECRET, BY_FUNCTION, TROUBLESHOOT, SecretSubject, secret_check
from generator.live.checks.context import Context
from generator.live.checks.function import FUNCTION_EXISTS
from generator.live.checks.rotation import OVERDUE, PENDING
from generator.live.checks.secret import SECRET_EXISTS
from generator.live.client import LiveError
from generator.live.findings import FAIL, PASS, UNKNOWN
from generator.live.reader import Reader

TRAIL_EVENTS = ("RotationFailed", "RotationAbandoned")
TRAIL_SPAN = timedelta(days=90)  # CloudTrail's event history holds 90 days
LAMBDA_LONGEST = timedelta(minutes=15)  # a Lambda invocation's longest timeout
NEXT_ROTATION_SLACK = timedelta(hours=1)
PAGE_EVENTS = rotation_logs.PAGE_LIMIT * rotation_logs.MAX_PAGES


LAST_ROTATION = secret_check(
    "last-rotation", "The last rotation did not fail, or why it did", "HIGH",
    "For a secret whose rotation shows a sign of failure (a version left in AWSPENDING, overdue, its next "
    "rotation past due, a RotationFailed in CloudTrail), the rotation function's own log around it: the step "
    "that failed and when, the cause and the fix from AWS's code, the log line and the request id.",
    TROUBLESHOOT, ASFF_SECRET,
    kinds=(BY_FUNCTION,), needs=(SECRET_EXISTS,),
    # a function that does not exist has no log; what the log cannot say leaves the exit to the
    # pending or overdue failure that sent doctor to it
    follows_from=(FUNCTION_EXISTS, PENDING, OVERDUE),
    reads=(Reader.rotation_events, Reader.function_conf, Reader.rotation_log), controls=("SecretsManager.2",),
)  # fmt: skip


@LAST_ROTATION.judged_by
def last_rotation(on: SecretSubject) -> None:
    """A secret whose rotation is on only."""
    if not on.d.get("RotationEnabled"):
        return
    ctx, s, fn, d = on.ctx, on.s, on.fn, on.d
    n = s.name
    arn = str(d.get("ARN") or s.arn or "")
    end = max(ctx.now, datetime.now(timezone.utc))
    last = _last_success(d)
    trail, trail_why = ctx.read.rotation_events(TRAIL_EVENTS, end - _trail_span(ctx), end)
    signs, pending = _signs(ctx, s, d, last, trail, arn)
    # What the log cannot say about a rotation that pending or overdue already fails leaves the
    # exit to that failure (findings.unseen); what the caller may not see (denied, the page
    # bound) is unseen whatever else fails.
    overdue = last is not None and ctx.now - last > rotation.allowed(s.schedule)
    explained = (n, PENDING.id) if pending else (n, OVERDUE.id) if overdue else None
    if not signs:
        on.add(LAST_ROTATION, PASS, _healthy(d, last, trail_why))
        return
    cause = on.cause(FUNCTION_EXISTS)
    if cause:
        on.caused(LAST_ROTATION, cause, "reading why its rotation failed")
        return
    try:
        conf = ctx.read.function_conf(fn.function_name)
    except LiveError as exc:
        on.unknown(LAST_ROTATION, exc, then=_not_known(signs))
        return
    if conf is None:
        on.add(LAST_ROTATION, UNKNOWN, f"{_shown(signs)}; the function {fn.function_name} does not exist, so there is no log to read",
               "create the function (terraform apply), rotate again, then run doctor", cause=explained)  # fmt: skip
        return
    start = max((last or end) - LAMBDA_LONGEST, end - min(rotation.allowed(s.schedule), TRAIL_SPAN))
    start = min(start, end - timedelta(hours=1))
    group = rotation_logs.printable(rotation_logs.log_group(str(conf.get("FunctionArn") or fn.function_arn),
                                                            conf.get("LoggingConfig")), 600)  # fmt: skip
    base = {"log_group": group, "since": _iso(start), "signs": signs}
    try:
        req = rotation_logs.request(
            str(conf.get("FunctionArn") or fn.function_arn), arn, start, end, conf.get("LoggingConfig")
        )
    except ValueError as exc:
        on.add(LAST_ROTATION, UNKNOWN, f"{_shown(signs)}; its log cannot be searched for it: {rotation_logs.printable(str(exc), 300)}",
               "read the function's log by hand", details=base)  # fmt: skip
        return
    try:
        got = ctx.read.rotation_log(req)
    except LiveError as exc:
        on.unknown(LAST_ROTATION, exc, then=_not_known(signs), details=base)
        return
    since = _utc(start)
    if got is None:
        on.add(LAST_ROTATION, UNKNOWN,
               f"{_shown(signs)}; the function's log group {group} does not exist: the function has never logged there "
               "(Secrets Manager never invoked it, or its role may not write logs), or it logs to another group",
               f"see the permission check (Secrets Manager must be allowed to invoke {fn.function_name}); let its role "
               f"call logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents; {rotation.rotate_again(arn, pending)}",
               cause=explained, details=base)  # fmt: skip
        return
    events, complete = got
    if not complete:
        on.add(LAST_ROTATION, UNKNOWN,
                f"{_shown(signs)}; {group} holds more than {PAGE_EVENTS:,} events of the secret and of Lambda since {since}, "
                "more than doctor reads: the last attempt may be among those not read",
                f"read {group} for {arn} with CloudWatch Logs Insights", details={**base, "events": len(events)})  # fmt: skip
        return
    reading = rotation_logs.read(events, arn, rotation_logs.plan_of(fn, arn))
    f = reading.failure
    if f is not None:
        _failed(on, f, arn, group, base, pending, rotation_logs.plan_of(fn, arn).master_arn)
        return
    if reading.succeeded is not None:
        on.add(LAST_ROTATION, PASS, f"{_shown(signs)}; the function's log shows its rotation finished after that, at {_utc(reading.succeeded)}",
               details={**base, "succeeded": _iso(reading.succeeded), "invocations": reading.invocations})  # fmt: skip
        return
    if reading.invocations:
        message = (f"{_shown(signs)}; {group} holds {reading.invocations} invocation(s) for the secret since {since}, none "
                   "failed and none finished the rotation: it may still be running")  # fmt: skip
    else:
        message = (f"{_shown(signs)}; {group} holds no invocation for the secret since {since}: Secrets Manager did not "
                   "invoke the function for it, or the log's retention dropped them")  # fmt: skip
    on.add(LAST_ROTATION, UNKNOWN, message,
           f"see the permission check and the function's log retention; {rotation.rotate_again(arn, pending)}", cause=explained,
           details={**base, "invocations": reading.invocations})  # fmt: skip


def _failed(on: SecretSubject, f: rotation_logs.Failure, arn: str, group: str, base: dict[str, Any], pending: str,
            master: str | None) -> None:  # fmt: skip
    head = f"{f.step or 'the rotation'} failed at {_utc(f.when)}"
    if f.failures > 1:
        head += f", the last of {f.failures} failed attempts since {_utc(f.first_failure)}"
    who = {
        "unnamed": " (probably this secret's: the failing invocation names no secret, and none that names it failed)",
        "master": f" reading its master secret{' ' + master if master else ''}, which fails every secret that uses it",
        "function": ", before the function's code ran, which fails every secret it rotates",
    }.get(f.attribution, "")
    if pending:  # the service reattempts that version; RotateSecret refuses another while it holds AWSPENDING
        again = (f"; Secrets Manager tries the version left in AWSPENDING ({pending}) again at the next scheduled "
                 "rotation, or drop it and rotate now (see pending)")  # fmt: skip
    elif "rotate again" in f.fix:
        again = ""
    else:
        again = "; " + rotation.rotate_again(arn, "")
    details = {
        **base,
        "step": f.step,
        "time": _iso(f.when),
        "cause_id": f.cause_id,
        "cause": f.cause,
        "fix": f.fix,
        "check": f.check,
        "log_line": f.log_line,
        "request": f"{f.request_id or 'no request id'} in log stream {f.log_stream} of {group}",
        "request_id": f.request_id,
        "log_stream": f.log_stream,
        "attribution": f.attribution,
        "failures": f.failures,
        "first_failure": _iso(f.first_failure),
        "site": f.site,
        "notes": list(f.notes),
        "traceback": list(f.traceback),
    }
    on.add(LAST_ROTATION, FAIL, f"{head}{who}: {f.cause}", f"{f.fix}{again}", details=details)


def _signs(ctx: Context, s: model_mod.SecretPlan, d: dict[str, Any], last: datetime | None,
           trail: list[dict[str, Any]], arn: str) -> tuple[list[str], str]:  # fmt: skip
    """What says the secret's rotation failed since its last success, and the version left in
    AWSPENDING ("" none)."""
    signs: list[str] = []
    stuck = sorted(
        str(v) for v, stages in (d.get("VersionIdsToStages") or {}).items()
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages
    )  # fmt: skip
    if stuck:
        signs.append(f"version {stuck[0]} holds AWSPENDING without AWSCURRENT")
    if last is not None and ctx.now - last > rotation.allowed(s.schedule):
        what = "last rotated" if isinstance(d.get("LastRotatedDate"), datetime) else "never rotated, created"
        signs.append(f"{what} {last.date().isoformat()}, longer ago than the schedule allows")
    due = d.get("NextRotationDate")
    if isinstance(due, datetime) and ctx.now - due > NEXT_ROTATION_SLACK and not (last and last > due):
        signs.append(f"its next rotation was due by {_utc(due)}")
    name = str(d.get("Name") or s.name)
    seen: dict[str, list[tuple[datetime, str]]] = {}
    for when, event, error in _trail_events(trail, arn, name, last):
        seen.setdefault(event, []).append((when, error))
    for event, events in seen.items():  # one sign per event name: the service retries
        (first, _), (when, error) = events[0], events[-1]
        head = f"CloudTrail: {event} at {_utc(when)}"
        if len(events) > 1:
            head = f"CloudTrail: {len(events)} {event} events from {_utc(first)} to {_utc(when)}"
        signs.append(head + (f" ({error})" if error else ""))
    return signs, (stuck[0] if stuck else "")


def _trail_events(events: list[dict[str, Any]], arn: str, name: str,
                  after: datetime | None) -> list[tuple[datetime, str, str]]:  # fmt: skip
    """(time, event name, error message) of the CloudTrail events naming the secret after
    ``after``, oldest first. The event is a service event whose ``additionalEventData.SecretId``
    is the secret's ARN; its ``errorMessage`` names the step ("... during createSecret step")."""
    out = []
    for e in events:
        raw = e.get("CloudTrailEvent")
        try:
            doc = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        extra = doc.get("additionalEventData")
        ids = {str((extra or {}).get("SecretId") or "")} if isinstance(extra, dict) else set()
        ids |= {str(r.get("ResourceName") or "") for r in e.get("Resources") or () if isinstance(r, dict)}
        if not ids & {arn, name} - {""}:
            continue
        when = e.get("EventTime")
        if not isinstance(when, datetime):
            try:
                when = datetime.fromisoformat(str(doc.get("eventTime") or "").replace("Z", "+00:00"))
            except ValueError:
                continue
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        if after is not None and when <= after:
            continue
        event = rotation_logs.printable(str(e.get("EventName") or doc.get("eventName") or "?"), 60)
        out.append((when, event, rotation_logs.printable(rotation_logs.mask(str(doc.get("errorMessage") or "")), 300)))
    return sorted(out)


def _trail_span(ctx: Context) -> timedelta:
    """How far back CloudTrail is read: the longest any secret may wait between rotations (a
    failure since its last success is within it, or the secret is overdue), at most 90 days."""
    waits = [rotation.allowed(s.schedule) for s in ctx.m.secrets if s.function is not None and s.external is None]
    return min(max(waits, default=timedelta(days=1)), TRAIL_SPAN)


def _last_success(d: dict[str, Any]) -> datetime | None:
    for key in ("LastRotatedDate", "CreatedDate"):
        when = d.get(key)
        if isinstance(when, datetime):
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None


def _healthy(d: dict[str, Any], last: datetime | None, trail_why: str) -> str:
    if isinstance(d.get("LastRotatedDate"), datetime) and last is not None:
        head = f"no sign of a failed rotation since the last one, {last.date().isoformat()}"
    else:
        head = "not rotated yet, and no sign of a failed rotation"
    head += ": not overdue, no version left in AWSPENDING"
    if trail_why:
        return f"{head} (CloudTrail's rotation events not read: {trail_why})"
    return f"{head}, no RotationFailed or RotationAbandoned in CloudTrail"


def _not_known(signs: list[str]) -> str:
    return f", so why it failed is not known ({_shown(signs)})"


def _shown(signs: list[str]) -> str:
    return "; ".join(signs)


def _utc(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
