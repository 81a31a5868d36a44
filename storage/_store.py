"""The `Store` interface: every persistent thing canhgac keeps goes through it.

Implementations: `SQLiteStore` (the embedded default). One contract test suite
(tests/storage/test_store_contract.py) runs against every implementation.

Threading: one writer (the ingest pipeline) calls the write side; the API calls the
read side and `update_incident` from other threads at the same time.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from canhgac.correlator import Alert
from canhgac.events import DeadLetter, Event
from canhgac.incidents import AuditEntry, GroupKey, Incident, IncidentRef, IncidentUpdate
from canhgac.storage._model import (
    ApiKeyRecord,
    Checkpoint,
    IncidentQuery,
    Page,
    StoreCounts,
    WriteBatch,
)


class StoreError(Exception):
    """Root of the store's errors: the message says what failed and what to do."""


class IncidentNotFoundError(StoreError):
    pass


class InvalidCursorError(StoreError):
    """A page cursor the store did not hand out, or one that was altered."""


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

    # -- analyst actions ----------------------------------------------------------
    def update_incident(self, incident_id: str, update: IncidentUpdate, actor: str) -> Incident:
        """Apply an analyst's change and write one audit entry per changed field, in one
        transaction. Raises IncidentNotFoundError."""
        ...

    # -- API keys -----------------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> None: ...

    def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...

    def close(self) -> None: ...
