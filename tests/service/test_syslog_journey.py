"""Syslog into a real `canhgac run`: a TCP burst, a `kill -9` while the received messages
are still being stored, a restart, more messages; each one stored exactly once."""

import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from canhgac.collectors._syslog_spool import KIND_MESSAGE, Received, SyslogSpool
from tests._running_service import RunningService, wait_for
from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BURST = 60_000


def message(n: int) -> bytes:
    return b"<38>1 2026-11-24T08:15:02+07:00 web01 app %d - - journey message %d" % (n, n)


@pytest.fixture
def syslog_port() -> int:
    return free_port()


@pytest.fixture
def service(tmp_path: Path, syslog_port: int) -> Iterator[RunningService]:
    source = {
        "type": "syslog",
        "name": "syslog-dc",
        "listen": [{"protocol": "tcp", "address": "127.0.0.1", "port": syslog_port}],
        "organization": "So TT&TT",
        "tags": [{"network": "127.0.0.0/8", "system": "loopback"}],
        "poll_interval": 0.5,
    }
    # A queue that never fills: the receiver reads the whole burst at once, well ahead
    # of the pipeline, so the kill finds it received, not stored.
    pipeline = {"batch_size": 1000, "queue_batches": 1000}
    running = RunningService.in_folder(tmp_path, {"pipeline": pipeline, "sources": [source]})
    yield running
    running.stop()


def stored(database: Path) -> list[dict[str, object]]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT doc FROM events").fetchall()
    return [json.loads(doc) for (doc,) in rows]


def stored_count(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT count(*) FROM events").fetchone()
    return int(count)


def spooled_bytes(spool_dir: Path) -> int:
    return sum(segment.stat().st_size for segment in spool_dir.glob("*.spool"))


def spool_size(folder: Path, numbers: range) -> int:
    """The bytes a spool takes for these messages from 127.0.0.1 (a scratch spool's)."""
    scratch = SyslogSpool(folder, 1 << 40)
    scratch.open(None)
    scratch.append(
        [Received(0.0, KIND_MESSAGE, 1, "127.0.0.1", 0, "", message(n)) for n in numbers]
    )
    scratch.close()
    return scratch.end.offset


def send(port: int, numbers: range) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"".join(message(n) + b"\n" for n in numbers))


def test_kill_9_while_storing_loses_and_doubles_no_received_message(
    service: RunningService, syslog_port: int, tmp_path: Path
) -> None:
    data = service.data
    database = data / "canhgac.sqlite3"
    spool_dir = data / "syslog-spool" / "syslog-dc"  # the default: no spool_dir configured
    service.start()

    burst_bytes = spool_size(tmp_path / "scratch", range(BURST))
    send(syslog_port, range(BURST))
    # Every message sent is received (in the spool) before the kill, not all stored yet.
    wait_for(lambda: spooled_bytes(spool_dir) >= burst_bytes, 120, "the burst to be received")
    service.kill9()
    stored_at_kill = stored_count(database)
    assert stored_at_kill < BURST, "the kill came after the whole burst was stored"

    service.start()
    send(syslog_port, range(BURST, BURST + 10))
    wait_for(lambda: stored_count(database) >= BURST + 10, 120, "every message to be stored")
    documents = stored(database)
    originals = sorted(str(d["event.original"]) for d in documents)
    assert originals == sorted(message(n).decode() for n in range(BURST + 10))
    one = next(d for d in documents if d["event.original"] == message(7).decode())
    assert one["log.source.address"] == "127.0.0.1"
    assert one["organization.name"] == "So TT&TT"
    assert one["labels.system"] == "loopback"
    assert one["log.syslog.procid"] == "7"
    assert one["message"] == "journey message 7"
