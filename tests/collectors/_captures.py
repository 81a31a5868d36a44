"""Packets built with scapy for the capture tests, rules tests and bench/pcap_ingest.py.

Each builder returns scapy packets with their capture times set; `write_capture` writes
them as pcap or pcapng. Nothing here uses canhgac's own decoders.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.tls.extensions import (
    ProtocolName,
    ServerName,
    TLS_Ext_ALPN,
    TLS_Ext_ServerName,
    TLS_Ext_SignatureAlgorithms,
    TLS_Ext_SupportedGroups,
    TLS_Ext_SupportedPointFormat,
    TLS_Ext_SupportedVersion_CH,
)
from scapy.layers.tls.handshake import TLSClientHello
from scapy.layers.tls.record import TLS
from scapy.packet import Packet, Raw
from scapy.utils import PcapNgWriter, PcapWriter

T0 = 1_764_000_000.0
"""2025-11-24T16:00:00Z, the capture time of the first packet."""
CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"


def _frame(ip: Packet, vlan: int | None = None) -> Packet:
    ether = Ether(src=CLIENT_MAC, dst=SERVER_MAC)
    return ether / Dot1Q(vlan=vlan) / ip if vlan is not None else ether / ip


def _ip(source: str, destination: str) -> Packet:
    return IPv6(src=source, dst=destination) if ":" in source else IP(src=source, dst=destination)


def timed(packet: Packet, time: float) -> Packet:
    packet.time = time
    return packet


def tcp_session(
    client: str,
    server: str,
    client_port: int,
    server_port: int,
    *,
    start: float = T0,
    requests: Sequence[bytes] = (),
    responses: Sequence[bytes] = (),
    vlan: int | None = None,
    close: bool = True,
) -> list[Packet]:
    """A whole TCP connection: handshake, each request answered by its response, FINs."""
    there, back = _ip(client, server), _ip(server, client)
    seq, ack = 1000, 5000
    packets: list[Packet] = []
    time = start

    def send(forward: bool, flags: str, payload: bytes = b"") -> None:
        nonlocal seq, ack, time
        layer = (
            there / TCP(sport=client_port, dport=server_port, flags=flags, seq=seq, ack=ack)
            if forward
            else back / TCP(sport=server_port, dport=client_port, flags=flags, seq=ack, ack=seq)
        )
        packet = _frame(layer / Raw(payload) if payload else layer, vlan)
        packets.append(timed(packet, time))
        time += 0.001
        if forward:
            seq += len(payload) + (1 if "S" in flags or "F" in flags else 0)
        else:
            ack += len(payload) + (1 if "S" in flags or "F" in flags else 0)

    send(True, "S")
    send(False, "SA")
    send(True, "A")
    for index, request in enumerate(requests):
        send(True, "PA", request)
        if index < len(responses):
            send(False, "PA", responses[index])
    if close:
        send(True, "FA")
        send(False, "FA")
        send(True, "A")
    return packets


def syn_probe(
    client: str, server: str, client_port: int, server_port: int, time: float
) -> list[Packet]:
    """A SYN answered by a RST, as a closed port answers a port scanner."""
    syn = _ip(client, server) / TCP(sport=client_port, dport=server_port, flags="S")
    reset = _ip(server, client) / TCP(sport=server_port, dport=client_port, flags="RA")
    return [timed(_frame(syn), time), timed(_frame(reset), time + 0.0005)]


def dns_exchange(
    client: str,
    resolver: str,
    client_port: int,
    name: str,
    *,
    qtype: str = "A",
    answers: Iterable[tuple[str, str]] = (),
    rcode: int = 0,
    ident: int = 4242,
    time: float = T0,
) -> list[Packet]:
    """A query and its answer; `answers` are (type, data) records for `name`."""
    query = DNS(id=ident, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    records = [DNSRR(rrname=name, type=kind, rdata=data, ttl=300) for kind, data in answers]
    answer = DNS(
        id=ident, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=name, qtype=qtype),
        an=records,
    )  # fmt: skip
    return [
        timed(_frame(_ip(client, resolver) / UDP(sport=client_port, dport=53) / query), time),
        timed(
            _frame(_ip(resolver, client) / UDP(sport=53, dport=client_port) / answer), time + 0.002
        ),
    ]


def icmp_echo(client: str, target: str, time: float, *, answered: bool = True) -> list[Packet]:
    request = timed(_frame(IP(src=client, dst=target) / ICMP(type=8, id=7, seq=1)), time)
    if not answered:
        return [request]
    reply = timed(_frame(IP(src=target, dst=client) / ICMP(type=0, id=7, seq=1)), time + 0.001)
    return [request, reply]


def client_hello(
    server_name: str | None, *, tls13: bool = True, alpn: Sequence[bytes] = (b"h2", b"http/1.1")
) -> bytes:
    """A TLS ClientHello record as a browser sends it (with a GREASE cipher)."""
    extensions: list[Packet] = []
    if server_name is not None:
        extensions.append(
            TLS_Ext_ServerName(servernames=[ServerName(servername=server_name.encode())])  # type: ignore[no-untyped-call]
        )
    extensions += [
        TLS_Ext_SupportedGroups(groups=[0x0A0A, 29, 23, 24]),  # type: ignore[no-untyped-call]
        TLS_Ext_SupportedPointFormat(ecpl=[0]),  # type: ignore[no-untyped-call]
        TLS_Ext_SignatureAlgorithms(sig_algs=[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501]),  # type: ignore[no-untyped-call]
    ]
    if alpn:
        extensions.append(TLS_Ext_ALPN(protocols=[ProtocolName(protocol=p) for p in alpn]))  # type: ignore[no-untyped-call]
    if tls13:
        extensions.append(TLS_Ext_SupportedVersion_CH(versions=[0x3A3A, 0x0304, 0x0303]))  # type: ignore[no-untyped-call]
    hello = TLSClientHello(  # type: ignore[no-untyped-call]
        version=0x0303,
        ciphers=[0x2A2A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030],
        comp=[0],
        ext=extensions,
    )
    return bytes(TLS(type=22, version=0x0301, msg=[hello]))  # type: ignore[no-untyped-call]


def http_request(
    method: str,
    target: str,
    host: str,
    *,
    agent: str = "Mozilla/5.0",
    headers: Sequence[str] = (),
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {agent}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_response(status: int, body: bytes = b"<html>ok</html>") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def write_capture(path: Path, packets: Iterable[Packet], *, ng: bool = False) -> Path:
    writer = PcapNgWriter(str(path)) if ng else PcapWriter(str(path), linktype=1, sync=False)
    with writer:
        for packet in packets:
            writer.write(packet)
    return path
