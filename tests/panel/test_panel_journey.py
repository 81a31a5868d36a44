"""The IOC panel in Debian's chromium against a real `canhgac run`: an analyst signs in,
an attack appended to a watched log file arrives in the queue live (SSE, no reload),
is acknowledged, commented on and resolved, and the audit trail names the key; then
the dashboard, the rules (as admin) and the collectors pages, in both languages."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests._running_service import RunningService, portal_source
from tests.panel.conftest import PanelPage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTACKER = "45.142.212.61"
ANALYST = "phan-tich-vien-hoa"
ADMIN = "quan-tri-minh"
SQL_RULE = "SQL Injection Attempt In The URL Query"
LIVE_SECONDS = 45_000  # ms: tailer poll + pipeline + the stream's 1 s poll, on a busy machine


def attack_line(moment: datetime) -> str:
    """An nginx access line whose query is a UNION-based SQL injection, stamped in UTC."""
    stamp = moment.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (
        f"{ATTACKER} - - [{stamp}] "
        '"GET /ho-so/tra-cuu?ma=1%27%20UNION%20SELECT%20username,password%20FROM%20users-- '
        'HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"\n'
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    log_file = tmp_path / "access.log"
    log_file.write_text("")
    source = portal_source(log_file, "cong-dich-vu-cong")
    running = RunningService.in_folder(tmp_path, {"sources": [source]})
    yield running
    running.stop()


def sign_in(panel: PanelPage, base: str, key: str) -> None:
    page = panel.page
    page.goto(f"{base}/")
    key_input = page.get_by_label("Khóa API")
    expect(key_input).to_be_focused()
    key_input.fill(key)
    key_input.press("Enter")
    expect(page.locator("#nav-incidents")).to_be_visible()


def test_an_analyst_triages_a_live_incident_in_the_browser(
    service: RunningService, panel_page: PanelPage, tmp_path: Path
) -> None:
    analyst_key = service.create_key("analyst", ANALYST)
    admin_key = service.create_key("admin", ADMIN)
    service.start()
    page = panel_page.page

    # Sign in: Vietnamese by default, the key in sessionStorage and nowhere else.
    page.goto(f"{service.base}/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("#nav-incidents")).to_have_count(0)  # no pages before signing in
    page.get_by_role("button", name="English").click()
    expect(page.get_by_label("API key")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_label("Khóa API")).to_be_visible()
    panel_page.screenshot("signin")
    sign_in(panel_page, service.base, analyst_key)
    expect(page.locator("#nav-incidents")).to_have_text("Sự cố")
    expect(page.locator("#incident-rows")).to_contain_text("Không có sự cố nào")
    storage = page.evaluate(
        "() => ({session: sessionStorage.getItem('canhgac.key'),"
        " local: JSON.stringify(localStorage), cookie: document.cookie})"
    )
    assert storage["session"] == analyst_key
    assert analyst_key not in storage["local"]
    assert analyst_key not in storage["cookie"]

    # An attack appended to the watched file shows up live: no reload (the marker stays).
    expect(page.locator("#live-status")).to_have_class("live on", timeout=LIVE_SECONDS)
    page.evaluate("() => { window.notReloaded = true; }")
    event_time = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
    with (tmp_path / "access.log").open("a") as out:
        out.write(attack_line(event_time))
    row = page.locator("#incident-rows tr", has_text=ATTACKER)
    expect(row).to_be_visible(timeout=LIVE_SECONDS)
    assert page.evaluate("() => window.notReloaded === true"), "the queue reloaded the page"
    expect(row).to_contain_text("Mới")
    expect(page.locator("#queue-total")).to_have_text("1 sự cố")
    panel_page.screenshot("queue")

    # Open it: the alert's time is the event's, shown in Asia/Ho_Chi_Minh (UTC+7).
    row.get_by_role("link").click()
    expect(page.locator("#incident-title")).to_contain_text(SQL_RULE)
    hanoi = event_time.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    shown = page.locator(".timeline time").first
    expect(shown).to_contain_text(hanoi.strftime("%H:%M:%S"))
    expect(shown).to_contain_text(hanoi.strftime("%d/%m/%Y"))
    expect(page.locator(".evidence")).to_contain_text(ATTACKER)

    # Acknowledge, comment, resolve.
    page.get_by_role("button", name="Tiếp nhận").click()
    expect(page.locator("#incident-status")).to_have_text("Đã tiếp nhận")
    comment = "Đã chặn IP 45.142.212.61 trên tường lửa; báo Sở KH&CN."
    page.get_by_label("Bình luận mới").fill(comment)
    page.get_by_role("button", name="Gửi bình luận").click()
    expect(page.locator("#history")).to_contain_text(comment)
    page.get_by_label("Lý do").fill("Đã vá lỗi truy vấn trên cổng")
    page.get_by_role("button", name="Đánh dấu đã xử lý").click()
    expect(page.locator("#incident-status")).to_have_text("Đã xử lý")

    # The audit trail: the three changes, each with the key's name.
    entries = page.locator("#history li")
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text(ANALYST)
    expect(entries.nth(0)).to_contain_text("Mới → Đã tiếp nhận")
    expect(entries.nth(1)).to_contain_text(ANALYST)
    expect(entries.nth(1)).to_contain_text(comment)
    expect(entries.nth(2)).to_contain_text(ANALYST)
    expect(entries.nth(2)).to_contain_text("Đã tiếp nhận → Đã xử lý")
    expect(entries.nth(2)).to_contain_text("Đã vá lỗi truy vấn trên cổng")
    panel_page.screenshot("incident")

    # A change made elsewhere (another client of the API) appears on the open page.
    incident_id = page.evaluate("() => decodeURIComponent(location.hash.split('/')[2])")
    changed = httpx.patch(
        f"{service.base}/api/v1/incidents/{incident_id}",
        json={"assignee": "Trần Văn Bình"},
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    expect(page.locator("#incident-assignee")).to_have_text("Trần Văn Bình", timeout=LIVE_SECONDS)
    expect(entries).to_have_count(4)
    expect(entries.nth(3)).to_contain_text(ADMIN)

    # Back in the queue, the change is there; the queue exports as CSV and as STIX 2.1.
    page.get_by_role("link", name="← Danh sách sự cố").click()
    expect(page.locator("#incident-rows tr", has_text=ATTACKER)).to_contain_text("Đã xử lý")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Tải về").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    exported = Path(csv_download.value.path()).read_text(encoding="utf-8")
    assert ATTACKER in exported
    assert "resolved" in exported
    page.get_by_label("Xuất tệp").select_option("stix")
    with page.expect_download() as stix_download:
        page.get_by_role("button", name="Tải về").click()
    bundle = json.loads(Path(stix_download.value.path()).read_text(encoding="utf-8"))
    assert bundle["type"] == "bundle"
    assert ATTACKER in json.dumps(bundle)

    # The dashboard: nothing open any more, the rule and the address at the top.
    page.locator("#nav-dashboard").click()
    expect(page.locator("#open-count")).to_have_text("0")
    expect(page.locator("#top-rules")).to_contain_text(SQL_RULE)
    expect(page.locator("#top-sources")).to_contain_text(ATTACKER)
    panel_page.screenshot("dashboard")

    # English, and back to Vietnamese.
    page.locator("#lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#nav-incidents")).to_have_text("Incidents")
    expect(page.get_by_text("Open incidents")).to_be_visible()
    panel_page.screenshot("dashboard-en")
    page.locator("#lang-switch").click()
    expect(page.locator("#nav-incidents")).to_have_text("Sự cố")

    # The rules page, as an admin: health and an exception added through the form.
    page.locator("#signout").click()
    sign_in(panel_page, service.base, admin_key)
    page.locator("#nav-rules").click()
    rule_row = page.locator("table.rules tbody tr", has_text=SQL_RULE)
    expect(rule_row).to_be_visible()
    rule_row.get_by_text("Thêm ngoại lệ").click()
    rule_row.get_by_label("Trường").fill("source.ip")
    rule_row.get_by_label("Giá trị").fill("10.0.0.0/8")
    rule_row.get_by_label("Kiểu so khớp").select_option("cidr")
    rule_row.get_by_label("Lý do").fill("Máy quét lỗ hổng nội bộ của Sở TT&TT")
    rule_row.get_by_role("button", name="Lưu ngoại lệ").click()
    expect(page.locator("table.rules tbody tr", has_text=SQL_RULE)).to_contain_text(
        "Máy quét lỗ hổng nội bộ của Sở TT&TT"
    )
    rule_row = page.locator("table.rules tbody tr", has_text=SQL_RULE)
    expect(rule_row).to_contain_text("quan-tri-minh")  # who added it
    rule_row.get_by_role("button", name="Xóa").click()
    expect(rule_row).not_to_contain_text("Máy quét lỗ hổng nội bộ")
    rule_row.get_by_text("Chạy thử trên dữ liệu đã lưu").click()
    rule_row.get_by_label("Số giờ gần nhất").fill("2")
    rule_row.get_by_role("button", name="Chạy thử", exact=True).click()
    expect(rule_row.locator(".backtest-result")).to_have_text("Sẽ tạo 1 cảnh báo")
    ssh_row = page.locator("table.rules tbody tr", has_text="SSH Failed Login")
    ssh_row.get_by_role("button", name="Tắt", exact=True).click()
    ssh_row = page.locator("table.rules tbody tr", has_text="SSH Failed Login")
    expect(ssh_row).to_contain_text("Đang tắt")
    expect(ssh_row.get_by_role("button", name="Bật", exact=True)).to_be_visible()
    page.get_by_label("Lọc luật").fill("ssh brute")
    expect(page.locator("table.rules tbody tr:visible")).to_have_count(2)
    panel_page.screenshot("rules")

    # The collectors page: the watched source with its counters.
    page.locator("#nav-collectors").click()
    source_row = page.locator("table.collectors tbody tr", has_text="cong-dich-vu-cong")
    expect(source_row).to_be_visible()
    panel_page.screenshot("collectors")

    panel_page.assert_no_errors()
