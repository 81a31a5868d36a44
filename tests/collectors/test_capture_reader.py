"""Reading pcap and pcapng files: the events of a crafted capture (values counted by
hand, or read by tshark), damaged copies, and how `canhgac parse` reports them."""

import struct
import subprocess
from datetime import UTC
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from canhgac.collectors import (
    CaptureReader,
    CollectorError,
    FileReader,
    PacketEvents,
    SourceLabels,
)
from canhgac.events import DeadLetter, Event, FieldValue
from tests.collectors._captures import (
    T0,
    client_hello,
    dns_exchange,
    http_request,
    http_response,
    icmp_echo,
    syn_probe,
    tcp_session,
    write_capture,
)
from tests.conftest import require_tool, run_canhgac

LABELS = SourceLabels("taps", system="ioc-dc", organization="So TTTT")
CLIENT = "10.20.3.44"
PORTAL = "203.162.4.10"
RESOLVER = "10.20.0.53"
SCANNER_IP = "203.113.131.5"
LOGIN = http_request(
    "POST",
    "/dang-nhap?lang=vi",
    "dichvucong.haugiang.gov.vn",
    agent="Mozilla/5.0 (X11; Linux x86_64)",
    headers=["Content-Type: application/x-www-form-urlencoded"],
    body=b"username=nguyenvana&password=Bi-mat-123",
)
DENIED = http_response(401, b"<html>sai mat khau</html>")
HELLO = client_hello("dichvucong.haugiang.gov.vn")


def mixed_packets() -> list[Packet]:
    """32 packets: a DNS exchange, an HTTP login (401), a TLS connection, an FTP login,
    a ping and a refused SYN, one second apart."""
    return [
        *dns_exchange(CLIENT, RESOLVER, 40000, "dichvucong.haugiang.gov.vn",
                      answers=[("A", PORTAL)], time=T0),
        *tcp_session(CLIENT, PORTAL, 50000, 80, start=T0 + 1, requests=[LOGIN],
                     responses=[DENIED]),
        *tcp_session(CLIENT, PORTAL, 50001, 443, start=T0 + 2, requests=[HELLO],
                     responses=[b"\x16\x03\x03\x00\x02\x02\x00"], vlan=20),
        *tcp_session(CLIENT, "10.20.0.21", 50002, 21, start=T0 + 3,
                     requests=[b"USER ketoan\r\n", b"PASS Ke-toan-2026\r\n"],
                     responses=[b"331 Password required\r\n", b"230 Logged in\r\n"]),
        *icmp_echo(CLIENT, "10.20.0.9", T0 + 4),
        *syn_probe(CLIENT, "10.20.0.9", 50003, 3389, T0 + 5),
    ]  # fmt: skip


def read_all(path: Path, batch_packets: int = 1000) -> tuple[list[Event], list[DeadLetter]]:
    events: list[Event] = []
    dead: list[DeadLetter] = []
    with CaptureReader(path, LABELS, batch_packets=batch_packets) as reader:
        for step in reader.batches():
            events.extend(step.batch.events)
            dead.extend(step.batch.dead_letters)
    return events, dead


def read_or_refusal(path: Path) -> tuple[list[Event], list[DeadLetter]] | CollectorError:
    """What `read_all` gives, or the CollectorError of a file that cannot be read at all."""
    try:
        return read_all(path)
    except CollectorError as exc:
        return exc


def of_dataset(events: list[Event], dataset: str) -> list[Event]:
    return [e for e in events if e.get("event.dataset") == dataset]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("pcap") / "mixed.pcap", mixed_packets())


@pytest.fixture(scope="module")
def capture_ng(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(
        tmp_path_factory.mktemp("pcapng") / "mixed.pcapng", mixed_packets(), ng=True
    )


class TestEvents:
    def test_one_event_per_message_and_per_connection(self, capture: Path) -> None:
        events, dead = read_all(capture)
        assert dead == []
        datasets = sorted(str(e.get("event.dataset")) for e in events)
        assert datasets == sorted(
            ["network.dns"] * 2
            + ["network.http", "network.tls", "network.ftp"]
            + ["network.connection"] * 6
        )
        assert {e.get("log.file.path") for e in events} == {str(capture)}
        assert {e.get("labels.system") for e in events} == {"ioc-dc"}

    def test_dns_query_and_answer(self, capture: Path) -> None:
        query, answer = of_dataset(read_all(capture)[0], "network.dns")
        assert query.get("dns.type") == "query"
        assert answer.get("dns.type") == "answer"
        for event in (query, answer):
            assert event.get("dns.question.name") == "dichvucong.haugiang.gov.vn"
            assert event.get("dns.question.type") == "A"
            assert event.get("dns.question.registered_domain") == "haugiang.gov.vn"
        assert (query.get("source.ip"), query.get("destination.port")) == (CLIENT, 53)
        assert answer.get("dns.response_code") == "NOERROR"
        assert answer.get("dns.answers.data") == (PORTAL,)
        assert answer.get("dns.resolved_ip") == (PORTAL,)
        assert query.get("dns.response_code") is None

    def test_http_request_with_its_response_and_no_password(self, capture: Path) -> None:
        (http,) = of_dataset(read_all(capture)[0], "network.http")
        expected = {
            "http.request.method": "POST",
            "url.original": "/dang-nhap?lang=vi",
            "url.path": "/dang-nhap",
            "url.query": "lang=vi",
            "url.domain": "dichvucong.haugiang.gov.vn",
            "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64)",
            "http.response.status_code": 401,
            "source.ip": CLIENT,
            "destination.ip": PORTAL,
            "destination.port": 80,
            "user.name": "nguyenvana",
            "canhgac.credentials.cleartext": True,
            "canhgac.credentials.method": "http-form",
        }
        assert {name: http.get(name) for name in expected} == expected
        assert b"Bi-mat-123" not in orjson.dumps(http.to_ecs())

    def test_tls_client_hello(self, capture: Path) -> None:
        (tls,) = of_dataset(read_all(capture)[0], "network.tls")
        assert tls.get("tls.client.server_name") == "dichvucong.haugiang.gov.vn"
        assert tls.get("tls.version") == "1.3"
        assert tls.get("destination.port") == 443

    def test_dns_over_tcp(self, tmp_path: Path) -> None:
        query = bytes(DNS(id=9, rd=1, qd=DNSQR(qname="haugiang.gov.vn", qtype="AXFR")))
        answer = bytes(DNS(id=9, qr=1, rcode=5, qd=DNSQR(qname="haugiang.gov.vn", qtype="AXFR")))
        session = tcp_session(
            CLIENT, RESOLVER, 50010, 53, start=T0,
            requests=[len(query).to_bytes(2, "big") + query],
            responses=[len(answer).to_bytes(2, "big") + answer],
        )  # fmt: skip
        events, dead = read_all(write_capture(tmp_path / "tcp-dns.pcap", session))
        assert dead == []
        query_event, answer_event = of_dataset(events, "network.dns")
        assert (query_event.get("dns.type"), query_event.get("dns.question.type")) == (
            "query",
            "AXFR",
        )
        assert (answer_event.get("dns.response_code"), answer_event.get("source.ip")) == (
            "REFUSED",
            RESOLVER,
        )
        assert answer_event.get("network.transport") == "tcp"

    def test_a_client_hello_split_over_two_segments(self, tmp_path: Path) -> None:
        split = tcp_session(CLIENT, PORTAL, 50009, 443, start=T0, requests=[HELLO[:40], HELLO[40:]])
        events, dead = read_all(write_capture(tmp_path / "split.pcap", split))
        assert dead == []
        (tls,) = of_dataset(events, "network.tls")
        assert tls.get("tls.client.server_name") == "dichvucong.haugiang.gov.vn"

    def test_ftp_login_keeps_the_user_only(self, capture: Path) -> None:
        (ftp,) = of_dataset(read_all(capture)[0], "network.ftp")
        assert (ftp.get("user.name"), ftp.get("canhgac.credentials.method")) == ("ketoan", "ftp")
        assert b"Ke-toan-2026" not in orjson.dumps(ftp.to_ecs())

    def test_connection_counts_counted_by_hand(self, capture: Path) -> None:
        connections = {
            e.get("destination.port"): e
            for e in of_dataset(read_all(capture)[0], "network.connection")
        }
        http = connections[80]
        # Client: SYN, ACK, request, FIN, ACK; server: SYN-ACK, response, FIN. Ethernet +
        # IPv4 + TCP headers are 54 bytes a frame.
        assert (http.get("source.packets"), http.get("destination.packets")) == (5, 3)
        assert http.get("source.bytes") == 5 * 54 + len(LOGIN)
        assert http.get("destination.bytes") == 3 * 54 + len(DENIED)
        assert http.get("network.transport") == "tcp"
        assert http.get("canhgac.tcp.flags") == ("SYN", "ACK", "PSH", "FIN")
        assert http.get("event.type") == ("connection", "end")
        # Seven 1 ms steps between the first and last packet (microsecond timestamps).
        duration = http.get("event.duration")
        assert isinstance(duration, int)
        assert abs(duration - 7_000_000) <= 2_000
        tls = connections[443]  # in VLAN 20: four more bytes a frame
        assert tls.get("source.bytes") == 5 * 58 + len(HELLO)
        refused = connections[3389]
        assert refused.get("canhgac.tcp.flags") == ("SYN", "ACK", "RST")
        assert (refused.get("source.packets"), refused.get("destination.packets")) == (1, 1)
        (ping,) = [e for e in connections.values() if e.get("network.transport") == "icmp"]
        assert (ping.get("canhgac.icmp.type"), ping.get("canhgac.icmp.code")) == (8, 0)
        assert ping.get("destination.ip") == "10.20.0.9"
        assert ping.get("source.port") is None

    def test_pcapng_gives_the_same_events(self, capture: Path, tmp_path: Path) -> None:
        # editcap converts exactly (scapy's pcapng writer rounds times its own way).
        editcap = require_tool("editcap", "wireshark-common")
        converted = tmp_path / "mixed.pcapng"
        subprocess.run([editcap, "-F", "pcapng", str(capture), str(converted)], check=True)
        assert converted.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"

        def comparable(events: list[Event]) -> list[dict[str, FieldValue]]:
            return sorted(
                (
                    {k: v for k, v in e.fields.items() if k != "log.file.path"}
                    | {"@timestamp": e.timestamp.isoformat()}
                    for e in events
                ),
                key=lambda fields: orjson.dumps(fields, option=orjson.OPT_SORT_KEYS),
            )

        assert comparable(read_all(capture)[0]) == comparable(read_all(converted)[0])

    def test_ids_are_stable_and_batches_do_not_change_events(self, capture: Path) -> None:
        first = read_all(capture)[0]
        again = read_all(capture, batch_packets=3)[0]
        assert sorted(e.id for e in first) == sorted(e.id for e in again)
        assert len({e.id for e in first}) == len(first)

    def test_a_connection_idle_for_two_minutes_is_two_connections(self, tmp_path: Path) -> None:
        early = dns_exchange(CLIENT, RESOLVER, 40001, "a.vn", time=T0)
        late = dns_exchange(CLIENT, RESOLVER, 40001, "b.vn", time=T0 + 600)
        # A packet of another flow after the gap lets the reader expire the first one.
        events, _ = read_all(write_capture(tmp_path / "idle.pcap", early + late))
        assert len(of_dataset(events, "network.connection")) == 2

    def test_agrees_with_tshark(self, capture: Path) -> None:
        tshark = require_tool("tshark", "tshark")
        fields = ("dns.qry.name", "http.request.method", "http.request.uri", "http.host",
                  "tls.handshake.extensions_server_name", "tls.handshake.ja3")  # fmt: skip
        command = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "separator=|"]
        for field in fields:
            command += ["-e", field]
        lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows = [line.split("|") for line in lines.splitlines()]
        events = read_all(capture)[0]
        names = {e.get("dns.question.name") for e in of_dataset(events, "network.dns")}
        assert names == {row[0] for row in rows if row[0]}
        (http,) = of_dataset(events, "network.http")
        assert [
            (http.get("http.request.method"), http.get("url.original"), http.get("url.domain"))
        ] == [(row[1], row[2], row[3]) for row in rows if row[1]]
        (tls,) = of_dataset(events, "network.tls")
        assert [(tls.get("tls.client.server_name"), tls.get("tls.client.ja3"))] == [
            (row[4], row[5]) for row in rows if row[5]
        ]


class TestDamage:
    def test_truncated_capture_gives_what_was_read_and_one_dead_letter(
        self, capture: Path, tmp_path: Path
    ) -> None:
        data = capture.read_bytes()
        full, _ = read_all(capture)
        cut = tmp_path / "cut.pcap"
        cut.write_bytes(data[: len(data) - 30])  # inside the last packet
        events, dead = read_all(cut)
        (letter,) = dead
        assert letter.line_number == 32
        assert "packet 32" in letter.reason
        assert "truncated" in letter.reason
        assert letter.path == str(cut)
        assert {e.id for e in events} <= {e.id for e in full}
        assert len(of_dataset(events, "network.dns")) == 2

    def test_a_file_cut_in_its_first_packet_cannot_be_read(
        self, capture: Path, tmp_path: Path
    ) -> None:
        cut = tmp_path / "first.pcap"
        cut.write_bytes(capture.read_bytes()[:50])
        with pytest.raises(CollectorError, match=r"first\.pcap: cannot read the capture: packet 1"):
            read_all(cut)

    def test_not_a_capture(self, tmp_path: Path) -> None:
        log = tmp_path / "access.log"
        log.write_text('203.113.131.5 - - [24/Nov/2026:08:00:00 +0700] "GET / HTTP/1.1" 200 5\n')
        with pytest.raises(CollectorError, match="is not a pcap or pcapng capture"):
            CaptureReader(log, LABELS)

    def test_a_corrupt_length_stops_reading_with_its_reason(
        self, capture: Path, tmp_path: Path
    ) -> None:
        data = bytearray(capture.read_bytes())
        second = 24 + 16 + int.from_bytes(data[32:36], "little")  # packet 2's record header
        data[second + 8 : second + 12] = (10**7).to_bytes(4, "little")
        broken = tmp_path / "broken.pcap"
        broken.write_bytes(bytes(data))
        events, dead = read_all(broken)
        (letter,) = dead
        assert "packet 2" in letter.reason
        assert "corrupt" in letter.reason
        assert len(events) == 2  # the query, and its connection (one packet)

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(cut=st.integers(min_value=0, max_value=4000), ng=st.booleans())
    def test_any_truncation(
        self, capture: Path, capture_ng: Path, tmp_path: Path, cut: int, ng: bool
    ) -> None:
        source = capture_ng if ng else capture
        data = source.read_bytes()
        full = {e.id for e in read_all(source)[0]}
        path = tmp_path / f"cut-{cut}-{ng}.pcap"
        path.write_bytes(data[: min(cut, len(data))])
        outcome = read_or_refusal(path)
        if isinstance(outcome, CollectorError):
            assert str(path) in str(outcome)
            return
        events, dead = outcome
        assert {e.id for e in events} <= full
        assert len(dead) <= 1
        assert all(letter.reason for letter in dead)

    @settings(
        max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 7)), max_size=8),
        ng=st.booleans(),
    )
    def test_any_bit_flips(self, capture: Path, capture_ng: Path, tmp_path: Path,
                           flips: list[tuple[int, int]], ng: bool) -> None:  # fmt: skip
        data = bytearray((capture_ng if ng else capture).read_bytes())
        for position, bit in flips:
            data[position % len(data)] ^= 1 << bit
        path = tmp_path / "flipped.pcap"
        path.write_bytes(bytes(data))
        outcome = read_or_refusal(path)
        if isinstance(outcome, CollectorError):
            assert str(path) in str(outcome)
            return
        events, dead = outcome
        assert all(letter.reason and letter.path == str(path) for letter in dead)
        assert all(e.get("log.file.path") == str(path) for e in events)


def _headers(transport: Packet) -> bytes:
    """Ethernet and IPv4 headers with lengths that leave the payload to the test."""
    return bytes(Ether() / IP(src=CLIENT, dst=PORTAL, len=65535) / transport)


# Frame starts that lead into each application decoder, both directions.
_PREFIXES = [
    _headers(TCP(sport=50000, dport=80, flags="PA")),
    _headers(TCP(sport=80, dport=50000, flags="PA")),
    _headers(TCP(sport=50001, dport=443, flags="PA")),
    _headers(TCP(sport=50002, dport=21, flags="PA")),
    _headers(TCP(sport=50003, dport=53, flags="PA")),
    _headers(UDP(sport=40000, dport=53, len=0)),
    _headers(UDP(sport=53, dport=40000, len=0)),
]
_STARTS = [b"", b"GET / HTTP/1.1\r\n", b"HTTP/1.1 200 OK\r\n", b"\x16\x03\x01\x02\x00\x01",
           b"USER a\r\nPASS b\r\n", b"\x00\x1c"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_PREFIXES), st.sampled_from(_STARTS), st.binary(max_size=120)),
        max_size=12,
    )
)
def test_any_payloads_become_events_or_dead_letters(
    frames: list[tuple[bytes, bytes, bytes]],
) -> None:
    builder = PacketEvents("capture:test", LABELS, "random.pcap")
    for number, (prefix, start, rest) in enumerate(frames, 1):
        frame = prefix + start + rest
        builder.add(number, int(T0) * 10**9 + number * 1000, 1, frame, len(frame))
    builder.finish()
    events, dead = builder.take()
    assert all(letter.reason.startswith(f"packet {letter.line_number}: ") for letter in dead)
    assert len({e.id for e in events}) == len(events)


def _block(order: str, kind: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


@pytest.mark.parametrize("order", ["<", ">"])
def test_hand_built_pcapng_with_nanosecond_times_and_raw_ip(order: str, tmp_path: Path) -> None:
    """Section header, an interface (raw IP, if_tsresol 9: nanoseconds), a custom block
    to skip, one enhanced packet block and one simple packet block, in either byte order."""
    datagram = bytes(IP(src=CLIENT, dst=RESOLVER) / UDP(sport=40000, dport=9999) / b"hi")
    options = (
        struct.pack(order + "HH", 9, 1) + b"\x09\x00\x00\x00" + struct.pack(order + "HH", 0, 0)
    )
    time_ns = 1_764_000_000_123_456_789
    data = (
        _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
        + _block(order, 1, struct.pack(order + "HHI", 101, 0, 65535) + options)
        + _block(order, 0x00000BAD, b"custom")
        + _block(order, 6, struct.pack(order + "IIIII", 0, time_ns >> 32, time_ns & 0xFFFFFFFF,
                                       len(datagram), len(datagram)) + datagram)
        + _block(order, 3, struct.pack(order + "I", len(datagram)) + datagram)
    )  # fmt: skip
    path = tmp_path / "hand.pcapng"
    path.write_bytes(data)
    events, dead = read_all(path)
    assert dead == []
    (connection,) = events
    assert connection.timestamp.isoformat() == "2025-11-24T16:00:00.123456+00:00"
    assert (connection.get("source.ip"), connection.get("destination.port")) == (CLIENT, 9999)
    assert connection.get("source.packets") == 2
    assert connection.get("event.duration") == 0  # the simple block has no time of its own


def test_a_connection_flood_is_bounded_and_loses_no_connection() -> None:
    builder = PacketEvents("capture:flood", LABELS, max_connections=10)
    for number in range(1, 101):
        frame = bytes(
            Ether() / IP(src=SCANNER_IP, dst=PORTAL) / TCP(sport=number, dport=80, flags="S")
        )
        builder.add(number, int(T0) * 10**9 + number, 1, frame, len(frame))
        assert builder.open_connections <= 10
    builder.finish()
    events, _ = builder.take()
    ports = [e.get("source.port") for e in events]
    assert sorted(port for port in ports if isinstance(port, int)) == list(range(1, 101))


def test_a_capture_time_no_calendar_holds_is_a_dead_letter(tmp_path: Path) -> None:
    datagram = bytes(IP(src=CLIENT, dst=RESOLVER) / UDP(sport=40000, dport=9999) / b"hi")
    interface = _block("<", 1, struct.pack("<HHI", 101, 0, 65535))
    packets = b"".join(
        _block("<", 6, struct.pack("<IIIII", 0, high, 0, len(datagram), len(datagram)) + datagram)
        for high in (0x0FFFFFFF, 0)  # year 10,000 and later; then 1970
    )
    path = tmp_path / "far.pcapng"
    path.write_bytes(_block("<", 0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
                     + interface + packets)  # fmt: skip
    events, dead = read_all(path)
    (letter,) = dead
    assert letter.reason.startswith("packet 1: capture time out of range")
    assert [e.get("source.packets") for e in events] == [1]


class TestFileReader:
    @pytest.mark.parametrize("fixture", ["capture", "capture_ng"])
    def test_auto_recognises_captures(self, fixture: str, request: pytest.FixtureRequest) -> None:
        path: Path = request.getfixturevalue(fixture)
        with FileReader(path, format="auto", labels=LABELS, timezone=UTC) as reader:
            assert reader.detected_format() == "pcap"
            events = [e for step in reader.batches() for e in step.batch.events]
        assert len(events) == 11

    def test_format_pcap_on_a_log_file(self, tmp_path: Path) -> None:
        log = tmp_path / "auth.log"
        log.write_text("Nov 24 08:00:00 srv sshd[1]: Accepted password for a from 10.0.0.1\n")
        with (
            FileReader(log, format="pcap", labels=LABELS, timezone=UTC) as reader,
            pytest.raises(CollectorError, match="not a pcap or pcapng capture"),
        ):
            list(reader.batches())


@pytest.mark.integration
@pytest.mark.slow
class TestParseCommand:
    def test_goes_on_after_bad_files_and_exits_1(self, capture: Path, tmp_path: Path) -> None:
        cut = tmp_path / "cut.pcap"
        cut.write_bytes(capture.read_bytes()[:-30])
        notes = tmp_path / "notes.pcap"
        notes.write_text("not a capture\n")
        result = run_canhgac("parse", "--format", "pcap", str(cut), str(notes), str(capture))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 2, errors
        assert errors[0].startswith(f"{cut}:32: capture: packet 32")
        assert errors[1] == (
            f"canhgac: error: {notes} is not a pcap or pcapng capture (unknown signature); "
            "pass another --format"
        )
        documents = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert {d["log"]["file"]["path"] for d in documents} == {str(cut), str(capture)}

    def test_ingest_twice_stores_nothing_twice(self, capture: Path, data_dir: Path) -> None:
        first = run_canhgac("ingest", "--json", str(capture))
        assert first.returncode == 0, first.stderr
        counts = orjson.loads(first.stdout.splitlines()[-1])
        # 11 events; the HTTP form login and the FTP login are cleartext credentials.
        assert (counts["lines"], counts["events"], counts["alerts"]) == (32, 11, 2)
        again = orjson.loads(run_canhgac("ingest", "--json", str(capture)).stdout.splitlines()[-1])
        assert (again["events"], again["duplicates"], again["alerts"]) == (0, 11, 0)
        status = run_canhgac("status", "--json")
        assert status.returncode == 0, status.stderr
        (source,) = orjson.loads(status.stdout)["sources"]
        # 64 packets read: 11 events stored, 11 recognised, the other 42 folded into them.
        assert (source["received"], source["parsed"], source["duplicates"]) == (64, 11, 11)
        assert (source["aggregated"], source["nothing_lost"]) == (42, True)

    def test_a_truncated_capture_alone_exits_0(self, capture: Path, tmp_path: Path) -> None:
        cut = tmp_path / "cut.pcapng"
        cut.write_bytes(capture.read_bytes()[:-30])
        result = run_canhgac("parse", str(cut))
        assert result.returncode == 0, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stdout.count("\n") >= 10
