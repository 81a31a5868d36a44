"""SigmaHQ's regression data: each rule named in an info.yml must fire on its .evtx, at
least `match_count` times where one is given, as in SigmaHQ's own CI. The whole SigmaHQ
rule set is loaded, so routing and every other rule's presence are exercised too."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import yaml

from canhgac.collectors import EvtxReader, SourceLabels
from canhgac.correlator import Correlator, RuleSet, load_rules
from canhgac.correlator._compile import native_programs
from canhgac.correlator._event_view import EventView
from canhgac.correlator._prefilter import Prefilter
from canhgac.events import FieldValue

if TYPE_CHECKING:
    from canhgac._native import LiteralTables
from tests.conftest import SHARED, require_native

pytestmark = pytest.mark.slow

SIGMA = SHARED / "sigma"
RULE_FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")


@dataclass(frozen=True, slots=True)
class RegressionCase:
    rule_id: str
    title: str
    evtx: Path
    match_count: int


def regression_cases() -> list[RegressionCase]:
    cases: list[RegressionCase] = []
    for info in sorted((SIGMA / "regression_data").rglob("info.yml")):
        data = yaml.safe_load(info.read_text(encoding="utf-8"))
        for rule in data["rule_metadata"]:
            # Some info.yml files have their tests commented out (non-EVTX data): none to run.
            for test in data.get("regression_tests_info") or ():
                if test.get("type") != "evtx":
                    continue
                cases.append(
                    RegressionCase(
                        rule_id=str(rule["id"]),
                        title=str(rule.get("title", "")),
                        evtx=SIGMA / test["path"],
                        match_count=int(test.get("match_count") or 1),
                    )
                )
    return cases


CASES = regression_cases() if SIGMA.is_dir() else []


@pytest.fixture(scope="module")
def sigmahq_rules() -> RuleSet:
    return load_rules([SIGMA / folder for folder in RULE_FOLDERS], bundled=False)


def test_the_regression_data_is_there(shared_dir: Path) -> None:
    assert len(CASES) >= 90, "the snapshot's regression data holds about a hundred cases"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule_id[:8]}-{c.title[:40]}" for c in CASES])
def test_rule_fires_on_its_regression_evtx(
    shared_dir: Path, sigmahq_rules: RuleSet, case: RegressionCase
) -> None:
    skipped = {e.rule: e.reason for e in sigmahq_rules.errors}
    known = {r.info.rule_id for r in sigmahq_rules.rules}
    assert case.rule_id in known, f"rule not loaded: {skipped.get(case.rule_id, 'not found')}"
    correlator = Correlator(sigmahq_rules)
    with EvtxReader(case.evtx, SourceLabels("regression"), ZoneInfo("UTC")) as reader:
        fired = sum(
            1
            for step in reader.batches()
            for alert in correlator.process(step.batch.events)
            if alert.rule_id == case.rule_id
        )
    assert fired >= case.match_count, (
        f"{case.title}: fired {fired} times, expected {case.match_count}"
    )


def test_the_native_scan_selects_what_the_python_scan_does_on_the_regression_events(
    shared_dir: Path, sigmahq_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every prefilter selection over every regression event, made by both scans."""
    require_native()
    compared: list[tuple[list[int], list[int]]] = []
    native_select = Prefilter.select

    def both(prefilter: Prefilter, view: EventView) -> list[int]:
        selected = native_select(prefilter, view)
        compared.append((selected, prefilter.select_in_python(view)))
        return selected

    monkeypatch.setattr(Prefilter, "select", both)
    correlator = Correlator(sigmahq_rules)
    # The Python evaluation, which asks `Prefilter.select` for every event (the native
    # evaluator asks the scan's tables itself).
    correlator._programs = None
    for path in sorted({case.evtx for case in CASES}):
        with EvtxReader(path, SourceLabels("regression"), ZoneInfo("UTC")) as reader:
            for step in reader.batches():
                correlator.process(step.batch.events)
    assert len(compared) > 100
    assert sum(len(native) for native, _ in compared) > 0
    assert [native for native, _ in compared] == [python for _, python in compared]


def test_most_sigmahq_rules_are_evaluated_without_python(
    shared_dir: Path, sigmahq_rules: RuleSet
) -> None:
    require_native()
    programs = native_programs(sigmahq_rules.rules)
    assert programs is not None
    # Regular expressions, wildcard patterns, numbers and keywords still call Python.
    assert programs.native_count() > 0.7 * len(sigmahq_rules.rules)


def test_the_native_evaluation_matches_what_python_matches_on_the_regression_events(
    shared_dir: Path, sigmahq_rules: RuleSet
) -> None:
    """Every rule the prefilter selected for every regression event, evaluated both ways."""
    require_native()
    correlator = Correlator(sigmahq_rules)
    native_evaluator = native_programs(sigmahq_rules.rules)
    assert native_evaluator is not None
    programs = native_evaluator
    bodies = [rule.body for rule in sigmahq_rules.rules]
    compared: list[tuple[list[int], list[int]]] = []

    class BothWays:
        """The correlator's evaluator, evaluating in Python too."""

        def matching(
            self,
            positions: Sequence[int],
            view: EventView,
            fields: dict[str, FieldValue],
            stand_ins: bool,
        ) -> list[int]:
            native = programs.matching(positions, view, fields, stand_ins)
            fresh = EventView(fields)
            compared.append((native, [p for p in positions if bodies[p](fresh)]))
            return native

        def select_matching(
            self,
            tables: "LiteralTables",
            view: EventView,
            fields: dict[str, FieldValue],
            stand_ins: bool,
        ) -> list[int]:
            native = programs.select_matching(tables, view, fields, stand_ins)
            assert native == self.matching(
                tables.select(view, fields, stand_ins), view, fields, stand_ins
            )
            return native

        def timed_matching(
            self,
            positions: Sequence[int],
            view: EventView,
            fields: dict[str, FieldValue],
            stand_ins: bool,
        ) -> tuple[list[int], list[int]]:
            native, spent = programs.timed_matching(positions, view, fields, stand_ins)
            assert native == self.matching(positions, view, fields, stand_ins)
            return native, spent

    correlator._programs = BothWays()  # type: ignore[assignment]
    for path in sorted({case.evtx for case in CASES}):
        with EvtxReader(path, SourceLabels("regression"), ZoneInfo("UTC")) as reader:
            for step in reader.batches():
                correlator.process(step.batch.events)
    assert sum(len(native) for native, _ in compared) > 100
    assert [native for native, _ in compared] == [python for _, python in compared]
