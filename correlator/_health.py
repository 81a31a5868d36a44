"""Rule health: what each loaded (or skipped) rule has done since the correlator started.

For a detection rule: how many events were routed to it, how many it matched and when
last, how long it took, and which fields it reads that the routed events never carried.
A rule whose condition cannot hold on events made only of the fields seen so far (see
`_field_needs`) gets the note `CANNOT_FIRE`.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from canhgac.correlator._alert import Severity
from canhgac.correlator._compile import CompiledRule
from canhgac.correlator._field_needs import Truth

CANNOT_FIRE = "cannot fire on the events routed to it: they lack fields it needs"
SKIPPED = "skipped"

TIMING_SAMPLE = 16
"""Rule evaluation is timed on one routed event in this many; times are scaled up."""


@dataclass(frozen=True, slots=True)
class RuleHealth:
    """One rule's health line.

    `kind` is "detection", a correlation type ("event_count", ...), or "skipped" for a
    rule that could not be loaded (then `note` is the reason, and only `path`, `title`
    and `rule_id`, when known, are set). `events` counts the events routed to a
    detection rule (for a correlation: the matches of its rules it received);
    `evaluation_ns` estimates the time spent testing them (sampled, see
    `TIMING_SAMPLE`). `never_seen` lists the fields the rule reads that no routed event
    carried ("a or b" for a field the logsource pipeline maps to alternatives); it is
    empty until an event was routed to the rule.
    """

    rule_id: str | None
    title: str | None
    level: Severity | None
    kind: str
    path: str | None
    routed: bool
    events: int
    matches: int
    last_match: datetime | None
    evaluation_ns: int
    never_seen: tuple[str, ...]
    note: str | None


def never_seen_fields(rule: CompiledRule, seen: Collection[str]) -> tuple[str, ...]:
    """The rule's field groups of which no field is in `seen`, as "a" or "a or b"."""
    return tuple(
        " or ".join(group) for group in rule.fields if not any(name in seen for name in group)
    )


def cannot_fire(rule: CompiledRule, seen: Collection[str]) -> bool:
    """Whether the rule's condition is false on every event made of `seen` fields only."""
    return rule.needs is not None and rule.needs.truth(seen) is Truth.FALSE


def estimated_ns(timed_ns: int, timed_events: int, events: int) -> int:
    """Total evaluation time, scaled from the sampled evaluations."""
    if timed_events == 0:
        return 0
    return timed_ns * events // timed_events
