"""Events per second stored when collectors forward over the ingest API, against the same
batches handed straight to the pipeline worker (`canhgac run` in one process), in the
same run.

    .venv/bin/python bench/forward_ingest.py [--events 50000] [--batch 1000] [--rounds 3]

The events are nginx access lines parsed by canhgac (`EventBuilder`, the collectors'
path) before the clock starts. Each round, on a fresh SQLite store with the bundled rules:

- direct: `CorrelatorComponent.submit` of every batch, timed until the worker has stored
  the last (the single-process path);
- forwarded: `IngestForwarder.submit` of the same batches to the correlator's ingest API
  served by uvicorn on 127.0.0.1 in this process, each answered once stored: the ECS
  JSON lines written, sent, parsed again and deduplicated by the correlator.

The figure is the median over the rounds of forwarded / direct events per second.
"""

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import uvicorn

from canhgac.api import create_app, generate_api_key
from canhgac.bench._sample_events import sample_events
from canhgac.collectors import EventBuilder, IngestForwarder, SourceLabels
from canhgac.config import Settings
from canhgac.parsers import ParseContext, get_parser
from canhgac.pipeline import CollectedBatch
from canhgac.service import CorrelatorComponent
from canhgac.storage import Checkpoint, Role, SQLiteStore


def make_batches(total: int, size: int) -> list[CollectedBatch]:
    context = ParseContext(reference_time=datetime.now(UTC), timezone=UTC)
    builder = EventBuilder(get_parser("nginx"), SourceLabels("portal"), context, "bench")
    events = sample_events(total, builder)
    return [
        CollectedBatch(
            source="portal",
            events=events[start : start + size],
            checkpoints=[Checkpoint("file:portal:/bench.log", {"offset": start + size})],
        )
        for start in range(0, total, size)
    ]


def direct(batches: list[CollectedBatch], folder: Path) -> float:
    with SQLiteStore.open(folder / "canhgac.sqlite3") as store:
        correlator = CorrelatorComponent(Settings(), store)
        correlator.start()
        started = time.perf_counter()
        for batch in batches:
            correlator.submit(batch)
        correlator.worker.stop(timeout=3600)
        elapsed = time.perf_counter() - started
        assert store.counts().events == sum(len(b.events) for b in batches)
    return elapsed


def forwarded(batches: list[CollectedBatch], folder: Path, port: int) -> float:
    with SQLiteStore.open(folder / "canhgac.sqlite3") as store:
        key, record = generate_api_key("bench", Role.INGEST)
        store.add_api_key(record)
        settings = Settings()
        correlator = CorrelatorComponent(settings, store)
        correlator.start()
        app = create_app(store, settings, ingest=correlator, read_api=False)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        forwarder = IngestForwarder(f"http://127.0.0.1:{port}", key, folder / "spool")
        forwarder.start()
        started = time.perf_counter()
        for batch in batches:
            forwarder.submit(batch)
        elapsed = time.perf_counter() - started
        forwarder.close()
        server.should_exit = True
        thread.join()
        correlator.stop()
        assert forwarder.spooled == 0
        assert store.counts().events == sum(len(b.events) for b in batches)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18_082)
    options = parser.parse_args()
    batches = make_batches(options.events, options.batch)
    ratios = []
    for round_number in range(1, options.rounds + 1):
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            kinds: list[tuple[str, Callable[[], float]]] = [
                ("direct", lambda: direct(batches, Path(one))),
                ("forwarded", lambda: forwarded(batches, Path(two), options.port)),
            ]
            if round_number % 2 == 0:
                kinds.reverse()
            rates = {name: options.events / run() for name, run in kinds}
        ratio = rates["forwarded"] / rates["direct"]
        ratios.append(ratio)
        print(
            f"round {round_number}: direct {rates['direct']:,.0f} events/s, "
            f"forwarded {rates['forwarded']:,.0f} events/s, ratio {ratio:.2f}x"
        )
    print(f"forwarded / direct, median of {options.rounds} rounds: {median(ratios):.2f}x")


if __name__ == "__main__":
    main()
