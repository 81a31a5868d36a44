"""SigmaHQ's own rules and regression data (../shared/sigma): the engine must load the
whole rule set, say why it skips what it skips, and fire each rule on its regression
events as often as SigmaHQ's CI requires."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from canhgac.correlator import Correlator, RuleSet, load_rules
from canhgac.events import Event
from canhgac.parsers import ParseContext, normalize_windows_event

RULE_FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")

_loaded: dict[Path, RuleSet] = {}


def snapshot(shared: Path) -> RuleSet:
    """The three SigmaHQ rule folders, loaded once for the whole module."""
    sigma = shared / "sigma"
    if sigma not in _loaded:
        _loaded[sigma] = load_rules([sigma / folder for folder in RULE_FOLDERS], bundled=False)
    return _loaded[sigma]


def test_the_whole_snapshot_loads_and_every_skip_has_a_reason(shared_dir: Path) -> None:
    ruleset = snapshot(shared_dir)
    assert len(ruleset.rules) > 3500
    for error in ruleset.errors:
        assert Path(error.path).is_file(), error
        assert error.reason.strip(), error
    # The only rules skipped are the two that expand %known_cdcs% without a configured
    # value (Sigma: a rule whose placeholder cannot be filled must be rejected).
    reasons = sorted(re.sub(r":.*", "", error.reason) for error in ruleset.errors)
    assert reasons == ["placeholder %known_cdcs% has no values"] * 2


def test_placeholder_rules_load_once_their_values_are_configured(shared_dir: Path) -> None:
    folder = shared_dir / "sigma" / "rules-placeholder"
    names = sorted(
        {
            match
            for path in folder.rglob("*.yml")
            for match in re.findall(r"%([A-Za-z0-9_-]+)%", path.read_text(encoding="utf-8"))
        }
    )
    without = load_rules([folder], bundled=False)
    assert without.errors
    assert not without.rules
    values = {name: [f"{name.lower()}-1", f"{name.lower()}-*"] for name in names}
    configured = load_rules([folder], bundled=False, placeholders=values)
    assert configured.errors == ()
    assert len(configured.rules) == len(without.errors)


def _records(path: Path) -> Iterator[Any]:
    """The JSON objects of a file holding one or more of them back to back."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        record, position = decoder.raw_decode(text, position)
        yield record


def _events(path: Path) -> list[Event]:
    context = ParseContext(reference_time=datetime.now(UTC), timezone=UTC)
    events = []
    for number, record in enumerate(_records(path)):
        parsed = normalize_windows_event(record, context)
        events.append(
            Event(id=f"{path.stem}-{number}", timestamp=parsed.timestamp, fields=parsed.fields)
        )
    return events


def test_every_rule_fires_on_its_regression_events(shared_dir: Path) -> None:
    ruleset = snapshot(shared_dir)
    checked = 0
    failures: list[str] = []
    for info_path in sorted((shared_dir / "sigma" / "regression_data").rglob("info.yml")):
        info = yaml.safe_load(info_path.read_text(encoding="utf-8"))
        tests = info.get("regression_tests_info") or []
        jsons = sorted(info_path.parent.glob("*.json"))
        if not tests or not jsons:
            continue  # a case SigmaHQ keeps commented out, or raw (non-Windows) data
        rule_id = info["rule_metadata"][0]["id"]
        wanted = tests[0].get("match_count", 1)
        alerts = Correlator(ruleset).process(_events(jsons[0]))
        got = sum(1 for alert in alerts if alert.rule_id == rule_id)
        checked += 1
        if got < wanted:
            failures.append(f"{info_path.parent.name} ({rule_id}): {got} of {wanted}")
    assert checked >= 90
    assert failures == []
