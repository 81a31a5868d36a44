"""Correlation conditions: bounds decided at window close, ranges, boolean expressions."""

from datetime import timedelta
from pathlib import Path

import pytest

from canhgac.correlator import FiringMode
from canhgac.events import Event
from tests.correlator._correlations import (
    correlation,
    detection,
    engine,
    hit,
    ids,
    load,
    tick,
    titles,
)
from tests.correlator._events import T0

A, B, C = detection("a"), detection("b"), detection("c")


def hits(action: str, *seconds: float, ip: str = "10.0.0.1") -> list[Event]:
    return [hit(action, s, {"source.ip": ip}) for s in seconds]


def count(condition: str, timespan: str = "1m") -> str:
    return correlation("count", "event_count", "[a]", condition, timespan=timespan)


class TestConditionsDecidedAtClose:
    @pytest.mark.parametrize(
        ("condition", "fires_for"),
        [
            ("{lt: 3}", [1, 2]),
            ("{lte: 3}", [1, 2, 3]),
            ("{eq: 3}", [3]),
            ("{neq: 3}", [1, 2, 4, 5]),
            ("{gt: 1, lte: 3}", [2, 3]),
            ("{gte: 2, lt: 5, neq: 3}", [2, 4]),
        ],
    )
    def test_the_count_of_the_closed_window_decides(
        self, tmp_path: Path, condition: str, fires_for: list[int]
    ) -> None:
        runner = engine(tmp_path, A, count(condition))
        assert runner.ruleset.correlations[0].mode is FiringMode.ON_CLOSE
        fired: list[int] = []
        for matches in range(1, 6):
            start = 1000 * matches
            alerts = runner.process(hits("a", *range(start, start + matches)))
            assert alerts == []  # nothing is decided while the window is open
            fired.extend(matches for _ in runner.process([tick(start + 500)]))
        assert fired == fires_for

    def test_the_window_closes_once_event_time_passes_its_end(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{lt: 5}"))
        batch = hits("a", 0, 30, 60)  # the one at 60 s is exactly at the end: it counts
        assert runner.process(batch) == []
        assert runner.advance(T0 + timedelta(seconds=60)) == []
        (alert,) = runner.advance(T0 + timedelta(seconds=60, microseconds=1))
        assert alert.event_ids == ids(batch)
        assert alert.timestamp == batch[-1].timestamp
        assert alert.entities == (("source.ip", "10.0.0.1"),)

    def test_any_later_event_closes_the_window(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{lt: 5}"))
        later = hit("a", 90, {"source.ip": "10.0.0.2"})
        alerts = runner.process([*hits("a", 0, 10), later])
        assert [alert.entities for alert in alerts] == [(("source.ip", "10.0.0.1"),)]

    def test_after_closing_the_next_match_opens_a_new_window(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{eq: 2}"))
        first, second = hits("a", 0, 10), hits("a", 70, 80)
        alerts = runner.process([*first, *second, tick(500)])
        assert [alert.event_ids for alert in alerts] == [ids(first), ids(second)]

    def test_an_earlier_match_moves_the_window_back(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{lt: 10}"))
        opening, earlier = hits("a", 30), hits("a", 5)
        assert runner.process(opening + earlier) == []
        # The window is now [5 s, 65 s]: it closes before 66 s, not at 90 s.
        (alert,) = runner.process([tick(66)])
        assert alert.event_ids == ids(earlier + opening)

    def test_a_match_older_than_a_closed_window_is_too_late(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{lt: 10}"))
        assert runner.process([tick(100), *hits("a", 30)]) == []
        assert runner.process([tick(1000)]) == []

    def test_gte_and_gt_together_still_fire_on_match(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, A, count("{gt: 1, gte: 3}"))
        assert runner.ruleset.correlations[0].mode is FiringMode.ON_MATCH
        assert titles(runner.process(hits("a", 0, 1, 2))) == ["count"]

    def test_a_closing_correlation_feeds_the_ones_over_it(self, tmp_path: Path) -> None:
        few = count("{lt: 3}")
        twice = correlation("twice", "event_count", "[count]", "{gte: 2}", timespan="10m")
        runner = engine(tmp_path, A, few, twice)
        first, second = hits("a", 0), hits("a", 100)
        alerts = runner.process([*first, *second, tick(200)])
        assert titles(alerts) == ["count", "count", "twice"]
        assert alerts[-1].event_ids == ids(first + second)


class TestRanges:
    def test_a_range_loads_and_both_bounds_apply(self, tmp_path: Path) -> None:
        rule = count("{gt: 1, lte: 2}")
        ruleset = load(tmp_path, A, rule)
        assert ruleset.errors == ()
        bounds = [(b.operator, b.threshold) for b in ruleset.correlations[0].condition]
        assert bounds == [("gt", 1), ("lte", 2)]

    def test_a_range_that_cannot_hold_is_refused(self, tmp_path: Path) -> None:
        (error,) = load(tmp_path, A, count("{gt: 5, lt: 5}")).errors
        assert error.reason == "the condition can never hold"

    def test_a_bound_that_is_not_a_number_is_refused(self, tmp_path: Path) -> None:
        (error,) = load(tmp_path, A, count("{gt: 1, lte: many}")).errors
        assert error.reason == "condition lte: 'many' is not a whole number"

    def test_a_count_below_one_can_never_hold(self, tmp_path: Path) -> None:
        (error,) = load(tmp_path, A, count("{lt: 1}")).errors
        assert error.reason == "the condition can never hold"


class TestTemporalConditions:
    def test_temporal_counts_distinct_rules(self, tmp_path: Path) -> None:
        rule = correlation("two of three", "temporal", "[a, b, c]", "{gte: 2}")
        runner = engine(tmp_path, A, B, C, rule)
        assert runner.process(hits("a", 0, 1, 2)) == []
        assert titles(runner.process(hits("c", 3))) == ["two of three"]

    def test_temporal_needing_more_rules_than_referenced_is_refused(self, tmp_path: Path) -> None:
        rule = correlation("impossible", "temporal", "[a, b]", "{gte: 3}")
        (error,) = load(tmp_path, A, B, rule).errors
        assert error.reason == "the condition can never hold: the correlation references 2 rules"

    def test_ordered_counts_the_longest_chain_in_listed_order(self, tmp_path: Path) -> None:
        rule = correlation("two in order", "temporal_ordered", "[a, b, c]", "{gte: 2}")
        runner = engine(tmp_path, A, B, C, rule)
        assert runner.process([*hits("c", 0), *hits("b", 1)]) == []  # c before b: chain of 1
        assert titles(runner.process(hits("c", 2))) == ["two in order"]  # b then c

    def test_ordered_default_needs_every_rule_in_order(self, tmp_path: Path) -> None:
        rule = correlation("abc", "temporal_ordered", "[a, b, c]", None)
        runner = engine(tmp_path, A, B, C, rule)
        assert runner.process([*hits("a", 0), *hits("c", 1), *hits("b", 2)]) == []
        assert titles(runner.process(hits("c", 3))) == ["abc"]

    def test_equal_times_count_in_arrival_order(self, tmp_path: Path) -> None:
        rule = correlation("ab", "temporal_ordered", "[a, b]", None)
        runner = engine(tmp_path, A, B, rule)
        assert titles(runner.process([*hits("a", 5), *hits("b", 5)])) == ["ab"]
        assert runner.process([*hits("b", 6, ip="10.0.0.2"), *hits("a", 6, ip="10.0.0.2")]) == []


class TestExtendedConditions:
    def test_and_without_not_fires_on_match(self, tmp_path: Path) -> None:
        rule = correlation("a and b", "temporal", "[a, b, c]", "a and (b or c)")
        runner = engine(tmp_path, A, B, C, rule)
        assert runner.ruleset.correlations[0].mode is FiringMode.ON_MATCH
        assert runner.process(hits("b", 0)) == []
        assert titles(runner.process(hits("a", 1))) == ["a and b"]

    def test_not_is_decided_when_the_window_closes(self, tmp_path: Path) -> None:
        rule = correlation("a without b", "temporal", "[a, b]", "a and not b", timespan="1m")
        runner = engine(tmp_path, A, B, rule)
        assert runner.ruleset.correlations[0].mode is FiringMode.ON_CLOSE
        lonely = hits("a", 0, ip="10.0.0.1")
        answered = [*hits("a", 0, ip="10.0.0.2"), *hits("b", 50, ip="10.0.0.2")]
        assert runner.process(lonely + answered) == []
        (alert,) = runner.process([tick(61)])
        assert alert.event_ids == ids(lonely)

    def test_rules_may_come_from_the_condition_alone(self, tmp_path: Path) -> None:
        rule = correlation("a then b", "temporal_ordered", "[a, b]", "a and b").replace(
            "    rules: [a, b]\n", ""
        )
        runner = engine(tmp_path, A, B, rule)
        assert runner.process([*hits("b", 0), *hits("a", 1)]) == []
        assert titles(runner.process(hits("b", 2))) == ["a then b"]

    def test_ordered_needs_the_rules_of_the_term_in_listed_order(self, tmp_path: Path) -> None:
        rule = correlation("ordered", "temporal_ordered", "[a, b, c]", "(a and c) or b")
        runner = engine(tmp_path, A, B, C, rule)
        assert runner.process([*hits("c", 0), *hits("a", 1)]) == []
        assert titles(runner.process(hits("c", 2))) == ["ordered"]

    @pytest.mark.parametrize(("rules", "expression"), [("[a]", "not a"), ("[a, b]", "a or not b")])
    def test_a_condition_true_without_matches_is_unsupported(
        self, tmp_path: Path, rules: str, expression: str
    ) -> None:
        rule = correlation("absent", "temporal", rules, expression)
        (error,) = load(tmp_path, A, B, rule).errors
        assert error.reason.startswith("unsupported: a condition that holds when none")

    def test_a_contradiction_is_refused(self, tmp_path: Path) -> None:
        rule = correlation("never", "temporal", "[a]", "a and not a")
        (error,) = load(tmp_path, A, rule).errors
        assert error.reason == "the condition can never hold (it contradicts itself)"
