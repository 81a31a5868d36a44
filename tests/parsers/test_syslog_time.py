"""The year rule for year-less syslog timestamps, and RFC 3339 timestamps."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from canhgac.parsers import (
    ParseContext,
    ParseError,
    parse_classic_timestamp,
    parse_rfc3339_timestamp,
    yearless_timestamp,
)

ICT = timezone(timedelta(hours=7))


def context(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: timezone = ICT
) -> ParseContext:
    """Lines read at the given reference time, in UTC+7."""
    reference = datetime(year, month, day, hour, minute, tzinfo=zone)
    return ParseContext(reference_time=reference, timezone=ICT)


def test_december_line_read_in_january_is_last_year() -> None:
    stamp = parse_classic_timestamp("Dec 31 23:59:58", context(2027, 1, 2, 9, 0))
    assert stamp == datetime(2026, 12, 31, 23, 59, 58, tzinfo=ICT)


def test_same_day_line_is_this_year() -> None:
    stamp = parse_classic_timestamp("Nov 24 08:15:02", context(2026, 11, 24, 9, 0))
    assert stamp == datetime(2026, 11, 24, 8, 15, 2, tzinfo=ICT)


def test_line_up_to_one_day_ahead_stays_in_this_year() -> None:
    # A host whose clock runs ahead: one day of allowance.
    stamp = parse_classic_timestamp("Nov 25 09:00:00", context(2026, 11, 24, 9, 0))
    assert stamp.year == 2026


def test_line_more_than_one_day_ahead_is_last_year() -> None:
    stamp = parse_classic_timestamp("Nov 25 09:00:01", context(2026, 11, 24, 9, 0))
    assert stamp == datetime(2025, 11, 25, 9, 0, 1, tzinfo=ICT)


def test_year_is_taken_in_the_context_timezone() -> None:
    # 2026-12-31 18:00 UTC is already 2027-01-01 01:00 in UTC+7.
    ctx = context(2026, 12, 31, 18, 0, zone=UTC)
    assert parse_classic_timestamp("Jan  1 00:30:00", ctx) == datetime(
        2027, 1, 1, 0, 30, tzinfo=ICT
    )


def test_naive_reference_time_is_read_in_the_context_timezone() -> None:
    ctx = ParseContext(reference_time=datetime(2027, 1, 1, 0, 10), timezone=ICT)
    assert parse_classic_timestamp("Jan  1 00:30:00", ctx).year == 2027


def test_leap_day_in_a_leap_reference_year() -> None:
    stamp = parse_classic_timestamp("Feb 29 12:00:00", context(2028, 3, 1, 0, 0))
    assert stamp == datetime(2028, 2, 29, 12, 0, tzinfo=ICT)


def test_leap_day_read_the_next_year_is_last_year() -> None:
    stamp = parse_classic_timestamp("Feb 29 12:00:00", context(2029, 1, 10, 0, 0))
    assert stamp == datetime(2028, 2, 29, 12, 0, tzinfo=ICT)


def test_leap_day_in_a_non_leap_year_takes_the_latest_leap_year() -> None:
    stamp = parse_classic_timestamp("Feb 29 12:00:00", context(2027, 3, 10, 0, 0))
    assert stamp == datetime(2024, 2, 29, 12, 0, tzinfo=ICT)


def test_leap_day_before_it_comes_in_a_leap_year_is_four_years_back() -> None:
    # 2028-02-29 would be two months after the reference time.
    stamp = parse_classic_timestamp("Feb 29 12:00:00", context(2028, 1, 5, 0, 0))
    assert stamp == datetime(2024, 2, 29, 12, 0, tzinfo=ICT)


def test_leap_day_across_a_century_that_is_not_leap() -> None:
    stamp = parse_classic_timestamp("Feb 29 12:00:00", context(2103, 6, 1, 0, 0))
    assert stamp == datetime(2096, 2, 29, 12, 0, tzinfo=ICT)


def test_space_padded_and_unpadded_days() -> None:
    ctx = context(2026, 11, 24, 9, 0)
    assert parse_classic_timestamp("Nov  4 03:00:00", ctx).day == 4
    assert parse_classic_timestamp("Nov 04 03:00:00", ctx).day == 4


@pytest.mark.parametrize(
    "text",
    ["Nov 31 08:00:00", "Feb 30 08:00:00", "Nov 24 24:00:00", "Nov 24 08:60:00", "Xyz 1 00:00:00"],
)
def test_impossible_timestamps_raise(text: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_classic_timestamp(text, context(2026, 11, 24, 9, 0))
    assert f"bad timestamp '{text}'" in str(raised.value)


def test_yearless_timestamp_directly() -> None:
    stamp = yearless_timestamp(12, 31, 23, 0, 0, context(2027, 1, 1, 0, 0), microsecond=5)
    assert stamp == datetime(2026, 12, 31, 23, 0, 0, 5, tzinfo=ICT)


def test_rfc3339_keeps_its_offset() -> None:
    stamp = parse_rfc3339_timestamp("2026-11-24T08:15:02.123456+07:00", context(2026, 1, 1))
    assert stamp == datetime(2026, 11, 24, 1, 15, 2, 123456, tzinfo=UTC)
    assert stamp.utcoffset() == timedelta(hours=7)


def test_rfc3339_without_offset_is_in_the_context_timezone() -> None:
    stamp = parse_rfc3339_timestamp("2026-11-24T08:15:02", context(2026, 1, 1))
    assert stamp == datetime(2026, 11, 24, 8, 15, 2, tzinfo=ICT)


def test_rfc3339_nanoseconds_are_cut_to_microseconds() -> None:
    stamp = parse_rfc3339_timestamp("2026-11-24T08:15:02.123456789Z", context(2026, 1, 1))
    assert stamp == datetime(2026, 11, 24, 8, 15, 2, 123456, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-24", "2026-13-01T00:00:00Z", "2026-11-24 08:15:02"])
def test_bad_rfc3339_raises(text: str) -> None:
    with pytest.raises(ParseError):
        parse_rfc3339_timestamp(text, context(2026, 1, 1))
