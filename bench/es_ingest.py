"""Events per second into Elasticsearch: through `ElasticsearchStore.write` against the
official client's `helpers.parallel_bulk` of the same documents, in the same run.

    scripts/elasticsearch start
    .venv/bin/python bench/es_ingest.py [--url URL] [--events 100000] [--rounds 5]

The events are the bundled nginx sample log parsed by canhgac, repeated with distinct
offsets. Every run writes them all into fresh daily indices made from the store's index
templates, on the same cluster, with the same refresh policy (none: the indices' own
refresh interval), the same number of threads and the same documents per bulk request:

- ready: parallel_bulk of documents made before the clock starts (`event_document`,
  serialized by the client's orjson serializer): the strict comparison;
- made: parallel_bulk of documents made from the events as it streams them;
- store: `ElasticsearchStore.write` batch by batch, timed until `flush` says
  Elasticsearch acknowledged every document: turning events into documents, the spool
  record (fsync'ed), the bulk requests (the same helper), the checkpoints;
- lookups: the same through the store, with the ingest pipeline's duplicate check
  (`known_event_ids`) before each batch, as `IngestPipeline` calls it.

A warm-up writes a few thousand events each way first (untimed). Each round runs every
kind once, in an order that rotates from round to round; the figure is the median, over
the rounds, of each round's ratio (the target: store >= 0.8 x ready). It also prints the
CPU time this process spent an event in each kind (Elasticsearch's is not counted),
which moves less with the machine's load than the rates do.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch, helpers
from elasticsearch.serializer import OrjsonSerializer

from canhgac.bench._sample_events import sample_events
from canhgac.collectors._event_builder import EventBuilder, SourceLabels
from canhgac.events import Event
from canhgac.parsers import ParseContext, get_parser
from canhgac.storage import Checkpoint, ElasticsearchStore, WriteBatch
from canhgac.storage._elasticsearch_bulk import EVENT_CHUNK_SIZE
from canhgac.storage._elasticsearch_docs import event_document, event_index

THREADS = 4
WARM_UP_EVENTS = 5_000
RUNS = ("ready", "made", "store", "lookups")


def nginx_events(count: int) -> list[Event]:
    """`count` events of the bundled nginx log, as the portal's source would store them."""
    context = ParseContext(datetime.now(UTC), ZoneInfo("Asia/Ho_Chi_Minh"))
    builder = EventBuilder(
        get_parser("nginx"),
        SourceLabels("bench", system="Cổng dịch vụ công", organization="Sở KH&CN"),
        context,
        origin=uuid.uuid4().hex,
        path="/var/log/nginx/portal-access.log",
    )
    return sample_events(count, builder)


def batches(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def run_store(
    url: str, events: Sequence[Event], batch: int, folder: Path, *, lookups: bool = False
) -> tuple[float, float]:
    """Seconds (and this process's CPU seconds) to write every event through the store,
    batch by batch; with `lookups`, asking the store which of each batch's events it has
    first, as the pipeline does."""
    prefix = f"bench-store-{uuid.uuid4().hex[:8]}"
    with ElasticsearchStore.open(
        url, spool_dir=folder / prefix, index_prefix=prefix, bulk_threads=THREADS
    ) as store:
        started, cpu = time.perf_counter(), time.process_time()
        for n, part in enumerate(batches(events, batch)):
            if lookups and store.known_event_ids([event.id for event in part]):
                raise SystemExit("the store knew events it was never given")
            checkpoint = Checkpoint("bench", {"batch": n})
            store.write(WriteBatch(events=part, checkpoints=[checkpoint]))
        # Until Elasticsearch has acknowledged every document, not just the spool.
        if not store.flush():
            raise SystemExit("Elasticsearch did not take every batch")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = store.counts().events
    drop(url, prefix)
    if stored != len(events):
        raise SystemExit(f"the store kept {stored} of {len(events)} events")
    return elapsed, cpu


def run_parallel_bulk(
    url: str, events: Sequence[Event], folder: Path, *, ready: bool
) -> tuple[float, float]:
    """Seconds (and this process's CPU seconds) for helpers.parallel_bulk to create the
    same documents, made before the clock starts (`ready`) or as they are sent."""
    prefix = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    # Opening a store installs the same index templates.
    ElasticsearchStore.open(url, spool_dir=folder / prefix, index_prefix=prefix).close()

    def action(event: Event) -> dict[str, Any]:
        return {
            "_op_type": "create",
            "_index": event_index(prefix, event.timestamp),
            "_id": event.id,
            "_source": event_document(event),
        }

    made = [action(event) for event in events] if ready else None
    with Elasticsearch(url.split(","), serializer=OrjsonSerializer(), request_timeout=60) as es:
        started, cpu = time.perf_counter(), time.process_time()
        # Timed, as the store makes them when it first meets their day: the daily indices.
        for index in sorted({event_index(prefix, event.timestamp) for event in events}):
            es.indices.create(index=index, wait_for_active_shards="1")
        actions: Iterable[dict[str, Any]] = made if made is not None else map(action, events)
        failed = sum(
            1
            for ok, _ in helpers.parallel_bulk(
                es,
                actions,
                thread_count=THREADS,
                chunk_size=EVENT_CHUNK_SIZE,
                raise_on_error=False,
            )
            if not ok
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        es.indices.refresh(index=f"{prefix}-events-*")
        stored = es.count(index=f"{prefix}-events-*")["count"]
    drop(url, prefix)
    if failed or stored != len(events):
        raise SystemExit(f"parallel_bulk kept {stored} of {len(events)} events ({failed} failed)")
    return elapsed, cpu


def run(
    kind: str, url: str, events: Sequence[Event], batch: int, folder: Path
) -> tuple[float, float]:
    if kind in ("store", "lookups"):
        return run_store(url, events, batch, folder, lookups=kind == "lookups")
    return run_parallel_bulk(url, events, folder, ready=kind == "ready")


def drop(url: str, prefix: str) -> None:
    with Elasticsearch(url.split(","), request_timeout=60) as es:
        names = [entry["name"] for entry in es.indices.resolve_index(name=f"{prefix}-*")["indices"]]
        if names:
            es.indices.delete(index=",".join(names))
        for template in es.indices.get_index_template(name=f"{prefix}-*")["index_templates"]:
            es.indices.delete_index_template(name=template["name"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("CANHGAC_TEST_ES_URL", "http://127.0.0.1:9200"),
        help="Elasticsearch URL(s), comma-separated (default: $CANHGAC_TEST_ES_URL)",
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per store.write")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    events = nginx_events(args.events)
    print(
        f"{len(events)} events, store batches of {args.batch}, {THREADS} bulk threads, "
        f"{EVENT_CHUNK_SIZE} documents per bulk request"
    )
    rates: dict[str, list[float]] = {kind: [] for kind in RUNS}
    cpu: dict[str, list[float]] = {kind: [] for kind in RUNS}  # µs of this process an event
    with tempfile.TemporaryDirectory(prefix="canhgac-bench-") as folder:
        for kind in RUNS:
            run(kind, args.url, events[:WARM_UP_EVENTS], args.batch, Path(folder))
        for round_number in range(args.rounds):
            shift = round_number % len(RUNS)
            for kind in RUNS[shift:] + RUNS[:shift]:
                seconds, cpu_seconds = run(kind, args.url, events, args.batch, Path(folder))
                rates[kind].append(len(events) / seconds)
                cpu[kind].append(cpu_seconds * 1e6 / len(events))
            ready, made, store, lookups = (rates[kind][-1] for kind in RUNS)
            print(
                f"round {round_number + 1}: parallel_bulk {ready:,.0f} events/s (documents "
                f"ready), {made:,.0f} (made); store {store:,.0f}: {store / ready:.2f}x ready, "
                f"{store / made:.2f}x made; with lookups {lookups:,.0f}: "
                f"{lookups / ready:.2f}x ready"
            )
    for kind, baseline in (("store", "ready"), ("store", "made"), ("lookups", "ready")):
        ratios = [s / b for s, b in zip(rates[kind], rates[baseline], strict=True)]
        print(
            f"median over {args.rounds} rounds, {kind} against {baseline}: "
            f"{median(rates[kind]):,.0f} against {median(rates[baseline]):,.0f} events/s, "
            f"ratio {median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x; "
            "target >= 0.80x against ready)"
        )
    # Python's CPU moves less with the machine's load than the rates do.
    print(
        "median CPU of this process (µs an event, Elasticsearch's not included): "
        + ", ".join(f"{kind} {median(cpu[kind]):.1f}" for kind in RUNS)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
