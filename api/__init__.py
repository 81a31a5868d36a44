"""The HTTP API: incidents and their triage over a `Store`, authenticated by API keys."""

from canhgac.api._app import canhgac_version, create_app
from canhgac.api._deps import Principal, get_store, require_role
from canhgac.api._keys import generate_api_key, hash_api_key
from canhgac.api._schemas import (
    AlertPublic,
    AuditEntryPublic,
    ErrorPublic,
    HealthPublic,
    IncidentDetail,
    IncidentPatch,
    IncidentPublic,
    IncidentsPublic,
)

__all__ = [
    "AlertPublic",
    "AuditEntryPublic",
    "ErrorPublic",
    "HealthPublic",
    "IncidentDetail",
    "IncidentPatch",
    "IncidentPublic",
    "IncidentsPublic",
    "Principal",
    "canhgac_version",
    "create_app",
    "generate_api_key",
    "get_store",
    "hash_api_key",
    "require_role",
]
