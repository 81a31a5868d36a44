"""`canhgac status`: the loss accounting a user checks by hand, through the real command."""

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from canhgac.cli._status import loss_lines, report_document
from canhgac.storage import SourceCounters, SourceCountersReport
from canhgac.storage._elasticsearch import _source_document_id as source_document_id
from tests._running_service import RunningService, wait_for
from tests.conftest import run_canhgac
from tests.storage.elasticsearch_node import delete_prefix, elasticsearch_url, new_prefix

OVERSIZED_BYTES = 70_000  # longer than the 64 KiB a log line may be


def access_line(second: int) -> bytes:
    """An access-log line `second` seconds after 00:00:00 on 24 Nov 2026, Hanoi time."""
    clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    return (
        f"113.161.4.2 - - [24/Nov/2026:{clock} +0700] "
        f'"GET /dich-vu-cong/thu-tuc?id={second} HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n'
    ).encode()


def status_json(env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_canhgac("status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def only_source(document: dict[str, Any]) -> dict[str, Any]:
    (source,) = document["sources"]
    assert isinstance(source, dict)
    return source


# -- what is shown -------------------------------------------------------------------------


def test_a_whole_account_says_nothing_lost_in_one_line() -> None:
    report = SourceCountersReport.of(
        [SourceCounters("portal", received=10, parsed=7, dead_lettered=1, duplicates=2)]
    )
    assert loss_lines(report) == [
        "Nothing lost: received = parsed + dead-lettered + duplicates + aggregated for every "
        "source, and nothing was dropped."
    ]
    document = report_document(report, "sqlite")
    assert document["nothing_lost"] is True
    assert document["sources"][0]["unaccounted"] == 0


def test_each_source_that_lost_records_gets_a_line_saying_how_many() -> None:
    report = SourceCountersReport.of(
        [
            SourceCounters("portal", received=10, parsed=6, dead_lettered=1, duplicates=1),
            SourceCounters("syslog-udp", received=4, parsed=4, dropped=3),
            SourceCounters("auth", received=2, parsed=2),
            SourceCounters("pcap", received=40, parsed=3, aggregated=37),
        ]
    )
    assert loss_lines(report) == [
        "portal: +2 record(s) unaccounted for: received 10 != parsed 6 + dead-lettered 1 "
        "+ duplicates 1 + aggregated 0",
        "syslog-udp: 3 record(s) dropped before they could be read (the kernel's UDP "
        "buffer was full)",
    ]
    document = report_document(report, "sqlite")
    assert document["nothing_lost"] is False
    assert [s["nothing_lost"] for s in document["sources"]] == [True, True, False, False]
    assert document["totals"]["received"] == 56
    assert document["totals"]["aggregated"] == 37


# -- through the command -------------------------------------------------------------------


@pytest.mark.slow
def test_status_before_anything_was_ingested_creates_no_database(data_dir: Path) -> None:
    result = run_canhgac("status")
    assert result.returncode == 0, result.stderr
    assert "No source has delivered anything" in result.stdout
    assert "Nothing lost" in result.stdout
    assert not (data_dir / "canhgac.sqlite3").exists()
    assert status_json()["sources"] == []


def write_mixed_log(path: Path) -> None:
    """5 good lines, then 4 bad ones: garbage, invalid UTF-8, an oversized line, and a
    line that is not an access-log line; 9 lines in all."""
    with path.open("wb") as out:
        out.writelines(access_line(8 * 3600 + n) for n in range(1, 6))
        out.write(b"garbage that is no log line\n")
        out.write(b'113.161.4.2 - - [24/Nov/2026:08:00:09 +0700] "GET /\xff\xfe" 200 1\n')
        out.write(b"113.161.4.2 " + b"A" * OVERSIZED_BYTES + b"\n")
        out.write(b"Nov 24 08:00:10 web01 sshd[42]: Accepted password for root\n")


@pytest.mark.slow
def test_ingest_twice_then_status_shows_counts_a_user_can_check_by_hand(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "portal-access.log"
    write_mixed_log(log)

    first = run_canhgac("ingest", str(log), "--format", "nginx", "--json")
    assert first.returncode == 0, first.stderr
    source = only_source(status_json())
    assert (source["received"], source["parsed"], source["dead_lettered"]) == (9, 5, 4)
    assert (source["duplicates"], source["dropped"], source["late"]) == (0, 0, 0)
    assert source["last_event"] == "2026-11-24T01:00:05Z"  # 08:00:05 +07:00

    # Read again: the 5 events are recognised, the 4 bad lines dead-lettered again.
    again = run_canhgac("ingest", str(log), "--format", "nginx", "--json")
    assert again.returncode == 0, again.stderr
    document = status_json()
    source = only_source(document)
    assert source["source"] == "ingest"
    assert (source["received"], source["parsed"], source["dead_lettered"]) == (18, 5, 8)
    assert (source["duplicates"], source["unaccounted"]) == (5, 0)
    assert document["nothing_lost"] is True
    assert document["totals"]["received"] == 18
    with sqlite3.connect(data_dir / "canhgac.sqlite3") as db:
        stored_events = db.execute("SELECT count(*) FROM events").fetchone()[0]
        stored_letters = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    assert (stored_events, stored_letters) == (5, 8)  # the counters agree with the store

    # Three hours older than what was correlated: too late for every correlation window
    # (the longest bundled one is 1 h), yet stored.
    older = tmp_path / "older.log"
    older.write_bytes(access_line(5 * 3600 + 1) + access_line(5 * 3600 + 2))
    assert run_canhgac("ingest", str(older), "--format", "nginx").returncode == 0
    source = only_source(status_json())
    assert (source["received"], source["parsed"], source["late"]) == (20, 7, 2)
    assert source["last_event"] == "2026-11-24T01:00:05Z"

    table = run_canhgac("status")
    assert table.returncode == 0, table.stderr
    assert "ingest" in table.stdout
    assert "20" in table.stdout
    assert "Nothing lost: received = parsed + dead-lettered + duplicates" in table.stdout
    header = next(line for line in table.stdout.splitlines() if "received" in line)
    assert "aggregated" not in header  # no packet source here: no such column


@pytest.mark.slow
@pytest.mark.integration
def test_status_reads_the_counters_from_elasticsearch(data_dir: Path, tmp_path: Path) -> None:
    url = elasticsearch_url()
    prefix = new_prefix()
    env = {"CANHGAC_ES_URL": url, "CANHGAC_ELASTICSEARCH__INDEX_PREFIX": prefix}
    log = tmp_path / "portal-access.log"
    write_mixed_log(log)
    try:
        for _ in range(2):
            ingested = run_canhgac("ingest", str(log), "--format", "nginx", env=env)
            assert ingested.returncode == 0, ingested.stderr
        document = status_json(env)
        assert document["store"] == "elasticsearch"
        source = only_source(document)
        assert (source["received"], source["parsed"], source["dead_lettered"]) == (18, 5, 8)
        assert (source["duplicates"], source["unaccounted"]) == (5, 0)
        assert not (data_dir / "canhgac.sqlite3").exists()
    finally:
        delete_prefix(url, prefix)


# -- the running service, killed with -9 and started again -------------------------------


class StoredCounts:
    """The portal's counters and what is stored, read as another process would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.database = Path(env["CANHGAC_DATA_DIR"]) / "canhgac.sqlite3"
        self.journal = Path(env["CANHGAC_DATA_DIR"]) / "elasticsearch-spool" / "journal"
        self.es_url = env.get("CANHGAC_ES_URL")
        self.prefix = env.get("CANHGAC_ELASTICSEARCH__INDEX_PREFIX", "")

    def reading(self) -> bool:
        """Whether the service has begun to store the file: on Elasticsearch, as soon as
        its first batch is spooled (the sender may then take the rest in one go)."""
        if self.es_url is not None:
            return self.journal.exists() and self.journal.stat().st_size > 0
        return self.received() > 0

    def received(self) -> int:
        if self.es_url is not None:
            # A realtime get: a search would wait for the index's refresh.
            with Elasticsearch(self.es_url) as client:
                found = client.options(ignore_status=404).get(
                    index=f"{self.prefix}-source-counters", id=source_document_id("portal")
                )
            return int(found.body["_source"].get("received") or 0) if found.body.get("found") else 0
        if not self.database.exists():
            return 0
        with sqlite3.connect(self.database) as db:
            try:
                row = db.execute(
                    "SELECT received FROM source_counters WHERE source = 'portal'"
                ).fetchone()
            except sqlite3.OperationalError:
                return 0  # the service has not created its tables yet
        return 0 if row is None else int(row[0])

    def events_and_dead_letters(self) -> tuple[int, int]:
        if self.es_url is not None:
            with Elasticsearch(self.es_url) as client:
                client.indices.refresh(index=f"{self.prefix}-*")
                events = client.count(index=f"{self.prefix}-events")["count"]
                letters = client.count(index=f"{self.prefix}-dead-letters")["count"]
            return int(events), int(letters)
        with sqlite3.connect(self.database) as db:
            events = db.execute("SELECT count(*) FROM events").fetchone()[0]
            letters = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return int(events), int(letters)


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningService]:
    source = {
        "name": "portal",
        "type": "file",
        "paths": [str(tmp_path / "access.log")],
        "format": "nginx",
        "poll_interval": 0.2,
    }
    running = RunningService.in_folder(tmp_path, {"sources": [source]})
    url = prefix = None
    if request.param == "elasticsearch":
        url, prefix = elasticsearch_url(), new_prefix()
        running.env |= {"CANHGAC_ES_URL": url, "CANHGAC_ELASTICSEARCH__INDEX_PREFIX": prefix}
    try:
        yield running
    finally:
        try:
            running.stop()
        finally:
            if url is not None and prefix is not None:
                delete_prefix(url, prefix)


@pytest.mark.slow
@pytest.mark.integration
def test_after_kill_9_and_a_restart_the_counts_equal_the_lines_in_the_file(
    service: RunningService, tmp_path: Path
) -> None:
    # 60,000 lines: every 1,000th garbage and every 10,000th oversized (60 + 6 bad ones).
    total, garbage, oversized = 60_000, 0, 0
    with (tmp_path / "access.log").open("wb") as out:
        for n in range(total):
            if n % 10_000 == 9_999:
                out.write(b"113.161.4.2 " + b"A" * OVERSIZED_BYTES + b"\n")
                oversized += 1
            elif n % 1_000 == 500:
                out.write(b"garbage that is no log line\n")
                garbage += 1
            else:
                out.write(access_line(n))
    assert (garbage, oversized) == (60, 6)
    stored = StoredCounts(service.env)

    service.start(wait=False)
    wait_for(stored.reading, 60, "the first batch to be stored")
    service.kill9()
    assert stored.received() < total, "the kill came after the whole file was read"

    service.start(seconds=180)
    wait_for(lambda: stored.received() >= total, 180, "every line to be counted")
    time.sleep(1)  # anything counted twice would arrive now
    document = status_json(service.env)
    source = only_source(document)
    assert source["received"] == total
    assert source["parsed"] == total - garbage - oversized
    assert source["dead_lettered"] == garbage + oversized
    assert (source["duplicates"], source["dropped"], source["unaccounted"]) == (0, 0, 0)
    assert document["nothing_lost"] is True
    assert stored.events_and_dead_letters() == (source["parsed"], source["dead_lettered"])
