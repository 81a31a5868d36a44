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
from canhgac.storage._store import IncidentNotFoundError, Store, StoreError

__all__ = [
    "ApiKeyRecord",
    "Checkpoint",
    "IncidentNotFoundError",
    "IncidentQuery",
    "Page",
    "Role",
    "Store",
    "StoreCounts",
    "StoreError",
    "WriteBatch",
]
