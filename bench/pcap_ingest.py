"""Packet captures to ECS events: canhgac's reader against tshark and a pyshark loop.

    .venv/bin/python bench/pcap_ingest.py [--packets 200000] [--pyshark-packets 3000]
        [--seed 7] [--keep DIR] [--capture FILE] [--profile]

Builds with scapy, from a seeded random generator, a pcap of at least --packets frames:
DNS queries and answers, HTTP requests and responses, TLS connections with a ClientHello,
ICMP echoes, bulk TCP transfers and bulk UDP datagrams, over Ethernet (some in VLANs).
Then, on the same file, one after the other:

- canhgac: `CaptureReader` (our pcap record reader and decoders, flow aggregation) to
  ECS `Event`s, every batch consumed;
- tshark: `tshark -r FILE -T fields` extracting the same fields (addresses, ports, TCP
  flags, lengths, DNS, HTTP, TLS SNI/version/JA3, ICMP type/code), output read and
  counted by line; tshark does no flow aggregation, so it does less work than canhgac;
- scapy: `PcapReader` dissecting each packet and reading the header and DNS fields, on
  the same subsample as pyshark, extrapolated (the other pure-Python candidate);
- pyshark: a plain `FileCapture` loop reading the same fields from each packet, on the
  first --pyshark-packets frames of the file (editcap), extrapolated to the whole file
  (it would take hours otherwise): printed as "extrapolated".

Prints packets/s of each and canhgac's ratios against the other two.
"""

import argparse
import cProfile
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyshark
from scapy.layers.dns import DNS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import PcapReader

from canhgac.collectors import CaptureReader, SourceLabels
from canhgac.tests.collectors._captures import (
    T0,
    client_hello,
    dns_exchange,
    http_request,
    http_response,
    icmp_echo,
    tcp_session,
    timed,
    write_capture,
)

TSHARK_FIELDS = (
    "frame.number", "frame.time_epoch", "frame.len", "ip.src", "ip.dst", "ipv6.src",
    "ipv6.dst", "ip.proto", "tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport",
    "udp.dstport", "icmp.type", "icmp.code", "dns.id", "dns.flags.response",
    "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.resp.name", "dns.resp.type",
    "dns.a", "dns.aaaa", "dns.cname", "dns.txt", "http.request.method",
    "http.request.uri", "http.host", "http.user_agent", "http.response.code",
    "tls.handshake.extensions_server_name", "tls.handshake.version",
    "tls.handshake.extensions.supported_version", "tls.handshake.ja3",
)  # fmt: skip

NAMES = ("dichvucong", "portal", "mail", "vpn", "cdn", "api", "static", "hcc", "sso")
DOMAINS = ("haugiang.gov.vn", "google.com", "microsoft.com", "vnexpress.net", "zalo.me")
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", "curl/8.5.0")


def _client(rng: random.Random) -> str:
    return f"10.20.{rng.randrange(1, 40)}.{rng.randrange(2, 250)}"


def _server(rng: random.Random) -> str:
    return f"203.162.{rng.randrange(0, 8)}.{rng.randrange(2, 250)}"


def build_packets(count: int, seed: int) -> Iterator[Packet]:
    """At least `count` packets of a seeded mix, in time order."""
    rng = random.Random(seed)
    made = 0
    now = T0
    port = 1024
    while made < count:
        now += rng.expovariate(200.0)
        port = port + 1 if port < 65000 else 1024
        client = _client(rng)
        kind = rng.random()
        packets: list[Packet]
        if kind < 0.25:
            name = f"{rng.choice(NAMES)}.{rng.choice(DOMAINS)}"
            answers = [("A", _server(rng))] if rng.random() < 0.9 else []
            packets = dns_exchange(
                client, "10.20.0.53", port, name, answers=answers, rcode=0 if answers else 3,
                ident=rng.randrange(65536), time=now,
            )  # fmt: skip
        elif kind < 0.40:
            host = f"{rng.choice(NAMES)}.haugiang.gov.vn"
            path = f"/thu-tuc/{rng.randrange(10_000)}?trang={rng.randrange(9)}"
            packets = tcp_session(
                client, _server(rng), port, 80, start=now,
                requests=[http_request("GET", path, host, agent=rng.choice(AGENTS))],
                responses=[http_response(rng.choice((200, 302, 404)), rng.randbytes(800))],
                vlan=20 if rng.random() < 0.3 else None,
            )  # fmt: skip
        elif kind < 0.55:
            packets = tcp_session(
                client, _server(rng), port, 443, start=now,
                requests=[client_hello(f"{rng.choice(NAMES)}.{rng.choice(DOMAINS)}"),
                          rng.randbytes(600)],
                responses=[b"\x16\x03\x03" + rng.randbytes(1200), rng.randbytes(900)],
            )  # fmt: skip
        elif kind < 0.60:
            packets = icmp_echo(client, _server(rng), now)
        elif kind < 0.85:
            # A bulk transfer: 20-120 data segments answered by ACKs.
            segments = [rng.randbytes(1400) for _ in range(rng.randrange(10, 60))]
            packets = tcp_session(
                client, _server(rng), port, rng.choice((445, 22, 3306, 8080)), start=now,
                requests=segments,
            )  # fmt: skip
        else:
            server = _server(rng)
            packets = [
                timed(
                    Ether() / IP(src=client, dst=server) / UDP(sport=port, dport=514)
                    / rng.randbytes(rng.randrange(80, 900)),
                    now + i * 0.0005,
                )
                for i in range(rng.randrange(5, 40))
            ]  # fmt: skip
        made += len(packets)
        yield from packets


def run_canhgac(path: Path) -> tuple[float, int, int, int]:
    """Seconds, frames, events, dead letters."""
    started = time.perf_counter()
    frames = events = dead = 0
    with CaptureReader(path, SourceLabels("bench"), batch_packets=1000) as reader:
        for step in reader.batches():
            frames += step.batch.lines
            events += len(step.batch.events)
            dead += len(step.batch.dead_letters)
    return time.perf_counter() - started, frames, events, dead


def run_tshark(path: Path) -> tuple[float, int]:
    """Seconds and output lines of tshark's field extraction."""
    command = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=a"]
    for field in TSHARK_FIELDS:
        command += ["-e", field]
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        assert child.stdout is not None
        lines = sum(1 for _ in child.stdout)
    return time.perf_counter() - started, lines


def run_pyshark(path: Path) -> tuple[float, int]:
    """Seconds and packets of a plain FileCapture loop reading the same fields."""
    started = time.perf_counter()
    seen = 0
    capture = pyshark.FileCapture(str(path), keep_packets=False)
    try:
        for packet in capture:
            seen += 1
            layer = packet.transport_layer
            values = [packet.length, packet.sniff_timestamp, layer]
            if hasattr(packet, "ip"):
                values += [packet.ip.src, packet.ip.dst]
            if layer is not None:
                transport = packet[layer]
                values += [transport.srcport, transport.dstport]
            for name, fields in (
                ("dns", ("qry_name", "qry_type", "flags_rcode", "a")),
                ("http", ("request_method", "request_uri", "host", "user_agent", "response_code")),
                ("tls", ("handshake_extensions_server_name", "handshake_version", "handshake_ja3")),
                ("icmp", ("type", "code")),
            ):
                if hasattr(packet, name):
                    layer_object = packet[name]
                    values += [layer_object.get_field(field) for field in fields]
    finally:
        capture.close()
    return time.perf_counter() - started, seen


def run_scapy(path: Path) -> tuple[float, int]:
    """Seconds and packets of scapy's PcapReader dissecting each packet and reading the
    same fields: the other pure-Python fast path candidate (dpkt is not a dependency)."""
    started = time.perf_counter()
    seen = 0
    with PcapReader(str(path)) as reader:
        for packet in reader:
            seen += 1
            values: list[object] = [packet.time, len(packet)]
            if IP in packet:
                values += [packet[IP].src, packet[IP].dst]
            for layer in (TCP, UDP):
                if layer in packet:
                    values += [packet[layer].sport, packet[layer].dport]
            if DNS in packet and packet[DNS].qd:
                values += [packet[DNS].qd[0].qname, packet[DNS].rcode]
            if ICMP in packet:
                values += [packet[ICMP].type, packet[ICMP].code]
    return time.perf_counter() - started, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--pyshark-packets", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="write the capture here")
    parser.add_argument(
        "--capture", type=Path, default=None, help="measure this capture instead of building one"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile canhgac's run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        path = args.capture or folder / "bench.pcap"
        if args.capture is None:
            started = time.perf_counter()
            write_capture(path, build_packets(args.packets, args.seed))
            built = time.perf_counter() - started
            print(f"built {path.stat().st_size / 1e6:.1f} MB with scapy in {built:.1f} s")

        seconds, frames, events, dead = run_canhgac(path)
        ours = frames / seconds
        print(
            f"canhgac: {frames:,} packets in {seconds:.2f} s = {ours:,.0f} packets/s "
            f"({events:,} events, {dead} dead letters)"
        )
        tshark_seconds, lines = run_tshark(path)
        tshark = lines / tshark_seconds
        print(f"tshark -T fields: {lines:,} packets in {tshark_seconds:.2f} s = {tshark:,.0f}/s")

        sample = folder / "sample.pcap"
        subprocess.run(
            ["editcap", "-r", str(path), str(sample), f"1-{args.pyshark_packets}"], check=True
        )
        scapy_seconds, scapy_seen = run_scapy(sample)
        scapy_rate = scapy_seen / scapy_seconds
        print(f"scapy PcapReader loop: {scapy_seen:,} packets in {scapy_seconds:.2f} s = "
              f"{scapy_rate:,.0f} packets/s (no HTTP/TLS fields, no flows)")  # fmt: skip
        pyshark_seconds, seen = run_pyshark(sample)
        loop = seen / pyshark_seconds
        print(
            f"pyshark FileCapture loop: {seen:,} packets in {pyshark_seconds:.2f} s = "
            f"{loop:,.0f} packets/s; extrapolated to {frames:,}: {frames / loop:,.0f} s"
        )
        print(f"ratio canhgac / tshark: {ours / tshark:.2f}x (target >= 1.0x)")
        print(f"ratio canhgac / pyshark loop (extrapolated): {ours / loop:.0f}x (target >= 50x)")
        print(f"ratio canhgac / scapy loop (extrapolated): {ours / scapy_rate:.0f}x")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run_canhgac(path)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
