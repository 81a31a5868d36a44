"""Persistence: the `Store` interface and its implementations."""

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
