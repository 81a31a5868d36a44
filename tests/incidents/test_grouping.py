from datetime import UTC, datetime, timedelta

import pytest

from canhgac.correlator import Alert, Severity
from canhgac.incidents import GroupKey, IncidentGrouper, IncidentRef, IncidentStatus, key_entity

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def alert(
    n: int,
    minutes: float,
    *,
    rule: str = "r-sqli",
    ip: str | None = "203.113.131.5",
    user: str | None = None,
    org: str | None = "So TTTT",
    severity: Severity = Severity.HIGH,
) -> Alert:
    entities = tuple((f, v) for f, v in (("user.name", user), ("source.ip", ip)) if v)
    return Alert(
        id=f"a{n}",
        rule_id=rule,
        rule_title="SQL injection on the portal",
        severity=severity,
        timestamp=T0 + timedelta(minutes=minutes),
        event_ids=(f"e{n}",),
        entities=entities,
        system="portal",
        organization=org,
    )


def test_alerts_of_one_rule_and_ip_within_the_window_make_one_incident() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    result = grouper.group([alert(1, 0), alert(2, 10), alert(3, 24)], {}, NOW)
    assert len(result.new_incidents) == 1
    incident = result.new_incidents[0]
    assert incident.alert_count == 3
    assert incident.first_seen == T0
    assert incident.last_seen == T0 + timedelta(minutes=24)
    assert incident.status is IncidentStatus.NEW
    assert incident.entity_field == "source.ip"
    assert incident.title == "SQL injection on the portal: 203.113.131.5"
    assert set(result.alert_incidents.values()) == {incident.id}


def test_a_gap_longer_than_the_window_opens_a_second_incident() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    result = grouper.group([alert(1, 0), alert(2, 16)], {}, NOW)
    assert [i.alert_count for i in result.new_incidents] == [1, 1]
    assert result.alert_incidents["a1"] != result.alert_incidents["a2"]


def test_different_ip_rule_or_agency_are_separate_incidents() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    alerts = [
        alert(1, 0),
        alert(2, 1, ip="198.51.100.7"),
        alert(3, 2, rule="r-traversal"),
        alert(4, 3, org="UBND huyen Chau Thanh"),
    ]
    result = grouper.group(alerts, {}, NOW)
    assert len(result.new_incidents) == 4


def test_source_ip_is_preferred_over_user_name_as_key_entity() -> None:
    assert key_entity(alert(1, 0, user="alice")) == ("source.ip", "203.113.131.5")
    assert key_entity(alert(1, 0, ip=None, user="alice")) == ("user.name", "alice")
    assert key_entity(alert(1, 0, ip=None)) is None


def test_alerts_grow_an_open_incident_the_store_knows() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    key = GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")
    known = {key: IncidentRef("inc-old", T0 - timedelta(minutes=5), Severity.MEDIUM)}
    result = grouper.group([alert(1, 0), alert(2, 3, severity=Severity.CRITICAL)], known, NOW)
    assert result.new_incidents == ()
    (growth,) = result.growths
    assert growth.incident_id == "inc-old"
    assert growth.added_alerts == 2
    assert growth.last_seen == T0 + timedelta(minutes=3)
    assert growth.severity is Severity.CRITICAL


def test_a_stored_incident_past_its_window_is_not_joined() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    key = GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")
    known = {key: IncidentRef("inc-old", T0 - timedelta(minutes=30), Severity.HIGH)}
    result = grouper.group([alert(1, 0)], known, NOW)
    assert result.growths == ()
    assert len(result.new_incidents) == 1


def test_grouping_is_deterministic_so_replays_do_not_duplicate() -> None:
    grouper = IncidentGrouper(timedelta(minutes=15))
    first = grouper.group([alert(1, 0), alert(2, 1)], {}, NOW)
    second = grouper.group([alert(2, 1), alert(1, 0)], {}, NOW)
    assert first.new_incidents == second.new_incidents


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        IncidentGrouper(timedelta(0))
