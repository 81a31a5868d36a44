"""Correlations over event time: thresholds per group, windows, order, chaining, aliases."""

import json
from pathlib import Path

from canhgac.correlator import EVIDENCE_LIMIT, Alert, Correlator, RuleSet
from canhgac.events import Event
from tests.correlator._events import event, load_inline, ssh_event

FAILED = """
title: Failed
id: 0b7e9c2a-1f3d-4e5a-8b6c-7d8e9f0a1b2c
name: failed
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_login
        event.outcome: failure
    condition: selection
level: low
"""

SUCCESS = """
title: Success
id: 1c8f0d3b-2a4e-4f6b-9c7d-8e9f0a1b2c3d
name: success
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_login
        event.outcome: success
    condition: selection
level: informational
"""


def count_rule(
    count: int,
    *,
    op: str = "gte",
    timespan: str = "5m",
    group_by: str = "[source.ip]",
    generate: bool = False,
) -> str:
    return f"""
title: Many Failures
id: 2d9a1e4c-3b5f-4a7c-8d8e-9f0a1b2c3d4e
name: many_failures
correlation:
    type: event_count
    rules: [failed]
    group-by: {group_by}
    timespan: {timespan}
    condition:
        {op}: {count}
    generate: {str(generate).lower()}
level: high
"""


def sequence_rule(kind: str = "temporal_ordered", rules: str = "[many_failures, success]") -> str:
    return f"""
title: Breach
id: 3e0b2f5d-4c6a-4b8d-9e9f-0a1b2c3d4e5f
correlation:
    type: {kind}
    rules: {rules}
    group-by: [source.ip]
    timespan: 15m
level: critical
"""


def correlator(tmp_path: Path, **files: str) -> Correlator:
    ruleset = load_inline(tmp_path, **files)
    assert ruleset.errors == ()
    return Correlator(ruleset)


def titles(alerts: list[Alert]) -> list[str]:
    return [alert.rule_title for alert in alerts]


def failures(n: int, *, ip: str = "45.77.10.20", start: float = 0, step: float = 10) -> list[Event]:
    return [ssh_event("failure", ip=ip, seconds=start + i * step) for i in range(n)]


class TestEventCount:
    def test_fires_when_one_group_crosses_the_threshold(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(5)})
        batch = failures(4, ip="1.1.1.1") + failures(4, ip="2.2.2.2")
        assert engine.process(batch) == []
        fifth = ssh_event("failure", ip="1.1.1.1", seconds=45)
        (alert,) = engine.process([fifth])
        assert alert.rule_title == "Many Failures"
        assert alert.entities == (("source.ip", "1.1.1.1"),)
        assert alert.event_ids == (*(e.id for e in batch[:4]), fifth.id)
        assert alert.timestamp == fifth.timestamp

    def test_the_window_is_emptied_after_each_alert(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(5)})
        burst = failures(50, step=1)
        alerts = engine.process(burst)
        assert len(alerts) == 10
        assert [alert.event_ids for alert in alerts] == [
            tuple(e.id for e in burst[i : i + 5]) for i in range(0, 50, 5)
        ]

    def test_matches_older_than_the_timespan_no_longer_count(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(3, timespan="1m")})
        assert engine.process(failures(2, step=30)) == []  # at 0 s and 30 s
        assert engine.process(failures(1, start=61)) == []  # the one at 0 s has expired
        (alert,) = engine.process(failures(1, start=62))
        assert len(alert.event_ids) == 3

    def test_a_match_exactly_one_timespan_later_still_counts(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2, timespan="1m")})
        assert len(engine.process(failures(2, step=60))) == 1

    def test_gt_fires_on_the_match_after_the_threshold(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(3, op="gt")})
        assert [len(a.event_ids) for a in engine.process(failures(8))] == [4, 4]

    def test_events_without_the_group_by_field_are_not_counted(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2)})
        no_ip = event(
            {
                "event.dataset": "system.auth",
                "process.name": "sshd",
                "event.action": "ssh_login",
                "event.outcome": "failure",
            }
        )
        assert engine.process([no_ip, no_ip]) == []

    def test_without_group_by_all_matches_share_one_window(self, tmp_path: Path) -> None:
        rule = count_rule(3).replace("    group-by: [source.ip]\n", "")
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": rule})
        batch = [ssh_event("failure", ip=f"10.0.0.{i}", seconds=i) for i in range(3)]
        (alert,) = engine.process(batch)
        assert alert.entities == ()

    def test_groups_combine_several_fields(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{"f.yml": FAILED, "c.yml": count_rule(2, group_by="[source.ip, user.name]")},
        )
        batch = [
            ssh_event("failure", user="root"),
            ssh_event("failure", user="admin"),
            ssh_event("failure", user="root", seconds=1),
        ]
        (alert,) = engine.process(batch)
        assert alert.entities == (("source.ip", "45.77.10.20"), ("user.name", "root"))

    def test_a_multi_valued_group_field_counts_in_each_group(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2, group_by="[related.ip]")}
        )

        def failure(ips: tuple[str, ...]) -> Event:
            fields = dict(ssh_event("failure").fields) | {"related.ip": ips}
            return event(fields)

        alerts = engine.process([failure(("1.1.1.1", "2.2.2.2")), failure(("2.2.2.2",))])
        assert [alert.entities for alert in alerts] == [(("related.ip", "2.2.2.2"),)]

    def test_evidence_keeps_the_latest_hundred_events(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(150)})
        burst = failures(150, step=1)
        (alert,) = engine.process(burst)
        assert len(alert.event_ids) == EVIDENCE_LIMIT
        assert alert.event_ids == tuple(e.id for e in burst[-EVIDENCE_LIMIT:])

    def test_events_may_arrive_slightly_out_of_order(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(3, timespan="1m")})
        late, first, last = failures(1, start=5) + failures(1, start=10) + failures(1, start=30)
        (alert,) = engine.process([first, late, last])
        assert alert.event_ids == (late.id, first.id, last.id)
        assert alert.timestamp == last.timestamp

    def test_a_match_too_late_for_its_window_is_dropped(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2, timespan="1m")})
        assert engine.process(failures(1, start=600) + failures(1, start=0)) == []


class TestGenerate:
    def test_referenced_detection_rules_raise_no_alerts_by_default(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2)})
        assert titles(engine.process(failures(2))) == ["Many Failures"]

    def test_generate_true_keeps_their_alerts(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(2, generate=True)})
        assert titles(engine.process(failures(2))) == ["Failed", "Failed", "Many Failures"]


class TestTemporal:
    def test_ordered_fires_when_the_rules_match_in_order(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{
                "f.yml": FAILED,
                "s.yml": SUCCESS,
                "c.yml": count_rule(3),
                "b.yml": sequence_rule(),
            },
        )
        batch = [*failures(3), ssh_event("success", seconds=120)]
        alerts = engine.process(batch)
        assert titles(alerts) == ["Many Failures", "Breach"]
        assert alerts[1].event_ids == tuple(e.id for e in batch)
        assert alerts[1].entities == (("source.ip", "45.77.10.20"),)
        assert alerts[1].timestamp == batch[-1].timestamp

    def test_ordered_does_not_fire_in_the_wrong_order(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{
                "f.yml": FAILED,
                "s.yml": SUCCESS,
                "c.yml": count_rule(3),
                "b.yml": sequence_rule(),
            },
        )
        batch = [ssh_event("success"), *failures(3, start=10)]
        assert titles(engine.process(batch)) == ["Many Failures"]

    def test_ordered_does_not_fire_outside_the_timespan(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{
                "f.yml": FAILED,
                "s.yml": SUCCESS,
                "c.yml": count_rule(3),
                "b.yml": sequence_rule(),
            },
        )
        batch = [*failures(3), ssh_event("success", seconds=16 * 60)]
        assert titles(engine.process(batch)) == ["Many Failures"]

    def test_ordered_needs_the_same_group(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{
                "f.yml": FAILED,
                "s.yml": SUCCESS,
                "c.yml": count_rule(3),
                "b.yml": sequence_rule(),
            },
        )
        batch = [*failures(3), ssh_event("success", ip="203.0.113.9", seconds=60)]
        assert titles(engine.process(batch)) == ["Many Failures"]

    def test_unordered_fires_in_any_order(self, tmp_path: Path) -> None:
        engine = correlator(
            tmp_path,
            **{
                "f.yml": FAILED,
                "s.yml": SUCCESS,
                "b.yml": sequence_rule("temporal", "[failed, success]"),
            },
        )
        alerts = engine.process([ssh_event("success"), ssh_event("failure", seconds=30)])
        assert titles(alerts) == ["Breach"]

    def test_aliases_group_different_fields_of_different_rules(self, tmp_path: Path) -> None:
        outbound = """
        title: Outbound
        name: outbound
        logsource:
            product: canhgac
            service: auth
        detection:
            selection:
                event.action: connect
            condition: selection
        """
        alias_rule = """
        title: Login Then Connect Back
        correlation:
            type: temporal_ordered
            rules: [success, outbound]
            group-by: [peer]
            timespan: 10m
            aliases:
                peer:
                    success: source.ip
                    outbound: destination.ip
        """
        engine = correlator(tmp_path, **{"s.yml": SUCCESS, "o.yml": outbound, "c.yml": alias_rule})

        def connect(destination: str) -> Event:
            return event(
                {
                    "event.dataset": "system.auth",
                    "event.action": "connect",
                    "destination.ip": destination,
                    "source.ip": "10.0.0.5",
                },
                seconds=60,
            )

        assert engine.process([ssh_event("success", ip="45.77.10.20"), connect("8.8.8.8")]) == []
        (alert,) = engine.process([connect("45.77.10.20")])
        assert alert.rule_title == "Login Then Connect Back"
        assert alert.entities == (("peer", "45.77.10.20"),)


class TestState:
    def test_a_snapshot_restores_open_windows(self, tmp_path: Path) -> None:
        files = {"f.yml": FAILED, "c.yml": count_rule(4)}
        ruleset: RuleSet = load_inline(tmp_path, **files)
        first = Correlator(ruleset)
        assert first.process(failures(3)) == []
        saved = json.loads(json.dumps(first.snapshot()))
        second = Correlator(ruleset, state=saved)
        (alert,) = second.process(failures(1, start=40))
        assert len(alert.event_ids) == 4

    def test_idle_groups_are_forgotten(self, tmp_path: Path) -> None:
        engine = correlator(tmp_path, **{"f.yml": FAILED, "c.yml": count_rule(10)})
        engine.process([ssh_event("failure", ip=f"10.0.0.{i}") for i in range(50)])
        assert engine.state.open_groups() == 50
        engine.process(failures(1, ip="10.9.9.9", start=3600))
        assert engine.state.open_groups() == 1
