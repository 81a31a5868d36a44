"""The syslog receiver on real sockets: UDP, TCP, TLS, garbage, backpressure, drops, restarts."""

import socket
import ssl
from functools import partial
from pathlib import Path

import pytest
import trustme

from canhgac.collectors import CollectorError, SyslogReceiver, build_collector
from canhgac.config import SyslogSourceConfig
from canhgac.correlator import Correlator, load_rules
from tests.collectors._syslog_sink import (
    ZONE,
    Sink,
    address,
    running,
    syslog_config,
    wait_until,
)

pytestmark = pytest.mark.integration

WAIT = 20.0
AUTH_LINE = (
    "<38>Nov 24 08:15:02 web01 sshd[1234]: "
    "Failed password for root from 203.0.113.7 port 50122 ssh2"
)


def send_tcp(where: tuple[str, int], data: bytes) -> None:
    with socket.create_connection(where) as conn:
        conn.sendall(data)


def send_udp(where: tuple[str, int], *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, where)


def test_udp_and_both_tcp_framings_become_events(tmp_path: Path) -> None:
    sink = Sink()
    with running(syslog_config(), sink, tmp_path / "spool") as receiver:
        send_udp(address(receiver, "udp"), AUTH_LINE.encode())
        send_tcp(
            address(receiver, "tcp"),
            b"<13>Nov 24 08:15:03 web01 app: one\r\n<13>1 - h app - - - two\n",
        )
        five = b'<13>1 2026-11-24T08:15:04+07:00 fw01 pf 9 ID1 [meta@1 rule="7"] three'
        send_tcp(address(receiver, "tcp"), b"%d %s" % (len(five), five))
        wait_until(lambda: len(sink.events) == 4, "four events")
    by_message = {str(e.get("message")): e for e in sink.events}
    assert set(by_message) == {
        "Failed password for root from 203.0.113.7 port 50122 ssh2",
        "one",
        "two",
        "three",
    }
    auth = by_message["Failed password for root from 203.0.113.7 port 50122 ssh2"]
    assert auth.get("event.action") == "ssh_login"
    assert auth.get("event.outcome") == "failure"
    assert auth.get("log.source.address") == "127.0.0.1"
    assert auth.get("event.original") == AUTH_LINE
    three = by_message["three"]
    assert three.get("log.syslog.structured_data.meta@1.rule") == "7"
    assert three.get("host.name") == "fw01"
    assert sink.dead == []
    assert receiver.counters().received == 4
    assert receiver.counters().parsed == 4


def test_messages_are_tagged_by_address_network_or_hostname(tmp_path: Path) -> None:
    config = syslog_config(
        system="default-system",
        organization="So TT&TT",
        tags=[
            {"hostname": "FW-*", "system": "firewall"},
            {"address": "127.0.0.2", "organization": "UBND"},
            {"network": "127.0.0.0/8", "organization": "loopback", "system": "lo"},
        ],
    )
    sink = Sink()
    with running(config, sink, tmp_path / "spool") as receiver:
        where = address(receiver, "udp")
        send_udp(where, b"<13>1 - fw-hq app - - - firewall by hostname")
        send_udp(where, b"<13>1 - web01 app - - - by network")
        wait_until(lambda: len(sink.events) == 2, "two events")
    labels = {
        str(e.get("message")): (e.get("labels.system"), e.get("organization.name"))
        for e in sink.events
    }
    assert labels == {
        "firewall by hostname": ("firewall", "So TT&TT"),
        "by network": ("lo", "loopback"),
    }


def test_tls_with_client_certificates(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("agency-a.example")
    cert, key, ca_file = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    config = syslog_config(
        listen=[
            {
                "protocol": "tls",
                "address": "127.0.0.1",
                "port": 0,
                "certificate": str(cert),
                "key": str(key),
                "client_ca": str(ca_file),
            }
        ]
    )
    sink = Sink()
    with running(config, sink, tmp_path / "spool") as receiver:
        where = address(receiver, "tls")
        context = ssl.create_default_context(cafile=str(ca_file))
        client.configure_cert(context)
        message = b"<13>1 - web01 app - - - over tls"
        with (
            socket.create_connection(where) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
        ):
            conn.sendall(b"%d %s" % (len(message), message))
        # A client without a certificate is refused; the listener keeps serving.
        anonymous = ssl.create_default_context(cafile=str(ca_file))
        with (  # noqa: PT012 - the refusal may come at the handshake or at the first read
            socket.create_connection(where) as raw,
            pytest.raises((ssl.SSLError, OSError)),
            anonymous.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
        ):
            conn.sendall(b"<13>1 - web01 app - - - refused\n")
            conn.recv(1)
        with (
            socket.create_connection(where) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
        ):
            conn.sendall(b"<13>1 - web01 app - - - again over tls\n")
            # More than a turn's read budget; the client closes without reading anything.
            pad = b"b" * 200
            conn.sendall(
                b"".join(b"<13>1 - web01 app - - - burst %d %s\n" % (n, pad) for n in range(2000))
            )
        wait_until(lambda: len(sink.events) == 2002, "every message over TLS")
    messages = sink.messages()
    assert {"over tls", "again over tls"} <= set(messages)
    assert sum(m.startswith("burst ") for m in messages) == 2000


def test_garbage_becomes_dead_letters_and_the_listener_keeps_running(tmp_path: Path) -> None:
    sink = Sink()
    config = syslog_config(max_message_bytes=1000)
    with running(config, sink, tmp_path / "spool") as receiver:
        tcp, udp = address(receiver, "tcp"), address(receiver, "udp")
        send_udp(udp, b"\xff\xfe\x00binary", b"<999>1 - - - - - -", b"x" * 1500)
        send_tcp(tcp, b"<13>ok 1\n" + b"y" * 3000 + b"\n<13>ok 2\n\xc3\x28bad utf-8\n")
        with socket.create_connection(tcp) as conn:
            framed = b"<13>1 - - - - - - framed"
            conn.sendall(b"%d %sxyz <13>never" % (len(framed), framed))
            conn.settimeout(WAIT)
            assert conn.recv(10) == b""  # closed by the receiver
        with socket.create_connection(tcp) as conn:
            conn.sendall(b"99999999 <13>too big")
            conn.settimeout(WAIT)
            assert conn.recv(10) == b""
        send_tcp(tcp, b"<13>still listening\n")
        wait_until(lambda: "still listening" in sink.messages(), "the last message")
        wait_until(lambda: len(sink.dead) == 7, "seven dead letters")
        counters = receiver.counters()
    assert sorted(sink.messages()) == ["framed", "ok 1", "ok 2", "still listening"]
    reasons = sink.reasons()
    for part in (
        "(udp): invalid UTF-8 at byte 0",
        "(udp): syslog: syslog priority 999 is out of range",
        "(udp): datagram of 1500 bytes is longer than the limit of 1000",
        "(tcp): message longer than the limit of 1000 bytes",
        "(tcp): invalid UTF-8 at byte 0",
        "(tcp): bad octet count: expected digits and a space, got 'xyz <13>never'",
        "(tcp): octet count 99999999 is larger than the limit of 1000",
    ):
        assert sum(part in reason for reason in reasons) == 1, (part, reasons)
    assert counters.received == 11
    assert counters.parsed == 4
    assert counters.dead_lettered == 7


def test_tcp_senders_are_slowed_while_the_pipeline_is_full(tmp_path: Path) -> None:
    sink = Sink()
    with running(syslog_config(), sink, tmp_path / "spool", batch_lines=10) as receiver:
        sink.gate.clear()
        total = 100_000
        data = b"".join(b"<13>1 - web01 app - - - %d %s\n" % (n, b"p" * 200) for n in range(total))
        offset = 0
        with socket.create_connection(address(receiver, "tcp")) as conn:
            conn.setblocking(False)
            offset += _send_until_refused(conn, data, offset)
            wait_until(sink.waiting.is_set, "the receiver to wait on the pipeline")
            # The receiver reads nothing now: the kernel's buffers fill and refuse more.
            while (sent := _send_until_refused(conn, data, offset)) > 0:
                offset += sent
            assert offset < len(data)
            assert receiver.counters().received < total
            sink.gate.set()
            conn.setblocking(True)
            conn.sendall(data[offset:])
        wait_until(lambda: len(sink.events) == total, "every message after the pipeline drained")
    assert sink.messages()[-1].startswith(f"{total - 1} ")


def _send_until_refused(conn: socket.socket, data: bytes, offset: int) -> int:
    """Bytes of data[offset:] the kernel accepts before it refuses more."""
    sent = 0
    while offset + sent < len(data):
        try:
            sent += conn.send(data[offset + sent : offset + sent + 65_536])
        except BlockingIOError:
            break
    return sent


def _received_exactly(receiver: SyslogReceiver, count: int) -> bool:
    return receiver.counters().received == count


def send_paced(receiver: SyslogReceiver, where: tuple[str, int], count: int) -> None:
    """Send datagrams a few at a time, each few only once the last ones were read."""
    start = receiver.counters().received
    for first in range(0, count, 50):
        last = min(first + 50, count)
        send_udp(where, *(b"<13>1 - h app - - - paced %d" % n for n in range(first, last)))
        wait_until(partial(_received_exactly, receiver, start + last), f"{last} datagrams")


def test_udp_is_read_on_into_the_spool_while_the_pipeline_stalls(tmp_path: Path) -> None:
    sink = Sink()
    config = syslog_config(listen=[{"protocol": "udp", "address": "127.0.0.1", "port": 0}])
    with running(config, sink, tmp_path / "spool", batch_lines=10) as receiver:
        where = address(receiver, "udp")
        sink.gate.clear()
        send_udp(where, b"<13>1 - h app - - - stalled")
        wait_until(sink.waiting.is_set, "the hand-off to wait on the pipeline")
        send_paced(receiver, where, 2999)
        assert len(sink.events) < 3000
        sink.gate.set()
        wait_until(lambda: len(sink.events) == 3000, "every datagram to be stored")
    assert receiver.counters().dropped == 0


def test_udp_drops_are_counted_once_the_queue_is_full(tmp_path: Path) -> None:
    sink = Sink()
    config = syslog_config(
        listen=[{"protocol": "udp", "address": "127.0.0.1", "port": 0}],
        receive_buffer_bytes=65_536,
        max_queued_messages=1000,
    )
    with running(config, sink, tmp_path / "spool", batch_lines=1) as receiver:
        where = address(receiver, "udp")
        sink.gate.clear()
        send_udp(where, b"<13>1 - h app - - - first")
        wait_until(sink.waiting.is_set, "the hand-off to wait on the pipeline")
        send_paced(receiver, where, 1000)
        # The queue is full: the reader stops, and the kernel's small buffer overflows.
        flood = [b"<13>1 - h app - - - flood %d %s" % (n, b"f" * 300) for n in range(3000)]
        send_udp(where, *flood)
        sink.gate.set()
        sent = 1 + 1000 + len(flood)
        wait_until(
            lambda: receiver.counters().received + receiver.counters().dropped == sent,
            "every datagram to be received or counted as dropped",
        )
        counters = receiver.counters()
        wait_until(lambda: len(sink.events) == counters.received, "what was read to be stored")
    assert counters.dropped > 0
    assert counters.received + counters.dropped == sent


def test_a_restart_hands_on_what_was_spooled_but_not_stored(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    sink = Sink()
    config = syslog_config()
    with running(config, sink, spool, batch_lines=5) as receiver:
        tcp = address(receiver, "tcp")
        send_tcp(tcp, b"".join(b"<13>1 - h app - - - m%d\n" % n for n in range(12)))
        wait_until(lambda: len(sink.events) == 12, "twelve events")
    first_ids = [e.id for e in sink.events]
    # As if the process died after the store kept only the first batch of five.
    partial = Sink()
    first_checkpoint = sink.history[0]
    partial.checkpoints = {first_checkpoint.name: first_checkpoint}
    with running(config, partial, spool) as receiver:
        wait_until(lambda: len(partial.events) == 7, "the seven unstored messages")
        assert receiver.counters().received == 7
    assert [e.id for e in partial.events] == first_ids[5:]
    # Nothing stored at all: everything spooled is handed on again, with the same ids.
    nothing = Sink()
    with running(config, nothing, spool):
        wait_until(lambda: len(nothing.events) == 12, "the spool replayed from its start")
    assert [e.id for e in nothing.events] == first_ids
    # With the full checkpoint stored, nothing is replayed and new messages get new ids.
    with running(config, sink, spool) as receiver:
        send_tcp(address(receiver, "tcp"), b"<13>1 - h app - - - m0\n")
        wait_until(lambda: len(sink.events) == 13, "one more event")
    assert sink.events[-1].id not in first_ids
    assert [e.id for e in sink.events[:12]] == first_ids


def test_poll_trims_stored_segments(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    sink = Sink()
    config = syslog_config(spool_segment_bytes=65_536)
    with running(config, sink, spool, batch_lines=50) as receiver:
        big = b"<13>1 - h app - - - " + b"s" * 2000 + b"\n"
        send_tcp(address(receiver, "tcp"), big * 100)
        wait_until(lambda: len(sink.events) == 100, "a hundred events")
        assert len(list(spool.glob("*.spool"))) > 1
        assert receiver.poll() == 100
        assert len(list(spool.glob("*.spool"))) == 1
        assert receiver.poll() == 0


def test_build_collector_puts_the_spool_in_data_dir(tmp_path: Path) -> None:
    sink = Sink()
    config = syslog_config()
    collector = build_collector(
        config,
        load_checkpoint=sink.checkpoints.get,
        submit=sink.submit,
        timezone=ZONE,
        batch_lines=10,
        data_dir=tmp_path,
    )
    assert isinstance(collector, SyslogReceiver)
    collector.start()
    collector.close()
    assert (tmp_path / "syslog-spool" / "syslog-test").is_dir()
    with pytest.raises(CollectorError, match="spool_dir"):
        build_collector(
            config,
            load_checkpoint=sink.checkpoints.get,
            submit=sink.submit,
            timezone=ZONE,
            batch_lines=10,
        )


def test_a_port_in_use_is_a_collector_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = syslog_config(listen=[{"protocol": "tcp", "address": "127.0.0.1", "port": port}])
        receiver = SyslogReceiver(
            config,
            load_checkpoint=lambda _: None,
            submit=Sink().submit,
            timezone=ZONE,
            spool_dir=tmp_path,
        )
        with pytest.raises(CollectorError, match=f"cannot listen on tcp 127.0.0.1:{port}"):
            receiver.start()


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="certificate"):
        SyslogSourceConfig.model_validate(
            {"type": "syslog", "name": "s", "listen": [{"protocol": "tls", "port": 6514}]}
        )
    with pytest.raises(ValueError, match="exactly one of"):
        syslog_config(tags=[{"address": "10.0.0.1", "hostname": "x", "system": "s"}])


def test_forwarded_sshd_failures_fire_the_bundled_brute_force_rule(tmp_path: Path) -> None:
    sink = Sink()
    with running(syslog_config(), sink, tmp_path / "spool") as receiver:
        send_udp(
            address(receiver, "udp"),
            *(
                b"<38>Nov 24 08:15:%02d web01 sshd[%d]: Failed password for root "
                b"from 203.0.113.7 port %d ssh2" % (n, 100 + n, 50000 + n)
                for n in range(12)
            ),
        )
        wait_until(lambda: len(sink.events) == 12, "twelve failed logins")
    alerts = Correlator(load_rules([])).process(sink.events)
    titles = {alert.rule_title for alert in alerts}
    assert "SSH Brute Force From One Address" in titles


def test_a_dual_stack_listener_reports_ipv4_senders_as_ipv4(tmp_path: Path) -> None:
    sink = Sink()
    config = syslog_config(listen=[{"protocol": "tcp", "address": "::", "port": 0}])
    try:
        with running(config, sink, tmp_path / "spool") as receiver:
            send_tcp(("127.0.0.1", address(receiver, "tcp")[1]), b"<13>1 - h app - - - v4\n")
            wait_until(lambda: len(sink.events) == 1, "the message")
    except CollectorError as error:
        pytest.skip(f"no IPv6 here: {error}")
    assert sink.events[0].get("log.source.address") == "127.0.0.1"
