"""The portal monitor against local HTTP and HTTPS servers the tests control, through the
real pipeline and SQLite store with the bundled rules."""

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from canhgac.collectors import PortalMonitor, build_collector, rebaseline_checkpoint_name
from canhgac.config import PortalMonitorSourceConfig
from canhgac.correlator import Correlator, load_rules
from canhgac.events import Event
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import CollectedBatch, IngestPipeline
from canhgac.storage import Checkpoint, IncidentQuery, SQLiteStore, WriteBatch
from tests.conftest import free_port

pytestmark = pytest.mark.integration

PORTAL_PAGE = """<!doctype html><html><head><title>Cổng dịch vụ công tỉnh</title>
<script>var csrf = "{token}";</script></head><body>
<h1>Cổng dịch vụ công tỉnh Hậu Giang</h1>
<p>Tra cứu hồ sơ, nộp hồ sơ trực tuyến, thanh toán phí và lệ phí.</p>
<ul><li><a href="/thu-tuc?v={count}">Thủ tục hành chính</a></li>
<li><a href="/tra-cuu">Tra cứu hồ sơ</a></li><li><a href="/hoi-dap">Hỏi đáp</a></li></ul>
<p>Cập nhật lúc {count} - lượt truy cập: {count}</p>
<input type="hidden" name="__RequestVerificationToken" value="{token}">
</body></html>"""

DEFACED_PAGE = """<html><body style="background:black"><h1>Site owned by the black
legion</h1><img src="/skull.gif"><marquee>greetings to all crews</marquee></body></html>"""

MARKER_PAGE = PORTAL_PAGE.replace("Hỏi đáp", "Hỏi đáp - hacked by anonymous")


class Portal:
    """A portal whose answers the test sets: page, status and delay."""

    def __init__(self) -> None:
        self.page = PORTAL_PAGE
        self.status = 200
        self.delay = threading.Event()  # set: answer only after `release` is set
        self.release = threading.Event()
        self.hits = 0

    def render(self) -> bytes:
        self.hits += 1
        return self.page.format(token=f"{self.hits:032x}", count=self.hits * 7919).encode()


def _handler(portal: Portal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if portal.delay.is_set():
                portal.release.wait(10)
            body = portal.render()
            self.send_response(portal.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the monitor's events, not the server's log."""

    return Handler


class Server:
    def __init__(self, portal: Portal, port: int, context: ssl.SSLContext | None = None) -> None:
        self.portal, self.port, self.context = portal, port, context
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.portal))
        if self.context is not None:
            httpd.socket = self.context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None and self._thread is not None:
            self.portal.release.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None


@pytest.fixture
def portal() -> Portal:
    return Portal()


@pytest.fixture
def http_server(portal: Portal) -> Iterator[Server]:
    server = Server(portal, free_port())
    server.start()
    yield server
    server.stop()


class Clock:
    """The monitor's monotonic clock, moved by the test: each `tick` makes targets due."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += 3600


class Harness:
    """The monitor feeding the real pipeline: bundled rules, SQLite store."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = SQLiteStore.open(tmp_path / "canhgac.sqlite3")
        self.pipeline = IngestPipeline(
            self.store, Correlator(load_rules([])), IncidentGrouper(timedelta(minutes=15))
        )
        self.events: list[Event] = []
        self.clock = Clock()

    def submit(self, batch: CollectedBatch) -> None:
        self.events.extend(batch.events)
        self.pipeline.process(batch)

    def monitor(self, **target: Any) -> PortalMonitor:
        defaults: dict[str, Any] = {"name": "dichvucong", "interval": 60, "timeout": 5}
        ca_file = target.pop("ca_file", None)
        config = PortalMonitorSourceConfig.model_validate(
            {
                "type": "portal_monitor",
                "name": "portals",
                "system": "dichvucong",
                "organization": "Sở TT&TT",
                "targets": [{**defaults, **target}],
                "ca_file": ca_file,
            }
        )
        monitor = PortalMonitor(
            config, load_checkpoint=self.store.checkpoint, submit=self.submit, clock=self.clock
        )
        monitor.start()
        return monitor

    def check(self, monitor: PortalMonitor) -> list[str]:
        """One check; the actions of the events it raised."""
        before = len(self.events)
        assert monitor.poll() == 1
        self.clock.tick()
        return [str(e.get("event.action")) for e in self.events[before:]]

    def incident_titles(self) -> list[str]:
        page = self.store.list_incidents(IncidentQuery(limit=100))
        return sorted(incident.title for incident in page.items)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    opened = Harness(tmp_path)
    yield opened
    opened.store.close()


def test_up_down_up_raises_one_outage_and_one_recovery(
    harness: Harness, portal: Portal, http_server: Server
) -> None:
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/")
    assert harness.check(monitor) == []
    portal.status = 503
    assert harness.check(monitor) == ["portal_down"]
    assert harness.check(monitor) == []  # still down: reported once
    portal.status = 200
    http_server.stop()
    assert harness.check(monitor) == []  # refused now: the outage goes on
    http_server.start()
    assert harness.check(monitor) == ["portal_up"]
    monitor.close()

    down, up = harness.events
    assert down.get("event.dataset") == "canhgac.portal_monitor"
    assert down.get("http.response.status_code") == 503
    assert down.get("event.reason") == "answered 503, expected 200"
    assert down.get("url.full") == f"http://127.0.0.1:{http_server.port}/"
    assert down.get("labels.system") == "dichvucong"
    assert down.get("organization.name") == "Sở TT&TT"
    assert isinstance(down.get("event.duration"), int)
    assert up.get("event.outcome") == "success"
    assert "Provincial Portal Down" in harness.incident_titles()


def test_a_refused_connection_is_an_outage_with_the_reason(harness: Harness) -> None:
    port = free_port()
    monitor = harness.monitor(url=f"http://127.0.0.1:{port}/")
    assert harness.check(monitor) == ["portal_down"]
    monitor.close()
    assert harness.events[0].get("error.type") == "connection"
    assert "refused" in str(harness.events[0].get("error.message")).lower()


def test_a_timeout_is_an_outage(harness: Harness, portal: Portal, http_server: Server) -> None:
    portal.delay.set()
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/", timeout=0.3)
    assert harness.check(monitor) == ["portal_down"]
    monitor.close()
    assert harness.events[0].get("error.type") == "timeout"
    assert harness.events[0].get("event.reason") == "no answer within 0.3 s"


def test_a_slow_answer_is_reported_once(
    harness: Harness, portal: Portal, http_server: Server
) -> None:
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/", slow_threshold=0.2)
    assert harness.check(monitor) == []
    portal.delay.set()
    threading.Timer(0.5, portal.release.set).start()
    assert harness.check(monitor) == ["portal_slow"]
    monitor.close()
    assert "Provincial Portal Answering Slowly" in harness.incident_titles()


def test_a_defaced_page_is_reported_and_a_rebaseline_accepts_it(
    harness: Harness, portal: Portal, http_server: Server
) -> None:
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/")
    assert harness.check(monitor) == []
    assert harness.check(monitor) == []  # new CSRF token, counters: not a change
    portal.page = DEFACED_PAGE
    assert harness.check(monitor) == ["portal_defaced"]
    assert harness.check(monitor) == []
    assert harness.incident_titles() == ["Provincial Portal Defacement"]
    defaced = harness.events[0]
    assert float(str(defaced.get("canhgac.portal.similarity"))) < 0.5

    # The baseline survives a restart: a new monitor on the same store still sees it.
    monitor.close()
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/")
    assert harness.check(monitor) == []  # still defaced, and known to be
    portal.page = PORTAL_PAGE
    assert harness.check(monitor) == []

    # An administrator approves a redesign: it becomes the baseline.
    portal.page = DEFACED_PAGE
    harness.store.write(
        WriteBatch(
            checkpoints=(
                Checkpoint(
                    rebaseline_checkpoint_name("portals", "dichvucong"),
                    {"requested_at": datetime.now(UTC).isoformat()},
                ),
            )
        )
    )
    assert harness.check(monitor) == []
    assert harness.check(monitor) == []
    monitor.close()


def test_a_defacement_marker_is_reported(
    harness: Harness, portal: Portal, http_server: Server
) -> None:
    monitor = harness.monitor(url=f"http://127.0.0.1:{http_server.port}/")
    assert harness.check(monitor) == []
    portal.page = MARKER_PAGE
    assert harness.check(monitor) == ["portal_defaced"]
    monitor.close()
    assert harness.events[0].get("canhgac.portal.markers") == ("hacked by",)


# -- TLS -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def https_server(portal: Portal, cert: trustme.LeafCert) -> Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = Server(portal, free_port(), context)
    server.start()
    return server


def trusted(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def test_a_valid_certificate_close_to_expiry_is_reported(
    harness: Harness, portal: Portal, authority: trustme.CA, tmp_path: Path
) -> None:
    expires = datetime.now(UTC) + timedelta(days=5)
    server = https_server(portal, authority.issue_cert("127.0.0.1", not_after=expires))
    try:
        monitor = harness.monitor(
            url=f"https://127.0.0.1:{server.port}/",
            certificate_warning_days=14,
            ca_file=trusted(authority, tmp_path),
        )
        assert harness.check(monitor) == ["tls_certificate_expiring"]
        assert harness.check(monitor) == []
        monitor.close()
    finally:
        server.stop()
    event = harness.events[0]
    assert str(event.get("tls.server.x509.not_after")).startswith(f"{expires:%Y-%m-%dT%H:%M}")
    assert "Provincial Portal TLS Certificate Expiring Soon" in harness.incident_titles()


def test_a_certificate_far_from_expiry_is_quiet(
    harness: Harness, portal: Portal, authority: trustme.CA, tmp_path: Path
) -> None:
    server = https_server(portal, authority.issue_cert("127.0.0.1"))
    try:
        monitor = harness.monitor(
            url=f"https://127.0.0.1:{server.port}/", ca_file=trusted(authority, tmp_path)
        )
        assert harness.check(monitor) == []
        monitor.close()
    finally:
        server.stop()


def test_an_expired_certificate_is_invalid_and_the_page_still_checked(
    harness: Harness, portal: Portal, authority: trustme.CA, tmp_path: Path
) -> None:
    expired = authority.issue_cert(
        "127.0.0.1",
        not_before=datetime.now(UTC) - timedelta(days=400),
        not_after=datetime.now(UTC) - timedelta(days=3),
    )
    server = https_server(portal, expired)
    try:
        monitor = harness.monitor(
            url=f"https://127.0.0.1:{server.port}/", ca_file=trusted(authority, tmp_path)
        )
        assert harness.check(monitor) == ["tls_certificate_invalid"]
        portal.page = MARKER_PAGE
        assert harness.check(monitor) == ["portal_defaced"]
        monitor.close()
    finally:
        server.stop()
    invalid = harness.events[0]
    assert invalid.get("event.reason") == "TLS certificate not trusted: certificate has expired"
    assert invalid.get("http.response.status_code") == 200
    assert invalid.get("tls.server.x509.not_after") is not None


def test_a_certificate_from_an_unknown_authority_is_invalid(
    harness: Harness, portal: Portal, authority: trustme.CA
) -> None:
    # Not given the authority's file: as for a self-signed certificate, nothing vouches.
    server = https_server(portal, authority.issue_cert("127.0.0.1"))
    try:
        monitor = harness.monitor(url=f"https://127.0.0.1:{server.port}/")
        assert harness.check(monitor) == ["tls_certificate_invalid"]
        monitor.close()
    finally:
        server.stop()
    assert "unable to get local issuer certificate" in str(harness.events[0].get("event.reason"))
    assert "Provincial Portal TLS Certificate Not Trusted" in harness.incident_titles()


def test_the_registry_builds_a_portal_monitor(harness: Harness) -> None:
    config = PortalMonitorSourceConfig.model_validate(
        {"type": "portal_monitor", "name": "p", "targets": [{"name": "a", "url": "http://x/"}]}
    )
    built = build_collector(
        config,
        load_checkpoint=harness.store.checkpoint,
        submit=harness.submit,
        timezone=UTC,
        batch_lines=10,
    )
    assert isinstance(built, PortalMonitor)
    assert built.name == "p"
