"""File ingest: access-log lines/s parsed and stored, against a regex-split floor.

    .venv/bin/python bench/file_ingest.py [--lines 200000] [--quick] [--batch 1000]

Builds (deterministically) an nginx combined access log of the public-service portal:
citizens' requests with a few attacks mixed in (SQL injection, traversal, scanners, a
login brute force), so the bundled rules raise alerts and incidents as they would in
production. Then, in this one process and over the same file:

- floor: every line matched by one compiled regex of the combined format (the fields
  split, nothing converted), read with plain buffered line iteration;
- parse: `FileReader` (format nginx): lines -> `EventBuilder` -> Events, not stored;
- ingest: the same batches through `IngestPipeline` (dedupe -> bundled rules ->
  incident grouping -> one SQLite transaction a batch) into a fresh SQLite store, as
  `canhgac ingest` does.

Prints lines/s of each and the ratios parse/floor and ingest/floor.
"""

import argparse
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from canhgac.collectors import FileReader, SourceLabels
from canhgac.correlator import Correlator, load_rules
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import IngestPipeline, OutcomeTotals
from canhgac.storage import SQLiteStore

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 24, 7, 0, tzinfo=ZONE)

FLOOR = re.compile(
    rb'(\S+) (\S+) (\S+) \[([^\]]*)\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+|-)'
    rb'(?: "([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)")?'
)

PATHS = (
    "/",
    "/dvc/thu-tuc?linh_vuc=dat-dai&page={n}",
    "/dvc/ho-so/H23.45-2611-{n:06d}",
    "/tra-cuu?q=gi%E1%BA%A5y+ph%C3%A9p+x%C3%A2y+d%E1%BB%B1ng",
    "/static/js/app.min.js?v={n}",
    "/static/css/site.css",
    "/api/thong-bao?since={n}",
    "/hoi-dap/{n}",
)
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) Chrome/129.0 Mobile Safari/537.36",
    "Zalo/24.10 (Android 13)",
)
ATTACKS = (
    ("GET", "/dvc/thu-tuc?id=1'%20OR%20'1'='1", 500, "Mozilla/5.0"),
    ("GET", "/static/../../../../etc/passwd", 400, "Mozilla/5.0"),
    ("GET", "/.env", 404, "Mozilla/5.0 (compatible; Nuclei - Open-source project)"),
    ("GET", "/wp-login.php", 404, "sqlmap/1.8.4#stable (https://sqlmap.org)"),
    ("POST", "/dang-nhap", 200, "python-requests/2.32.3"),
)


def access_lines(count: int, seed: int = 4) -> Iterator[str]:
    """`count` combined-format lines, one second apart on average, 2 % of them attacks."""
    rng = random.Random(seed)
    for n in range(count):
        moment = START + timedelta(milliseconds=n * 1000 // 3)
        stamp = moment.strftime("%d/%b/%Y:%H:%M:%S %z")
        if rng.random() < 0.02:
            method, path, status, agent = ATTACKS[rng.randrange(len(ATTACKS))]
            client = f"198.51.100.{rng.randrange(1, 20)}"
        else:
            method = "GET" if rng.random() < 0.9 else "POST"
            path = rng.choice(PATHS).format(n=rng.randrange(100_000))
            status = rng.choice((200, 200, 200, 200, 304, 302, 404))
            agent = rng.choice(AGENTS)
            client = f"113.{rng.randrange(160, 192)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        size = rng.randrange(200, 60_000)
        referrer = "https://dichvucong.haugiang.gov.vn/" if rng.random() < 0.5 else "-"
        yield (
            f'{client} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} '
            f'"{referrer}" "{agent}"\n'
        )


def floor_run(path: Path) -> tuple[float, int]:
    matched = 0
    started = time.perf_counter()
    with path.open("rb") as lines:
        for line in lines:
            if FLOOR.match(line) is not None:
                matched += 1
    return time.perf_counter() - started, matched


def parse_run(path: Path, batch: int) -> tuple[float, int]:
    events = 0
    started = time.perf_counter()
    with FileReader(
        path, format="nginx", labels=SourceLabels("portal"), timezone=ZONE, batch_lines=batch
    ) as reader:
        for step in reader.batches():
            events += len(step.batch.events)
    return time.perf_counter() - started, events


def ingest_run(path: Path, batch: int, folder: Path) -> tuple[float, OutcomeTotals]:
    totals = OutcomeTotals()
    ruleset = load_rules([])
    with SQLiteStore.open(folder / "canhgac.sqlite3") as store:
        pipeline = IngestPipeline(
            store, Correlator(ruleset), IncidentGrouper(timedelta(minutes=15))
        )
        started = time.perf_counter()
        with FileReader(
            path,
            format="nginx",
            labels=SourceLabels("portal", system="dichvucong"),
            timezone=ZONE,
            batch_lines=batch,
        ) as reader:
            for step in reader.batches():
                totals.add(pipeline.process(step.batch))
        elapsed = time.perf_counter() - started
    return elapsed, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 lines: a smoke run")
    parser.add_argument("--batch", type=int, default=1000, help="lines a batch (default 1000)")
    args = parser.parse_args(argv)
    count = 20_000 if args.quick else args.lines

    with tempfile.TemporaryDirectory(prefix="canhgac-file-bench-") as tmp:
        folder = Path(tmp)
        log = folder / "portal-access.log"
        with log.open("w", encoding="utf-8") as out:
            out.writelines(access_lines(count))
        size_mib = log.stat().st_size / 2**20
        print(f"{count:,} nginx combined lines, {size_mib:.1f} MiB, batches of {args.batch:,}")

        floor_s, matched = floor_run(log)
        parse_s, events = parse_run(log, args.batch)
        ingest_s, totals = ingest_run(log, args.batch, folder)

    if matched != count or events != count or totals.events != count:
        print(
            f"error: floor matched {matched:,}, parser gave {events:,} events, "
            f"the store took {totals.events:,}, of {count:,} lines",
            file=sys.stderr,
        )
        return 1
    rows = (
        ("floor (compiled regex split)", floor_s),
        ("parse (FileReader, nginx)", parse_s),
        ("ingest (parse + rules + SQLite)", ingest_s),
    )
    print(f"{'':34} {'lines/s':>12} {'s':>8} {'x floor':>9}")
    for label, seconds in rows:
        rate = count / seconds
        print(f"{label:34} {rate:>12,.0f} {seconds:>8.2f} {floor_s / seconds:>8.3f}x")
    print(
        f"ingest: {totals.alerts:,} alerts, {totals.new_incidents:,} new incidents, "
        f"{totals.dead_letters:,} dead letters; at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
