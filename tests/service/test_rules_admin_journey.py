"""Rule administration end to end, with a real `canhgac run` process: an admin disables
a rule, enables it again and adds an exception through the API, and lines appended to
a watched file raise incidents, or not, accordingly."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._running_service import RunningService, portal_source, wait_for
from tests.service.test_run_journey import access_line

pytestmark = [pytest.mark.slow, pytest.mark.integration]

TRAVERSAL = "cd5f9b0a-e702-4449-ad1f-8edb5d5393f3"  # rules/web_path_traversal.yml
PROBE = "/tai-lieu/tai-ve?file=../../../../etc/passwd"
# The correlator reloads rule settings and writes rule health every 15 s.
RELOAD_WAIT = 45


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    log_file = tmp_path / "access.log"
    log_file.write_text("")
    return log_file


@pytest.fixture
def service(tmp_path: Path, watched: Path) -> Iterator[RunningService]:
    running = RunningService.in_folder(tmp_path, {"sources": [portal_source(watched)]})
    yield running
    running.stop()


class Admin:
    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.request(
            method, f"{self.base}/api/v1{path}", headers=self.headers, json=body, timeout=30
        )
        assert answer.is_success, (method, path, answer.status_code, answer.text)
        return answer.json()

    def traversal(self) -> dict[str, Any]:
        rules = self.call("GET", "/rules")
        found: dict[str, Any] = next(r for r in rules["items"] if r["id"] == TRAVERSAL)
        return found

    def wait_until_in_force(self) -> None:
        wait_for(
            lambda: bool(self.call("GET", "/rules")["settings_in_force"]),
            RELOAD_WAIT,
            "the correlator to apply the rule settings",
        )

    def incident_sources(self) -> set[str]:
        items = self.call("GET", "/incidents?limit=500")["items"]
        return {i["entity_value"] for i in items if i["rule_id"] == TRAVERSAL}


def test_disable_enable_and_an_exception_take_effect_in_the_running_correlator(
    service: RunningService, watched: Path
) -> None:
    key = service.create_key("admin", "soc-admin")
    service.start()
    admin = Admin(service.base, key)

    def append(n: int, ip: str) -> None:
        with watched.open("a") as out:
            out.write(access_line(n, ip, PROBE))

    def matched(count: int) -> None:
        wait_for(
            lambda: admin.traversal()["matches"] >= count,
            RELOAD_WAIT,
            f"the rule health to show {count} matches (the lines were correlated)",
        )

    # Disabled: the line is correlated (a match), but raises no incident.
    assert admin.call("PATCH", f"/rules/{TRAVERSAL}", {"enabled": False})["enabled"] is False
    admin.wait_until_in_force()
    append(1, "203.0.113.10")
    matched(1)
    assert admin.incident_sources() == set()

    # Enabled again: the same probe from another address raises an incident.
    admin.call("PATCH", f"/rules/{TRAVERSAL}", {"enabled": True})
    admin.wait_until_in_force()
    append(2, "203.0.113.20")
    wait_for(lambda: admin.incident_sources() == {"203.0.113.20"}, RELOAD_WAIT, "the incident")

    # An exception for one source address suppresses its alerts, not the others'.
    admin.call(
        "POST",
        f"/rules/{TRAVERSAL}/exceptions",
        {"field": "source.ip", "value": "198.51.100.7", "reason": "the CERT's scanner"},
    )
    admin.wait_until_in_force()
    append(3, "198.51.100.7")
    append(4, "203.0.113.40")
    wait_for(
        lambda: admin.incident_sources() == {"203.0.113.20", "203.0.113.40"},
        RELOAD_WAIT,
        "the incident of the address without an exception",
    )
    wait_for(
        lambda: admin.traversal()["suppressed"] == 1,
        RELOAD_WAIT,
        "the rule health to count the suppressed alert",
    )
    assert admin.incident_sources() == {"203.0.113.20", "203.0.113.40"}
    history = admin.call("GET", f"/rules/{TRAVERSAL}/history")
    assert [(h["actor"], h["action"]) for h in history] == [
        ("soc-admin", "enabled"),
        ("soc-admin", "enabled"),
        ("soc-admin", "exception.added"),
    ]
