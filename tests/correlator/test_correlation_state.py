"""Correlation state: snapshots across a restart, batch sizes, replay."""

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator import (
    EVIDENCE_LIMIT,
    STATE_VERSION,
    Alert,
    CorrelationStateError,
    CorrelationWindows,
    Correlator,
    RuleSet,
    replay,
)
from canhgac.events import Event, FieldValue
from tests.correlator._correlations import correlation, detection, engine, hit, load
from tests.correlator._events import T0

# One correlation of each kind and firing mode, and one over another correlation.
RULES = (
    detection("a"),
    detection("b"),
    detection("conn"),
    correlation("many", "event_count", "[a]", "{gte: 3}"),
    correlation("few", "event_count", "[a]", "{lt: 3}"),
    correlation("ports", "value_count", "[conn]", "{gte: 3, field: destination.port}"),
    correlation("sum", "value_sum", "[conn]", "{gte: 300, field: source.bytes}", timespan="2m"),
    correlation("low mean", "value_avg", "[conn]", "{lte: 50, field: source.bytes}"),
    correlation("median", "value_median", "[conn]", "{gt: 100, field: source.bytes}"),
    correlation(
        "p90", "value_percentile", "[conn]", "{gte: 200, field: source.bytes, percentile: 90}"
    ),
    correlation("a then b", "temporal_ordered", "[a, b]", None, timespan="2m"),
    correlation("a alone", "temporal", "[a, b]", "a and not b"),
    correlation("many twice", "event_count", "[many]", "{gte: 2}", timespan="10m"),
)


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    loaded = load(tmp_path_factory.mktemp("rules"), *RULES)
    assert loaded.errors == ()
    return loaded


def roundtrip(snapshot: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(snapshot))
    return data


IPS = ("10.0.0.1", "10.0.0.2", "203.113.131.5")
BYTES: tuple[FieldValue, ...] = (0, 20, 120, 400, 1.5, "80", "n/a")
PORTS: tuple[FieldValue, ...] = (22, 80, 443, "3389")


@st.composite
def streams(draw: st.DrawFn, *, in_order: bool) -> list[Event]:
    """Events of the rules above; in time order, or with some up to 90 s late."""
    events: list[Event] = []
    clock = 0.0
    for _ in range(draw(st.integers(min_value=1, max_value=60))):
        clock += draw(st.sampled_from([0, 0.5, 1, 5, 20, 40, 70]))
        late = 0 if in_order else draw(st.sampled_from([0, 0, 0, 10, 90]))
        fields: dict[str, FieldValue] = {"source.ip": draw(st.sampled_from(IPS))}
        action = draw(st.sampled_from(["a", "b", "conn", "other"]))
        if action == "conn":
            fields["destination.port"] = draw(st.sampled_from(PORTS))
            fields["source.bytes"] = draw(st.sampled_from(BYTES))
        events.append(hit(action, clock - late, fields))
    return events


def chunked(events: list[Event], sizes: list[int]) -> list[list[Event]]:
    chunks: list[list[Event]] = []
    start = 0
    for size in sizes:
        chunks.append(events[start : start + size])
        start += size
    chunks.append(events[start:])
    return chunks


def in_one_batch(ruleset: RuleSet, events: list[Event]) -> list[Alert]:
    runner = Correlator(ruleset)
    alerts = runner.process(events)
    return alerts + runner.advance(T0 + timedelta(days=1))


class TestSameAlertsHoweverEventsArrive:
    @settings(max_examples=60, deadline=None)
    @given(
        events=streams(in_order=True),
        sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=10),
    )
    def test_live_in_any_batches_and_replay_agree(
        self, ruleset: RuleSet, events: list[Event], sizes: list[int]
    ) -> None:
        expected = in_one_batch(ruleset, events)
        runner = Correlator(ruleset)
        alerts = [alert for chunk in chunked(events, sizes) for alert in runner.process(chunk)]
        alerts += runner.advance(T0 + timedelta(days=1))
        assert alerts == expected
        assert replay(ruleset, events, until=T0 + timedelta(days=1)) == expected

    @settings(max_examples=60, deadline=None)
    @given(
        events=streams(in_order=False),
        sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=10),
    )
    def test_batches_do_not_matter_even_out_of_order(
        self, ruleset: RuleSet, events: list[Event], sizes: list[int]
    ) -> None:
        runner = Correlator(ruleset)
        alerts = [alert for chunk in chunked(events, sizes) for alert in runner.process(chunk)]
        alerts += runner.advance(T0 + timedelta(days=1))
        assert alerts == in_one_batch(ruleset, events)

    @settings(max_examples=60, deadline=None)
    @given(events=streams(in_order=False), data=st.data())
    def test_a_restart_from_a_snapshot_changes_nothing(
        self, ruleset: RuleSet, events: list[Event], data: st.DataObject
    ) -> None:
        split = data.draw(st.integers(min_value=0, max_value=len(events)))
        before = Correlator(ruleset)
        alerts = before.process(events[:split])
        after = Correlator(ruleset, state=roundtrip(before.snapshot()))
        alerts += after.process(events[split:])
        alerts += after.advance(T0 + timedelta(days=1))
        assert alerts == in_one_batch(ruleset, events)

    def test_replay_without_until_leaves_the_last_windows_open(self, ruleset: RuleSet) -> None:
        events = [hit("a", 0), hit("a", 10)]
        assert replay(ruleset, events) == []
        alerts = replay(ruleset, events, until=T0 + timedelta(seconds=61))
        assert sorted(alert.rule_title for alert in alerts) == ["a alone", "few"]


class TestSnapshots:
    def test_a_restart_mid_window_continues_the_window(self, ruleset: RuleSet) -> None:
        before = Correlator(ruleset)
        first = [hit("a", 0), hit("a", 10)]
        assert before.process(first) == []
        after = Correlator(ruleset, state=roundtrip(before.snapshot()))
        third = hit("a", 20)
        alerts = after.process([third])
        assert [a.rule_title for a in alerts] == ["many"]
        assert alerts[0].event_ids == (first[0].id, first[1].id, third.id)

    def test_every_kind_of_window_is_saved(self, ruleset: RuleSet) -> None:
        runner = Correlator(ruleset)
        conn = {"destination.port": 22, "source.bytes": 10}
        runner.process([hit("b", 0), hit("a", 1), hit("conn", 2, conn)])
        saved = runner.snapshot()
        assert saved["version"] == STATE_VERSION
        titles = {c.info.rule_id: c.info.title for c in ruleset.correlations}
        assert {titles[rule_id] for rule_id in saved["correlations"]} == {
            "many",
            "few",
            "ports",
            "sum",
            "low mean",
            "median",
            "p90",
            "a then b",
            "a alone",
        }

    def test_another_layout_is_refused_and_logged(
        self, ruleset: RuleSet, caplog: pytest.LogCaptureFixture
    ) -> None:
        runner = Correlator(ruleset)
        runner.process([hit("a", 0)])
        old = roundtrip(runner.snapshot()) | {"version": 1}
        with caplog.at_level(logging.WARNING):
            restored = Correlator(ruleset, state=old)
        assert restored.state.open_groups() == 0
        assert "has layout 1, this canhgac reads layout 2" in caplog.text
        with pytest.raises(CorrelationStateError, match="layout None"):
            CorrelationWindows.from_snapshot({"sequence": 0, "windows": {}}, [])

    def test_a_damaged_snapshot_is_refused(self, ruleset: RuleSet) -> None:
        runner = Correlator(ruleset)
        runner.process([hit("a", 0)])
        damaged = roundtrip(runner.snapshot())
        for saved in damaged["correlations"].values():
            saved["groups"][0][2][0] = [1, 2]
        with pytest.raises(CorrelationStateError, match="damaged"):
            CorrelationWindows.from_snapshot(damaged, ruleset.correlations)

    def test_windows_of_a_changed_rule_are_dropped(
        self, tmp_path: Path, ruleset: RuleSet, caplog: pytest.LogCaptureFixture
    ) -> None:
        runner = Correlator(ruleset)
        runner.process([hit("a", 0), hit("a", 1)])
        changed_rules = [
            correlation("many", "event_count", "[a]", "{gte: 4}") if "title: many\n" in r else r
            for r in RULES
        ]
        changed = load(tmp_path, *changed_rules)
        with caplog.at_level(logging.WARNING):
            restored = Correlator(changed, state=roundtrip(runner.snapshot()))
        assert "dropped" in caplog.text
        kept = {
            c.info.title for c in changed.correlations if c.info.rule_id in restored.state.windows
        }
        assert "many" not in kept
        assert "few" in kept

    def test_evidence_in_a_saved_window_is_bounded(self, tmp_path: Path) -> None:
        rule = correlation("lots", "event_count", "[a]", "{gte: 1000}", timespan="1h")
        runner = engine(tmp_path, detection("a"), rule)
        burst = [hit("a", i) for i in range(999)]
        runner.process(burst)
        (saved,) = runner.snapshot()["correlations"].values()
        (group,) = saved["groups"]
        entries = group[2]
        assert len(entries) == 999
        assert sum(1 for entry in entries if entry[3]) == EVIDENCE_LIMIT
        restored = Correlator(runner.ruleset, state=roundtrip(runner.snapshot()))
        last = hit("a", 999)
        (alert,) = restored.process([last])
        assert alert.event_ids == tuple(e.id for e in [*burst, last][-EVIDENCE_LIMIT:])
