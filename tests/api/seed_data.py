"""Hand-made incidents, alerts and events for the API tests, written through the store.

The `seed` data set is five hand-made incidents (newest last_seen first):

    id          severity  status          system      organization  first  last (min from T0)
    inc-trav    high      new             -           -              +60    +70
    inc-sqli    high      new             dichvucong  Sở TT&TT        +0    +50
    inc-ssh     medium    acknowledged    mail        Sở Y tế        +10    +40
    inc-admin   critical  false_positive  egov        UBND tỉnh      +20    +30
    inc-scan    low       resolved        dichvucong  Sở TT&TT      -120    -60
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from canhgac.correlator import Alert, Severity
from canhgac.events import Event, make_event
from canhgac.incidents import Incident, IncidentStatus
from canhgac.storage import Store, WriteBatch

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

ORG_TTTT = "Sở TT&TT"
ORG_YTE = "Sở Y tế"
ORG_UBND = "UBND tỉnh"


class Clock:
    """The store's clock: stamps audit entries and updated_at; tests move it by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Keys:
    """One working API key per role, plus a revoked one (the key strings)."""

    viewer: str
    analyst: str
    admin: str
    revoked: str

    def header(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def event(eid: str, at: datetime, ip: str, path: str, system: str | None, org: str | None) -> Event:
    line = f'{ip} - - [24/Nov/2026] "GET {path} HTTP/1.1" 200 512'
    return make_event(
        id=eid,
        timestamp=at,
        fields={
            "source.ip": ip,
            "url.path": path,
            "http.response.status_code": 200,
            "event.dataset": "nginx.access",
            "tags": ("web", "portal"),
        },
        original=line,
        path="/var/log/nginx/access.log",
        system=system,
        organization=org,
    )


def incident(
    iid: str,
    *,
    rule: str,
    title: str,
    severity: Severity,
    status: IncidentStatus,
    system: str | None,
    org: str | None,
    first: float,
    last: float,
    alerts: int,
    ip: str = "203.113.131.5",
    assignee: str | None = None,
) -> Incident:
    return Incident(
        id=iid,
        title=f"{title}: {ip}",
        rule_id=rule,
        rule_title=title,
        severity=severity,
        status=status,
        assignee=assignee,
        entity_field="source.ip",
        entity_value=ip,
        system=system,
        organization=org,
        first_seen=minutes(first),
        last_seen=minutes(last),
        alert_count=alerts,
        created_at=minutes(first),
        updated_at=minutes(last),
    )


def alert_for(inc: Incident, aid: str, at: datetime, event_ids: tuple[str, ...]) -> Alert:
    return Alert(
        id=aid,
        rule_id=inc.rule_id,
        rule_title=inc.rule_title,
        severity=inc.severity,
        timestamp=at,
        event_ids=event_ids,
        entities=(("source.ip", inc.entity_value or ""), ("url.path", "/login")),
        system=inc.system,
        organization=inc.organization,
        tags=("attack.initial_access", "attack.t1190"),
    )


def seed(store: Store) -> None:
    """Write the five incidents of the module docstring, their alerts and events."""
    sqli = incident(
        "inc-sqli",
        rule="r-sqli",
        title="SQL injection on the portal",
        severity=Severity.HIGH,
        status=IncidentStatus.NEW,
        system="dichvucong",
        org=ORG_TTTT,
        first=0,
        last=50,
        alerts=2,
    )
    ssh = incident(
        "inc-ssh",
        rule="r-ssh",
        title="SSH brute force",
        severity=Severity.MEDIUM,
        status=IncidentStatus.ACKNOWLEDGED,
        system="mail",
        org=ORG_YTE,
        first=10,
        last=40,
        alerts=1,
        ip="14.160.2.9",
        assignee="analyst-lan",
    )
    admin = incident(
        "inc-admin",
        rule="r-admin",
        title="Admin login from abroad",
        severity=Severity.CRITICAL,
        status=IncidentStatus.FALSE_POSITIVE,
        system="egov",
        org=ORG_UBND,
        first=20,
        last=30,
        alerts=1,
        ip="45.76.1.1",
    )
    scan = incident(
        "inc-scan",
        rule="r-scan",
        title="Web scanner",
        severity=Severity.LOW,
        status=IncidentStatus.RESOLVED,
        system="dichvucong",
        org=ORG_TTTT,
        first=-120,
        last=-60,
        alerts=1,
        ip="185.220.101.4",
    )
    trav = incident(
        "inc-trav",
        rule="r-trav",
        title="Directory traversal",
        severity=Severity.HIGH,
        status=IncidentStatus.NEW,
        system=None,
        org=None,
        first=60,
        last=70,
        alerts=1,
        ip="113.161.7.7",
    )
    ip = "203.113.131.5"
    events = [
        event("e1", minutes(0), ip, "/search?q=1'--", "dichvucong", ORG_TTTT),
        event("e2", minutes(1), ip, "/search?q=1 union select", "dichvucong", ORG_TTTT),
        event("e3", minutes(50), ip, "/login?u=admin'--", "dichvucong", ORG_TTTT),
        event("e4", minutes(40), "14.160.2.9", "/ssh", "mail", ORG_YTE),
        event("e5", minutes(-60), "185.220.101.4", "/.env", "dichvucong", ORG_TTTT),
        event("e6", minutes(30), "45.76.1.1", "/admin", "egov", ORG_UBND),
        event("e7", minutes(70), "113.161.7.7", "/../../etc/passwd", None, None),
    ]
    alerts = [
        (sqli, alert_for(sqli, "a-sqli-1", minutes(1), ("e1", "e2"))),
        (sqli, alert_for(sqli, "a-sqli-2", minutes(50), ("e2", "e3"))),
        (ssh, alert_for(ssh, "a-ssh", minutes(40), ("e4",))),
        (scan, alert_for(scan, "a-scan", minutes(-60), ("e5",))),
        (admin, alert_for(admin, "a-admin", minutes(30), ("e6",))),
        (trav, alert_for(trav, "a-trav", minutes(70), ("e7",))),
    ]
    store.write(
        WriteBatch(
            events=events,
            alerts=[a for _, a in alerts],
            alert_incidents={a.id: i.id for i, a in alerts},
            new_incidents=[sqli, ssh, admin, scan, trav],
        )
    )
