"""The `Store` interface: every persistent thing canhgac keeps goes through it.

Implementations: `SQLiteStore` (the embedded default). One contract test suite
(tests/storage/test_store_contract.py) runs against every implementation.

Threading: one writer (the ingest pipeline) calls the write side; the API calls the
read side and `update_incident` from other threads at the same time.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from canhgac.correlator import Alert
from canhgac.events import DeadLetter, Event
from canhgac.incidents import AuditEntry, GroupKey, Incident, IncidentRef, IncidentUpdate
from canhgac.storage._model import (
    ApiKeyRecord,
    Checkpoint,
    EventQuery,
    IncidentChanges,
    IncidentQuery,
    IncidentStats,
    OrganizationScope,
    Page,
    SourceCountersReport,
    StoreCounts,
    WriteBatch,
)


class StoreError(Exception):
    """Root of the store's errors: the message says what failed and what to do."""


class IncidentNotFoundError(StoreError):
    pass


class InvalidCursorError(StoreError):
    """A page cursor the store did not hand out, or one that was altered."""


class EventQueryError(StoreError):
    """An event search this store cannot run (a field it does not index, no time
    bound where one is needed): the message says what to change."""


class IncidentMergeError(StoreError):
    """Two incidents that cannot be merged: the message says why."""


class Store(Protocol):
    # -- ingest side (one writer) -------------------------------------------------
    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored already (to never process one twice)."""
        ...

    def open_incidents(
        self, keys: Iterable[GroupKey], since: datetime
    ) -> dict[GroupKey, IncidentRef]:
        """For each key, the open incident (status new or acknowledged, window not closed)
        with last_seen >= since, if any; the most recent when there are several."""
        ...

    def write(self, batch: WriteBatch) -> None:
        """Write all of the batch in one transaction, or nothing. Events and alerts whose
        ids are stored already are skipped; incident growths add to the stored counts."""
        ...

    def checkpoint(self, name: str) -> Checkpoint | None: ...

    def close_incident_windows(self, before: datetime) -> int:
        """Stop grouping into incidents last seen before `before`; returns how many."""
        ...

    def maintain(self) -> None:
        """Periodic housekeeping (checkpointing the journal, refreshing statistics)."""
        ...

    # -- read side ----------------------------------------------------------------
    def list_incidents(self, query: IncidentQuery) -> Page[Incident]: ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def incident_alerts(self, incident_id: str, limit: int = 500) -> list[Alert]:
        """The incident's alerts, oldest first."""
        ...

    def get_events(self, event_ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids, in the order given; unknown ids are skipped."""
        ...

    def incident_history(self, incident_id: str) -> list[AuditEntry]:
        """The audit trail, oldest first."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first."""
        ...

    def counts(self) -> StoreCounts: ...

    def ping(self) -> None:
        """Check that the store answers, cheaply (a health check calls it often); raises
        StoreError when it does not."""
        ...

    # -- analyst actions ----------------------------------------------------------
    def update_incident(self, incident_id: str, update: IncidentUpdate, actor: str) -> Incident:
        """Apply an analyst's change and write one audit entry per changed field, in one
        transaction. Raises IncidentNotFoundError."""
        ...

    # -- API keys -----------------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> None: ...

    def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...

    def close(self) -> None: ...

    # -- loss accounting --------------------------------------------------------------
    def source_counters(self) -> SourceCountersReport:
        """Every source's counters (the sums of the `WriteBatch.source_counters` written),
        by source name, with their totals."""
        ...

    # -- scheduled detection: stored events by time ---------------------------------
    def event_pages(
        self, since: datetime, until: datetime, page_size: int = 1000
    ) -> Iterator[list[Event]]:
        """The stored events with since <= timestamp < until, oldest first, in pages of
        at most `page_size` (keyset paging: no page re-reads or skips another's events)."""
        ...

    def known_alert_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these alert ids are stored already (to never raise one twice)."""
        ...

    # -- incident triage ---------------------------------------------------------------
    def add_comment(self, incident_id: str, text: str, actor: str) -> AuditEntry:
        """Add an analyst's comment to the audit trail (action "comment", the text as
        new_value). Raises IncidentNotFoundError."""
        ...

    def merge_incidents(
        self, target_id: str, source_id: str, actor: str, reason: str | None
    ) -> Incident:
        """Move the source's alerts to the target (its count, first and last seen and
        severity grow to cover them) and mark the source merged into it; both audited,
        in one transaction where the store has them. Returns the target. Raises
        IncidentNotFoundError, or IncidentMergeError (the same incident, one already
        merged, or two organizations)."""
        ...

    def incident_stats(
        self, since: datetime | None, until: datetime | None, scope: OrganizationScope
    ) -> IncidentStats:
        """The dashboard's figures over the incidents created in [since, until) of the
        scope's organizations (see IncidentStats); the time series end at `until`, or
        at the store's clock."""
        ...

    def incidents_changed_since(
        self, cursor: str | None, scope: OrganizationScope, limit: int = 200
    ) -> IncidentChanges:
        """The incidents of the scope created or changed after `cursor` (None: now, so
        no change), each once in its latest state, in the order of their last change,
        at most `limit`. Raises InvalidCursorError for a cursor not from this feed."""
        ...

    # -- event search ------------------------------------------------------------------
    def search_events(self, query: EventQuery) -> Page[Event]:
        """One page of the stored events matching `query`, newest first, ties by id;
        `next_cursor` resumes after the page (keyset on (@timestamp, id): pages never
        repeat or skip an event). `total` is the page's own size: events are too many
        to count on every search. Raises InvalidCursorError, or EventQueryError for a
        query the store cannot run (the message says why)."""
        ...
