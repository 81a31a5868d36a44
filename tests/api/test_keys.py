import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from canhgac.api import generate_api_key, hash_api_key
from canhgac.storage import Role


def test_hash_api_key_is_the_hex_sha256_of_the_key() -> None:
    # SHA-256("abc"), the FIPS 180-2 test vector.
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_api_key("abc") == expected


def test_a_new_key_is_prefixed_random_and_stored_only_as_its_hash() -> None:
    before = datetime.now(UTC)
    key, record = generate_api_key("soc-analyst-1", Role.ANALYST)
    assert key.startswith("cg_")
    assert len(key) >= 3 + 43  # token_urlsafe(32) is 43 characters
    assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (record.id, record.name, record.key_hash)
    assert record.name == "soc-analyst-1"
    assert record.role is Role.ANALYST
    assert record.revoked is False
    assert record.created_at.tzinfo is not None
    assert before <= record.created_at <= before + timedelta(seconds=5)
    assert 6 <= len(record.id) <= 16


def test_two_keys_never_share_a_key_an_id_or_a_hash() -> None:
    made = [generate_api_key("same-name", Role.VIEWER) for _ in range(50)]
    assert len({key for key, _ in made}) == 50
    assert len({record.id for _, record in made}) == 50
    assert len({record.key_hash for _, record in made}) == 50


@pytest.mark.parametrize("name", ["", "   "])
def test_a_key_needs_a_name(name: str) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        generate_api_key(name, Role.ADMIN)
