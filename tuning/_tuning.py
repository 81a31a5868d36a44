"""`RuleTuning`: an admin's rule settings applied to the correlator's alerts.

Applied before incident grouping: a disabled rule's alerts are dropped, a level
override replaces the alert's severity, and an alert whose evidence events all match
one of its rule's active exceptions is dropped (suppressed). Pure: the caller hands in
the evidence events and the time.
"""

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from canhgac.correlator import Alert
from canhgac.events import Event, FieldValue
from canhgac.tuning._settings import (
    ExceptionMatch,
    RuleException,
    RuleSettings,
    parse_network,
)


@dataclass(frozen=True, slots=True)
class TunedAlerts:
    """The alerts that remain, and per rule how many were dropped and why."""

    alerts: tuple[Alert, ...]
    suppressed: Mapping[str, int] = field(default_factory=dict)
    """Alerts dropped by an exception, by rule id."""
    disabled: Mapping[str, int] = field(default_factory=dict)
    """Alerts dropped because their rule is disabled, by rule id."""


def _texts(value: FieldValue) -> Iterable[str]:
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if item is None:
            continue
        if isinstance(item, bool):
            yield "true" if item else "false"
        else:
            yield str(item)


def exception_matches(exception: RuleException, event: Event) -> bool:
    """Whether any value of the event's field satisfies the exception (text compared
    without regard to case; a CIDR exception contains the address)."""
    value = event.get(exception.field)
    if value is None:
        return False
    if exception.match is ExceptionMatch.CIDR:
        network = parse_network(exception.value)
        for text in _texts(value):
            try:
                address = ipaddress.ip_address(text.strip())
            except ValueError:
                continue  # not an address: no match
            if address in network:
                return True
        return False
    wanted = exception.value.casefold()
    if exception.match is ExceptionMatch.EQUALS:
        return any(text.casefold() == wanted for text in _texts(value))
    return any(wanted in text.casefold() for text in _texts(value))


@dataclass(frozen=True, slots=True)
class RuleTuning:
    """The settings in force; `apply` them to a batch of alerts (see the module doc)."""

    settings: RuleSettings = field(default_factory=RuleSettings)

    @property
    def is_empty(self) -> bool:
        return not self.settings.rules

    def evidence_needed(self, alerts: Sequence[Alert], now: datetime) -> set[str]:
        """The evidence event ids `apply` reads: those of alerts whose enabled rule has an
        active exception."""
        needed: set[str] = set()
        if self.is_empty:
            return needed
        for alert in alerts:
            setting = self.settings.rules.get(alert.rule_id)
            if setting is not None and setting.enabled and self._active(setting.exceptions, now):
                needed.update(alert.event_ids)
        return needed

    @staticmethod
    def _active(exceptions: Sequence[RuleException], now: datetime) -> tuple[RuleException, ...]:
        return tuple(e for e in exceptions if e.active(now))

    def apply(
        self, alerts: Sequence[Alert], events: Mapping[str, Event], now: datetime
    ) -> TunedAlerts:
        """Drop, re-level and suppress `alerts`. `events` holds their evidence events by id
        (at least those of `evidence_needed`); an alert none of whose evidence events is
        there is never suppressed."""
        if self.is_empty or not alerts:
            return TunedAlerts(tuple(alerts))
        kept: list[Alert] = []
        suppressed: dict[str, int] = {}
        disabled: dict[str, int] = {}
        rules = self.settings.rules
        for alert in alerts:
            setting = rules.get(alert.rule_id)
            if setting is None:
                kept.append(alert)
                continue
            if not setting.enabled:
                disabled[alert.rule_id] = disabled.get(alert.rule_id, 0) + 1
                continue
            if self._suppressed(alert, self._active(setting.exceptions, now), events):
                suppressed[alert.rule_id] = suppressed.get(alert.rule_id, 0) + 1
                continue
            if setting.level is not None and setting.level is not alert.severity:
                alert = alert._replace(severity=setting.level)
            kept.append(alert)
        return TunedAlerts(tuple(kept), suppressed, disabled)

    @staticmethod
    def _suppressed(
        alert: Alert, exceptions: Sequence[RuleException], events: Mapping[str, Event]
    ) -> bool:
        if not exceptions:
            return False
        evidence = [events[eid] for eid in alert.event_ids if eid in events]
        if not evidence:
            return False
        return any(
            all(exception_matches(exception, event) for event in evidence)
            for exception in exceptions
        )
