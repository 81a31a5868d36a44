"""Syslog timestamps: classic year-less `Nov 24 08:15:02` and RFC 3339.

The year rule for year-less timestamps (the README quotes it):

    A year-less timestamp takes the year of `context.reference_time`, seen in
    `context.timezone`. If that dates it more than one day after the reference time,
    it belongs to the previous year (December lines read in January). 29 February,
    which exists only in leap years, takes the latest leap year that the same rule
    allows, so a line is never dated more than one day after the reference time.
    Times without an offset are in `context.timezone`.

The one-day allowance keeps lines from a host whose clock runs a little ahead, or from
a zone east of `context.timezone`, in the current year.
"""

import calendar
from datetime import datetime, timedelta

from canhgac.parsers._base import ParseContext, ParseError
from canhgac.parsers._month_names import MONTH_NUMBERS

FUTURE_ALLOWANCE = timedelta(days=1)
"""How far after the reference time a year-less timestamp may fall before it moves back a year."""

# 29 February can be eight years from the previous one (2096 → 2104), plus one for the rule.
_YEARS_BACK = 9

# Days per month in a leap year: the year is not known when a date is first checked.
_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def yearless_timestamp(
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    context: ParseContext,
    microsecond: int = 0,
) -> datetime:
    """Date a timestamp that carries no year by the year rule (module docstring).

    The result is aware, in `context.timezone`. Raises ParseError for a date or time that
    no year makes valid (31 November, 25:00).
    """
    if not (1 <= month <= 12 and 1 <= day <= _MAX_DAYS[month - 1]):
        raise ParseError(f"month {month} has no day {day}")
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ParseError(f"bad time of day {hour:02d}:{minute:02d}:{second:02d}")
    zone = context.timezone
    reference = context.reference_time
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=zone)
    latest = reference + FUTURE_ALLOWANCE
    first_year = reference.astimezone(zone).year
    for year in range(first_year, max(first_year - _YEARS_BACK, 0), -1):
        if month == 2 and day == 29 and not calendar.isleap(year):
            continue
        stamp = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)
        if stamp <= latest:
            return stamp
    raise ParseError(f"no year before {first_year} fits month {month}, day {day}")


def parse_classic_timestamp(text: str, context: ParseContext) -> datetime:
    """Parse `Nov 24 08:15:02` or `Nov  4 08:15:02` (BSD syslog, RFC 3164) by the year rule."""
    month = MONTH_NUMBERS.get(text[:3])
    day_text, _, clock = text[3:].strip(" ").partition(" ")
    if (
        month is None
        or not 1 <= len(day_text) <= 2
        or len(clock) != 8
        or clock[2] != ":"
        or clock[5] != ":"
    ):
        raise ParseError(f"bad timestamp '{text[:40]}'")
    digits = day_text + clock[:2] + clock[3:5] + clock[6:]
    if not (digits.isascii() and digits.isdigit()):
        raise ParseError(f"bad timestamp '{text[:40]}'")
    try:
        return yearless_timestamp(
            month, int(day_text), int(clock[:2]), int(clock[3:5]), int(clock[6:]), context
        )
    except ParseError as error:
        raise ParseError(f"bad timestamp '{text[:40]}': {error}") from None


def parse_rfc3339_timestamp(text: str, context: ParseContext) -> datetime:
    """Parse `2026-11-24T08:15:02.123456+07:00` (or `Z`, or no offset: `context.timezone`).

    Digits of a second beyond microseconds are dropped.
    """
    if len(text) < 19 or text[10] not in "Tt" or not text.isascii():
        raise ParseError(f"bad timestamp '{text[:40]}'")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"bad timestamp '{text[:40]}'") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=context.timezone)
    return stamp
