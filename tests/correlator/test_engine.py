"""The Correlator's alerts and counters, as the incident grouping and health read them."""

from pathlib import Path

from canhgac.correlator import Correlator, Severity, alert_id
from tests.correlator._events import T0, event, load_inline, ssh_event, ssh_failure_count, web_event

PROBE = """
title: Admin Probe
id: 5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
description: >
    Someone asked for the admin area.
tags:
    - attack.reconnaissance
    - attack.t1595
logsource:
    category: webserver
detection:
    selection:
        cs-uri-stem|startswith: /admin
    condition: selection
level: high
"""

NO_LEVEL = """
title: Any Post
logsource:
    category: webserver
detection:
    selection:
        cs-method: POST
    condition: selection
"""


def test_a_detection_alert_carries_the_rule_and_the_event(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **{"p.yml": PROBE}))
    probe = web_event("/admin/login.php", ip="203.113.131.5", seconds=42)
    (alert,) = engine.process([probe])
    assert alert.id == alert_id("5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", (probe.id,))
    assert alert.rule_id == "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert alert.rule_title == "Admin Probe"
    assert alert.severity is Severity.HIGH
    assert alert.timestamp == probe.timestamp
    assert alert.event_ids == (probe.id,)
    assert alert.entities == (("source.ip", "203.113.131.5"),)
    assert alert.system == "portal"
    assert alert.organization == "Sở Thông tin và Truyền thông"
    assert alert.tags == ("attack.reconnaissance", "attack.t1595")
    assert alert.description == "Someone asked for the admin area."


def test_entities_are_the_key_fields_the_event_has(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **{"p.yml": PROBE}))
    fields = {
        "event.dataset": "nginx.access",
        "url.path": "/admin",
        "user.name": "canbo01",
        "host.name": "portal-web01",
    }
    (alert,) = engine.process([event(fields)])
    assert alert.entities == (("user.name", "canbo01"), ("host.name", "portal-web01"))
    assert (alert.system, alert.organization) == (None, None)


def test_a_rule_without_level_is_medium(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **{"p.yml": NO_LEVEL}))
    (alert,) = engine.process([web_event("/login", method="POST")])
    assert alert.severity is Severity.MEDIUM
    assert alert.tags == ()
    assert alert.description is None


def test_alerts_follow_the_order_of_the_events(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **{"p.yml": PROBE, "n.yml": NO_LEVEL}))
    batch = [
        web_event("/login", method="POST"),
        web_event("/admin"),
        web_event("/admin/x", method="POST"),
    ]
    alerts = engine.process(batch)
    assert [(a.rule_title, a.event_ids) for a in alerts] == [
        ("Any Post", (batch[0].id,)),
        ("Admin Probe", (batch[1].id,)),
        ("Admin Probe", (batch[2].id,)),
        ("Any Post", (batch[2].id,)),
    ]


def test_the_same_event_gives_the_same_alert_id(tmp_path: Path) -> None:
    ruleset = load_inline(tmp_path, **{"p.yml": PROBE})
    probe = web_event("/admin")
    (first,) = Correlator(ruleset).process([probe])
    (again,) = Correlator(ruleset).process([probe])
    assert first.id == again.id


def test_stats_count_routed_events_matches_and_the_last_match(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **{"p.yml": PROBE}))
    engine.process([web_event("/"), web_event("/admin", seconds=5), web_event("/", seconds=9)])
    engine.process([ssh_event("failure")])
    (stats,) = engine.stats()
    assert stats.rule_id == "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert stats.kind == "detection"
    assert (stats.routed, stats.events, stats.matches) == (True, 3, 1)
    assert stats.last_match is not None
    assert stats.last_match.timestamp() == T0.timestamp() + 5
    assert stats.note is None


def test_stats_of_correlations_count_received_matches_and_firings(tmp_path: Path) -> None:
    engine = Correlator(load_inline(tmp_path, **ssh_failure_count("Three Failures", 3)))
    alerts = engine.process([ssh_event("failure", seconds=s) for s in range(7)])
    assert [a.rule_title for a in alerts] == ["Three Failures", "Three Failures"]
    failed, three = engine.stats()
    assert (failed.events, failed.matches, failed.note) == (7, 7, None)
    assert (three.kind, three.routed, three.events, three.matches) == ("event_count", True, 7, 2)
    assert three.last_match == alerts[-1].timestamp
