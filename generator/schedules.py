"""Rotation schedules as Secrets Manager evaluates them.

Sources (AWS Secrets Manager User Guide and API Reference):

* "Rotation schedules" / "Schedule expressions in Secrets Manager rotation",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
  - ``rate(Value Unit)``: Value a positive integer, Unit ``hour``, ``hours``, ``day`` or
    ``days`` (all four, whatever the value: ``rate(1 days)`` and ``rate(7 day)`` are valid);
    "You can rotate a secret as often as every four hours"; "The maximum rotation period is
    999 days".
  - ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: minutes must be 0 (windows
    open on the hour), year must be ``*``; day-of-month takes ``, - * ? / L``, month
    ``, - * /`` (1-12 or JAN-DEC), day-of-week ``# , - * ? / L`` (1-7 or SUN-SAT).
    "A cron expression that includes increments of hours resets each day": ``4/12`` is
    04:00 and 16:00 every day.
  - Windows always open on the hour (a rate opens them at midnight UTC). By default a
    window closes after one hour for a schedule in hours and at the end of the UTC day for
    a schedule in days. A window "must not extend into the next rotation window" nor "into
    the next UTC day": its start hour plus its duration is at most 24.
* RotationRulesType, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
  - ``AutomaticallyAfterDays`` (the manifest's ``every_days``): 1 to 1000.

The four-hour minimum applies to the real firing times of a cron expression: the gap is
the smallest distance between two consecutive window openings over every day on which the
expression fires, so ``cron(0 1,22 ? * SUN *)`` (Sunday 01:00 and 22:00, 21 hours apart,
then six days) is fine and ``cron(0 1,3 ? * SUN *)`` is not. The days are enumerated over
one 28-year cycle of the Gregorian calendar (2001-2028; weekdays, month lengths and leap
years repeat with that period between 1901 and 2099), which holds every arrangement of
weekdays, month ends and February 29th, and every year boundary between them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from generator.errors import Diagnostic
from generator.source import Source

PAGE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html"
MIN_GAP_HOURS = 4
RATE_DAYS_MAX = 999  # rotate-secrets_schedule: "The maximum rotation period is 999 days"
EVERY_DAYS_MAX = 1000  # API_RotationRulesType: AutomaticallyAfterDays 1-1000
# Two pages, two limits (checked 2026-11): the user guide caps a rate() expression at 999
# days, the API reference lets AutomaticallyAfterDays go to 1000. Each message names its page
# so that 1000 accepted in one field and refused in the other does not look like a bug.
API_PAGE = "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html"
RATE_LIMIT = (
    f"the user guide's maximum rotation period for a rate() expression is {RATE_DAYS_MAX} days ({PAGE}); "
    f"every_days, which is AutomaticallyAfterDays, goes to {EVERY_DAYS_MAX}"
)
EVERY_DAYS_LIMIT = (
    f"the range of the API's AutomaticallyAfterDays, which every_days sets ({API_PAGE}); "
    f"a rate() expression stops at {RATE_DAYS_MAX} days (user guide)"
)
RATE_UNITS = ("hour", "hours", "day", "days")
MAX_APART_DAYS = 366  # "Secrets Manager does not support rotation schedules that are more than a year apart"
FIRST_YEAR, YEARS = 2001, 28  # one full cycle of weekdays and leap years (see module docstring)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # 1-7 in AWS's cron


@dataclass(frozen=True)
class Facts:
    """What a valid schedule means for its windows."""

    gap_hours: int  # the shortest time between two window openings
    start_hours: tuple[int, ...]  # hours of the UTC day at which a window opens
    example: str = ""  # where that shortest gap happens, in words (cron only)


class _Bad(Exception):
    """A cron field that Secrets Manager would not take; the message says why."""


# --------------------------------------------------------------------------------------
# rate()

_RATE_STRICT = re.compile(r"^rate\(([1-9][0-9]*) (hour|hours|day|days)\)$")
_RATE_LOOSE = re.compile(r"^rate\s*\(\s*([^\s)]*?)\s*([A-Za-z]*)\s*\)$", re.IGNORECASE)
_UNIT_WORDS = {
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
}


def _rate(expr: str) -> tuple[Facts | None, str | None]:
    m = _RATE_STRICT.match(expr)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit.startswith("hour"):
            if n < MIN_GAP_HOURS:
                return None, (
                    f"{expr!r} rotates more often than Secrets Manager allows (every {MIN_GAP_HOURS} hours at most)"
                )
            if n > 24 * RATE_DAYS_MAX:
                return None, f"{expr!r} is too long: {RATE_LIMIT}"
            # A rate opens its first window at midnight UTC; like an hour increment in a cron,
            # the openings are taken to restart each day.
            return Facts(n, tuple(range(0, 24, n)) if n < 24 else (0,)), None
        if n > RATE_DAYS_MAX:
            return None, f"{expr!r} is too long: {RATE_LIMIT}"
        return Facts(24 * n, (0,)), None
    return None, _rate_hint(expr)


def _rate_hint(expr: str) -> str:
    """Why a rate() is not one Secrets Manager reads, with the spelling it probably meant."""
    usage = "Secrets Manager reads rate(N hours) or rate(N days) (also 'hour', 'day')"
    m = _RATE_LOOSE.match(expr)
    if not m:
        return f"{expr!r} is not a rate expression; {usage}"
    number, unit = m.group(1), m.group(2)
    word = unit.lower()
    if not re.fullmatch(r"[0-9]+", number or ""):
        return f"{expr!r}: the value must be a whole number of hours or days; {usage}"
    n = int(number)
    if n < 1:
        return f"{expr!r}: the value must be at least 1; {usage}"
    if word in ("m", "min", "mins", "minute", "minutes"):
        return f"{expr!r}: Secrets Manager has no minutes unit and rotates at most every {MIN_GAP_HOURS} hours; {usage}"
    if word in ("w", "wk", "wks", "week", "weeks"):
        return f"{expr!r}: Secrets Manager has no weeks unit; did you mean 'rate({7 * n} days)'?"
    if word in ("month", "months", "mon", "mo"):
        return f"{expr!r}: Secrets Manager has no months unit; did you mean 'rate({30 * n} days)' or a cron such as 'cron(0 0 1 * ? *)'?"
    full = _UNIT_WORDS.get(word)
    if full is None:
        close = difflib.get_close_matches(word, ("hours", "days"), n=1, cutoff=0.6)
        full = close[0] if close else None
    if full is None:
        return f"{expr!r}: unknown unit {unit!r}; {usage}"
    return f"{expr!r} is not how Secrets Manager writes a rate; did you mean 'rate({n} {full})'?"


# --------------------------------------------------------------------------------------
# cron()


def _number(text: str, lo: int, hi: int, names: tuple[str, ...], what: str) -> int:
    up = text.upper()
    if names and up in names:
        return names.index(up) + lo
    if not re.fullmatch(r"[0-9]{1,2}", text):
        allowed = f"{lo}-{hi}" + (f" or {names[0]}-{names[-1]}" if names else "")
        raise _Bad(f"{text!r} is not a {what} ({allowed})")
    n = int(text)
    if not lo <= n <= hi:
        allowed = f"{lo}-{hi}" + (f" or {names[0]}-{names[-1]}" if names else "")
        hint = " (Sunday is 1 or SUN in AWS's cron, not 0)" if what == "day of the week" and n == 0 else ""
        raise _Bad(f"{n} is not a {what} ({allowed}){hint}")
    return n


def _values(field: str, lo: int, hi: int, names: tuple[str, ...], what: str) -> set[int]:
    """Expand ``, - * /`` over lo..hi (names allowed where given)."""
    out: set[int] = set()
    for part in field.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not re.fullmatch(r"[0-9]{1,2}", step_text) or int(step_text) < 1:
                raise _Bad(f"{part!r}: the increment after '/' must be a whole number from 1")
            step = int(step_text)
        if rng == "*":
            first, last = lo, hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            first, last = _number(a, lo, hi, names, what), _number(b, lo, hi, names, what)
            if first > last:
                raise _Bad(f"{part!r}: the range runs backwards; write it as two ranges")
        else:
            first = _number(rng, lo, hi, names, what)
            last = hi if step_text else first
        out.update(range(first, last + 1, step))
    return out


@dataclass(frozen=True)
class _Days:
    """Which days of a month fire: by day of month or by day of week, within months."""

    months: frozenset[int]
    by_dom: bool
    dom: frozenset[int] = frozenset()
    dom_last: bool = False  # L in day-of-month
    dow: frozenset[int] = frozenset()  # 1 = Sunday
    dow_last: frozenset[int] = frozenset()  # 6L: the month's last Friday
    dow_nth: frozenset[tuple[int, int]] = frozenset()  # (6, 2) from 6#2: the second Friday

    def days_of(self, year: int, month: int) -> list[int]:
        if month not in self.months:
            return []
        first_weekday, length = calendar.monthrange(year, month)  # Monday = 0
        out = []
        for day in range(1, length + 1):
            if self.by_dom:
                hit = day in self.dom or (self.dom_last and day == length)
            else:
                weekday = (first_weekday + day - 1) % 7  # Monday = 0
                aws = (weekday + 1) % 7 + 1  # Sunday = 1 ... Saturday = 7
                hit = (
                    aws in self.dow
                    or (aws in self.dow_last and day + 7 > length)
                    or (aws, (day - 1) // 7 + 1) in self.dow_nth
                )
            if hit:
                out.append(day)
        return out


def _dom(field: str) -> tuple[set[int], bool]:
    last = False
    rest = []
    for part in field.split(","):
        if part.upper() == "L":
            last = True
        elif "W" in part.upper():
            raise _Bad(f"{part!r}: Secrets Manager's cron takes ', - * ? / L' in day-of-month, not W ({PAGE})")
        elif "L" in part.upper():
            raise _Bad(f"{part!r}: L stands alone in day-of-month (the month's last day)")
        else:
            rest.append(part)
    return (_values(",".join(rest), 1, 31, (), "day of the month") if rest else set()), last


def _dow(field: str) -> tuple[set[int], set[int], set[tuple[int, int]]]:
    plain: list[str] = []
    last: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for part in field.split(","):
        up = part.upper()
        if up == "L":
            last_day = 7  # L alone is the last day of the week: Saturday
            plain.append(str(last_day))
        elif up.endswith("L"):
            last.add(_number(part[:-1], 1, 7, DAYS, "day of the week"))
        elif "#" in up:
            day, _, k = part.partition("#")
            if not re.fullmatch(r"[1-5]", k):
                raise _Bad(f"{part!r}: the number after '#' is the week of the month, 1-5")
            nth.add((_number(day, 1, 7, DAYS, "day of the week"), int(k)))
        else:
            plain.append(part)
    return (_values(",".join(plain), 1, 7, DAYS, "day of the week") if plain else set()), last, nth


def _day_text(day: dt.date) -> str:
    return f"{DAYS[day.isoweekday() % 7].title()} {day.day} {MONTHS[day.month - 1].title()} {day.year}"


def _hours_text(h: int) -> str:
    return f"{h:02d}:00"


def _fields(hour: str, dom: str, month: str, dow: str) -> tuple[list[int], _Days]:
    """The hours and the day rule of a cron's fields; raises _Bad."""
    hours = sorted(_values(hour, 0, 23, (), "hour"))
    months = frozenset(_values(month, 1, 12, MONTHS, "month"))
    if dow == "?":
        dom_set, dom_last = _dom(dom)
        return hours, _Days(months, True, dom=frozenset(dom_set), dom_last=dom_last)
    dow_set, dow_last, dow_nth = _dow(dow)
    return hours, _Days(months, False, dow=frozenset(dow_set), dow_last=frozenset(dow_last), dow_nth=frozenset(dow_nth))


def firings(expr: str, start: dt.date, end: dt.date) -> list[dt.datetime]:
    """Every window opening of a valid ``cron(...)`` from ``start`` (inclusive) to ``end``
    (exclusive), as the gap computation sees them (tests compare them with a calendar walk)."""
    fields = re.fullmatch(r"cron\((.*)\)", expr)
    if not fields or len(fields.group(1).split()) != 6:
        raise ValueError(f"{expr!r} is not a six-field cron expression")
    _minute, hour, dom, month, dow, _year = fields.group(1).split()
    try:
        hours, days = _fields(hour, dom, month, dow)
    except _Bad as exc:
        raise ValueError(f"{expr!r}: {exc}") from None
    out: list[dt.datetime] = []
    for year in range(start.year, end.year + 1):
        for month_ in range(1, 13):
            for day in days.days_of(year, month_):
                date = dt.date(year, month_, day)
                if start <= date < end:
                    out.extend(dt.datetime.combine(date, dt.time(h)) for h in hours)
    return out


@lru_cache(maxsize=1024)
def _cron(expr: str) -> tuple[Facts | None, str | None]:
    m = re.fullmatch(r"cron\((.*)\)", expr)
    assert m
    fields = m.group(1).split()
    if len(fields) == 5:
        minute, hour, dom, month, dow = fields
        if dow in ("*", "?"):
            dom, dow = ("*" if dom == "?" else dom), "?"
        elif dom in ("*", "?"):
            dom = "?"
        guess = f"cron({minute} {hour} {dom} {month} {dow} *)"
        return None, (
            f"{expr!r} has 5 fields; a Secrets Manager cron needs 6: minutes hours day-of-month month "
            f"day-of-week year. Did you mean {guess!r}? (AWS numbers the days of the week 1-7 from SUN)"
        )
    if len(fields) != 6:
        return None, (
            f"{expr!r} has {len(fields)} fields; a Secrets Manager cron needs 6: "
            "minutes hours day-of-month month day-of-week year, e.g. cron(0 4 ? * SUN *)"
        )
    minute, hour, dom, month, dow, year = fields

    def fixed(i: int, value: str) -> str:
        parts = list(fields)
        parts[i] = value
        return f"cron({' '.join(parts)})"

    if minute != "0":
        return None, (
            f"{expr!r}: the minutes field must be 0 (rotation windows open on the hour); did you mean {fixed(0, '0')!r}?"
        )
    if year != "*":
        return None, (
            f"{expr!r}: the year field must be * (Secrets Manager does not take schedules more than a year apart); "
            f"did you mean {fixed(5, '*')!r}?"
        )
    if dom == "?" and dow == "?":
        return None, f"{expr!r}: only one of day-of-month and day-of-week can be '?'; did you mean {fixed(2, '*')!r}?"
    if dom != "?" and dow != "?":
        if dow == "*":
            hint = f"; did you mean {fixed(4, '?')!r}?"
        elif dom == "*":
            hint = f"; did you mean {fixed(2, '?')!r}?"
        else:
            hint = " (a schedule cannot name both)"
        return None, f"{expr!r}: exactly one of day-of-month and day-of-week must be '?'{hint}"
    try:
        hours, days = _fields(hour, dom, month, dow)
    except _Bad as exc:
        return None, f"{expr!r}: {exc}"
    firing = [
        dt.date(year_, month_, day).toordinal()
        for year_ in range(FIRST_YEAR, FIRST_YEAR + YEARS + 1)
        for month_ in range(1, 13)
        for day in days.days_of(year_, month_)
    ]
    if not firing:
        return None, f"{expr!r} never fires: no month has the days it names"
    longest = max((b - a for a, b in pairwise(firing)), default=None)
    if longest is None or longest > MAX_APART_DAYS:
        between = f"leaves {longest} days between two rotations" if longest else f"fires once in {YEARS} years"
        return None, (f"{expr!r} {between}; Secrets Manager does not support rotation schedules more than a year apart")
    # The shortest gap is either between two hours of one day, or from the last hour of a
    # firing day to the first hour of the next firing day.
    candidates: list[tuple[int, str]] = []
    for a, b in pairwise(hours):
        candidates.append((b - a, f"{_hours_text(a)} and {_hours_text(b)} UTC on the same day"))
    if len(firing) > 1:
        d1, d2 = min(pairwise(firing), key=lambda p: p[1] - p[0])
        gap = (d2 - d1) * 24 - hours[-1] + hours[0]
        first, second = dt.date.fromordinal(d1), dt.date.fromordinal(d2)
        where = f"e.g. {_day_text(first)} {_hours_text(hours[-1])} and {_day_text(second)} {_hours_text(hours[0])} UTC"
        candidates.append((gap, where))
    gap, example = min(candidates)
    if gap < MIN_GAP_HOURS:
        return None, (
            f"{expr!r} opens rotation windows {gap} hour(s) apart ({example}); "
            f"Secrets Manager rotates at most every {MIN_GAP_HOURS} hours"
        )
    return Facts(gap, tuple(hours), example), None


def facts(expr: str) -> tuple[Facts | None, str | None]:
    """Parse a rate() or cron() expression; return its facts or why Secrets Manager would refuse it."""
    if expr != expr.strip():
        return None, f"{expr!r} has spaces around it; did you mean {expr.strip()!r}?"
    if expr.startswith("rate(") or expr.lower().startswith("rate"):
        return _rate(expr)
    if re.fullmatch(r"cron\(.*\)", expr):
        return _cron(expr)
    if re.fullmatch(r"cron\s*\(.*\)", expr, re.IGNORECASE):
        fixed = "cron(" + expr[expr.index("(") + 1 :]
        return None, f"{expr!r} is not how Secrets Manager writes a cron; did you mean {fixed!r}?"
    return None, f"{expr!r} must be rate(N hours), rate(N days) or cron(0 H D M W *) ({PAGE})"


def check(
    source: Source, path: tuple[Any, ...], sched: Any, dropped: frozenset[tuple[Any, ...]] = frozenset()
) -> list[Diagnostic]:
    """The rules of one ``schedule`` mapping (``sched`` is a manifest.Schedule)."""
    out: list[Diagnostic] = []
    if path + ("every_days",) in dropped or path + ("expression",) in dropped:
        return out  # the form given has a shape error, already reported
    if sched.every_days is not None and sched.expression is not None:
        out.append(source.diag(path, "give either every_days or expression, not both"))
        return out
    if sched.every_days is None and sched.expression is None:
        out.append(source.diag(path, "give one of every_days or expression"))
        return out
    found: Facts | None
    if sched.every_days is not None:
        if not 1 <= sched.every_days <= EVERY_DAYS_MAX:
            out.append(
                source.diag(
                    path + ("every_days",), f"{sched.every_days} is outside 1-{EVERY_DAYS_MAX}, {EVERY_DAYS_LIMIT}"
                )
            )
            return out
        found = Facts(24 * sched.every_days, (0,))
    else:
        found, problem = facts(sched.expression or "")
        if problem:
            out.append(source.diag(path + ("expression",), problem))
            return out
    if sched.window is None or found is None or path + ("window",) in dropped:
        return out  # AWS's default windows (1 hour, or to the end of the day) always fit
    hours = int(sched.window[:-1])
    if hours > found.gap_hours:
        where = f" ({found.example})" if found.example else ""
        out.append(
            source.diag(
                path + ("window",),
                f"the {sched.window} window is longer than the {found.gap_hours} hours between two rotation "
                f"windows{where}; Secrets Manager requires a window to end before the next one opens",
            )
        )
        return out
    late = [h for h in found.start_hours if h + hours > 24]
    if late:
        out.append(
            source.diag(
                path + ("window",),
                f"a {sched.window} window opening at {late[-1]:02d}:00 UTC would run past midnight; "
                f"Secrets Manager windows must end within the UTC day (at most {24 - late[-1]}h here)",
            )
        )
    return out
