"""Schedules as Secrets Manager evaluates them (issue 11, point 5).

* Accepted expressions, through the real CLI: ``validate`` exits 0 and ``generate`` writes
  each expression unchanged into the rotation block. (Rejected ones are in the hostile
  corpus: tests/data/hostile/schedule_*.yaml with their exact messages.)
* A property test: for random cron expressions, the shortest gap that
  ``generator.schedules`` computes equals the one found by walking the calendar hour by
  hour with an independent matcher over a *different* 28-year stretch (2030-2058). Minutes
  are always 0 in a Secrets Manager cron, so hour steps see every possible firing.
* A second property: every window opening in 2030-2031 (``schedules.firings``) equals the
  hour-by-hour walk, so a wrong day rule that leaves the shortest gap unchanged (say, the
  month's last Friday off by one) still fails.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
import subprocess
import sys
from pathlib import Path

import hcl2
import pytest
import yaml
from helpers.hclparse import decode_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import schedules

ACCEPTED = {
    # the spellings Secrets Manager documents: hour, hours, day, days, whatever the number
    "rate(7 day)": None,
    "rate(4 hour)": None,
    "rate(1 days)": None,
    "rate(1 day)": "5h",
    "rate(4 hours)": "4h",
    "rate(999 days)": None,
    # issue 11: Sunday 01:00 and 22:00 are 21 hours apart, then six days
    "cron(0 1,22 ? * SUN *)": "2h",
    "cron(0 4/12 * * ? *)": "8h",  # 04:00 and 16:00 each day (increments restart daily); 16:00 + 8h = midnight
    "cron(0 0 ? * SAT,SUN *)": "24h",  # a window may fill the whole UTC day
    "cron(0 20 L * ? *)": "4h",  # last day of the month, window ends at midnight
    "cron(0 23 ? * 6L *)": "1h",  # last Friday of the month
    "cron(0 0 ? * 2#1 *)": None,  # first Monday of the month
    "cron(0 8 1/7 * ? *)": None,  # the 1st, 8th, 15th, 22nd, 29th: the 29th to the 1st is 1-3 days
    "cron(0 0 1 JAN,JUL ? *)": None,
    "cron(0 6 ? * MON-FRI *)": "3h",
}


def _manifest(tmp: Path) -> Path:
    data = {
        "version": 1,
        "account_id": "111122223333",
        "region": "us-east-1",
        "functions": {
            "rotator": {
                "strategy": "single_user",
                "engine": "postgresql",
                "existing_function_arn": "arn:aws:lambda:us-east-1:111122223333:function:SecretsManagerRotator",
            }
        },
        "secrets": {
            f"app/db{i}": {"function": "rotator", "schedule": {"expression": expr, **({"window": w} if w else {})}}
            for i, (expr, w) in enumerate(ACCEPTED.items())
        },
    }
    path = tmp / "schedules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_accepted_expressions_validate_and_reach_the_rotation_block(tmp_path: Path) -> None:
    _manifest(tmp_path)
    proc = _cli("validate", "schedules.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _cli("generate", "schedules.yaml", cwd=tmp_path).returncode == 0
    parsed = hcl2.loads((tmp_path / "out" / "schedules" / "rotation.tf").read_text())
    written = {}
    for block in parsed["resource"]:
        for body in block.get('"aws_secretsmanager_secret_rotation"', {}).values():
            r = body["rotation_rules"][0]
            duration = r.get("duration")
            written[decode_string(r["schedule_expression"])] = decode_string(duration) if duration else None
    assert written == ACCEPTED


def test_every_days_goes_to_1000_and_rate_to_999_each_from_its_page(tmp_path: Path) -> None:
    """Two AWS pages, two limits: API_RotationRulesType (AutomaticallyAfterDays 1-1000) and
    the user guide's rotate-secrets_schedule (rate(): "The maximum rotation period is 999
    days"). Both edges are accepted, and each refusal names its page."""
    path = _manifest(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["secrets"] = {"app/db": {"function": "rotator", "schedule": {"every_days": 1000}}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert _cli("validate", path.name, cwd=tmp_path).returncode == 0
    data["secrets"]["app/db"]["schedule"] = {"every_days": 1001}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = _cli("validate", path.name, cwd=tmp_path)
    assert (
        proc.returncode == 2
        and schedules.API_PAGE in proc.stderr
        and "rate() expression stops at 999 days" in proc.stderr
    )
    assert schedules.facts("rate(999 days)")[1] is None
    problem = schedules.facts("rate(1000 days)")[1]
    assert problem is not None and schedules.PAGE in problem and "999 days" in problem and "goes to 1000" in problem


@pytest.mark.parametrize(
    "expr,gap",
    [
        ("cron(0 1,22 ? * SUN *)", 21),
        ("cron(0 22 ? * SUN,MON *)", 24),
        ("cron(0 0,20 ? * SUN,MON *)", 4),  # Sunday 20:00 to Monday 00:00
        ("cron(0 0,20 L,1 * ? *)", 4),  # the last day's 20:00 to the 1st's 00:00, over a month end
        ("cron(0 4/12 * * ? *)", 12),
        ("cron(0 23 ? * 6L *)", 28 * 24),
        ("cron(0 0 1 * ? *)", 28 * 24),  # 1 Feb to 1 Mar in a common year
        ("rate(4 hour)", 4),
        ("rate(7 day)", 7 * 24),
    ],
)
def test_known_gaps(expr: str, gap: int) -> None:
    found, problem = schedules.facts(expr)
    assert problem is None and found is not None
    assert found.gap_hours == gap


# --------------------------------------------------------------------------------------
# The property: computed gap == brute force over the calendar

_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@st.composite
def crons(draw):
    """(expression, meaning): the meaning is plain sets the brute force reads directly."""
    if draw(st.booleans()):
        hours = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=4)))
        hour_field = ",".join(map(str, hours))
    else:
        start, step = draw(st.integers(0, 23)), draw(st.integers(3, 13))
        hours = list(range(start, 24, step))
        hour_field = f"{start}/{step}"
    if draw(st.booleans()):
        months, month_field = set(range(1, 13)), "*"
    else:
        months = draw(st.sets(st.integers(1, 12), min_size=1, max_size=5))
        month_field = ",".join(draw(st.sampled_from([str(m), _MONTHS[m - 1]])) for m in sorted(months))
    kind = draw(st.sampled_from(["dom", "dom_step", "dow", "dow_range", "dow_last", "dow_nth"]))
    meaning = {"hours": set(hours), "months": months, "kind": kind}
    if kind == "dom":
        days = draw(st.sets(st.integers(1, 31), min_size=1, max_size=4))
        last = draw(st.booleans())
        meaning.update(days=days, last=last)
        day_fields = (",".join(map(str, sorted(days))) + (",L" if last else ""), "?")
    elif kind == "dom_step":
        start, step = draw(st.integers(1, 28)), draw(st.integers(1, 10))
        meaning.update(days=set(range(start, 32, step)), last=False)
        day_fields = (f"{start}/{step}", "?")
    elif kind == "dow":
        wd = draw(st.sets(st.integers(1, 7), min_size=1, max_size=3))
        meaning.update(weekdays=wd)
        day_fields = ("?", ",".join(draw(st.sampled_from([str(d), _NAMES[d - 1]])) for d in sorted(wd)))
    elif kind == "dow_range":
        a = draw(st.integers(1, 7))
        b = draw(st.integers(a, 7))
        meaning.update(weekdays=set(range(a, b + 1)))
        day_fields = ("?", f"{_NAMES[a - 1]}-{_NAMES[b - 1]}")
    elif kind == "dow_last":
        d = draw(st.integers(1, 7))
        meaning.update(weekday=d)
        day_fields = ("?", f"{d}L")
    else:
        d, k = draw(st.integers(1, 7)), draw(st.integers(1, 4))
        meaning.update(weekday=d, nth=k)
        day_fields = ("?", f"{d}#{k}")
    return f"cron(0 {hour_field} {day_fields[0]} {month_field} {day_fields[1]} *)", meaning


def _fires(meaning: dict, day: dt.date) -> bool:
    if day.month not in meaning["months"]:
        return False
    length = calendar.monthrange(day.year, day.month)[1]
    aws_weekday = day.isoweekday() % 7 + 1  # SUN = 1
    kind = meaning["kind"]
    if kind in ("dom", "dom_step"):
        return day.day in meaning["days"] or (meaning["last"] and day.day == length)
    if kind in ("dow", "dow_range"):
        return aws_weekday in meaning["weekdays"]
    if kind == "dow_last":
        return aws_weekday == meaning["weekday"] and day.day + 7 > length
    return aws_weekday == meaning["weekday"] and (day.day - 1) // 7 + 1 == meaning["nth"]


def _brute_gaps(meaning: dict) -> tuple[int | None, int | None]:
    """(shortest gap in hours, longest gap in days between firing days), walking 2030-2058 hour
    by hour (a day whose date does not match is skipped whole)."""
    start, end = dt.datetime(2030, 1, 1), dt.datetime(2059, 1, 1)
    previous: dt.datetime | None = None
    shortest: int | None = None
    days: list[dt.date] = []
    t = start
    while t < end:
        if t.hour in meaning["hours"] and _fires(meaning, t.date()):
            if previous is not None:
                gap = int((t - previous).total_seconds()) // 3600
                shortest = gap if shortest is None else min(shortest, gap)
            previous = t
            if not days or days[-1] != t.date():
                days.append(t.date())
            t += dt.timedelta(hours=1)
        elif _fires(meaning, t.date()):
            t += dt.timedelta(hours=1)
        else:
            t = dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time())  # nothing fires today
    longest = max(((b - a).days for a, b in itertools.pairwise(days)), default=None)
    return shortest, longest


_GAP = re.compile(r"opens rotation windows ([0-9]+) hour\(s\) apart")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crons())
def test_gap_equals_brute_force_over_another_28_years(case) -> None:
    expr, meaning = case
    found, problem = schedules.facts(expr)
    shortest, longest = _brute_gaps(meaning)
    if shortest is None and longest is None:
        assert problem is not None and ("never fires" in problem or "once" in problem), (expr, problem)
        return
    if longest is None or longest > schedules.MAX_APART_DAYS:
        assert problem is not None and "more than a year apart" in problem, (expr, problem)
        return
    if found is not None:
        assert found.gap_hours == shortest, expr
        assert found.gap_hours >= schedules.MIN_GAP_HOURS
    else:
        m = _GAP.search(problem or "")
        assert m, (expr, problem)
        assert int(m.group(1)) == shortest < schedules.MIN_GAP_HOURS, expr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crons())
def test_firing_times_equal_an_hour_by_hour_walk(case) -> None:
    """Not only the shortest gap: every window opening in 2030-2031 is the same instant that
    the independent matcher finds walking the calendar hour by hour."""
    expr, meaning = case
    start, end = dt.date(2030, 1, 1), dt.date(2032, 1, 1)
    walked = []
    t = dt.datetime.combine(start, dt.time())
    while t.date() < end:  # bounded: 17,520 hours
        if t.hour in meaning["hours"] and _fires(meaning, t.date()):
            walked.append(t)
        t += dt.timedelta(hours=1)
    assert schedules.firings(expr, start, end) == walked, expr
