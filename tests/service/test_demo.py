from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from canhgac.service import redate

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_redate_moves_the_newest_line_to_now_and_keeps_the_gaps() -> None:
    lines = [
        '1.2.3.4 - - [20/Nov/2026:08:00:00 +0700] "GET / HTTP/1.1" 200 1 "-" "-"',
        "Nov 20 08:10:00 app01 sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
        "not a log line",
    ]
    now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 10:00 in Ho Chi Minh City
    moved = redate(lines, now, ZONE)
    assert moved[0].startswith("1.2.3.4 - - [24/Nov/2026:09:50:00 +0700]")
    assert (
        moved[1]
        == "Nov 24 10:00:00 app01 sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2"
    )
    assert moved[2] == "not a log line"


def test_redate_pads_single_digit_days_as_syslog_does() -> None:
    lines = ["Nov 20 08:00:00 app01 cron[1]: x"]
    now = datetime(2026, 12, 5, 1, 0, tzinfo=timezone(timedelta(hours=7)))
    assert redate(lines, now, ZONE) == ["Dec  5 01:00:00 app01 cron[1]: x"]
