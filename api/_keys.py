"""API keys: made once, shown once, kept only as a SHA-256 hash."""

import hashlib
import secrets
from datetime import UTC, datetime

from canhgac.storage import ApiKeyRecord, Role

KEY_PREFIX = "cg_"


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of the key, as stored in `ApiKeyRecord.key_hash`."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key(name: str, role: Role) -> tuple[str, ApiKeyRecord]:
    """A new random key and the record to store for it.

    The key itself is returned only here: print it once and never keep it. Raises
    ValueError when the name is blank, since audit entries name the key that acted.
    """
    label = name.strip()
    if not label:
        raise ValueError("an API key needs a name (who or what uses it, e.g. 'soc-analyst-1')")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        id=secrets.token_hex(6),
        name=label,
        role=Role(role),
        key_hash=hash_api_key(key),
        created_at=datetime.now(UTC),
    )
    return key, record
