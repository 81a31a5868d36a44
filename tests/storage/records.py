"""Events, alerts and incidents for the store tests, built with explicit values."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from canhgac.correlator import Alert, Severity
from canhgac.events import Event, FieldValue
from canhgac.incidents import Incident, IncidentStatus

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 plus `minutes`."""
    return T0 + timedelta(minutes=minutes)


def event(n: int, minutes: float = 0, **fields: FieldValue) -> Event:
    """Event `e<n>`; keyword fields use "__" for dots (source__ip="1.2.3.4")."""
    named: dict[str, FieldValue] = {
        "event.dataset": "nginx.access",
        "event.original": f"line {n}",
    }
    named.update({name.replace("__", "."): value for name, value in fields.items()})
    return Event(id=f"e{n}", timestamp=at(minutes), fields=named)


def alert(
    n: int,
    minutes: float = 0,
    *,
    rule: str = "r-sqli",
    ip: str = "203.113.131.5",
    severity: Severity = Severity.HIGH,
    org: str | None = "So TTTT",
) -> Alert:
    return Alert(
        id=f"a{n}",
        rule_id=rule,
        rule_title="SQL injection on the portal",
        severity=severity,
        timestamp=at(minutes),
        event_ids=(f"e{n}",),
        entities=(("source.ip", ip),),
        system="portal",
        organization=org,
        tags=("attack.t1190", "owasp.a03"),
        description="UNION SELECT in a query string",
    )


def incident(
    name: str,
    *,
    first: float = 0,
    last: float | None = None,
    rule: str = "r-sqli",
    entity_field: str | None = "source.ip",
    entity_value: str | None = "203.113.131.5",
    severity: Severity = Severity.HIGH,
    status: IncidentStatus = IncidentStatus.NEW,
    assignee: str | None = None,
    system: str | None = "portal",
    org: str | None = "So TTTT",
    alert_count: int = 1,
) -> Incident:
    """Incident `inc-<name>`, first seen `first` and last seen `last` minutes after T0."""
    return Incident(
        id=f"inc-{name}",
        title=f"SQL injection on the portal: {entity_value}",
        rule_id=rule,
        rule_title="SQL injection on the portal",
        severity=severity,
        status=status,
        assignee=assignee,
        entity_field=entity_field,
        entity_value=entity_value,
        system=system,
        organization=org,
        first_seen=at(first),
        last_seen=at(first if last is None else last),
        alert_count=alert_count,
        created_at=at(first),
        updated_at=at(first),
    )


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: at(60))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now
