"""The network rules on events read from crafted captures: each fires on its attack and
stays quiet on the benign traffic beside it. Captures go through `CaptureReader`, the
same path as `canhgac ingest --format pcap`."""

import random
from pathlib import Path

import pytest
from scapy.packet import Packet

from canhgac.collectors import CaptureReader, SourceLabels
from canhgac.correlator import Correlator, RuleSet, load_rules
from canhgac.events import Event
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
from tests.conftest import REPO

PORT_SCAN = "Port Scan From One Address"
HOST_SWEEP = "Internal Host Sweep From One Address"
TUNNEL_NAME = "DNS Query Name Typical Of Tunnelling"
TXT_VOLUME = "High Volume Of DNS TXT Queries To One Domain"
CLEARTEXT = "Credentials Sent In Cleartext"
BLOCKLISTED = "Connection With An Address On The Block List"
BLOCKLISTED_ID = "01cb3269-efdd-445b-a943-e267334bff24"  # rules/network_blocklisted_address.yml
SCANNER = "203.113.131.5"
WORKSTATION = "10.20.3.44"
RESOLVER = "10.20.0.53"
PORTAL = "10.20.1.15"


@pytest.fixture(scope="module")
def bundled() -> RuleSet:
    ruleset = load_rules([])
    assert ruleset.errors == ()
    return ruleset


def events_of(packets: list[Packet], folder: Path) -> list[Event]:
    path = write_capture(folder / "capture.pcap", sorted(packets, key=lambda p: float(p.time)))
    with CaptureReader(path, SourceLabels("taps")) as reader:
        return [event for step in reader.batches() for event in step.batch.events]


def fired(ruleset: RuleSet, packets: list[Packet], folder: Path) -> list[str]:
    return sorted(
        alert.rule_title for alert in Correlator(ruleset).process(events_of(packets, folder))
    )


def benign_traffic() -> list[Packet]:
    """A workstation's morning: lookups, web pages, TLS, a few ports, mail checks."""
    packets: list[Packet] = []
    names = [
        "dichvucong.haugiang.gov.vn", "www.google.com", "login.microsoftonline.com",
        "r3---sn-8pxuuxa-nbozl.googlevideo.com", "selector1._domainkey.haugiang.gov.vn",
        "ec2-54-23-123-45.ap-southeast-1.compute.amazonaws.com", "zalo.me",
        "static.xx.fbcdn.net", "vnexpress.net", "a1234.dscb.akamaiedge.net",
    ]  # fmt: skip
    for i, name in enumerate(names):
        packets += dns_exchange(WORKSTATION, RESOLVER, 40000 + i, name,
                                answers=[("A", "203.162.4.10")], time=T0 + i)  # fmt: skip
    for i, name in enumerate(["haugiang.gov.vn", "gmail.com", "yahoo.com"] * 5):
        packets += dns_exchange(WORKSTATION, RESOLVER, 41000 + i, name, qtype="TXT",
                                time=T0 + 20 + i)  # fmt: skip
    for i in range(30):
        port = (80, 443)[i % 2]
        requests = (
            [http_request("GET", f"/tin-tuc/{i}", "haugiang.gov.vn")]
            if port == 80
            else [client_hello("dichvucong.haugiang.gov.vn")]
        )
        packets += tcp_session(WORKSTATION, f"203.162.4.{10 + i % 3}", 50000 + i, port,
                               start=T0 + 40 + i, requests=requests,
                               responses=[http_response(200)])  # fmt: skip
    for i, port in enumerate((22, 3389, 445, 8080, 53)):
        packets += tcp_session(WORKSTATION, PORTAL, 52000 + i, port, start=T0 + 80 + i)
    for i in range(5):
        packets += icmp_echo(WORKSTATION, f"10.20.1.{i + 1}", T0 + 90 + i)
    return packets


def test_benign_traffic_fires_nothing(bundled: RuleSet, tmp_path: Path) -> None:
    assert fired(bundled, benign_traffic(), tmp_path) == []


def test_a_port_scan_from_a_capture(bundled: RuleSet, tmp_path: Path) -> None:
    scan = [
        packet
        for i, port in enumerate(range(20, 80))
        for packet in syn_probe(SCANNER, PORTAL, 61000 + i, port, T0 + 200 + i * 0.1)
    ]
    assert fired(bundled, benign_traffic() + scan, tmp_path) == [PORT_SCAN]


def test_a_ping_sweep_from_a_capture(bundled: RuleSet, tmp_path: Path) -> None:
    sweep = [
        packet
        for host in range(1, 61)
        for packet in icmp_echo(
            WORKSTATION, f"10.20.7.{host}", T0 + 200 + host, answered=host % 3 == 0
        )
    ]
    assert fired(bundled, benign_traffic() + sweep, tmp_path) == [HOST_SWEEP]


def tunnel_label(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(size))


def test_long_random_query_names(bundled: RuleSet, tmp_path: Path) -> None:
    rng = random.Random(4)
    long_names = [
        f"{tunnel_label(rng, 63)}.{tunnel_label(rng, 40)}.t.tun-example.com" for _ in range(3)
    ]
    random_names = [f"{tunnel_label(rng, 40)}.x.tun-example.com" for _ in range(2)]
    queries = [
        packet
        for i, name in enumerate(long_names + random_names)
        for packet in dns_exchange(
            WORKSTATION, RESOLVER, 45000 + i, name, qtype="CNAME", time=T0 + 300 + i
        )
    ]
    # One alert per query (the answers are not queries).
    assert fired(bundled, benign_traffic() + queries, tmp_path) == [TUNNEL_NAME] * 5


def test_txt_volume_to_one_domain(bundled: RuleSet, tmp_path: Path) -> None:
    rng = random.Random(5)
    queries = [
        packet
        for i in range(60)
        for packet in dns_exchange(
            WORKSTATION,
            RESOLVER,
            46000 + i,
            f"{tunnel_label(rng, 6)}.c2.tun-example.net",
            qtype="TXT",
            answers=[("TXT", "ok")],
            time=T0 + 300 + i * 2,
        )
    ]
    assert fired(bundled, benign_traffic() + queries, tmp_path) == [TXT_VOLUME]


def test_fifty_txt_queries_over_ten_minutes_are_not_a_tunnel(
    bundled: RuleSet, tmp_path: Path
) -> None:
    queries = [
        packet
        for i in range(50)
        for packet in dns_exchange(
            WORKSTATION,
            RESOLVER,
            46000 + i,
            f"q{i}.c2.tun-example.net",
            qtype="TXT",
            time=T0 + 300 + i * 12,
        )
    ]
    assert fired(bundled, queries, tmp_path) == []


def test_cleartext_credentials(bundled: RuleSet, tmp_path: Path) -> None:
    basic = http_request("GET", "/quan-tri/", "camera-01.haugiang.gov.vn",
                         headers=["Authorization: Basic YWRtaW46MTIzNDU2"])  # fmt: skip
    form = http_request(
        "POST", "/dang-nhap", "dichvucong.haugiang.gov.vn",
        headers=["Content-Type: application/x-www-form-urlencoded"],
        body=b"ten_dang_nhap=canbo01&mat_khau=Mat-khau-1",
    )  # fmt: skip
    logins = [
        *tcp_session(WORKSTATION, PORTAL, 53000, 80, start=T0 + 300, requests=[basic],
                     responses=[http_response(200)]),
        *tcp_session(WORKSTATION, PORTAL, 53001, 80, start=T0 + 301, requests=[form],
                     responses=[http_response(302)]),
        *tcp_session(WORKSTATION, "10.20.0.21", 53002, 21, start=T0 + 302,
                     requests=[b"USER ketoan\r\n", b"PASS Ke-toan-2026\r\n"]),
    ]  # fmt: skip
    assert fired(bundled, benign_traffic() + logins, tmp_path) == [CLEARTEXT] * 3
    users = {
        e.get("user.name")
        for e in events_of(logins, tmp_path)
        if e.get("canhgac.credentials.cleartext") is True
    }
    assert users == {"admin", "canbo01", "ketoan"}


class TestBlockList:
    """The bundled block list rule needs `rules.placeholders.blocklist`: until an admin
    configures it, it is skipped as unconfigured (shown in rule health), not an error."""

    def test_connections_to_and_from_listed_addresses(self, tmp_path: Path) -> None:
        ruleset = load_rules([], placeholders={"blocklist": ["185.220.101.*", "45.9.148.3"]})
        assert ruleset.errors == ()
        assert ruleset.unconfigured == ()
        traffic = [
            *tcp_session(WORKSTATION, "185.220.101.4", 54000, 443, start=T0 + 300),
            *tcp_session("45.9.148.3", PORTAL, 54001, 22, start=T0 + 301),
        ]
        assert fired(ruleset, benign_traffic() + traffic, tmp_path) == [BLOCKLISTED] * 2

    def test_without_a_configured_list_the_bundled_rule_waits_unconfigured(self) -> None:
        ruleset = load_rules([])
        assert ruleset.errors == ()
        (waiting,) = ruleset.unconfigured
        assert waiting.rule_id == BLOCKLISTED_ID
        assert "rules.placeholders.blocklist" in waiting.reason
        health = {h.rule_id: h for h in Correlator(ruleset).health()}
        assert health[BLOCKLISTED_ID].kind == "skipped"

    def test_a_copy_outside_the_bundled_rules_without_values_is_an_error(
        self, tmp_path: Path
    ) -> None:
        copy = tmp_path / "blocklist.yml"
        copy.write_text((REPO / "rules" / "network_blocklisted_address.yml").read_text())
        ruleset = load_rules([copy], bundled=False)
        (error,) = ruleset.errors
        assert "placeholder %blocklist% has no values" in error.reason
