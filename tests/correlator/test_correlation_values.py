"""value_count, value_sum, value_avg, value_percentile and value_median correlations."""

from datetime import timedelta
from pathlib import Path

import pytest

from canhgac.correlator import CorrelationKind, Correlator, FiringMode
from canhgac.events import Event, FieldValue
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

CONN = detection("conn")
LOGIN = detection("login")


def connection(
    seconds: float,
    *,
    ip: str = "10.0.0.1",
    port: FieldValue = 443,
    sent: FieldValue = 100,
    user: FieldValue = None,
) -> Event:
    """A test connection event; a value of None leaves the field out."""
    fields: dict[str, FieldValue] = {
        "source.ip": ip,
        "destination.port": port,
        "source.bytes": sent,
        "user.name": user,
    }
    return hit(
        "conn", seconds, {name: value for name, value in fields.items() if value is not None}
    )


def ports_rule(threshold: int = 3, timespan: str = "1m", op: str = "gte") -> str:
    return correlation(
        "ports",
        "value_count",
        "[conn]",
        f"{{{op}: {threshold}, field: destination.port}}",
        timespan=timespan,
    )


class TestValueCount:
    def test_fires_when_a_group_reaches_the_distinct_values(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(3))
        batch = [
            connection(0, port=22),
            connection(1, port=22),
            connection(2, port=80, ip="10.0.0.2"),
            connection(3, port=80),
        ]
        assert runner.process(batch) == []
        third = connection(4, port=8080)
        (alert,) = runner.process([third])
        assert alert.rule_title == "ports"
        assert alert.entities == (("source.ip", "10.0.0.1"),)
        assert alert.event_ids == ids([batch[0], batch[1], batch[3], third])

    def test_values_are_compared_case_insensitively(self, tmp_path: Path) -> None:
        rule = correlation("users", "value_count", "[conn]", "{gte: 2, field: user.name}")
        runner = engine(tmp_path, CONN, rule)
        assert runner.process([connection(0, user="Admin"), connection(1, user="ADMIN")]) == []
        assert titles(runner.process([connection(2, user="guest")])) == ["users"]

    def test_numbers_and_their_text_are_one_value(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(2))
        assert runner.process([connection(0, port=22), connection(1, port="22")]) == []

    def test_a_match_without_the_field_is_not_counted(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(2))
        no_port = hit("conn", 1)
        first, last = connection(0, port=22), connection(2, port=23)
        (alert,) = runner.process([first, no_port, last])
        assert alert.event_ids == ids([first, last])

    def test_each_value_of_a_multi_valued_field_counts(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(3))
        assert titles(runner.process([connection(0, port=(22, 23, 22, 24))])) == ["ports"]

    def test_a_list_of_fields_counts_distinct_combinations(self, tmp_path: Path) -> None:
        rule = correlation(
            "pairs", "value_count", "[conn]", "{gte: 3, field: [user.name, destination.port]}"
        )
        runner = engine(tmp_path, CONN, rule)
        batch = [
            connection(0, user="a", port=22),
            connection(1, user="a", port=22),
            connection(2, user="a", port=23),
            connection(3, user="b", port=22),
        ]
        (alert,) = runner.process(batch)
        assert alert.event_ids == ids([batch[0], batch[1], batch[2], batch[3]])

    def test_only_values_within_the_timespan_count(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(3, timespan="1m"))
        assert runner.process([connection(0, port=1), connection(30, port=2)]) == []
        assert runner.process([connection(61, port=3)]) == []  # port 1 is 61 s old
        assert titles(runner.process([connection(62, port=4)])) == ["ports"]

    def test_a_value_repeated_later_does_not_restore_an_expired_one(self, tmp_path: Path) -> None:
        runner = engine(tmp_path, CONN, ports_rule(2, timespan="1m"))
        batch = [connection(0, port=1), connection(50, port=1), connection(100, port=2)]
        (alert,) = runner.process(batch)
        assert alert.event_ids == ids(batch[1:])

    def test_aliases_name_the_value_field_per_rule(self, tmp_path: Path) -> None:
        rule = correlation(
            "targets",
            "value_count",
            "[conn, login]",
            "{gte: 2, field: target}",
            extra="""
            aliases:
                target:
                    conn: destination.port
                    login: user.name
            """,
        )
        runner = engine(tmp_path, CONN, LOGIN, rule)
        login = hit("login", 1, {"user.name": "root"})
        (alert,) = runner.process([connection(0, port=22), login])
        assert alert.rule_title == "targets"


class TestValueSum:
    def test_fires_when_the_sum_crosses_the_threshold(self, tmp_path: Path) -> None:
        rule = correlation("sent", "value_sum", "[conn]", "{gt: 100, field: source.bytes}")
        runner = engine(tmp_path, CONN, rule)
        batch = [connection(0, sent=40), connection(1, sent=60)]
        assert runner.process(batch) == []  # exactly 100 is not more than 100
        last = connection(2, sent=1)
        (alert,) = runner.process([last])
        assert alert.event_ids == ids([*batch, last])
        assert runner.ruleset.correlations[0].kind is CorrelationKind.VALUE_SUM

    def test_numeric_text_counts_and_other_values_do_not(self, tmp_path: Path) -> None:
        rule = correlation("sent", "value_sum", "[conn]", "{gte: 100, field: source.bytes}")
        runner = engine(tmp_path, CONN, rule)
        batch = [
            connection(0, sent="50"),
            connection(1, sent="lots"),
            connection(2, sent=True),
            connection(3, sent=" 2.5e1 "),
            connection(4, sent=float("nan")),
        ]
        assert runner.process(batch) == []
        last = connection(5, sent=25.0)
        (alert,) = runner.process([last])
        assert alert.event_ids == ids([batch[0], batch[3], last])

    def test_each_number_of_a_multi_valued_field_is_added(self, tmp_path: Path) -> None:
        rule = correlation("sent", "value_sum", "[conn]", "{gte: 100, field: source.bytes}")
        runner = engine(tmp_path, CONN, rule)
        assert titles(runner.process([connection(0, sent=("60", "40"))])) == ["sent"]

    def test_a_sum_below_fires_when_the_window_closes(self, tmp_path: Path) -> None:
        rule = correlation(
            "quiet", "value_sum", "[conn]", "{lte: 100, field: source.bytes}", timespan="1m"
        )
        runner = engine(tmp_path, CONN, rule)
        batch = [connection(0, sent=60, ip="10.0.0.1"), connection(1, sent=60, ip="10.0.0.2")]
        batch += [connection(2, sent=41, ip="10.0.0.1")]
        assert runner.process(batch) == []
        (alert,) = runner.advance(batch[0].timestamp + timedelta(seconds=62))
        assert alert.entities == (("source.ip", "10.0.0.2"),)


class TestValueAverage:
    def test_fires_when_the_mean_of_the_window_is_above(self, tmp_path: Path) -> None:
        rule = correlation("mean", "value_avg", "[conn]", "{gt: 25, field: source.bytes}")
        runner = engine(tmp_path, CONN, rule)
        assert runner.process([connection(0, sent=10), connection(1, sent=20)]) == []
        (alert,) = runner.process([connection(2, sent=46)])  # (10 + 20 + 46) / 3 = 25.33
        assert len(alert.event_ids) == 3

    def test_a_mean_below_fires_when_the_window_closes(self, tmp_path: Path) -> None:
        rule = correlation(
            "small", "value_avg", "[conn]", "{lt: 10, field: source.bytes}", timespan="1m"
        )
        runner = engine(tmp_path, CONN, rule)
        assert runner.ruleset.correlations[0].mode is FiringMode.ON_CLOSE
        batch = [connection(0, sent=4), connection(10, sent=15), connection(20, ip="10.0.0.9")]
        assert runner.process(batch) == []
        (alert,) = runner.process([tick(61)])
        assert alert.entities == (("source.ip", "10.0.0.1"),)
        assert alert.event_ids == ids(batch[:2])


class TestPercentiles:
    def test_percentile_interpolates_between_closest_ranks(self, tmp_path: Path) -> None:
        # 90th percentile of 10, 20, 30, 40, 1000: rank 3.6, so 40 + 0.6 * 960 = 616.
        def runner(threshold: int) -> Correlator:
            rule = correlation(
                f"p90 {threshold}",
                "value_percentile",
                "[conn]",
                f"{{gte: {threshold}, field: source.bytes, percentile: 90}}",
            )
            return engine(tmp_path, CONN, rule)

        batch = [connection(i, sent=v) for i, v in enumerate([10, 20, 30, 40, 1000])]
        assert titles(runner(616).process(batch)) == ["p90 616"]
        assert runner(617).process(batch) == []

    def test_median_of_an_even_count_is_the_mean_of_the_middle_two(self, tmp_path: Path) -> None:
        def runner(threshold: int) -> Correlator:
            rule = correlation(
                f"median {threshold}",
                "value_median",
                "[conn]",
                f"{{gt: {threshold}, field: source.bytes}}",
            )
            return engine(tmp_path, CONN, rule)

        batch = [connection(i, sent=v) for i, v in enumerate([1, 3, 100, 200])]
        (alert,) = runner(51).process(batch)  # median of 1, 3, 100, 200 is 51.5
        assert len(alert.event_ids) == 4
        assert runner(52).process(batch) == []

    def test_a_percentile_is_required(self, tmp_path: Path) -> None:
        rule = correlation("p", "value_percentile", "[conn]", "{gte: 1, field: source.bytes}")
        (error,) = load(tmp_path, CONN, rule).errors
        assert error.reason == "value_percentile needs `percentile` (0 to 100) in its condition"

    @pytest.mark.parametrize("percentile", [-1, 101])
    def test_a_percentile_outside_0_to_100_is_refused(
        self, tmp_path: Path, percentile: int
    ) -> None:
        rule = correlation(
            "p",
            "value_percentile",
            "[conn]",
            f"{{gte: 1, field: source.bytes, percentile: {percentile}}}",
        )
        (error,) = load(tmp_path, CONN, rule).errors
        assert "percentile" in error.reason

    def test_numeric_types_need_exactly_one_field(self, tmp_path: Path) -> None:
        rule = correlation(
            "s", "value_sum", "[conn]", "{gte: 1, field: [source.bytes, destination.port]}"
        )
        (error,) = load(tmp_path, CONN, rule).errors
        assert error.reason == "value_sum needs exactly one `field` in its condition"
