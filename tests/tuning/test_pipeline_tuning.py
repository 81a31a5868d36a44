"""The pipeline applies the rule settings between correlation and grouping, with the
bundled rules and a real SQLite store."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from canhgac.correlator import Correlator, Severity, load_rules
from canhgac.events import Event
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import CollectedBatch, IngestPipeline
from canhgac.storage import IncidentQuery, SQLiteStore
from canhgac.tuning import ExceptionMatch, RuleException, RuleSetting, RuleSettings, RuleTuning

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TRAVERSAL = "cd5f9b0a-e702-4449-ad1f-8edb5d5393f3"  # rules/web_path_traversal.yml
BRUTE_FORCE = "d8880e0d-014c-4313-8092-c7139a5affed"  # rules/linux_ssh_brute_force.yml


def web(n: int, ip: str, path: str = "/../../etc/passwd") -> Event:
    return Event(
        id=f"web-{n}",
        timestamp=T0 + timedelta(seconds=n),
        fields={
            "event.dataset": "nginx.access",
            "event.category": "web",
            "url.original": path,
            "source.ip": ip,
        },
    )


def failed_ssh(n: int, ip: str) -> Event:
    return Event(
        id=f"ssh-{n}",
        timestamp=T0 + timedelta(seconds=n),
        fields={
            "event.dataset": "system.auth",
            "process.name": "sshd",
            "event.action": "ssh_login",
            "event.outcome": "failure",
            "source.ip": ip,
            "user.name": "root",
        },
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "db.sqlite3") as opened:
        yield opened


@pytest.fixture
def pipeline(store: SQLiteStore) -> IngestPipeline:
    correlator = Correlator(load_rules([], bundled=True))
    return IngestPipeline(store, correlator, IncidentGrouper(timedelta(minutes=15)))


def scanner(field: str, value: str, match: ExceptionMatch) -> RuleException:
    return RuleException(
        id="x1",
        field=field,
        value=value,
        match=match,
        reason="the provincial CERT's scanner",
        added_by="soc-admin",
        added_at=T0 - timedelta(days=1),
    )


def incidents(store: SQLiteStore) -> list[tuple[str, str, Severity]]:
    page = store.list_incidents(IncidentQuery(limit=100))
    return sorted((i.rule_id, i.entity_value or "", i.severity) for i in page.items)


def test_untuned_the_traversal_raises_an_incident(
    pipeline: IngestPipeline, store: SQLiteStore
) -> None:
    outcome = pipeline.process(CollectedBatch("portal", [web(1, "198.51.100.9")]))
    assert outcome.alerts == 1
    assert incidents(store) == [(TRAVERSAL, "198.51.100.9", Severity.HIGH)]


def test_a_disabled_rule_raises_nothing_and_is_counted(
    pipeline: IngestPipeline, store: SQLiteStore
) -> None:
    pipeline.tuning = RuleTuning(RuleSettings({TRAVERSAL: RuleSetting(enabled=False)}))
    outcome = pipeline.process(CollectedBatch("portal", [web(1, "198.51.100.9")]))
    assert outcome.alerts == 0
    assert incidents(store) == []
    assert store.counts().events == 1  # the event itself is kept
    assert pipeline.tuning_counts() == ({}, {TRAVERSAL: 1})


def test_an_exception_suppresses_one_address_and_a_level_override_applies(
    pipeline: IngestPipeline, store: SQLiteStore
) -> None:
    setting = RuleSetting(
        level=Severity.CRITICAL,
        exceptions=(scanner("source.ip", "203.0.113.0/24", ExceptionMatch.CIDR),),
    )
    pipeline.tuning = RuleTuning(RuleSettings({TRAVERSAL: setting}))
    pipeline.process(CollectedBatch("portal", [web(1, "203.0.113.7"), web(2, "198.51.100.9")]))
    assert incidents(store) == [(TRAVERSAL, "198.51.100.9", Severity.CRITICAL)]
    assert pipeline.tuning_counts() == ({TRAVERSAL: 1}, {})


def test_a_correlation_alert_is_checked_against_evidence_from_earlier_batches(
    pipeline: IngestPipeline, store: SQLiteStore
) -> None:
    exception = scanner("source.ip", "192.0.2.50", ExceptionMatch.EQUALS)
    pipeline.tuning = RuleTuning(RuleSettings({BRUTE_FORCE: RuleSetting(exceptions=(exception,))}))
    # Nine failures in one batch, the tenth (which fires the correlation) in the next:
    # the nine evidence events are read back from the store.
    pipeline.process(CollectedBatch("auth", [failed_ssh(n, "192.0.2.50") for n in range(9)]))
    outcome = pipeline.process(CollectedBatch("auth", [failed_ssh(9, "192.0.2.50")]))
    assert outcome.alerts == 0
    assert pipeline.tuning_counts()[0] == {BRUTE_FORCE: 1}
    pipeline.process(CollectedBatch("auth", [failed_ssh(n, "192.0.2.99") for n in range(10, 20)]))
    assert [rule for rule, _, _ in incidents(store)] == [BRUTE_FORCE]


def test_alerts_of_scheduled_detection_are_tuned_too(
    pipeline: IngestPipeline, store: SQLiteStore
) -> None:
    replayed = Correlator(load_rules([], bundled=True)).process(
        [web(1, "198.51.100.9"), web(2, "198.51.100.10")]
    )
    assert len(replayed) == 2
    pipeline.tuning = RuleTuning(RuleSettings({TRAVERSAL: RuleSetting(enabled=False)}))
    outcome = pipeline.store_alerts(replayed)
    assert (outcome.alerts, incidents(store)) == (0, [])
    assert pipeline.tuning_counts() == ({}, {TRAVERSAL: 2})
