"""The `store` fixture: every `Store` implementation, for the contract suite."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from canhgac.storage import SQLiteStore, Store
from tests.storage.elasticsearch_node import elasticsearch_url, fresh_store
from tests.storage.records import FakeClock

StoreFactory = Callable[[Path, Callable[[], datetime]], AbstractContextManager[Store]]


@contextmanager
def _sqlite(folder: Path, clock: Callable[[], datetime]) -> Iterator[Store]:
    with SQLiteStore.open(folder / "data" / "canhgac.sqlite3", clock=clock) as opened:
        yield opened


@contextmanager
def _elasticsearch(folder: Path, clock: Callable[[], datetime]) -> Iterator[Store]:
    # Skips (or fails, with CANHGAC_REQUIRE_ES=1) without CANHGAC_TEST_ES_URL.
    with fresh_store(elasticsearch_url(), folder, clock) as opened:
        yield opened


# Each implementation: a fresh, empty store in `folder`, stamping times from `clock`,
# removed when the context ends.
IMPLEMENTATIONS: dict[str, StoreFactory] = {"sqlite": _sqlite, "elasticsearch": _elasticsearch}
_MARKS = {"elasticsearch": [pytest.mark.integration]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(
    params=[pytest.param(name, marks=_MARKS.get(name, [])) for name in sorted(IMPLEMENTATIONS)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with IMPLEMENTATIONS[request.param](tmp_path, clock) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=clock) as opened:
        yield opened
