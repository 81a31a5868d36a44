"""Failed authentications: counted per address, refused with 429 past the limit, logged
without the key."""

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from canhgac.api import create_app
from canhgac.api._auth_failures import WINDOW_SECONDS, AuthFailureLimiter
from canhgac.config import ApiConfig, Settings
from canhgac.storage import SQLiteStore
from tests.api.seed_data import Keys


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_the_limit_until_its_oldest_failure_ages_out() -> None:
    clock = Ticks()
    limiter = AuthFailureLimiter(3, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.9") is None
        limiter.record_failure("10.0.0.9")
        clock.now += 10
    assert limiter.retry_after("10.0.0.9") == pytest.approx(WINDOW_SECONDS - 30)
    assert limiter.retry_after("10.0.0.10") is None, "another address is not affected"
    clock.now += WINDOW_SECONDS - 30
    assert limiter.retry_after("10.0.0.9") is None


def test_memory_stays_bounded_under_a_spray_of_addresses() -> None:
    clock = Ticks()
    limiter = AuthFailureLimiter(3, clock=clock)
    for n in range(10_001):
        limiter.record_failure(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    clock.now += WINDOW_SECONDS + 1
    limiter.record_failure("192.0.2.1")
    assert limiter.retry_after("10.0.0.1") is None


def test_wrong_keys_get_429_after_the_limit_and_the_log_never_holds_the_key(
    tmp_path: Path, keys: Keys, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(api=ApiConfig(auth_failures_per_minute=3))
    wrong = "cg_this-is-not-a-key-but-looks-like-one"
    with TestClient(create_app(store, settings)) as client, caplog.at_level(logging.WARNING):
        answers = [
            client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {wrong}"})
            for _ in range(4)
        ]
        # Once refused, even the right key waits: the limit is on the address.
        right = client.get("/api/v1/incidents", headers=keys.header(keys.viewer))
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert right.status_code == 429
    failures = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(failures) == 3
    assert all(wrong not in message and "unknown key" in message for message in failures)


def test_a_revoked_key_counts_as_a_failure(store: SQLiteStore, keys: Keys) -> None:
    settings = Settings(api=ApiConfig(auth_failures_per_minute=2))
    with TestClient(create_app(store, settings)) as client:
        answers = [
            client.get("/api/v1/incidents", headers=keys.header(keys.revoked)).status_code
            for _ in range(3)
        ]
    assert answers == [401, 401, 429]
