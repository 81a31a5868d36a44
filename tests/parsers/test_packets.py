"""Packet decoders: headers built by scapy, DNS/HTTP/TLS/FTP messages, and random bytes."""

import hashlib
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import CookedLinux, Dot1Q, Ether
from scapy.packet import Raw

from canhgac.parsers._packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    SUPPORTED_LINKTYPES,
    Packet,
    PacketDecoder,
    PacketError,
    domain_parts,
    ftp_commands,
    parse_client_hello,
    parse_dns,
    parse_http_request,
    parse_http_status,
    shannon_entropy,
    tcp_flag_names,
)
from tests.collectors._captures import client_hello


def decode(frame: bytes, linktype: int = LINKTYPE_ETHERNET) -> Packet | None:
    return PacketDecoder().decode(linktype, frame)


def failure(call: Callable[[], object]) -> str | None:
    """The reason `call` raised PacketError with, or None when it returned."""
    try:
        call()
    except PacketError as exc:
        return str(exc)
    return None


class TestHeaders:
    def test_ethernet_ipv4_tcp(self) -> None:
        frame = bytes(
            Ether()
            / IP(src="10.20.3.44", dst="203.162.4.10")
            / TCP(sport=51234, dport=443, flags="PA")
            / Raw(b"hello")
        )
        packet = decode(frame)
        assert packet is not None
        assert (packet.transport, packet.source, packet.destination) == (
            6,
            "10.20.3.44",
            "203.162.4.10",
        )
        assert (packet.source_port, packet.destination_port) == (51234, 443)
        assert tcp_flag_names(packet.tcp_flags) == ("ACK", "PSH")
        assert packet.payload == b"hello"

    def test_ethernet_padding_is_not_payload(self) -> None:
        frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"ab")
        padded = frame + b"\x00" * (60 - len(frame))
        packet = decode(padded)
        assert packet is not None
        assert packet.payload == b"ab"

    def test_vlan_tags_stacked(self) -> None:
        frame = bytes(
            Ether() / Dot1Q(vlan=20) / Dot1Q(vlan=30) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP()
        )
        packet = decode(frame)
        assert packet is not None
        assert packet.source == "10.0.0.1"

    def test_ipv6_udp_with_a_first_fragment_header(self) -> None:
        frame = bytes(
            Ether()
            / IPv6(src="2001:db8::1", dst="2001:db8::53")
            / IPv6ExtHdrFragment(offset=0, m=1)
            / UDP(sport=5353, dport=53)
            / b"x"
        )
        packet = decode(frame)
        assert packet is not None
        assert (packet.transport, packet.source, packet.destination_port) == (17, "2001:db8::1", 53)

    def test_later_fragments_and_non_ip_frames_are_skipped(self) -> None:
        later = bytes(
            Ether() / IP(src="10.0.0.1", dst="10.0.0.2", frag=10, proto=17) / Raw(b"x" * 8)
        )
        arp = bytes(Ether(type=0x0806) / Raw(b"\x00" * 28))
        assert decode(later) is None
        assert decode(arp) is None

    def test_icmp_type_and_code(self) -> None:
        packet = decode(bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=3, code=3)))
        assert packet is not None
        assert (packet.transport, packet.icmp_type, packet.icmp_code) == (1, 3, 3)

    def test_raw_ip_linux_cooked_and_bsd_loopback(self) -> None:
        ip = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / TCP(sport=1, dport=80))
        cooked = bytes(CookedLinux(proto=0x0800) / IP(src="192.0.2.1", dst="192.0.2.2") / TCP())
        null = struct.pack("<I", 2) + ip
        for linktype, frame in ((LINKTYPE_RAW, ip), (LINKTYPE_LINUX_SLL, cooked),
                                (LINKTYPE_NULL, null)):  # fmt: skip
            packet = decode(frame, linktype)
            assert packet is not None, linktype
            assert packet.source == "192.0.2.1", linktype

    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            (b"\x00" * 10, "Ethernet frame of 10 bytes"),
            (bytes(Ether(type=0x0800)) + b"\x45\x00", "IPv4 header cut short"),
            (bytes(Ether() / IP(proto=6))[:40], "TCP header cut short"),
        ],
    )
    def test_cut_headers_raise_with_a_reason(self, frame: bytes, reason: str) -> None:
        with pytest.raises(PacketError, match=reason):
            decode(frame)

    def test_unknown_link_type(self) -> None:
        with pytest.raises(PacketError, match="link type 147 is not supported"):
            decode(b"\x00" * 40, 147)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(sorted(SUPPORTED_LINKTYPES)), st.binary(max_size=200))
    def test_any_bytes_decode_or_raise_packet_error(self, linktype: int, frame: bytes) -> None:
        assert failure(lambda: decode(frame, linktype)) != ""


class TestDns:
    def test_query(self) -> None:
        message = parse_dns(
            bytes(DNS(id=77, rd=1, qd=DNSQR(qname="dichvucong.gov.vn", qtype="TXT")))
        )
        assert (message.id, message.is_response, message.question_name) == (
            77,
            False,
            "dichvucong.gov.vn",
        )
        assert (message.question_type, message.question_class, message.header_flags) == (
            "TXT",
            "IN",
            ("RD",),
        )

    def test_answer_records(self) -> None:
        answer = DNS(
            id=1, qr=1, ra=1, rcode=0,
            qd=DNSQR(qname="www.haugiang.gov.vn"),
            an=[
                DNSRR(rrname="www.haugiang.gov.vn", type="CNAME", rdata="web.haugiang.gov.vn"),
                DNSRR(rrname="web.haugiang.gov.vn", type="A", rdata="203.162.4.10", ttl=300),
                DNSRR(rrname="web.haugiang.gov.vn", type="AAAA", rdata="2001:db8::10", ttl=300),
                DNSRR(rrname="web.haugiang.gov.vn", type="TXT", rdata=[b"v=spf1 ", b"-all"]),
            ],
        )  # fmt: skip
        message = parse_dns(bytes(answer))
        assert message.response_code == "NOERROR"
        assert [(a.name, a.type, a.ttl, a.data) for a in message.answers] == [
            ("www.haugiang.gov.vn", "CNAME", 0, "web.haugiang.gov.vn"),
            ("web.haugiang.gov.vn", "A", 300, "203.162.4.10"),
            ("web.haugiang.gov.vn", "AAAA", 300, "2001:db8::10"),
            ("web.haugiang.gov.vn", "TXT", 0, "v=spf1 -all"),
        ]

    def test_nxdomain_and_compressed_names(self) -> None:
        # Header (response, NXDOMAIN), question "a.vn" A IN, one answer named by a pointer
        # to the question's name (offset 12): written by hand.
        message = (
            bytes.fromhex("1234 8183 0001 0001 0000 0000")
            + b"\x01a\x02vn\x00" + bytes.fromhex("0001 0001")
            + bytes.fromhex("c00c 0001 0001 0000003c 0004 0a000001")
        )  # fmt: skip
        parsed = parse_dns(message)
        assert parsed.response_code == "NXDOMAIN"
        assert [(a.name, a.data) for a in parsed.answers] == [("a.vn", "10.0.0.1")]

    @pytest.mark.parametrize(
        ("message", "reason"),
        [
            (b"\x00" * 5, "shorter than its header"),
            (bytes.fromhex("0001 0100 0001 0000 0000 0000 c00c"), "name pointers loop"),
            (bytes.fromhex("0001 0100 0001 0000 0000 0000 3f61"), "label runs past the end"),
        ],
    )
    def test_malformed_messages(self, message: bytes, reason: str) -> None:
        with pytest.raises(PacketError, match=reason):
            parse_dns(message)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def test_any_bytes_parse_or_raise_packet_error(self, message: bytes) -> None:
        reason = failure(lambda: parse_dns(message))
        assert reason is None or reason.startswith("dns: ")


class TestDomainFeatures:
    def test_registered_domain_under_a_generic_second_level(self) -> None:
        parts = domain_parts("dichvucong.haugiang.gov.vn.")
        assert (parts.registered_domain, parts.subdomain, parts.top_level_domain) == (
            "haugiang.gov.vn",
            "dichvucong",
            "gov.vn",
        )
        assert domain_parts("www.google.com").registered_domain == "google.com"

    def test_tunnel_like_name(self) -> None:
        label = "mzxw6ytboi4dqmbrgezdgnbvgy3tqojqgeztinjwg44dsmbrgi3tmnzyhe2a"
        parts = domain_parts(f"{label}.{label[:40]}.t.example.com")
        assert parts.longest_label == len(label) == 60
        assert parts.length == 60 + 1 + 40 + len(".t.example.com")
        assert parts.subdomain_entropy >= 4.0

    def test_entropy_by_hand(self) -> None:
        assert shannon_entropy("aaaa") == 0.0
        assert shannon_entropy("abab") == 1.0
        assert shannon_entropy("abcd") == 2.0

    @given(st.lists(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), min_size=1, max_size=6))
    def test_registered_domain_is_a_suffix(self, labels: list[str]) -> None:
        name = ".".join(labels)
        parts = domain_parts(name)
        assert parts.length == len(name)
        if parts.registered_domain is not None:
            assert name.endswith(parts.registered_domain)
            rebuilt = (
                f"{parts.subdomain}.{parts.registered_domain}"
                if parts.subdomain
                else (parts.registered_domain)
            )
            assert rebuilt == name


class TestHttp:
    def test_request_line_and_headers(self) -> None:
        request = parse_http_request(
            b"GET /tra-cuu?ma=H23 HTTP/1.1\r\nHost: dichvucong.haugiang.gov.vn\r\n"
            b"User-Agent: sqlmap/1.7\r\nReferer: https://x/\r\n\r\n"
        )
        assert request is not None
        assert (request.method, request.target, request.version) == (
            "GET",
            "/tra-cuu?ma=H23",
            "1.1",
        )
        assert (request.host, request.user_agent, request.referrer) == (
            "dichvucong.haugiang.gov.vn",
            "sqlmap/1.7",
            "https://x/",
        )
        assert request.credentials is None

    def test_basic_auth_keeps_the_user_not_the_password(self) -> None:
        request = parse_http_request(
            b"GET / HTTP/1.1\r\nHost: cam\r\nAuthorization: Basic YWRtaW46czNjcjN0IQ==\r\n\r\n"
        )  # admin:s3cr3t!
        assert request is not None
        assert request.credentials is not None
        assert (request.credentials.method, request.credentials.username) == ("http-basic", "admin")
        assert "s3cr3t" not in repr(request)

    def test_login_form_in_the_same_segment(self) -> None:
        request = parse_http_request(
            b"POST /dang-nhap HTTP/1.1\r\nHost: portal\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            b"ten_dang_nhap=nguyenvana&mat_khau=Abc%40123&remember=1"
        )
        assert request is not None
        assert request.credentials is not None
        assert (request.credentials.method, request.credentials.username) == (
            "http-form",
            "nguyenvana",
        )
        assert "Abc" not in repr(request)

    def test_a_form_without_password_is_no_credential(self) -> None:
        request = parse_http_request(
            b"POST /tim-kiem HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
            b"q=giay+phep&password="
        )
        assert request is not None
        assert request.credentials is None

    def test_not_a_request_and_malformed_request_line(self) -> None:
        assert parse_http_request(b"\x16\x03\x01\x00") is None
        with pytest.raises(PacketError, match="malformed request line"):
            parse_http_request(b"GET /only-a-path\r\n\r\n")

    def test_status(self) -> None:
        assert parse_http_status(b"HTTP/1.1 401 Unauthorized\r\n") == 401
        assert parse_http_status(b"HTTP/1.1 abc\r\n") is None
        assert parse_http_status(b"SSH-2.0-OpenSSH") is None

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from([b"GET ", b"POST ", b"HEAD "]), st.binary(max_size=200))
    def test_any_request_bytes_parse_or_raise_packet_error(
        self, method: bytes, rest: bytes
    ) -> None:
        reason = failure(lambda: parse_http_request(method + rest))
        assert reason is None or reason.startswith("http: ")


class TestTls:
    def test_client_hello_fields(self) -> None:
        hello = parse_client_hello(client_hello("dichvucong.haugiang.gov.vn"))
        assert hello.server_name == "dichvucong.haugiang.gov.vn"
        assert hello.version_text == "1.3"
        assert hello.legacy_version == 0x0303
        assert hello.alpn == ("h2", "http/1.1")

    def test_ja3_string_drops_grease(self) -> None:
        hello = parse_client_hello(client_hello("a.vn"))
        # Ciphers, extensions (SNI, groups, point formats, signature algorithms, ALPN,
        # supported versions), groups and point formats of the builder, GREASE removed.
        expected = "771,4865-4866-4867-49195-49199-49196-49200,0-10-11-13-16-43,29-23-24,0"
        assert hello.ja3_string == expected
        assert hello.ja3 == hashlib.md5(expected.encode(), usedforsecurity=False).hexdigest()

    def test_ja4_by_hand(self) -> None:
        hello = parse_client_hello(client_hello("a.vn"))
        ciphers = "1301,1302,1303,c02b,c02c,c02f,c030"
        extensions = "000a,000b,000d,002b_0403,0804,0401,0503,0805,0501"
        b = hashlib.sha256(ciphers.encode()).hexdigest()[:12]
        c = hashlib.sha256(extensions.encode()).hexdigest()[:12]
        assert hello.ja4 == f"t13d0706h2_{b}_{c}"

    def test_a_chrome_hello_against_published_ja3_and_ja4(self) -> None:
        """Chrome 143's ClientHello as a fingerprinting service reported it (JA3 text,
        JA4 and its raw form JA4_r), rebuilt here byte by byte with GREASE added."""
        ciphers = [0x1A1A, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171,
                   49172, 156, 157, 47, 53]  # fmt: skip

        def vector(width: int, items: list[int]) -> bytes:
            body = b"".join(item.to_bytes(width, "big") for item in items)
            return len(body).to_bytes(2 if width == 2 else 1, "big") + body

        sni = b"tls.browserleaks.com"
        alpn = b"\x02h2\x08http/1.1"
        data = {
            0: len(sni + b"...").to_bytes(2, "big") + b"\x00" + len(sni).to_bytes(2, "big") + sni,
            10: vector(2, [0x2A2A, 4588, 29, 23, 24]),
            11: b"\x01\x00",
            13: vector(2, [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]),
            16: len(alpn).to_bytes(2, "big") + alpn,
            43: b"\x06" + bytes.fromhex("3a3a 0304 0303"),
        }
        order = [0x0A0A, 45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27,
                 0x4A4A]  # fmt: skip
        extensions = b"".join(
            kind.to_bytes(2, "big")
            + len(data.get(kind, b"")).to_bytes(2, "big")
            + data.get(kind, b"")
            for kind in order
        )
        body = (
            b"\x03\x03" + b"\x11" * 32 + b"\x00" + vector(2, ciphers) + b"\x01\x00"
            + len(extensions).to_bytes(2, "big") + extensions
        )  # fmt: skip
        handshake = b"\x01" + len(body).to_bytes(3, "big") + body
        record = b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake
        hello = parse_client_hello(record)
        assert hello.ja3_string == (
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
            "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
        )
        assert hello.ja3 == "98487aa16281980e7d1120d399efb6a4"
        assert hello.ja4 == "t13d1516h2_8daaf6152771_d8a2da3f94cd"
        assert hello.server_name == "tls.browserleaks.com"

    def test_tls12_without_sni_or_alpn(self) -> None:
        hello = parse_client_hello(client_hello(None, tls13=False, alpn=()))
        assert (hello.server_name, hello.version_text) == (None, "1.2")
        assert hello.ja4.startswith("t12i070300_")  # groups, point formats, signatures

    def test_cut_inside_the_extensions(self) -> None:
        record = client_hello("dichvucong.haugiang.gov.vn")
        with pytest.raises(PacketError, match="tls: "):
            parse_client_hello(record[:60])

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def test_any_bytes_after_a_hello_header_parse_or_raise(self, rest: bytes) -> None:
        reason = failure(lambda: parse_client_hello(b"\x16\x03\x01\x01\x00\x01" + rest))
        assert reason is None or reason.startswith("tls: ")


def test_ftp_commands() -> None:
    assert ftp_commands(b"USER anonymous\r\nPASS guest@\r\n") == [
        ("USER", "anonymous"),
        ("PASS", "guest@"),
    ]
