"""Replaying stored events through rules, with the same semantics as live processing."""

from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from canhgac.correlator._alert import Alert
from canhgac.correlator._engine import Correlator
from canhgac.correlator._loading import RuleSet
from canhgac.events import Event

REPLAY_BATCH = 1000
"""Events handed to the correlator at a time; the alerts do not depend on it."""


def replay(
    ruleset: RuleSet, events: Iterable[Event], *, until: datetime | None = None
) -> list[Alert]:
    """The alerts `ruleset` raises over `events` (in time order, as the store returns them).

    Exactly what a fresh `Correlator` raises when it processes the same events live, in
    batches of any size. `until` then lets event time reach that moment (see
    `Correlator.advance`), so that the windows ending before it close and fire as they
    would have live once that time had passed; without it, windows still open after the
    last event stay open.
    """
    correlator = Correlator(ruleset)
    alerts: list[Alert] = []
    iterator = iter(events)
    while batch := list(islice(iterator, REPLAY_BATCH)):
        alerts.extend(correlator.process(batch))
    if until is not None:
        alerts.extend(correlator.advance(until))
    return alerts
