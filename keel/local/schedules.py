"""EventBridge schedule expressions, and the scheduled events a schedule rule sends when it fires.

rate(value unit): "A rate expression starts when you create the scheduled event rule, and then it runs
on a defined schedule" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html):
the first event one interval after the rule was created, then one every interval.

cron(minutes hours day-of-month month day-of-week year), in UTC
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html): lists (,), ranges
(-), all (*), increments (/) in every field; month and day-of-week by number or name (JAN-DEC,
SUN-SAT, day-of-week 1 is Sunday); `?` in one of day-of-month and day-of-week (one of them must be
`?`); L (last day of the month, or the last given weekday: 6L), W (the weekday nearest a day: 15W,
LW) and # (the nth weekday of the month: 2#1).

The event a target receives is EventBridge's Scheduled Event: source aws.events, detail-type
"Scheduled Event", the rule's ARN in resources, an empty detail, the time it was due.
"""

from __future__ import annotations

import calendar
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from keel.local.errors import LocalCloudError

RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
CRON = re.compile(r"cron\(([^)]*)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# EventBridge's names, whatever the locale (calendar.month_abbr follows it).
MONTHS = {
    name: number
    for number, name in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)
}
WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
# How far ahead a cron expression is searched for its next time: a year beyond this has none.
SEARCH_DAYS = 366 * 5


class ScheduleError(LocalCloudError):
    """A schedule expression EventBridge would refuse."""


@dataclass(frozen=True)
class Rate:
    seconds: int
    created: float

    def next_after(self, moment: float) -> float:
        runs = max(1, math.floor((moment - self.created) / self.seconds) + 1)
        return self.created + runs * self.seconds


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """A field's numbers: lists of values, ranges and increments (* and ? for every value)."""
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ScheduleError(f"{part!r} is outside {low}-{high}")
        found.update(range(start, end + 1, step))
    return found


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"{text!r} is not a number{' or a name' if names else ''}")
    return int(text)


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = date(year, month, day).weekday()  # Monday 0 .. Sunday 6
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < last else day - 2
    return day


def _day_of_month(field: str) -> Callable[[date], bool]:
    if field == "?":
        return lambda _day: True
    if field == "L":
        return lambda day: day.day == calendar.monthrange(day.year, day.month)[1]
    if field == "LW":
        return lambda day: day.day == _nearest_weekday(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    if field.endswith("W"):
        target = _number(field[:-1], None)
        if not 1 <= target <= 31:
            raise ScheduleError(f"{field!r}: the day must be 1-31")
        return lambda day: day.day == _nearest_weekday(day.year, day.month, target)
    days = _values(field, 1, 31)
    return lambda day: day.day in days


def _weekday_number(day: date) -> int:
    """EventBridge's day-of-week: 1 is Sunday, 7 is Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _in_last_week(day: date) -> bool:
    return day.day + 7 > calendar.monthrange(day.year, day.month)[1]


def _day_of_week(field: str) -> Callable[[date], bool]:
    if field == "?":
        return lambda _day: True
    if "#" in field:
        weekday_text, _, nth_text = field.partition("#")
        weekday, nth = _number(weekday_text, WEEKDAYS), _number(nth_text, None)
        if not (1 <= weekday <= 7 and 1 <= nth <= 5):
            raise ScheduleError(f"{field!r}: expected DAY#N with DAY 1-7 and N 1-5")
        return lambda day: _weekday_number(day) == weekday and (day.day - 1) // 7 + 1 == nth
    if field.endswith("L") and field != "L":
        weekday = _number(field[:-1], WEEKDAYS)
        return lambda day: _weekday_number(day) == weekday and _in_last_week(day)
    if field == "L":
        return lambda day: _weekday_number(day) == 7
    weekdays = _values(field, 1, 7, WEEKDAYS)
    return lambda day: _weekday_number(day) in weekdays


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[date], bool]

    @staticmethod
    def parse(fields: str) -> Cron:
        parts = fields.split()
        if len(parts) != 6:
            raise ScheduleError("a cron expression has six fields: minutes hours day-of-month month day-of-week year")
        minutes, hours, day_of_month, month, day_of_week, year = parts
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ScheduleError("one of day-of-month and day-of-week must be '?', not both")
        by_month_day, by_week_day = _day_of_month(day_of_month), _day_of_week(day_of_week)
        return Cron(
            minutes=frozenset(_values(minutes, 0, 59)),
            hours=frozenset(_values(hours, 0, 23)),
            months=frozenset(_values(month, 1, 12, MONTHS)),
            years=frozenset(_values(year, 1970, 2199)),
            day_matches=lambda day: by_month_day(day) and by_week_day(day),
        )

    def next_after(self, moment: float) -> float | None:
        start = datetime.fromtimestamp(moment, tz=UTC)
        day = start.date()
        for _ in range(SEARCH_DAYS):
            if day.year in self.years and day.month in self.months and self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate.timestamp() > moment:
                            return candidate.timestamp()
            day += timedelta(days=1)
        return None


def parse_schedule(expression: str, created: float) -> Rate | Cron:
    """A rule's ScheduleExpression; ScheduleError naming what is wrong."""
    rate = RATE.fullmatch(expression.strip())
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(f"{expression}: a rate of 1 takes a singular unit, any other a plural one")
        return Rate(value * UNIT_SECONDS[unit.rstrip("s")], created)
    cron = CRON.fullmatch(expression.strip())
    if cron is not None:
        try:
            return Cron.parse(cron.group(1))
        except ScheduleError as error:
            raise ScheduleError(f"{expression}: {error}") from None
    raise ScheduleError(f"{expression}: expected rate(N unit) or cron(minutes hours day-of-month month day-of-week year)")


def scheduled_event(rule_arn: str, account: str, region: str, due: float) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.fromtimestamp(due, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


@dataclass
class ScheduledRule:
    name: str
    arn: str
    bus: str
    schedule: Rate | Cron
    due: float | None

    def take_due(self, now: float) -> list[float]:
        """The times this rule was due up to `now`, oldest first; it is next due after them."""
        fired: list[float] = []
        while self.due is not None and self.due <= now:
            fired.append(self.due)
            self.due = self.schedule.next_after(self.due)
        return fired
