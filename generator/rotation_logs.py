"""Why did a secret's last rotation fail? Read from its rotation function's own log.

Pure: nothing here calls AWS. :func:`request` builds the CloudWatch Logs FilterLogEvents
request for one secret, :func:`read_pages` pages through the answers within a bound, and
:func:`read` takes the events FilterLogEvents returned and says what the secret's last
rotation did: the step that failed and when, the cause and the fix (from
:mod:`generator.aws_failures`, derived from AWS's code), the log line and the request id. A
check is a thin adapter: it reads the events, calls :func:`read` with the function's plan,
and turns the :class:`Reading` into a finding.

The log. Lambda writes a function's log to ``/aws/lambda/<function name>``, or to the group
its LoggingConfig names, in one of two formats
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html;
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html):

* Text: ``START RequestId: <id> Version: ...``, ``END RequestId: <id>``,
  ``REPORT RequestId: <id>\\tDuration: <ms> ms\\t...`` (and ``Status: timeout|error`` when it
  did not succeed); the code's ``logging`` records as ``[LEVEL]\\t<time>\\t<request id>\\t<message>``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html); an exception the handler
  raises as one event ``[ERROR] <Type>: <message>``, ``Traceback (most recent call last):``
  and the frames, which names no request id; and ``<time> <request id> Task timed out after
  <N> seconds``.
* JSON: ``{"time", "type": "platform.start" | "platform.runtimeDone" | "platform.report",
  "record": {"requestId", "status", "metrics": {"durationMs"}, ...}}`` from Lambda
  (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html); the code's
  records as ``{"timestamp", "level", "message", "logger", "requestId"}``; an exception the
  handler raises as ``{"timestamp", "log_level": "ERROR", "errorType", "errorMessage",
  "requestId", "stackTrace"}``. (The field names are those of Lambda's Python runtime,
  awslambdaric's ``JsonFormatter`` and ``log_error``:
  https://github.com/aws/aws-lambda-python-runtime-interface-client/blob/46e4c6a11064b8adc8e0dce34a647a04e37ae79c/awslambdaric/bootstrap.py.)

Which invocation is whose. An execution environment runs one invocation at a time and logs
to its own stream, so a line that names no request id belongs to the invocation open in its
stream (between START and END); the lines before an environment's first START (its init)
belong to that first invocation. AWS's functions name the secret's ARN in most lines, but
not in all: an invocation that names the secret is the secret's; one that names only the
secret's master secret (``masterarn``) failed for the master, which fails every secret using
it; an invocation whose failure is the function's own (a package without a module) fails
for every secret; one that names no secret but follows, in the same stream and within a
minute, an invocation that names the secret is that rotation's next step; one that names no
secret at all is reported only when no invocation of the window that is the secret's
failed, and says so (``attribution``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from generator import aws_calls, aws_failures
from generator.aws_failures import CAUSES, STEPS, Cause

LOG_FORMAT_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html"
FILTER_PATTERN_PAGE = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"
FILTER_LOG_EVENTS_PAGE = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html"

# --- The request --------------------------------------------------------------------------

# FilterLogEvents returns at most 10,000 events a page (its limit's maximum) and may return a
# page with fewer, even none, and a nextToken while it searches the window: pages are bounded.
PAGE_LIMIT = 10_000
MAX_PAGES = 10
MAX_PATTERN = 1024  # FilterLogEvents' filterPattern: at most 1024 characters
# Lambda's own lines, which name no secret but place each line in its invocation, and the
# error lines of a failure that may not name the secret.
BOUNDARY_TERMS = ("START RequestId", "END RequestId", "REPORT RequestId", "platform.start", "platform.report",
                  "Task timed out", "ERROR")  # fmt: skip


def function_name(function: str) -> str:
    """The function's name from its name or ARN (``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``)."""
    if function.startswith("arn:"):
        parts = function.split(":")
        return parts[6] if len(parts) > 6 else ""
    return function


def log_group(function: str, logging_config: Mapping[str, Any] | None = None) -> str:
    """The function's log group: its LoggingConfig's LogGroup, else ``/aws/lambda/<name>``
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html)."""
    group = (logging_config or {}).get("LogGroup")
    if isinstance(group, str) and group:
        return group
    return f"/aws/lambda/{function_name(function)}"


def filter_pattern(secret_arn: str) -> str:
    """Events that name the secret's ARN, or that are Lambda's own or an error line: terms
    joined with ``?`` (any of them), each in double quotes, since the ARN holds ``:`` and
    ``/`` (a term with characters other than letters, digits and ``_`` must be quoted:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html)."""
    if (
        not secret_arn
        or any(c in secret_arn for c in '"\\')
        or any(unicodedata.category(c)[0] == "C" for c in secret_arn)
    ):
        raise ValueError(f"not a secret ARN a filter pattern can quote: {secret_arn!r}")
    pattern = " ".join(f'?"{term}"' for term in (secret_arn, *BOUNDARY_TERMS))
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"the filter pattern for {secret_arn!r} is longer than FilterLogEvents accepts")
    return pattern


def _ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("give the window in aware datetimes (UTC)")
    return int(when.timestamp() * 1000)


def request(function: str, secret_arn: str, start: datetime, end: datetime,
            logging_config: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The FilterLogEvents request (keyword arguments of boto3's ``filter_log_events``) for
    the secret's rotations between ``start`` and ``end``."""
    if end <= start:
        raise ValueError("the window ends before it starts")
    return {
        "logGroupName": log_group(function, logging_config),
        "filterPattern": filter_pattern(secret_arn),
        "startTime": _ms(start),
        "endTime": _ms(end),
        "limit": PAGE_LIMIT,
    }


def read_pages(call: Callable[..., Mapping[str, Any]], req: Mapping[str, Any],
               max_pages: int = MAX_PAGES) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    """Every event of the request, page by page, at most ``max_pages`` pages. Returns the
    events and whether they are all of them (False: the bound stopped the reading, so what
    is missing may hold the last attempt; the caller says so rather than judge)."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(max_pages):
        page = call(**req, **({"nextToken": token} if token else {}))
        events.extend(dict(e) for e in page.get("events") or () if isinstance(e, Mapping))
        nxt = page.get("nextToken")
        if not nxt or nxt == token:
            return events, True
        token = str(nxt)
    return events, False


# --- The lines ----------------------------------------------------------------------------

NBSP = "\u00a0"
SECRET_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:[\w/+=.@!-]+")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_START = re.compile(rf"^START RequestId: ({_UUID})")
_END = re.compile(rf"^END RequestId: ({_UUID})")
_REPORT = re.compile(rf"^REPORT RequestId: ({_UUID})")
_DURATION = re.compile(r"\bDuration: ([\d.]+) ms")
_STATUS = re.compile(r"\bStatus: (\w+)")
_ERROR_TYPE = re.compile(r"\bError Type: ([\w.]+)")
_RECORD = re.compile(r"^\[(?P<level>[A-Z]+)\]\t(?P<time>[^\t]*)\t(?P<rid>[^\t]*)\t(?P<msg>.*)$", re.S)
_RAISED = re.compile(r"^\[ERROR\] (?P<type>[\w.]+)(?:: (?P<msg>.*))?$")
_TIMED_OUT_LINE = re.compile(rf"^\S+\s+({_UUID})\s+Task timed out after")
_STEP_PREFIX = re.compile(r"^(createSecret|setSecret|testSecret|finishSecret):")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>[\w.<>]+)')
# AWS's code logs (logger.info) that the version is already AWSCURRENT: the rotation is done.
_DONE = re.compile(r"already (set|marked) as AWSCURRENT")


@dataclass
class Line:
    stream: str
    ms: int
    index: int
    kind: str  # start | end | report | done | record | raised | timeout | other
    raw: str
    request_id: str = ""
    level: str = ""
    text: str = ""  # the message (a raised exception's: its message)
    error_type: str = ""
    trace: tuple[str, ...] = ()
    status: str = ""  # report / runtimeDone: success | error | timeout | failure
    duration_ms: float | None = None


def _lines(text: str) -> list[str]:
    return [ln.replace(NBSP, " ") for ln in re.split(r"\r\n|\r|\n", text)]


def parse(event: Mapping[str, Any], index: int = 0) -> Line:
    """One event as FilterLogEvents returns it (``logStreamName``, ``timestamp``, ``message``)."""
    raw = str(event.get("message") or "")
    stream = str(event.get("logStreamName") or "")
    try:
        ms = int(event.get("timestamp") or 0)
    except (TypeError, ValueError):
        ms = 0
    line = Line(stream, ms, index, "other", raw)
    body = raw.strip()
    if body.startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            _parse_json(line, doc)
            return line
    _parse_text(line, raw)
    return line


def _parse_json(line: Line, doc: dict[str, Any]) -> None:
    kind = doc.get("type")
    if isinstance(kind, str) and kind.startswith("platform."):
        rec = doc.get("record")
        record: dict[str, Any] = rec if isinstance(rec, dict) else {}
        line.request_id = str(record.get("requestId") or "")
        line.status = str(record.get("status") or "")
        line.error_type = str(record.get("errorType") or "")
        met = record.get("metrics")
        metrics: dict[str, Any] = met if isinstance(met, dict) else {}
        if isinstance(metrics.get("durationMs"), (int, float)):
            line.duration_ms = float(metrics["durationMs"])
        line.kind = {"platform.start": "start", "platform.runtimeDone": "done", "platform.report": "report"}.get(
            kind, "other"
        )
        return
    line.request_id = str(doc.get("requestId") or "")
    trace = doc.get("stackTrace")
    if isinstance(trace, list):
        line.trace = tuple(t for item in trace if isinstance(item, str) for t in _lines(item) if t.strip())
    if "log_level" in doc and "errorType" in doc:  # an exception the handler raised
        line.kind, line.level = "raised", "ERROR"
        line.error_type = str(doc.get("errorType") or "")
        line.text = str(doc.get("errorMessage") or "")
        return
    if "level" in doc:
        line.kind, line.level = "record", str(doc.get("level") or "")
        line.text = str(doc.get("message") or "")
        line.error_type = str(doc.get("errorType") or "")
        if "Task timed out after" in line.text:
            line.kind = "timeout"
        return
    line.text = json.dumps(doc)[:2000]


def _parse_text(line: Line, raw: str) -> None:
    first, *rest = _lines(raw.rstrip("\n")) or [""]
    for regex, kind in ((_START, "start"), (_END, "end"), (_REPORT, "report")):
        m = regex.match(first)
        if m:
            line.kind, line.request_id = kind, m.group(1)
            if kind == "report":
                d = _DURATION.search(first)
                line.duration_ms = float(d.group(1)) if d else None
                s = _STATUS.search(first)
                line.status = s.group(1) if s else "success"
                e = _ERROR_TYPE.search(first)
                line.error_type = e.group(1) if e else ""
            return
    m = _TIMED_OUT_LINE.match(first)
    if m or "Task timed out after" in first:
        line.kind, line.request_id, line.text = "timeout", (m.group(1) if m else ""), first
        return
    rec = _RECORD.match(raw.rstrip("\n"))
    if rec:
        msg_lines = _lines(rec.group("msg"))
        line.kind, line.level, line.request_id = "record", rec.group("level"), rec.group("rid")
        line.text, line.trace = msg_lines[0], tuple(t for t in msg_lines[1:] if t.strip())
        return
    raised = _RAISED.match(first)
    if raised:
        line.kind, line.level = "raised", "ERROR"
        line.error_type, line.text = raised.group("type"), raised.group("msg") or ""
        line.trace = tuple(t for t in rest if t.strip() and t.strip() != "Traceback (most recent call last):")
        return
    line.text = first


# --- The invocations ----------------------------------------------------------------------


@dataclass
class Invocation:
    request_id: str
    stream: str
    lines: list[Line] = field(default_factory=list)

    @property
    def start_ms(self) -> int:
        return min(ln.ms for ln in self.lines)

    @property
    def end_ms(self) -> int:
        return max(ln.ms for ln in self.lines)

    @property
    def failed(self) -> bool:
        return any(
            ln.kind in ("raised", "timeout")
            or (ln.kind in ("report", "done") and ln.status in ("error", "timeout", "failure"))
            for ln in self.lines
        )

    @property
    def timed_out(self) -> bool:
        return any(
            ln.kind == "timeout" or (ln.kind in ("report", "done") and ln.status == "timeout") for ln in self.lines
        )

    @property
    def duration_ms(self) -> float | None:
        return next((ln.duration_ms for ln in self.lines if ln.kind == "report" and ln.duration_ms is not None), None)

    @property
    def texts(self) -> list[str]:
        return [t for ln in self.lines for t in (ln.text, *ln.trace, ln.raw if ln.kind == "other" else "") if t]

    def arns(self) -> set[str]:
        return {m.group().rstrip(".,;:'\")") for t in self.texts for m in SECRET_ARN.finditer(t)}

    def read_arns(self) -> set[str]:
        """The secrets this invocation was denied reading (IAM's "... on resource: <arn>"): a
        secret it read, not one it rotated."""
        return {
            d.resource
            for t in self.texts
            if (d := aws_failures.denial(t)) is not None and SECRET_ARN.fullmatch(d.resource or "")
        }

    def done(self) -> bool:
        """A successful invocation that finished the rotation (finishSecret, or AWS's code
        saying the version is already AWSCURRENT)."""
        if self.failed:
            return False
        return any(_DONE.search(ln.text) or ln.text.startswith("finishSecret:") for ln in self.lines)


def invocations(events: Iterable[Mapping[str, Any]]) -> list[Invocation]:
    """The events grouped into invocations (see the module's docstring)."""
    lines = [parse(e, i) for i, e in enumerate(events)]
    lines.sort(key=lambda ln: (ln.stream, ln.ms, ln.index))
    by_id: dict[tuple[str, str], Invocation] = {}
    out: list[Invocation] = []
    open_in: dict[str, Invocation | None] = {}
    before_start: dict[str, list[Line]] = {}

    def get(stream: str, rid: str) -> Invocation:
        inv = by_id.get((stream, rid))
        if inv is None:
            inv = by_id[(stream, rid)] = Invocation(rid, stream)
            out.append(inv)
        return inv

    for ln in lines:
        if ln.kind == "start" and ln.request_id:
            inv = get(ln.stream, ln.request_id)
            inv.lines.extend(before_start.pop(ln.stream, []))
            inv.lines.append(ln)
            open_in[ln.stream] = inv
            continue
        if ln.request_id:
            inv = get(ln.stream, ln.request_id)
            inv.lines.append(ln)
            if ln.kind in ("end", "report", "done"):
                if open_in.get(ln.stream) is inv:
                    open_in[ln.stream] = None
            elif open_in.get(ln.stream) is None:
                open_in[ln.stream] = inv
            continue
        current = open_in.get(ln.stream)
        if current is not None:
            current.lines.append(ln)
        else:
            before_start.setdefault(ln.stream, []).append(ln)
    for stream, left in before_start.items():  # an init that no invocation followed in the window
        if any(ln.kind in ("raised", "timeout", "record") for ln in left):
            inv = Invocation("", stream, left)
            out.append(inv)
    out.sort(key=lambda inv: (inv.start_ms, inv.stream))
    return out


# --- Masking and printing ------------------------------------------------------------------

_MASKS = (
    # "password": "x", 'password': 'x', password=x, password: x (and passwd, pwd, secret keys)
    re.compile(r"""(?i)(\\?["']?\b(?:password|passwd|pwd|passphrase|secret_?key|secretstring)\\?["']?\s*[:=]\s*)"""
               r"""(\\?"(?:[^"\\]|\\.)*?\\?"|'(?:[^'\\]|\\.)*'|[^\s,;&}\])'"]+)"""),
    re.compile(r"(?i)(\b(?:IDENTIFIED\s+BY|PASSWORD)\s+)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"),
)  # fmt: skip
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)")


def mask(text: str) -> str:
    """``text`` with anything that looks like a password's value replaced by ``****``.
    AWS's functions log no secret value; a driver's error or a changed function might."""

    def keep_quotes(m: re.Match[str]) -> str:
        value = m.group(2)
        q = value[0] if value[:1] in ("'", '"') else ""
        if value.startswith('\\"'):
            return m.group(1) + '\\"****\\"'
        return m.group(1) + (q + "****" + q if q else "****")

    for regex in _MASKS:
        text = regex.sub(keep_quotes, text)
    return _URL_PASSWORD.sub(r"\1****\3", text)


MAX_LINE = 1000


def printable(text: str, limit: int = MAX_LINE) -> str:
    """One line of log text safe for a terminal or a report: tabs as spaces, no-break spaces as
    spaces, every other control or format character escaped, at most ``limit`` characters."""
    out = []
    for c in text:
        if c in ("\t", NBSP):
            out.append(" ")
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    s = "".join(out).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


# --- Causes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What :func:`read` needs of the function's plan: AWS's function its code is, the policy
    the module gives its role (None for a rotation application's own role), the secret's
    master and its kind. :func:`plan_of` builds it from :class:`generator.model.FunctionPlan`."""

    function: str  # AWS's function folder (aws_calls.function_for)
    engine: str
    strategy: str
    policy: Mapping[str, Any] | None = None
    master_arn: str | None = None
    master_kinds: frozenset[str] = frozenset()
    key: str = ""  # the function's key in the manifest, for the fix


def plan_of(fn: Any, secret_arn: str) -> Plan:
    """A :class:`Plan` from a :class:`generator.model.FunctionPlan` and one of its secrets' ARN."""
    from generator import aws

    name = aws.secret_name(secret_arn)
    secret = next((s for s in fn.secrets if s.arn == secret_arn or s.name == name), None)
    master = secret.master_arn if secret is not None else None
    kinds = frozenset({aws_calls.master_kind(aws.secret_name(master) or master)}) if master else frozenset()
    return Plan(
        function=aws_calls.function_for(fn.engine, fn.strategy),
        engine=fn.engine,
        strategy=fn.strategy,
        policy=fn.policy.document() if fn.policy is not None else None,
        master_arn=master,
        master_kinds=kinds,
        key=fn.key,
    )


@dataclass(frozen=True)
class Failure:
    """The last failed rotation attempt of a secret."""

    step: str  # createSecret | setSecret | testSecret | finishSecret; "" when the log does not say
    when: datetime  # of the failing line, UTC
    cause: str
    fix: str
    cause_id: str  # a key of aws_failures.CAUSES
    check: str  # the doctor check that judges the same thing from the account ("" none)
    log_line: str  # the failing line, masked, printable
    request_id: str
    log_stream: str
    attribution: str  # secret | sequence | master | function | unnamed (see the module's docstring)
    failures: int  # failed invocations of the secret in the window (the service retries)
    first_failure: datetime
    site: str = ""  # where AWS's code reports it (function/file line N (function of the code))
    notes: tuple[str, ...] = ()  # other errors of the invocation that bear on it
    traceback: tuple[str, ...] = ()  # masked, printable


@dataclass(frozen=True)
class Reading:
    """What the log says of the secret's rotations in the window."""

    failure: Failure | None  # the last failed attempt, unless a rotation finished after it
    succeeded: datetime | None  # the last rotation that finished (finishSecret), if any
    invocations: int  # invocations of the window that are the secret's


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _frames(inv: Invocation) -> list[tuple[str, int, str]]:
    out = []
    for ln in inv.lines:
        for t in ln.trace:
            m = _FRAME.search(t)
            if m:
                out.append((m.group("file"), int(m.group("line")), m.group("func")))
    return out


def step_of(inv: Invocation, function: str) -> str:
    """The step an invocation ran: from the traceback (the dispatch branch of lambda_handler it
    passed through), else from AWS's ``<step>:`` prefixes of its lines."""
    for file, line, func in _frames(inv):
        if func == "lambda_handler" and file.endswith("lambda_function.py"):
            step = aws_failures.step_of_scope(aws_failures.scope(function, line)[0])
            if step:
                return step
    steps = {m.group(1) for ln in inv.lines if (m := _STEP_PREFIX.match(ln.text))}
    if len(steps) == 1:
        return steps.pop()
    for ln in inv.lines:
        if ln.kind in ("record", "raised") and ln.level == "ERROR":
            site = aws_failures.match(function, ln.text)
            if site is not None and len(site.steps) == 1:
                return site.steps[0]
    return ""


def _primary(inv: Invocation) -> Line:
    for kind in ("raised", "timeout"):
        found = [ln for ln in inv.lines if ln.kind == kind]
        if found:
            return found[-1]
    errors = [ln for ln in inv.lines if ln.kind == "record" and ln.level == "ERROR"]
    if errors:
        return errors[-1]
    bad = [ln for ln in inv.lines if ln.kind in ("report", "done") and ln.status in ("error", "timeout", "failure")]
    return bad[-1] if bad else inv.lines[-1]


def _line_text(ln: Line) -> str:
    if ln.kind == "raised":
        return f"{ln.error_type}: {ln.text}" if ln.text else ln.error_type
    if ln.kind in ("report", "done"):
        return f"{ln.kind} status {ln.status or '?'}" + (f", {ln.error_type}" if ln.error_type else "")
    return ln.text


def _raw_first_line(ln: Line) -> str:
    body = ln.raw.strip()
    if body.startswith("{"):
        if ln.kind == "raised":
            return f"[ERROR] {_line_text(ln)}"
        if ln.kind == "record":
            return f"[{ln.level}] {ln.text}"
        if ln.kind in ("start", "report", "done"):
            kind = {"start": "platform.start", "report": "platform.report", "done": "platform.runtimeDone"}[ln.kind]
            extra = f" durationMs={ln.duration_ms}" if ln.duration_ms is not None else ""
            return f"{kind} status={ln.status or '?'}{extra}" + (f" errorType={ln.error_type}" if ln.error_type else "")
        return body
    return _lines(ln.raw.rstrip("\n"))[0] if ln.raw else ""


def _denied_fix(d: aws_failures.Denial, plan: Plan, step: str, secret_arn: str) -> tuple[str, str]:
    """(what was denied, the fix) of a denied call, by the grant that covers it."""
    from generator import policy_eval

    if d.kms:
        c = CAUSES["kms-denied"]
        what = f"{d.operation}: Secrets Manager may not use the secret's KMS key for the role" + (
            f" ({d.action} on {d.resource})" if d.action else ""
        )
        return what, c.fix
    resource = d.resource
    if resource == secret_arn or (resource and secret_arn.startswith(resource.rstrip("*?-"))):
        target = aws_calls.SECRET
    elif plan.master_arn and resource == plan.master_arn:
        target = aws_calls.MASTER
    elif d.action.startswith("rds:"):
        target = aws_calls.RDS_CLUSTER if ":cluster:" in resource else aws_calls.RDS_DB
    else:
        target = aws_calls.NO_RESOURCE if d.action == "secretsmanager:GetRandomPassword" else "?"
    use = next(
        (
            u
            for u in aws_calls.uses(plan.engine, plan.strategy, plan.master_kinds)
            if u.action == d.action and u.call[2] == target
        ),
        None,
    )
    what = f"{d.action or d.operation} on {resource or 'its resource'}" + (f" in {step}" if step else "")
    granted = None
    if plan.policy is not None and d.action and resource:
        verdict = policy_eval.evaluate([plan.policy], policy_eval.Request(d.action, resource, {}))
        granted = verdict == policy_eval.ALLOWED
    where = {
        "service control policy": "an organization service control policy (SCP) denies it: ask the organization's administrators",
        "resource control policy": "an organization resource control policy (RCP) denies it: ask the organization's administrators",
        "permissions boundary": "the role's permissions boundary does not allow it: add the action to the boundary, or change the module's permissions_boundary",
        "resource-based policy": "the secret's resource policy denies it: allow the role there",
        "session policy": "a session policy denies it",
        "VPC endpoint policy": "the Secrets Manager VPC endpoint's policy does not allow it: allow the role there",
    }.get(d.policy_type)  # fmt: skip
    if where is None and d.policy_type == "identity-based policy" and d.explicit:
        where = "a Deny in another policy of the role denies it: remove that statement or narrow it"
    if use is not None and use.sid is None:
        fix = f"rotation-tf grants no {d.action} here: {use.reason}"
        if d.action.startswith("rds:"):
            fix += "; give the secret the same host as its master secret, so AWS's code does not ask RDS"
        return what, fix
    if granted is True:
        sid = use.sid if use is not None else "the module's policy"
        fix = f"the module grants it (statement {sid})" + (
            f", yet {where}"
            if where
            else ": the policy is not on the role the function runs as (terraform apply; "
            "doctor's role and grants checks), or the key policy, the permissions boundary or an SCP denies it"
        )
        return what, fix
    if where is not None:
        return what, where[0].upper() + where[1:]
    if use is not None and use.sid is not None:
        return what, (
            f"grant it: statement {use.sid} of the module's policy allows {d.action} on it; terraform apply the "
            f"module (functions.{plan.key})"
            if plan.key
            else f"grant it: statement {use.sid} of the module's policy"
        )
    return what, f"allow {d.action or d.operation} on {resource or 'the resource'} for the role the function runs as"


def _timeout_cause(step: str, seconds: str, plan: Plan, quiet: bool) -> tuple[str, str, str]:
    limit = aws_failures.connect_timeout(plan.function)
    waits = (
        f"each database login waits up to {limit} s (the driver's connect timeout), and tries TLS first"
        if limit
        else ""
    )
    head = f"Lambda stopped the function after {seconds} s, its timeout"
    if step == "createSecret" or (not step and quiet):
        cause = (
            f"{head}, before AWS's code logged anything: it was waiting for its first call to Secrets Manager. "
            "There is no network path from the function's subnets to Secrets Manager"
        )
        fix = "add a Secrets Manager interface endpoint with private DNS to the function's VPC (or a NAT gateway), and let its security groups reach it on 443"
        return cause, fix, "network"
    if step in ("setSecret", "testSecret"):
        cause = (
            f"{head}, in {step}: the database did not answer within it ({waits}), or the RDS API was unreachable"
            if waits
            else f"{head}, in {step}: the database did not answer"
        )
        fix = "let the function reach the database on its port (security groups, routes); give the function a timeout above its logins' waits (30 s or more)"
        return cause, fix, "database"
    if step == "finishSecret":
        return (
            f"{head}, in finishSecret: Secrets Manager did not answer",
            "check the function's network path to Secrets Manager",
            "network",
        )
    return f"{head}; the log does not say in which step", "check the network paths to Secrets Manager and to the database (doctor's network and database checks)", "network"  # fmt: skip


def _cause(inv: Invocation, ln: Line, plan: Plan, secret_arn: str, step: str) -> tuple[str, str, str, str, str]:
    """(cause id, cause, fix, check, site) of a failed invocation's failing line."""
    text = _line_text(ln)
    function = plan.function
    if ln.error_type in aws_failures.RUNTIME_ERRORS or ln.error_type.startswith("Runtime."):
        cid = aws_failures.RUNTIME_ERRORS.get(ln.error_type, "handler")
        c = CAUSES[cid]
        m = aws_failures.NO_MODULE.search(ln.text)
        module = m.group("module") if m else ""
        package = aws_failures.DRIVER_PACKAGES.get(module.split(".")[0], "")
        cause = c.cause.format(
            module=f" ({module}{', from ' + package if package else ''})" if module else "", detail=ln.text
        )
        return cid, cause, c.fix, c.check, ""
    if inv.timed_out and ln.kind in ("timeout", "report", "done"):
        m = aws_failures.TIMED_OUT.search(ln.text)
        seconds = m.group("seconds") if m else (f"{(inv.duration_ms or 0) / 1000:.2f}" if inv.duration_ms else "?")
        quiet = not any(x.kind == "record" for x in inv.lines)
        cause, fix, check = _timeout_cause(step, seconds, plan, quiet)
        return "timeout", cause, fix, check, ""
    d = aws_failures.denial(text)
    if (
        d is not None
        and d.action == "secretsmanager:GetSecretValue"
        and plan.master_arn
        and SECRET_ARN.fullmatch(d.resource or "")
        and not _same_secret(d.resource, secret_arn)
        and not _same_secret(d.resource, plan.master_arn)
    ):  # the role may read the manifest's master only: the secret's masterarn names another
        c = CAUSES["master-elsewhere"]
        return (c.id, c.cause.format(resource=d.resource, master=plan.master_arn),
                c.fix.format(resource=d.resource, master=plan.master_arn), c.check, "")  # fmt: skip
    if d is not None:
        what, fix = _denied_fix(d, plan, step, secret_arn)
        if d.action.startswith("rds:") and any(f[2] == "is_rds_replica_database" for f in _frames(inv)):
            n = CAUSES["not-replica"]
            cause = (f"{n.cause}: AWS's code then asks RDS whether it is a read replica ({d.action} on {d.resource}), "
                     "and the role may not")  # fmt: skip
            return n.id, cause, fix, n.check, ""
        cid = "kms-denied" if d.kms else "denied"
        cause = CAUSES["kms-denied"].cause if d.kms else f"the role the function runs as may not call {what}"
        return cid, cause, fix, CAUSES[cid].check, ""
    m = aws_failures.CLIENT_ERROR.search(text)
    if m is not None:
        code = m.group("code")
        if code == "ResourceNotFoundException":
            master_read = any("master" in t for t in (ln.trace or ()) if "get_secret_dict" in t or "master_arn" in t)
            cid = "master-not-found" if master_read else "secret-not-found"
            c = CAUSES[cid]
            return (
                cid,
                c.cause + (f" ({plan.master_arn})" if master_read and plan.master_arn else ""),
                c.fix,
                c.check,
                "",
            )
        if code == "InvalidRequestException":
            c = CAUSES["secret-invalid-request"]
            return c.id, f"{c.cause}: {m.group('message') or ''}".rstrip(": "), c.fix, c.check, ""
    if aws_failures.ENDPOINT_UNREACHABLE.search(text):
        c = CAUSES["no-endpoint"]
        return c.id, c.cause, c.fix, c.check, ""
    site = aws_failures.match(function, text) or aws_failures.match_any(text)
    if site is not None and site.cause is not None:
        c = CAUSES[site.cause]
        cause, fix = c.cause, c.fix
        if site.cause == "rds-api-error" and any(f[2] == "is_rds_replica_database" for f in _frames(inv)):
            n = CAUSES["not-replica"]
            return n.id, n.cause + " (AWS's code asked RDS whether the host is a read replica of the master's, and RDS could not say)", n.fix, n.check, site.cite  # fmt: skip
        if site.cause == "clone-too-long":
            limit = re.search(r"exceed (\d+) characters", text)
            if limit:
                cause += f" ({limit.group(1)} characters)"
                fix = fix.replace("the limit minus 6", str(int(limit.group(1)) - len(aws_calls.CLONE_SUFFIX)))
        if site.cause == "missing-field":
            name = re.search(r"'?(\w+) key is missing", text)
            if name:
                cause = (f"a secret's value lacks the field {name.group(1)}, which the function reads (the rotated "
                         "secret's value, or its master secret's)")  # fmt: skip
        if site.cause == "wrong-engine":
            value = re.search(r"engine must be set to '([^']+)'", text)
            if value:
                fix = f"set engine to '{value.group(1)}' in the secret's value, or rotate the secret with the function of its engine"
        if site.cause in ("current-login", "master-login", "no-version-logs-in", "pending-login"):
            cause += _login_timing(inv, function)
        return c.id, cause, fix, c.check, site.cite
    kind = aws_failures.driver_error(function, text)
    if kind is not None:
        c = CAUSES[aws_failures.DRIVER_CAUSES[kind]]
        return c.id, c.cause, c.fix, c.check, ""
    if ln.error_type == "NotImplementedError":
        c = CAUSES["not-implemented"]
        return c.id, c.cause, c.fix, c.check, ""
    c = CAUSES["unknown"]
    return c.id, c.cause, c.fix, c.check, ""


def _same_secret(arn: str, name: str) -> bool:
    """``arn`` is the secret ``name`` gives: its ARN, or the manifest's partial-ARN pattern
    (``...:secret:<name>-??????``)."""
    if name.endswith("-??????"):
        return arn.startswith(name[: -len("??????")]) and len(arn) == len(name)
    return arn == name


def _login_timing(inv: Invocation, function: str) -> str:
    """What the invocation's duration says of a failed login: a database that does not answer
    makes the driver wait its connect timeout; a wrong password or a closed port fails at once."""
    limit = aws_failures.connect_timeout(function)
    duration = inv.duration_ms
    if not limit or duration is None:
        return ""
    if duration >= limit * 1000:
        return (f". The invocation took {duration / 1000:.1f} s, at least the driver's {limit} s connect timeout: "
                "the database did not answer (network: security group, route, port) rather than refuse the password")  # fmt: skip
    return (f". The invocation failed in {duration / 1000:.1f} s, sooner than the driver's {limit} s connect timeout: "
            "the server answered and refused (a wrong password, or nothing listening on the port)")  # fmt: skip


def _notes(inv: Invocation, primary: Line, function: str, cause_id: str) -> tuple[tuple[str, ...], Cause | None]:
    """Other errors of the invocation: their causes as notes, and a root cause if one is."""
    notes: list[str] = []
    root = None
    for ln in inv.lines:
        if ln is primary or ln.kind != "record" or ln.level != "ERROR":
            continue
        if _STEP_PREFIX.sub("", ln.text).strip() in _line_text(primary):  # the same failure, logged before it is raised
            continue
        site = aws_failures.match(function, ln.text)
        if site is None or site.cause is None or site.cause == cause_id:
            continue
        c = CAUSES[site.cause]
        if c.root and root is None:
            root = c
        note = f"{c.cause} ({printable(mask(ln.text), 200)})"
        if note not in notes:
            notes.append(note)
    return tuple(notes), root


def attribution(inv: Invocation, secret_arn: str, master_arn: str | None) -> str | None:
    arns = inv.arns()
    if secret_arn in arns:
        return "secret"
    if master_arn and master_arn in arns and arns <= {master_arn}:
        return "master"
    if any(ln.error_type.startswith("Runtime.") for ln in inv.lines):
        return "function"
    if not arns:
        return "unnamed"
    return None


SEQUENCE_MS = 60_000  # Secrets Manager invokes a rotation's next step within seconds of the last


def _attributions(invs: list[Invocation], secret_arn: str, master_arn: str | None,
                  function: str = "") -> list[str | None]:  # fmt: skip
    """Each invocation's attribution; an unnamed one that follows, in the same stream and
    within a minute, an invocation naming the secret is the next step of that rotation
    (``sequence``): an environment runs one invocation at a time, and the service invokes the
    steps one after the other. Where both steps are known, the one must follow the other (an
    environment also runs other secrets' rotations, each from its createSecret). An invocation
    that names only secrets it was denied reading (a masterarn naming another secret) is such
    a next step too: those are secrets it read, not the one it rotated."""
    whose = [attribution(inv, secret_arn, master_arn) for inv in invs]
    last_in: dict[str, int] = {}
    for i, inv in enumerate(invs):
        prev = last_in.get(inv.stream)
        reads_only = whose[i] is None and bool(inv.arns()) and inv.arns() <= inv.read_arns()
        if (
            (whose[i] == "unnamed" or reads_only)
            and prev is not None
            and whose[prev] in ("secret", "sequence")
            and not invs[prev].failed
            and inv.start_ms - invs[prev].end_ms <= SEQUENCE_MS
            and _next_step(step_of(invs[prev], function), step_of(inv, function))
        ):
            whose[i] = "sequence"
        last_in[inv.stream] = i
    return whose


def _next_step(before: str, after: str) -> bool:
    """``after`` may be the step the service invokes after ``before`` (either unknown: it may)."""
    if not before or not after or before not in STEPS or after not in STEPS:
        return True
    return STEPS.index(after) == STEPS.index(before) + 1


def read(events: Iterable[Mapping[str, Any]], secret_arn: str, plan: Plan) -> Reading:
    """The secret's last failed rotation attempt in ``events`` (FilterLogEvents' events of the
    function's log group), unless a rotation of the secret finished after it."""
    invs = invocations(events)
    whose = list(zip(invs, _attributions(invs, secret_arn, plan.master_arn, plan.function), strict=True))
    mine = [(inv, a) for inv, a in whose if a in ("secret", "sequence", "master", "function")]
    failed = [(inv, a) for inv, a in mine if inv.failed]
    if not failed:  # nothing that names the secret failed: an invocation that names no secret may be its
        failed = [(inv, a) for inv, a in whose if a == "unnamed" and inv.failed]
    done = [inv for inv, _ in mine if inv.done()]
    succeeded = _when(max(inv.end_ms for inv in done)) if done else None
    seen = len(mine)
    if not failed:
        return Reading(None, succeeded, seen)
    inv, who = max(failed, key=lambda p: (p[0].end_ms, p[0].start_ms))
    if done and max(d.end_ms for d in done) > inv.end_ms:
        return Reading(None, succeeded, seen)
    assert who is not None
    step = step_of(inv, plan.function)
    primary = _primary(inv)
    cid, cause, fix, check, site = _cause(inv, primary, plan, secret_arn, step)
    notes, root = _notes(inv, primary, plan.function, cid)
    if root is not None:
        notes = (f"{cause}" + (f" ({site})" if site else ""), *[n for n in notes if not n.startswith(root.cause)])
        cid, cause, fix, check, site = root.id, root.cause, root.fix, root.check, ""
    failures = [i for i, _ in failed]
    return Reading(
        Failure(
            step=step,
            when=_when(primary.ms),
            cause=printable(mask(cause), 2000),  # it may quote the log
            fix=printable(mask(fix), 2000),
            cause_id=cid,
            check=check,
            log_line=printable(mask(_raw_first_line(primary))),
            request_id=printable(inv.request_id, 100),
            log_stream=printable(inv.stream, 600),
            attribution=who,
            failures=len(failures),
            first_failure=_when(min(i.start_ms for i in failures)),
            site=site,
            notes=notes,
            traceback=tuple(printable(mask(t), 300) for t in primary.trace),
        ),
        succeeded,
        seen,
    )


__all__ = [
    "STEPS",
    "Failure",
    "Invocation",
    "Line",
    "Plan",
    "Reading",
    "filter_pattern",
    "function_name",
    "invocations",
    "log_group",
    "mask",
    "parse",
    "plan_of",
    "printable",
    "read",
    "read_pages",
    "request",
]
