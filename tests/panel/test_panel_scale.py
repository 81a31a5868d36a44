"""The panel with 100,000 incidents in the SQLite store, in a real browser: the queue shows
one server-side page, pages on with the cursor, and filters on the server."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Request, expect

from canhgac.correlator import Alert, Severity
from canhgac.incidents import Incident, IncidentStatus
from canhgac.storage import SQLiteStore, WriteBatch
from tests._running_service import RunningService
from tests.panel.conftest import PanelPage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INCIDENTS = 100_000
BATCH = 10_000
SEVERITIES = tuple(Severity)  # five: every fifth incident is critical
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ORGANIZATIONS = ("Sở TT&TT", "Sở Y tế", "UBND huyện Châu Thành", "UBND huyện Long Mỹ")


def incident_and_alert(n: int, end: datetime) -> tuple[Incident, Alert]:
    """Incident n, seen INCIDENTS - n minutes before `end`: the higher n, the newer."""
    first = end - timedelta(minutes=INCIDENTS - n)
    ip = f"203.113.{n // 256 % 256}.{n % 256}"
    severity = SEVERITIES[n % len(SEVERITIES)]
    incident = Incident(
        id=f"inc-{n:08d}",
        title=f"Quét cổng từ {ip} (#{n})",
        rule_id=f"rule-{n % 40}",
        rule_title=f"Luật {n % 40}",
        severity=severity,
        status=IncidentStatus.NEW if n % 3 else IncidentStatus.ACKNOWLEDGED,
        assignee=None,
        entity_field="source.ip",
        entity_value=ip,
        system="Cổng dịch vụ công",
        organization=ORGANIZATIONS[n % len(ORGANIZATIONS)],
        first_seen=first,
        last_seen=first,
        alert_count=1,
        created_at=first,
        updated_at=first,
    )
    alert = Alert(
        id=f"al-{n:08d}",
        rule_id=incident.rule_id,
        rule_title=incident.rule_title,
        severity=severity,
        timestamp=first,
        event_ids=(f"ev-{n:09d}",),
        entities=(("source.ip", ip),),
        system=incident.system,
        organization=incident.organization,
    )
    return incident, alert


def seed(database: Path) -> datetime:
    """100,000 incidents written in batches through the store, as bench/api_load.py does;
    the newest was last seen at the time returned."""
    database.parent.mkdir(parents=True)
    end = datetime.now(UTC).replace(microsecond=0)
    with SQLiteStore.open(database) as store:
        for start in range(0, INCIDENTS, BATCH):
            pairs = [incident_and_alert(n, end) for n in range(start, start + BATCH)]
            store.write(
                WriteBatch(
                    alerts=[a for _, a in pairs],
                    alert_incidents={a.id: i.id for i, a in pairs},
                    new_incidents=[i for i, _ in pairs],
                )
            )
        store.maintain()
    return end


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[RunningService, datetime]]:
    running = RunningService.in_folder(tmp_path, {"sources": []})
    end = seed(running.data / "canhgac.sqlite3")
    yield running, end
    running.stop()


def test_the_queue_pages_through_100000_incidents_on_the_server(
    seeded: tuple[RunningService, datetime], panel_page: PanelPage
) -> None:
    service, end = seeded
    key = service.create_key("viewer", "man-hinh-ioc")
    service.start()
    page = panel_page.page
    listings: list[str] = []

    def record(request: Request) -> None:
        if "/api/v1/incidents" in request.url:
            listings.append(request.url)

    page.on("request", record)
    page.goto(f"{service.base}/")
    page.get_by_label("Khóa API").fill(key)
    page.get_by_role("button", name="Đăng nhập").click()

    rows = page.locator("#incident-rows tr.incident-row")
    expect(rows).to_have_count(50)
    # Counted exactly up to the API's cap (10,000), then "at least".
    expect(page.locator("#queue-total")).to_have_text("10.000+ sự cố")
    expect(rows.first).to_contain_text("(#99999)")  # newest last_seen first
    expect(rows.nth(49)).to_contain_text("(#99950)")
    panel_page.screenshot("queue-100k")

    more = page.get_by_role("button", name="Xem thêm 50 sự cố")
    more.click()
    expect(rows).to_have_count(100)
    expect(rows.nth(50)).to_contain_text("(#99949)")
    more.click()
    expect(rows).to_have_count(150)
    expect(rows.nth(149)).to_contain_text("(#99850)")
    expect(page.locator("#queue-shown")).to_have_text("đang hiển thị 150")
    ids = rows.evaluate_all("rows => rows.map(row => row.dataset.id)")
    assert len(set(ids)) == 150, "a page repeated incidents"

    # A new incident while the analyst reads page 3: offered, not forced on the list.
    now = datetime.now(UTC).replace(microsecond=0)
    fresh, fresh_alert = incident_and_alert(INCIDENTS, now)
    fresh = replace(fresh, status=IncidentStatus.NEW, severity=Severity.INFORMATIONAL)
    with SQLiteStore.open(service.data / "canhgac.sqlite3") as store:
        store.write(
            WriteBatch(
                alerts=[fresh_alert],
                alert_incidents={fresh_alert.id: fresh.id},
                new_incidents=[fresh],
            )
        )
    offer = page.get_by_role("button", name="1 sự cố mới — tải lại danh sách")
    expect(offer).to_be_visible()
    expect(rows).to_have_count(150)
    offer.click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("(#100000)")
    expect(page.locator("#queue-total")).to_have_text("10.000+ sự cố")

    # A filter is the server's: every fifth incident is critical.
    page.get_by_label("Mức độ").select_option("critical")
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.locator("#queue-total")).to_have_text("10.000+ sự cố")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("(#99999)")
    expect(rows.first).to_contain_text("Nghiêm trọng")
    panel_page.screenshot("queue-100k-critical")

    # A day picked is that day in Asia/Ho_Chi_Minh: since its midnight there (UTC+7), the
    # incidents seen today, one a minute.
    page.get_by_role("link", name="Bỏ lọc").click()
    expect(page.locator("#queue-total")).to_have_text("10.000+ sự cố")
    today = end.astimezone(HANOI).replace(hour=0, minute=0, second=0)
    seen_today = int((end - today).total_seconds() // 60) + 1  # and the new one
    page.get_by_label("Từ ngày").fill(today.strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.locator("#queue-total")).to_have_text(f"{seen_today:,} sự cố".replace(",", "."))
    since = (today - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert any(f"since={since.replace(':', '%3A')}" in url for url in listings), listings[-1]

    # Every listing asked the server for one page, never the whole list.
    assert listings, "the queue made no listing request"
    for url in listings:
        assert "limit=50" in url, url
    assert sum("cursor=" in url for url in listings) == 2

    # By keyboard: the title is a link; a viewer key reads, with no triage controls.
    rows.first.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#incident-title")).to_contain_text("(#100000)")
    expect(page.locator("#incident-status")).to_have_text("Mới")
    expect(page.get_by_role("button", name="Tiếp nhận")).to_have_count(0)
    expect(page.locator("#comment-text")).to_have_count(0)
    panel_page.screenshot("incident-viewer")

    page.locator("#nav-dashboard").click()
    expect(page.locator("#total-count")).to_have_text("100.001")
    panel_page.screenshot("dashboard-100k")
    panel_page.assert_no_errors()
