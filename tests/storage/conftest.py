"""The `store` fixture: every `Store` implementation, for the contract suite."""

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from canhgac.storage import SQLiteStore, Store
from canhgac.tests.storage.records import FakeClock

StoreFactory = Callable[[Path, Callable[[], datetime]], Store]


def _sqlite(folder: Path, clock: Callable[[], datetime]) -> Store:
    return SQLiteStore.open(folder / "data" / "canhgac.sqlite3", clock=clock)


# Each implementation: a fresh, empty store in `folder`, stamping times from `clock`.
IMPLEMENTATIONS: dict[str, StoreFactory] = {"sqlite": _sqlite}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = IMPLEMENTATIONS[request.param](tmp_path, clock)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3", clock=clock) as opened:
        yield opened
