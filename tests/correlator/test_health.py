"""Rule health: what each rule saw, matched, cost, and which of its fields never came."""

from pathlib import Path

import pytest

from canhgac.correlator import (
    CANNOT_FIRE,
    NOT_ROUTED,
    TIMING_SAMPLE,
    Correlator,
    RuleHealth,
    Severity,
)
from canhgac.correlator import _engine as engine
from canhgac.correlator._engine import LAYOUT_CACHE_SIZE
from canhgac.events import Event
from tests.correlator._events import (
    SYSMON,
    load_inline,
    ssh_failure_count,
    web_event,
    windows_event,
)

PROBE = """
title: Admin Probe
id: 5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
logsource:
    category: webserver
detection:
    selection:
        cs-uri-stem|startswith: /admin
    condition: selection
level: high
"""

REFERER_RULE = """
title: Evil Referer
logsource:
    category: webserver
detection:
    selection:
        cs-referer|contains: evil
        cs-cookie|contains: session
    condition: selection
level: low
"""


def health_of(correlator: Correlator, title: str) -> RuleHealth:
    (line,) = [line for line in correlator.health() if line.title == title]
    return line


def test_counts_routed_events_matches_and_the_last_match(tmp_path: Path) -> None:
    correlator = Correlator(load_inline(tmp_path, **{"p.yml": PROBE}))
    correlator.process([web_event("/"), web_event("/admin", seconds=5), web_event("/x")])
    correlator.process([windows_event("Security", 4624)])  # routed elsewhere (nowhere)
    line = health_of(correlator, "Admin Probe")
    assert line.rule_id == "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert (line.kind, line.level, line.routed) == ("detection", Severity.HIGH, True)
    assert (line.events, line.matches) == (3, 1)
    assert line.last_match is not None
    assert line.last_match == web_event("/admin", seconds=5).timestamp
    assert line.path == str(tmp_path / "p.yml")
    assert (line.never_seen, line.note) == ((), None)


def test_fields_the_routed_events_never_carry_are_listed(tmp_path: Path) -> None:
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": REFERER_RULE}))
    correlator.process([web_event("/") for _ in range(3)])
    line = health_of(correlator, "Evil Referer")
    # The access logs carry a referrer but no cookie: the rule can never fire.
    assert line.never_seen == ("cs-cookie",)
    assert line.note == CANNOT_FIRE


def with_cookie(event: Event) -> Event:
    return Event(id=event.id, timestamp=event.timestamp, fields={**event.fields, "cs-cookie": "s"})


@pytest.mark.parametrize("cache_size", [LAYOUT_CACHE_SIZE, 1])
def test_a_field_any_routed_layout_carried_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_size: int
) -> None:
    # Fields are gathered once per layout (the events' field names), so the count must
    # hold across layouts, and after the layout cache starts afresh (size 1).
    monkeypatch.setattr(engine, "LAYOUT_CACHE_SIZE", cache_size)
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": REFERER_RULE}))
    correlator.process([web_event("/"), with_cookie(web_event("/x")), web_event("/y")])
    assert health_of(correlator, "Evil Referer").never_seen == ()
    assert health_of(correlator, "Evil Referer").events == 3


def test_nothing_is_said_of_fields_before_an_event_was_routed(tmp_path: Path) -> None:
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": REFERER_RULE}))
    line = health_of(correlator, "Evil Referer")
    assert (line.events, line.never_seen, line.note) == (0, (), None)


def test_a_field_only_under_not_does_not_stop_the_rule(tmp_path: Path) -> None:
    rule = """
    title: Admin Not From Office
    logsource:
        category: webserver
    detection:
        selection:
            cs-uri-stem|startswith: /admin
        filter:
            x-office-badge: present
        condition: selection and not filter
    """
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": rule}))
    alerts = correlator.process([web_event("/admin")])
    line = health_of(correlator, "Admin Not From Office")
    assert len(alerts) == 1
    assert line.never_seen == ("x-office-badge",)
    assert line.note is None


def test_null_and_exists_false_tests_are_not_missing_fields(tmp_path: Path) -> None:
    rule = """
    title: No Referrer
    logsource:
        category: webserver
    detection:
        selection:
            x-forwarded-for: null
            x-real-ip|exists: false
        condition: selection
    """
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": rule}))
    assert len(correlator.process([web_event("/")])) == 1
    line = health_of(correlator, "No Referrer")
    assert (line.never_seen, line.note) == ((), None)


def test_a_field_mapped_to_alternatives_is_seen_when_one_of_them_is(tmp_path: Path) -> None:
    rule = """
    title: Whoami
    logsource:
        category: process_creation
        product: windows
    detection:
        selection:
            Image|endswith: '\\whoami.exe'
            Company: Microsoft Corporation
        condition: selection
    """
    correlator = Correlator(load_inline(tmp_path, **{"r.yml": rule}))
    correlator.process([windows_event(SYSMON, 1, Image="C:\\Windows\\whoami.exe")])
    line = health_of(correlator, "Whoami")
    # Sysmon carries Image, never NewProcessName: that is no missing field.
    assert line.never_seen == ("winlog.event_data.Company",)
    assert line.note == CANNOT_FIRE
    correlator.process([windows_event("Security", 4688, NewProcessName="C:\\x.exe")])
    assert health_of(correlator, "Whoami").never_seen == ("winlog.event_data.Company",)


def test_unrouted_and_skipped_rules_appear_with_their_reason(tmp_path: Path) -> None:
    okta = """
    title: Okta Thing
    logsource:
        product: okta
        service: okta
    detection:
        selection:
            eventType: user.session.start
        condition: selection
    """
    broken = PROBE.replace("cs-uri-stem|startswith: /admin", "sc-status|hour: 3").replace(
        "Admin Probe", "Broken"
    )
    correlator = Correlator(load_inline(tmp_path, **{"o.yml": okta, "b.yml": broken}))
    lines = {line.title: line for line in correlator.health()}
    assert (lines["Okta Thing"].routed, lines["Okta Thing"].note) == (False, NOT_ROUTED)
    skipped = lines["Broken"]
    assert skipped.kind == "skipped"
    assert skipped.rule_id == "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert skipped.path == str(tmp_path / "b.yml")
    assert skipped.note is not None
    assert skipped.note.startswith("unsupported: time modifiers")


def test_evaluation_time_is_sampled_and_scaled(tmp_path: Path) -> None:
    correlator = Correlator(load_inline(tmp_path, **{"p.yml": PROBE}))
    assert health_of(correlator, "Admin Probe").evaluation_ns == 0
    correlator.process([web_event("/") for _ in range(TIMING_SAMPLE * 4)])
    assert health_of(correlator, "Admin Probe").evaluation_ns > 0


def test_correlations_report_their_counters(tmp_path: Path) -> None:
    correlator = Correlator(load_inline(tmp_path, **ssh_failure_count("Many Failures", 100)))
    line = health_of(correlator, "Many Failures")
    assert (line.kind, line.routed, line.matches) == ("event_count", True, 0)
