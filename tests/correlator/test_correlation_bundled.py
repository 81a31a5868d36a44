"""The correlation rules shipped in rules/: scans, exfiltration, portal brute force."""

import pytest

from canhgac.correlator import Alert, Correlator, RuleSet, load_rules
from canhgac.events import Event, FieldValue
from tests.correlator._events import event, web_event

PORT_SCAN = "Port Scan From One Address"
HOST_SWEEP = "Internal Host Sweep From One Address"
LARGE_UPLOAD = "Large Outbound Transfer From One Address"
PORTAL_BRUTE_FORCE = "Login Brute Force On The Public-Service Portal"
SCANNER = "203.113.131.5"


@pytest.fixture(scope="module")
def bundled() -> RuleSet:
    ruleset = load_rules([])
    assert ruleset.errors == ()
    assert ruleset.unrouted == ()
    return ruleset


def flow(
    seconds: float,
    *,
    source: str = SCANNER,
    destination: str = "10.20.1.15",
    port: int = 443,
    sent: int = 1200,
) -> Event:
    """A connection record as the flow collectors emit it (event.dataset network.connection)."""
    fields: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.category": ("network",),
        "event.type": ("connection",),
        "event.dataset": "network.connection",
        "event.module": "network",
        "network.transport": "tcp",
        "source.ip": source,
        "source.port": 51234,
        "destination.ip": destination,
        "destination.port": port,
        "source.bytes": sent,
        "destination.bytes": 3400,
        "event.original": f"{source}:51234 -> {destination}:{port} tcp {sent} 3400",
    }
    return event(fields, seconds=seconds)


def fired(ruleset: RuleSet, events: list[Event]) -> list[str]:
    return [alert.rule_title for alert in Correlator(ruleset).process(events)]


def alerts_of(ruleset: RuleSet, events: list[Event]) -> list[Alert]:
    return Correlator(ruleset).process(events)


class TestPortScan:
    def test_fifty_ports_within_a_minute(self, bundled: RuleSet) -> None:
        scan = [flow(i, port=port) for i, port in enumerate(range(20, 70))]
        (alert,) = alerts_of(bundled, scan)
        assert alert.rule_title == PORT_SCAN
        assert alert.entities == (("source.ip", SCANNER),)
        assert alert.event_ids == tuple(e.id for e in scan)

    def test_forty_nine_ports_or_fifty_over_two_minutes_are_not_a_scan(
        self, bundled: RuleSet
    ) -> None:
        assert fired(bundled, [flow(i, port=p) for i, p in enumerate(range(20, 69))]) == []
        assert fired(bundled, [flow(2.5 * i, port=p) for i, p in enumerate(range(20, 70))]) == []

    def test_many_connections_to_few_ports_are_not_a_scan(self, bundled: RuleSet) -> None:
        busy = [flow(i / 10, port=(443, 80)[i % 2]) for i in range(500)]
        assert fired(bundled, busy) == []


class TestHostSweep:
    def test_fifty_internal_hosts_within_five_minutes(self, bundled: RuleSet) -> None:
        sweep = [
            flow(5 * i, source="10.20.3.44", destination=f"10.20.1.{i}", port=445)
            for i in range(1, 51)
        ]
        assert fired(bundled, sweep) == [HOST_SWEEP]

    def test_external_destinations_do_not_count(self, bundled: RuleSet) -> None:
        browsing = [
            flow(i, source="10.20.3.44", destination=f"203.162.4.{i}", port=8443)
            for i in range(1, 80)
        ]
        assert fired(bundled, browsing) == []


class TestLargeOutboundTransfer:
    def test_more_than_a_gigabyte_out_within_an_hour(self, bundled: RuleSet) -> None:
        uploads = [
            flow(600 * i, source="10.20.3.44", destination="185.220.101.4", sent=400_000_000)
            for i in range(3)
        ]
        (alert,) = alerts_of(bundled, uploads)
        assert alert.rule_title == LARGE_UPLOAD
        assert alert.entities == (("source.ip", "10.20.3.44"),)
        assert alert.timestamp == uploads[-1].timestamp

    def test_exactly_a_gigabyte_or_internal_copies_do_not_fire(self, bundled: RuleSet) -> None:
        exactly = [
            flow(i, source="10.20.3.44", destination="185.220.101.4", sent=500_000_000)
            for i in range(2)
        ]
        backup = [
            flow(i, source="10.20.3.44", destination="10.20.9.2", sent=900_000_000)
            for i in range(5)
        ]
        assert fired(bundled, exactly + backup) == []


class TestPortalBruteForce:
    def test_twenty_failed_logins_within_five_minutes(self, bundled: RuleSet) -> None:
        failures = [
            web_event("/dang-nhap", method="POST", status=(200, 401)[i % 2], seconds=10 * i)
            for i in range(20)
        ]
        alerts = alerts_of(bundled, failures)
        assert [alert.rule_title for alert in alerts] == [PORTAL_BRUTE_FORCE]
        assert alerts[0].entities == (("source.ip", "203.113.131.5"),)
        assert alerts[0].system == "portal"

    def test_successful_logins_and_page_views_do_not_count(self, bundled: RuleSet) -> None:
        logins = [web_event("/dang-nhap", method="POST", status=302) for _ in range(30)]
        views = [web_event("/dang-nhap", status=200) for _ in range(30)]
        nineteen = [web_event("/dang-nhap", method="POST", status=403) for _ in range(19)]
        assert fired(bundled, logins + views + nineteen) == []
