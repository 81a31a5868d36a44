"""`next_window`: which stretch of event time a scheduled run covers."""

from datetime import UTC, datetime, timedelta

import pytest

from canhgac.scheduled import ScheduledError, StoredEventWindow, next_window

NOW = datetime(2026, 11, 24, 8, 17, 42, 654321, tzinfo=UTC)
FIVE = timedelta(minutes=5)
LAG = timedelta(minutes=1)


def test_a_first_run_covers_one_interval_ending_a_lag_before_now_in_whole_seconds() -> None:
    window = next_window(None, NOW, FIVE, LAG)

    assert window == StoredEventWindow(
        datetime(2026, 11, 24, 8, 11, 42, tzinfo=UTC), datetime(2026, 11, 24, 8, 16, 42, tzinfo=UTC)
    )


def test_a_run_starts_where_the_last_one_ended_however_long_ago() -> None:
    window = next_window({"end": "2026-11-24T06:00:00+00:00"}, NOW, FIVE, LAG)

    assert window is not None
    assert window.start == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 24, 8, 16, 42, tzinfo=UTC)


def test_no_window_is_due_until_time_passes_the_last_end() -> None:
    assert next_window({"end": "2026-11-24T08:16:42+00:00"}, NOW, FIVE, LAG) is None


def test_the_checkpoint_keeps_the_end_for_the_next_run() -> None:
    window = next_window(None, NOW, FIVE, LAG)
    assert window is not None

    assert next_window(window.checkpoint_state(), NOW + FIVE, FIVE, LAG) == StoredEventWindow(
        window.end, window.end + FIVE
    )


def test_a_damaged_checkpoint_says_how_to_recover() -> None:
    with pytest.raises(ScheduledError, match="delete it"):
        next_window({"end": "yesterday"}, NOW, FIVE, LAG)


def test_a_window_must_have_zones_and_start_before_it_ends() -> None:
    with pytest.raises(ScheduledError, match="time zone"):
        StoredEventWindow(datetime(2026, 11, 24), datetime(2026, 11, 25, tzinfo=UTC))
    with pytest.raises(ScheduledError, match="earlier start"):
        StoredEventWindow(NOW, NOW)
