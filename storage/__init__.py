"""Persistence: the `Store` interface and its implementations (SQLite, Elasticsearch)."""

from canhgac.storage._elasticsearch import ElasticsearchStore
from canhgac.storage._model import (
    ApiKeyRecord,
    Checkpoint,
    IncidentQuery,
    Page,
    Role,
    StoreCounts,
    WriteBatch,
)
from canhgac.storage._sqlite import SQLiteStore
from canhgac.storage._store import (
    IncidentNotFoundError,
    InvalidCursorError,
    Store,
    StoreError,
)

__all__ = [
    "ApiKeyRecord",
    "Checkpoint",
    "ElasticsearchStore",
    "IncidentNotFoundError",
    "IncidentQuery",
    "InvalidCursorError",
    "Page",
    "Role",
    "SQLiteStore",
    "Store",
    "StoreCounts",
    "StoreError",
    "WriteBatch",
]
