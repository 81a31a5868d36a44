"""Inline correlation rules over a two-line logsource pipeline, for the correlation tests.

Detection rules here match `event.action` of events of the dataset "test"; the tests
write the correlations over them by hand.
"""

import textwrap
import uuid
from collections.abc import Mapping
from pathlib import Path

from canhgac.correlator import Alert, Correlator, RuleSet, load_rules
from canhgac.events import Event, FieldValue
from tests.correlator._events import event

PIPELINE = """
name: correlation tests
priority: 10
transformations:
  - id: test_route
    type: add_condition
    name: _route_test
    conditions:
      event.dataset: test
    rule_conditions:
      - type: logsource
        product: test
"""

_NAMESPACE = uuid.UUID("0f4c8b1e-6a53-4c8e-9d2b-5e7a1c3f9b20")


def rule_id(name: str) -> str:
    """The id a rule written by these helpers gets, stable per name."""
    return str(uuid.uuid5(_NAMESPACE, name))


def detection(name: str, action: str | None = None) -> str:
    """A rule named `name` matching test events whose event.action is `action` (or name)."""
    return f"""
title: {name}
id: {rule_id(name)}
name: {name}
logsource:
    product: test
detection:
    selection:
        event.action: {action or name}
    condition: selection
level: low
"""


def correlation(
    name: str,
    kind: str,
    rules: str,
    condition: str | None,
    *,
    group_by: str = "[source.ip]",
    timespan: str = "1m",
    extra: str = "",
    generate: bool = False,
) -> str:
    """A correlation rule; `condition` is YAML (flow style) or None for the default."""
    lines = [
        f"title: {name}",
        f"id: {rule_id(name)}",
        f"name: {name}",
        "correlation:",
        f"    type: {kind}",
        f"    rules: {rules}",
        f"    group-by: {group_by}",
        f"    timespan: {timespan}",
        f"    generate: {str(generate).lower()}",
    ]
    if condition is not None:
        lines.append(f"    condition: {condition}")
    lines.extend(f"    {line}" for line in textwrap.dedent(extra).strip("\n").splitlines())
    lines.append("level: high")
    return "\n".join(lines) + "\n"


def load(folder: Path, *documents: str) -> RuleSet:
    """Load the given rule documents (each its own file) with the test pipeline."""
    logsources = folder / "logsources.yml"
    logsources.write_text(PIPELINE, encoding="utf-8")
    paths: list[Path] = []
    for number, text in enumerate(documents):
        path = folder / f"rule_{number}.yml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return load_rules(paths, bundled=False, logsources=logsources)


def engine(folder: Path, *documents: str) -> Correlator:
    """A correlator over rules that must all load."""
    ruleset = load(folder, *documents)
    assert ruleset.errors == ()
    return Correlator(ruleset)


def hit(action: str, seconds: float = 0, fields: Mapping[str, FieldValue] | None = None) -> Event:
    """A test event from 10.0.0.1 (unless `fields` says otherwise) at T0 + seconds."""
    values: dict[str, FieldValue] = {
        "event.dataset": "test",
        "event.action": action,
        "source.ip": "10.0.0.1",
    }
    values.update(fields or {})
    return event(values, seconds=seconds)


def tick(seconds: float) -> Event:
    """An event no rule matches: it only moves event time forward."""
    return event({"event.dataset": "other", "event.action": "tick"}, seconds=seconds)


def titles(alerts: list[Alert]) -> list[str]:
    return [alert.rule_title for alert in alerts]


def ids(events: list[Event]) -> tuple[str, ...]:
    return tuple(item.id for item in events)
