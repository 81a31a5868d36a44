"""schemathesis against the app's own OpenAPI schema: for every operation, generated
requests (valid and invalid) never get a 5xx, and every response matches what the schema
documents for it (status code, content type, headers, body).

The app runs over a real SQLiteStore holding the seed data, called in-process (ASGI) with
an admin key, so every route is reachable past authentication. Left out: the check that
every schema-valid request gets a 2xx; opaque page cursors and incident ids are free strings
in the schema, and one the API never handed out rightly gets 400 or 404. Also left out:
GET /api/v1/stream, whose answer never ends (test_stream.py checks it on a real server,
and checks its events against IncidentPublic)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok

from canhgac.api import create_app, generate_api_key
from canhgac.config import ApiConfig, Settings
from canhgac.storage import Role, SQLiteStore
from tests.api.seed_data import seed

ADMIN_KEY, ADMIN_RECORD = generate_api_key("schemathesis", Role.ADMIN)
ENDLESS = {"/api/v1/stream"}


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder: Path = tmp_path_factory.mktemp("openapi-contract")
    with SQLiteStore.open(folder / "canhgac.sqlite3") as store:
        seed(store)
        store.add_api_key(ADMIN_RECORD)
        # The generated requests without a key would soon trip the 429 of failed logins.
        settings = Settings(api=ApiConfig(auth_failures_per_minute=1_000_000))
        yield create_app(store, settings)


@pytest.fixture(scope="module")
def api_schema(seeded_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", seeded_app)


def test_every_operation_answers_as_its_schema_says(api_schema: schemathesis.BaseSchema) -> None:
    # One hypothesis run per operation (schemathesis' pytest plugin does not load under
    # this pytest); a failure names the operation and the request that broke it.
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the app's schema is invalid: {result}"
        if result.ok().path not in ENDLESS:
            operations.append(result.ok())
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                excluded_checks=[positive_data_acceptance],
            )

        answers_as_documented()
