"""`RuleTuning`: disabled rules, level overrides and exceptions on hand-made alerts."""

from datetime import UTC, datetime, timedelta

import pytest

from canhgac.correlator import Alert, Severity
from canhgac.events import Event
from canhgac.tuning import (
    ExceptionMatch,
    RuleException,
    RuleSetting,
    RuleSettings,
    RuleTuning,
    TuningError,
    exception_matches,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def event(eid: str, **fields: str | tuple[str, ...] | int) -> Event:
    return Event(id=eid, timestamp=NOW - timedelta(minutes=5), fields=fields)


def alert(rule_id: str, *event_ids: str, severity: Severity = Severity.HIGH) -> Alert:
    return Alert(
        id=f"a-{rule_id}-{'-'.join(event_ids)}",
        rule_id=rule_id,
        rule_title=rule_id.title(),
        severity=severity,
        timestamp=NOW - timedelta(minutes=5),
        event_ids=event_ids,
        entities=(),
    )


def exception(
    field: str, value: str, match: ExceptionMatch = ExceptionMatch.EQUALS, **kw: datetime
) -> RuleException:
    return RuleException(
        id=f"x-{field}",
        field=field,
        value=value,
        match=match,
        reason="known scanner of the provincial CERT",
        added_by="soc-admin",
        added_at=NOW - timedelta(days=1),
        until=kw.get("until"),
    )


def tuning(**rules: RuleSetting) -> RuleTuning:
    return RuleTuning(RuleSettings(dict(rules)))


def test_without_settings_every_alert_passes_unchanged() -> None:
    alerts = [alert("sqli", "e1"), alert("ssh", "e2")]
    tuned = RuleTuning().apply(alerts, {}, NOW)
    assert tuned.alerts == tuple(alerts)
    assert (tuned.suppressed, tuned.disabled) == ({}, {})


def test_a_disabled_rules_alerts_are_dropped_and_counted() -> None:
    alerts = [alert("sqli", "e1"), alert("ssh", "e2"), alert("sqli", "e3")]
    tuned = tuning(sqli=RuleSetting(enabled=False)).apply(alerts, {}, NOW)
    assert [a.rule_id for a in tuned.alerts] == ["ssh"]
    assert tuned.disabled == {"sqli": 2}
    assert tuned.suppressed == {}


def test_a_level_override_replaces_the_alerts_severity() -> None:
    tuned = tuning(sqli=RuleSetting(level=Severity.CRITICAL)).apply(
        [alert("sqli", "e1", severity=Severity.MEDIUM), alert("ssh", "e2")], {}, NOW
    )
    assert [(a.rule_id, a.severity) for a in tuned.alerts] == [
        ("sqli", Severity.CRITICAL),
        ("ssh", Severity.HIGH),
    ]


def test_an_exception_suppresses_alerts_on_matching_events_only() -> None:
    events = {
        "e1": event("e1", **{"source.ip": "203.0.113.7"}),
        "e2": event("e2", **{"source.ip": "198.51.100.9"}),
    }
    rules = tuning(sqli=RuleSetting(exceptions=(exception("source.ip", "203.0.113.7"),)))
    tuned = rules.apply([alert("sqli", "e1"), alert("sqli", "e2")], events, NOW)
    assert [a.event_ids for a in tuned.alerts] == [("e2",)]
    assert tuned.suppressed == {"sqli": 1}


def test_an_exception_of_one_rule_leaves_other_rules_alone() -> None:
    events = {"e1": event("e1", **{"source.ip": "203.0.113.7"})}
    rules = tuning(sqli=RuleSetting(exceptions=(exception("source.ip", "203.0.113.7"),)))
    tuned = rules.apply([alert("ssh", "e1")], events, NOW)
    assert len(tuned.alerts) == 1


def test_a_correlation_alert_is_suppressed_only_when_all_its_events_match() -> None:
    events = {
        "e1": event("e1", **{"user.name": "backup"}),
        "e2": event("e2", **{"user.name": "backup"}),
        "e3": event("e3", **{"user.name": "root"}),
    }
    rules = tuning(brute=RuleSetting(exceptions=(exception("user.name", "backup"),)))
    tuned = rules.apply([alert("brute", "e1", "e2"), alert("brute", "e1", "e3")], events, NOW)
    assert [a.event_ids for a in tuned.alerts] == [("e1", "e3")]
    assert tuned.suppressed == {"brute": 1}


def test_an_expired_exception_stops_applying() -> None:
    events = {"e1": event("e1", **{"source.ip": "203.0.113.7"})}
    expired = exception("source.ip", "203.0.113.7", until=NOW - timedelta(seconds=1))
    rules = tuning(sqli=RuleSetting(exceptions=(expired,)))
    assert rules.evidence_needed([alert("sqli", "e1")], NOW) == set()
    tuned = rules.apply([alert("sqli", "e1")], events, NOW)
    assert len(tuned.alerts) == 1
    earlier = rules.apply([alert("sqli", "e1")], events, NOW - timedelta(minutes=1))
    assert earlier.alerts == ()


def test_evidence_is_needed_only_for_rules_with_active_exceptions() -> None:
    rules = tuning(
        sqli=RuleSetting(exceptions=(exception("source.ip", "203.0.113.7"),)),
        ssh=RuleSetting(level=Severity.LOW),
    )
    needed = rules.evidence_needed([alert("sqli", "e1", "e2"), alert("ssh", "e3")], NOW)
    assert needed == {"e1", "e2"}


def test_an_alert_whose_evidence_is_unknown_is_never_suppressed() -> None:
    rules = tuning(sqli=RuleSetting(exceptions=(exception("source.ip", "203.0.113.7"),)))
    assert len(rules.apply([alert("sqli", "e-missing")], {}, NOW).alerts) == 1


@pytest.mark.parametrize(
    ("match", "value", "field_value", "expected"),
    [
        (ExceptionMatch.EQUALS, "Backup", "backup", True),
        (ExceptionMatch.EQUALS, "backup", "backup2", False),
        (ExceptionMatch.CONTAINS, "/healthcheck", "/api/HealthCheck?x=1", True),
        (ExceptionMatch.CONTAINS, "/status", "/api/healthcheck", False),
        (ExceptionMatch.CIDR, "10.20.0.0/16", "10.20.3.4", True),
        (ExceptionMatch.CIDR, "10.20.0.0/16", "10.21.3.4", False),
        (ExceptionMatch.CIDR, "10.20.3.4", "10.20.3.4", True),
        (ExceptionMatch.CIDR, "2001:db8::/32", "2001:db8::1", True),
        (ExceptionMatch.CIDR, "10.0.0.0/8", "2001:db8::1", False),
        (ExceptionMatch.CIDR, "10.0.0.0/8", "not-an-address", False),
    ],
)
def test_exception_matching(
    match: ExceptionMatch, value: str, field_value: str, expected: bool
) -> None:
    assert exception_matches(exception("f", value, match), event("e", f=field_value)) is expected


def test_a_field_with_several_values_matches_when_any_does() -> None:
    listed = event("e", **{"related.ip": ("198.51.100.9", "10.20.3.4")})
    assert exception_matches(exception("related.ip", "10.20.0.0/16", ExceptionMatch.CIDR), listed)


def test_numbers_are_compared_as_text_and_absent_fields_never_match() -> None:
    port = event("e", **{"destination.port": 22})
    assert exception_matches(exception("destination.port", "22"), port)
    assert not exception_matches(exception("source.port", "22"), port)


def test_a_cidr_exception_needs_a_network() -> None:
    with pytest.raises(TuningError, match="not an IP network"):
        exception("source.ip", "10.0.0.300/8", ExceptionMatch.CIDR)
