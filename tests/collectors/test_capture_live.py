"""Live capture (`type: capture`) on the loopback interface with a real tshark, while
the test sends DNS over UDP and an HTTP request to a local server."""

import json
import socket
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR

from canhgac.collectors import InterfaceCapture, build_collector
from canhgac.config import CaptureSourceConfig, Settings
from canhgac.events import Event
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint
from tests._running_service import RunningService
from tests.conftest import free_port, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERIED = "dichvucong.haugiang.gov.vn"
RESOLVER = "127.0.0.153"
WAIT_SECONDS = 60.0


class _Portal(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>Cong dich vu cong</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the capture, not the server's log."""


@pytest.fixture
def portal() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def resolver() -> Iterator[str]:
    """A DNS responder on port 53 of a loopback address of its own (127.0.0.1 and
    127.0.0.53 may have one already); binding port 53 needs root, as these tests run."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((RESOLVER, 53))
    except PermissionError:
        sock.close()
        pytest.skip("binding port 53 needs root (or CAP_NET_BIND_SERVICE)")
    sock.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                data, sender = sock.recvfrom(2048)
            except TimeoutError:
                continue
            query = DNS(data)
            reply = DNS(id=query.id, qr=1, ra=1, qd=query.qd,
                        an=[DNSRR(rrname=QUERIED, rdata="203.162.4.10", ttl=60)])  # fmt: skip
            sock.sendto(bytes(reply), sender)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield RESOLVER
    finally:
        stop.set()
        thread.join()
        sock.close()


class Batches:
    def __init__(self) -> None:
        self.batches: list[CollectedBatch] = []

    def __call__(self, batch: CollectedBatch) -> None:
        self.batches.append(batch)

    @property
    def events(self) -> list[Event]:
        return [e for batch in self.batches for e in batch.events]


def wait_for(condition: Callable[[], bool], poll: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS:.0f} s")
        poll()
        time.sleep(0.2)


def dns_query(address: str, ident: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(bytes(DNS(id=ident, rd=1, qd=DNSQR(qname=QUERIED))), (address, 53))
        sock.recvfrom(2048)


def query_and_poll(capture: InterfaceCapture, resolver: str, idents: Iterator[int]) -> None:
    dns_query(resolver, next(idents))
    capture.poll()


def test_live_capture_on_loopback(portal: int, resolver: str) -> None:
    require_tool("tshark", "tshark")
    config = CaptureSourceConfig(
        name="tap-lo",
        interface="lo",
        # This test's traffic only: other work on this machine uses the loopback too.
        capture_filter=f"host {resolver} or tcp port {portal}",
        system="ioc-test",
        idle_timeout=2,
    )
    batches = Batches()
    capture = InterfaceCapture(config, load_checkpoint=lambda name: None, submit=batches)
    capture.start()
    try:
        # tshark starts in the background: query until it has seen one.
        ident = iter(range(1000, 2000))
        wait_for(lambda: capture.packets > 0, lambda: query_and_poll(capture, resolver, ident),
                 "packet captured")  # fmt: skip
        with urllib.request.urlopen(f"http://127.0.0.1:{portal}/tra-cuu?ma=H23", timeout=5) as page:
            assert page.status == 200

        def http_seen() -> bool:
            return any(e.get("event.dataset") == "network.http" for e in batches.events)

        wait_for(http_seen, capture.poll, "HTTP event")

        def connection_seen() -> bool:
            return any(
                e.get("event.dataset") == "network.connection"
                and e.get("destination.port") == portal
                for e in batches.events
            )

        # The connection's event comes once it has ended (FIN both ways) and lingered.
        wait_for(connection_seen, capture.poll, "HTTP connection event")
    finally:
        capture.close()
    events = batches.events
    queries = [e for e in events if e.get("dns.type") == "query"]
    assert queries
    assert {e.get("dns.question.name") for e in queries} == {QUERIED}
    answers = [e for e in events if e.get("dns.type") == "answer"]
    assert any(e.get("dns.resolved_ip") == ("203.162.4.10",) for e in answers)
    (http,) = [e for e in events if e.get("event.dataset") == "network.http"]
    assert http.get("http.request.method") == "GET"
    assert http.get("url.original") == "/tra-cuu?ma=H23"
    assert http.get("url.domain") == "127.0.0.1"
    assert http.get("http.response.status_code") == 200
    assert http.get("destination.port") == portal
    connections = [e for e in events if e.get("event.dataset") == "network.connection"]
    web = [c for c in connections if c.get("destination.port") == portal]
    assert len(web) == 1
    flags = web[0].get("canhgac.tcp.flags")
    assert isinstance(flags, tuple)
    assert "SYN" in flags
    assert {e.get("labels.system") for e in events} == {"ioc-test"}
    assert len({e.id for e in events}) == len(events)
    last = batches.batches[-1].checkpoints[0]
    assert last.name == "capture:tap-lo"
    assert last.state["packets"] == capture.packets == sum(b.lines for b in batches.batches)


def test_packet_numbers_continue_from_the_checkpoint(resolver: str) -> None:
    require_tool("tshark", "tshark")
    config = CaptureSourceConfig(name="tap-lo-2", interface="lo", capture_filter=f"host {resolver}")
    stored = Checkpoint("capture:tap-lo-2", {"interface": "lo", "packets": 500})
    batches = Batches()
    capture = InterfaceCapture(
        config, load_checkpoint=lambda name: stored if name == stored.name else None, submit=batches
    )
    capture.start()
    try:
        ident = iter(range(1000, 2000))
        wait_for(lambda: capture.packets > 500, lambda: query_and_poll(capture, resolver, ident),
                 "packet captured")  # fmt: skip
    finally:
        capture.close()
    assert batches.batches[0].checkpoints[0].state["packets"] > 500


def test_a_display_filter_keeps_only_what_it_matches(resolver: str) -> None:
    require_tool("tshark", "tshark")
    config = CaptureSourceConfig(
        name="tap-lo-3",
        interface="lo",
        capture_filter=f"host {resolver}",
        display_filter="dns.flags.response == 0",
    )
    batches = Batches()
    capture = InterfaceCapture(config, load_checkpoint=lambda name: None, submit=batches)
    capture.start()
    try:
        ident = iter(range(1000, 2000))
        wait_for(lambda: capture.packets >= 3, lambda: query_and_poll(capture, resolver, ident),
                 "packets captured")  # fmt: skip
    finally:
        capture.close()
    dns = [e for e in batches.events if e.get("event.dataset") == "network.dns"]
    assert dns
    assert {e.get("dns.type") for e in dns} == {"query"}


def test_an_interface_that_does_not_exist() -> None:
    require_tool("tshark", "tshark")
    config = CaptureSourceConfig(name="tap-none", interface="canhgac-none0")
    capture = InterfaceCapture(config, load_checkpoint=lambda name: None, submit=Batches())
    capture.start()
    try:
        wait_for(lambda: capture.failure is not None, capture.poll, "failure reported")
    finally:
        capture.close()
    assert capture.failure is not None
    assert capture.failure.startswith("capture tap-none on canhgac-none0 stopped: ")


def test_canhgac_run_stores_captured_events_with_the_packet_count(
    resolver: str, tmp_path: Path
) -> None:
    """A real `canhgac run` with a capture source: events and the packet count reach the
    store in the same transactions; SIGTERM stops tshark with the service."""
    require_tool("tshark", "tshark")
    source = {"type": "capture", "name": "tap-run", "interface": "lo",
              "capture_filter": f"host {resolver}", "poll_interval": 0.2}  # fmt: skip
    service = RunningService.in_folder(tmp_path, {"sources": [source]})
    log_path = service.log
    database = service.data / "canhgac.sqlite3"

    def stored_queries() -> int:
        if not database.exists():
            return 0
        with sqlite3.connect(database) as db:
            query = "SELECT count(*) FROM events WHERE dataset = 'network.dns'"
            count: int = db.execute(query).fetchone()[0]
        return count

    service.start(wait=False)
    assert service.process is not None
    try:
        ident = iter(range(1000, 5000))
        deadline = time.monotonic() + WAIT_SECONDS
        while stored_queries() < 4:
            assert service.process.poll() is None, log_path.read_text()
            if time.monotonic() > deadline:
                pytest.fail("no DNS events stored by canhgac run:\n" + log_path.read_text())
            dns_query(resolver, next(ident))
            time.sleep(0.3)
    finally:
        service.stop(30)
    assert service.process.returncode == 0, log_path.read_text()
    with sqlite3.connect(database) as db:
        (state,) = db.execute(
            "SELECT state FROM checkpoints WHERE name = 'capture:tap-run'"
        ).fetchone()
        dns_events = db.execute(
            "SELECT count(*) FROM events WHERE dataset = 'network.dns'"
        ).fetchone()[0]
    # Each stored DNS event is one packet; the count covers every packet submitted.
    assert json.loads(state)["packets"] >= dns_events >= 4
    assert "Traceback" not in log_path.read_text()


def test_configured_as_a_source(tmp_path: Any) -> None:
    settings = Settings.model_validate(
        {
            "sources": [
                {
                    "type": "capture",
                    "name": "tap-dc",
                    "interface": "eth1",
                    "capture_filter": "not port 22",
                }
            ]
        }
    )
    (source,) = settings.sources
    assert isinstance(source, CaptureSourceConfig)
    collector = build_collector(
        source,
        load_checkpoint=lambda name: None,
        submit=Batches(),
        timezone=settings.zone,
        batch_lines=100,
    )
    assert isinstance(collector, InterfaceCapture)
    assert collector.name == "tap-dc"
