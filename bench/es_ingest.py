"""Events per second into Elasticsearch: through `ElasticsearchStore.write` against the
official client's `helpers.parallel_bulk` of the same documents, in the same run.

    scripts/elasticsearch start
    .venv/bin/python bench/es_ingest.py [--url URL] [--events 200000] [--batch 1000]

The events are the bundled nginx sample log parsed by canhgac, repeated with distinct
offsets. The store's run includes everything it does: turning events into documents,
the spool record (fsync'ed), the bulk requests (the same helper and threads) and the
checkpoints, until Elasticsearch has acknowledged every document. parallel_bulk runs
twice: on documents made before the clock starts ("ready", the strict comparison), and
on documents made from the events as it streams them ("made"). All write into indices
made from the same templates. The runs alternate, round after round; the median ratio
over the rounds is the figure (the target: store >= 0.8 x parallel_bulk).
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

from canhgac.collectors._event_builder import EventBuilder, SourceLabels
from canhgac.events import Event
from canhgac.parsers import ParseContext, get_parser
from canhgac.storage import Checkpoint, ElasticsearchStore, WriteBatch
from canhgac.storage._elasticsearch_docs import event_document, event_index

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "portal-access.log"
THREADS = 4
CHUNK = 500


def sample_events(count: int) -> list[Event]:
    """`count` events parsed from the bundled nginx log, each line at its own offset."""
    lines = SAMPLE.read_bytes().splitlines()
    context = ParseContext(datetime.now(UTC), ZoneInfo("Asia/Ho_Chi_Minh"))
    builder = EventBuilder(
        get_parser("nginx"),
        SourceLabels("bench", system="Cổng dịch vụ công", organization="Sở KH&CN"),
        context,
        origin=uuid.uuid4().hex,
        path="/var/log/nginx/portal-access.log",
    )
    events: list[Event] = []
    position = 0
    while len(events) < count:
        for raw in lines:
            built = builder.build(raw, position, None)
            position += len(raw) + 1
            if isinstance(built, Event):
                events.append(built)
                if len(events) == count:
                    break
    return events


def batches(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def run_store(url: str, events: Sequence[Event], batch: int, folder: Path) -> float:
    """Seconds to write every event through the store, batch by batch."""
    prefix = f"bench-store-{uuid.uuid4().hex[:8]}"
    with ElasticsearchStore.open(
        url, spool_dir=folder / prefix, index_prefix=prefix, bulk_threads=THREADS
    ) as store:
        started = time.perf_counter()
        for n, part in enumerate(batches(events, batch)):
            checkpoint = Checkpoint("bench", {"batch": n})
            store.write(WriteBatch(events=part, checkpoints=[checkpoint]))
        # Until Elasticsearch has acknowledged every document, not just the spool.
        if not store.flush():
            raise SystemExit("Elasticsearch did not take every batch")
        elapsed = time.perf_counter() - started
        stored = store.counts().events
    drop(url, prefix)
    if stored != len(events):
        raise SystemExit(f"the store kept {stored} of {len(events)} events")
    return elapsed


def run_parallel_bulk(url: str, events: Sequence[Event], folder: Path, *, ready: bool) -> float:
    """Seconds for helpers.parallel_bulk to create the same documents, made before the
    clock starts (`ready`) or from the events as they are sent."""
    prefix = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    # Opening a store installs the same index templates; its documents, made ahead.
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
        for index in sorted({event_index(prefix, event.timestamp) for event in events}):
            es.indices.create(index=index)
        started = time.perf_counter()
        actions: Iterable[dict[str, Any]] = made if made is not None else map(action, events)
        failed = sum(
            1
            for ok, _ in helpers.parallel_bulk(
                es, actions, thread_count=THREADS, chunk_size=CHUNK, raise_on_error=False
            )
            if not ok
        )
        elapsed = time.perf_counter() - started
        es.indices.refresh(index=f"{prefix}-events-*")
        stored = es.count(index=f"{prefix}-events-*")["count"]
    drop(url, prefix)
    if failed or stored != len(events):
        raise SystemExit(f"parallel_bulk kept {stored} of {len(events)} events ({failed} failed)")
    return elapsed


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
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per store.write")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    events = sample_events(args.events)
    print(f"{len(events)} events, store batches of {args.batch}, {THREADS} bulk threads")
    rates: dict[str, list[float]] = {"ready": [], "made": [], "store": []}
    with tempfile.TemporaryDirectory(prefix="canhgac-bench-") as folder:
        for round_number in range(1, args.rounds + 1):
            for run in rates:
                if run == "store":
                    seconds = run_store(args.url, events, args.batch, Path(folder))
                else:
                    seconds = run_parallel_bulk(
                        args.url, events, Path(folder), ready=run == "ready"
                    )
                rates[run].append(len(events) / seconds)
            ready, made, store = (rates[run][-1] for run in ("ready", "made", "store"))
            print(
                f"round {round_number}: parallel_bulk {ready:,.0f} events/s (documents "
                f"ready), {made:,.0f} (documents made); store {store:,.0f} events/s: "
                f"{store / ready:.2f}x, {store / made:.2f}x"
            )
    for baseline in ("ready", "made"):
        ratios = [s / b for s, b in zip(rates["store"], rates[baseline], strict=True)]
        print(
            f"median over {args.rounds} rounds, against documents {baseline}: parallel_bulk "
            f"{median(rates[baseline]):,.0f} events/s, store {median(rates['store']):,.0f} "
            f"events/s, ratio {median(ratios):.2f}x (target >= 0.80x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
