"""Decoders of captured packets: link, network and transport headers, and the application
messages canhgac reads from them (DNS, HTTP, TLS ClientHello, FTP logins).

Pure functions over bytes, no I/O. The header path (`PacketDecoder.decode`) runs once per
packet, so it is written for speed: `struct` at fixed offsets, no objects per layer, and
addresses formatted once per distinct value. A header that is cut short raises
`PacketError` (the reason of a dead letter); a frame that is not IP (ARP, LLDP, STP) or
a later IP fragment gives None. Application decoders return None for payloads that are
not their protocol and raise `PacketError` for ones that are but are malformed.
"""

import base64
import binascii
import hashlib
import math
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qsl

# Link types (https://www.tcpdump.org/linktypes.html) the decoder reads.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
# DLT_RAW is 12 on most systems and 14 on OpenBSD; both appear in pcap files.
_RAW_LINKTYPES = frozenset({LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6})
SUPPORTED_LINKTYPES = frozenset(
    {LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2}
    | _RAW_LINKTYPES
)

TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58
TRANSPORT_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "ipv6-icmp"}

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_TCP_FLAG_NAMES = (
    (TCP_SYN, "SYN"),
    (TCP_ACK, "ACK"),
    (TCP_PSH, "PSH"),
    (TCP_FIN, "FIN"),
    (TCP_RST, "RST"),
    (TCP_URG, "URG"),
)

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_VLAN_ETHERTYPES = frozenset({0x8100, 0x88A8, 0x9100})
_IPV6_EXTENSIONS = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44

_U16 = struct.Struct("!H")
_PORTS = struct.Struct("!HH")
_U32 = struct.Struct("!I")


class PacketError(ValueError):
    """A packet or message that cannot be read; the message is the dead letter's reason."""


class Packet(NamedTuple):
    """A decoded IP packet. `source_port`/`destination_port` are 0 for ICMP, whose type
    and code are in `icmp_type`/`icmp_code` (-1 for other transports)."""

    transport: int
    source: str
    destination: str
    source_port: int
    destination_port: int
    tcp_flags: int
    payload: bytes
    icmp_type: int
    icmp_code: int


def tcp_flag_names(flags: int) -> tuple[str, ...]:
    """The names of the TCP flags set in `flags`, in a fixed order."""
    return tuple(name for bit, name in _TCP_FLAG_NAMES if flags & bit)


class PacketDecoder:
    """Decodes frames of the supported link types; keeps a cache of formatted addresses
    (a capture has far fewer distinct addresses than packets)."""

    def __init__(self) -> None:
        self._addresses: dict[bytes, str] = {}

    def _address(self, raw: bytes) -> str:
        text = self._addresses.get(raw)
        if text is None:
            family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
            text = socket.inet_ntop(family, raw)
            if len(self._addresses) < 1_000_000:
                self._addresses[raw] = text
        return text

    def decode(self, linktype: int, frame: bytes) -> Packet | None:
        """The packet in `frame`, None when it is not IP (or is a later fragment)."""
        if linktype == LINKTYPE_ETHERNET:
            if len(frame) < 14:
                raise PacketError(f"Ethernet frame of {len(frame)} bytes, shorter than its header")
            ethertype = (frame[12] << 8) | frame[13]
            offset = 14
            while ethertype in _VLAN_ETHERTYPES:
                if len(frame) < offset + 4:
                    raise PacketError("VLAN tag cut short")
                ethertype = (frame[offset + 2] << 8) | frame[offset + 3]
                offset += 4
        elif linktype in _RAW_LINKTYPES:
            if not frame:
                return None
            version = frame[0] >> 4
            ethertype = _ETHERTYPE_IPV4 if version == 4 else _ETHERTYPE_IPV6 if version == 6 else 0
            offset = 0
        elif linktype == LINKTYPE_LINUX_SLL:
            if len(frame) < 16:
                raise PacketError("Linux cooked header cut short")
            ethertype = (frame[14] << 8) | frame[15]
            offset = 16
        elif linktype == LINKTYPE_LINUX_SLL2:
            if len(frame) < 20:
                raise PacketError("Linux cooked v2 header cut short")
            ethertype = (frame[0] << 8) | frame[1]
            offset = 20
        elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            if len(frame) < 4:
                raise PacketError("loopback header cut short")
            # The family is in the capturing host's byte order (NULL) or big-endian (LOOP).
            family = frame[0] or frame[3]
            ethertype = (
                _ETHERTYPE_IPV4 if family == 2 else _ETHERTYPE_IPV6 if family in (24, 28, 30) else 0
            )
            offset = 4
        else:
            raise PacketError(f"link type {linktype} is not supported")
        if ethertype == _ETHERTYPE_IPV4:
            return self._ipv4(frame, offset)
        if ethertype == _ETHERTYPE_IPV6:
            return self._ipv6(frame, offset)
        return None

    def _ipv4(self, frame: bytes, offset: int) -> Packet | None:
        if len(frame) < offset + 20:
            raise PacketError("IPv4 header cut short")
        header_length = (frame[offset] & 0x0F) * 4
        if header_length < 20:
            raise PacketError(f"IPv4 header length {header_length} is below 20")
        if (frame[offset + 6] & 0x1F) | frame[offset + 7]:
            return None  # a later fragment: its transport header is in the first one
        total = (frame[offset + 2] << 8) | frame[offset + 3]
        # Ethernet pads short packets: the IP length says where the packet ends.
        end = min(offset + total, len(frame)) if total >= header_length else len(frame)
        source = self._address(frame[offset + 12 : offset + 16])
        destination = self._address(frame[offset + 16 : offset + 20])
        return self._transport(
            frame[offset + 9], frame, offset + header_length, end, source, destination
        )

    def _ipv6(self, frame: bytes, offset: int) -> Packet | None:
        if len(frame) < offset + 40:
            raise PacketError("IPv6 header cut short")
        payload_length = (frame[offset + 4] << 8) | frame[offset + 5]
        end = min(offset + 40 + payload_length, len(frame)) if payload_length else len(frame)
        next_header = frame[offset + 6]
        source = self._address(frame[offset + 8 : offset + 24])
        destination = self._address(frame[offset + 24 : offset + 40])
        position = offset + 40
        while next_header in _IPV6_EXTENSIONS or next_header == _IPV6_FRAGMENT:
            if position + 8 > end:
                raise PacketError("IPv6 extension header cut short")
            if next_header == _IPV6_FRAGMENT:
                if _U16.unpack_from(frame, position + 2)[0] & 0xFFF8:
                    return None
                length = 8
            else:
                length = (frame[position + 1] + 1) * 8
            next_header = frame[position]
            position += length
        return self._transport(next_header, frame, position, end, source, destination)

    @staticmethod
    def _transport(
        protocol: int, frame: bytes, offset: int, end: int, source: str, destination: str
    ) -> Packet:
        if protocol == TCP:
            if end < offset + 20:
                raise PacketError("TCP header cut short")
            source_port, destination_port = _PORTS.unpack_from(frame, offset)
            header_length = (frame[offset + 12] >> 4) * 4
            flags = frame[offset + 13]
            payload = frame[offset + header_length : end] if header_length >= 20 else b""
            return Packet(
                TCP, source, destination, source_port, destination_port, flags, payload, -1, -1
            )
        if protocol == UDP:
            if end < offset + 8:
                raise PacketError("UDP header cut short")
            source_port, destination_port = _PORTS.unpack_from(frame, offset)
            return Packet(
                UDP, source, destination, source_port, destination_port, 0,
                frame[offset + 8 : end], -1, -1,
            )  # fmt: skip
        if protocol in (ICMP, ICMPV6):
            if end < offset + 2:
                raise PacketError("ICMP header cut short")
            return Packet(
                protocol, source, destination, 0, 0, 0, frame[offset + 4 : end],
                frame[offset], frame[offset + 1],
            )  # fmt: skip
        return Packet(protocol, source, destination, 0, 0, 0, b"", -1, -1)


# --- DNS ---------------------------------------------------------------------------------

DNS_TYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX",
    16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC",
    33: "SRV", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME", 41: "OPT", 43: "DS",
    44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM",
    52: "TLSA", 59: "CDS", 60: "CDNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF",
    251: "IXFR", 252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA",
}  # fmt: skip
DNS_RESPONSE_CODES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
    "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
)  # fmt: skip
DNS_OP_CODES = ("QUERY", "IQUERY", "STATUS", "OPCODE3", "NOTIFY", "UPDATE", "DSO")
_DNS_CLASSES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
_DNS_FLAGS = ((0x0400, "AA"), (0x0200, "TC"), (0x0100, "RD"), (0x0080, "RA"), (0x0020, "AD"),
              (0x0010, "CD"))  # fmt: skip
_DNS_HEADER = struct.Struct("!HHHHHH")
_DNS_RECORD = struct.Struct("!HHIH")
# Second-level labels under which registrations sit one level deeper (gov.vn, com.vn,
# co.uk): a heuristic instead of the whole public suffix list.
_SECOND_LEVEL_SUFFIXES = frozenset(
    {"com", "net", "org", "gov", "edu", "ac", "co", "info", "int", "mil", "biz", "name",
     "pro", "health", "or", "ne", "go", "gob", "nic", "sch"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    name: str
    type: str
    dns_class: str
    ttl: int
    data: str


@dataclass(frozen=True, slots=True)
class DnsMessage:
    id: int
    is_response: bool
    op_code: str
    response_code: str
    header_flags: tuple[str, ...]
    question_name: str | None
    question_type: str | None
    question_class: str | None
    answers: tuple[DnsAnswer, ...]


def dns_type_name(number: int) -> str:
    return DNS_TYPES.get(number) or f"TYPE{number}"


def _dns_name(message: bytes, offset: int) -> tuple[str, int]:
    """The (possibly compressed) name at `offset`, and the offset just past it."""
    labels: list[str] = []
    end = -1
    jumps = 0
    length = 0
    while True:
        if offset >= len(message):
            raise PacketError("dns: name runs past the end of the message")
        size = message[offset]
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise PacketError("dns: name pointer cut short")
            if end < 0:
                end = offset + 2
            jumps += 1
            if jumps > 64:
                raise PacketError("dns: name pointers loop")
            offset = ((size & 0x3F) << 8) | message[offset + 1]
            continue
        if size & 0xC0:
            raise PacketError(f"dns: label type {size >> 6} is not supported")
        offset += 1
        if size == 0:
            break
        if offset + size > len(message):
            raise PacketError("dns: label runs past the end of the message")
        length += size + 1
        if length > 255:
            raise PacketError("dns: name longer than 255 bytes")
        labels.append(message[offset : offset + size].decode("ascii", "backslashreplace"))
        offset += size
    return (".".join(labels) if labels else "."), (end if end >= 0 else offset)


def _dns_data(message: bytes, kind: int, start: int, length: int) -> str:
    rdata = message[start : start + length]
    if kind == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if kind == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if kind in (2, 5, 12, 39):
        return _dns_name(message, start)[0]
    if kind == 15 and length >= 3:
        return f"{_U16.unpack_from(message, start)[0]} {_dns_name(message, start + 2)[0]}"
    if kind == 16:
        texts: list[str] = []
        position = 0
        while position < length:
            size = rdata[position]
            texts.append(rdata[position + 1 : position + 1 + size].decode("utf-8", "replace"))
            position += 1 + size
        return "".join(texts)
    if kind == 33 and length >= 7:
        priority, weight, port = struct.unpack_from("!HHH", message, start)
        return f"{priority} {weight} {port} {_dns_name(message, start + 6)[0]}"
    # RFC 3597's generic form for the other types.
    return f"\\# {length} {rdata.hex()}" if length else "\\# 0"


def parse_dns(message: bytes) -> DnsMessage:
    """A DNS message (UDP payload, or TCP payload after its length prefix)."""
    if len(message) < 12:
        raise PacketError(f"dns: message of {len(message)} bytes, shorter than its header")
    ident, flags, questions, answers, _, _ = _DNS_HEADER.unpack_from(message)
    op_code = (flags >> 11) & 0x0F
    response_code = flags & 0x0F
    offset = 12
    name = kind = dns_class = None
    if questions:
        name, offset = _dns_name(message, offset)
        if offset + 4 > len(message):
            raise PacketError("dns: question cut short")
        kind_number, class_number = _PORTS.unpack_from(message, offset)
        kind = dns_type_name(kind_number)
        dns_class = _DNS_CLASSES.get(class_number) or f"CLASS{class_number}"
        offset += 4
        for _ in range(questions - 1):
            offset = _dns_name(message, offset)[1] + 4
    records: list[DnsAnswer] = []
    for _ in range(answers if flags & 0x8000 else 0):
        record_name, offset = _dns_name(message, offset)
        if offset + 10 > len(message):
            raise PacketError("dns: answer record cut short")
        record_kind, record_class, ttl, length = _DNS_RECORD.unpack_from(message, offset)
        offset += 10
        if offset + length > len(message):
            raise PacketError("dns: answer data runs past the end of the message")
        records.append(
            DnsAnswer(
                record_name,
                dns_type_name(record_kind),
                _DNS_CLASSES.get(record_class) or f"CLASS{record_class}",
                ttl,
                _dns_data(message, record_kind, offset, length),
            )
        )
        offset += length
    return DnsMessage(
        id=ident,
        is_response=bool(flags & 0x8000),
        op_code=DNS_OP_CODES[op_code] if op_code < len(DNS_OP_CODES) else f"OPCODE{op_code}",
        response_code=(
            DNS_RESPONSE_CODES[response_code]
            if response_code < len(DNS_RESPONSE_CODES)
            else f"RCODE{response_code}"
        ),
        header_flags=tuple(text for bit, text in _DNS_FLAGS if flags & bit),
        question_name=name,
        question_type=kind,
        question_class=dns_class,
        answers=tuple(records),
    )


@dataclass(frozen=True, slots=True)
class DomainParts:
    """A query name split as ECS does: registered domain, subdomain, top-level domain,
    with the features DNS tunnelling rules test."""

    registered_domain: str | None
    subdomain: str | None
    top_level_domain: str | None
    length: int
    longest_label: int
    subdomain_entropy: float
    """Shannon entropy (bits per character) of the subdomain's characters, dots excluded."""


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def domain_parts(name: str) -> DomainParts:
    """Split a query name; the registered domain is the last two labels, or three under
    a generic second level (gov.vn, com.vn, co.uk)."""
    trimmed = name.rstrip(".").lower()
    labels = trimmed.split(".") if trimmed else []
    longest = max((len(label) for label in labels), default=0)
    if len(labels) < 2:
        return DomainParts(None, None, labels[0] if labels else None, len(trimmed), longest, 0.0)
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL_SUFFIXES else 2
    subdomain = ".".join(labels[:-keep]) or None
    top = ".".join(labels[-keep + 1 :])
    entropy = shannon_entropy(subdomain.replace(".", "")) if subdomain else 0.0
    return DomainParts(
        ".".join(labels[-keep:]), subdomain, top, len(trimmed), longest, round(entropy, 3)
    )


# --- HTTP --------------------------------------------------------------------------------

_HTTP_METHODS = (
    b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ",
    b"TRACE ", b"PROPFIND ",
)  # fmt: skip
_PASSWORD_KEYS = frozenset(
    {"password", "passwd", "pass", "pwd", "passwort", "mat_khau", "matkhau", "mk",
     "user_password", "login_password", "j_password", "txtpassword"}
)  # fmt: skip
_USER_KEYS = (
    "username", "user", "login", "email", "user_name", "ten_dang_nhap", "tendangnhap",
    "account", "userid", "uid", "j_username", "txtusername",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Credentials:
    """That a cleartext message carried a password; the password itself is never kept."""

    method: str
    """http-basic, http-form, http-query or ftp."""
    username: str | None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    version: str
    host: str | None
    user_agent: str | None
    referrer: str | None
    content_type: str | None
    credentials: Credentials | None


def is_http_request(payload: bytes) -> bool:
    return payload.startswith(_HTTP_METHODS)


def _credentials_in_form(text: str, method: str) -> Credentials | None:
    pairs = [(key.lower(), value) for key, value in parse_qsl(text, keep_blank_values=True)]
    if not any(key in _PASSWORD_KEYS and value for key, value in pairs):
        return None
    users = dict(pairs)
    username = next((users[key] for key in _USER_KEYS if users.get(key)), None)
    return Credentials(method, username)


def _basic_credentials(value: str) -> Credentials | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return Credentials("http-basic", None)
    username, _, _ = decoded.partition(":")
    return Credentials("http-basic", username or None)


def parse_http_request(payload: bytes) -> HttpRequest | None:
    """The request starting a TCP segment, from the headers in that segment; None when
    the segment does not start with a request line."""
    if not payload.startswith(_HTTP_METHODS):
        return None
    head, _, body = payload.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise PacketError(f"http: malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    credentials = None
    if "authorization" in headers:
        credentials = _basic_credentials(headers["authorization"])
    content_type = headers.get("content-type")
    form = "application/x-www-form-urlencoded"
    if credentials is None and body and (content_type or "").lower().startswith(form):
        credentials = _credentials_in_form(body.decode("latin-1"), "http-form")
    if credentials is None and "?" in target:
        credentials = _credentials_in_form(target.partition("?")[2], "http-query")
    return HttpRequest(
        method=method,
        target=target,
        version=version[5:],
        host=headers.get("host"),
        user_agent=headers.get("user-agent"),
        referrer=headers.get("referer"),
        content_type=content_type,
        credentials=credentials,
    )


def parse_http_status(payload: bytes) -> int | None:
    """The status code of a response starting a TCP segment, else None."""
    if not payload.startswith(b"HTTP/1.") or len(payload) < 12:
        return None
    code = payload[9:12]
    return int(code) if code.isdigit() else None


# --- TLS ---------------------------------------------------------------------------------

_TLS_VERSIONS = {0x0300: "3.0", 0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}
_JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
                 0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}  # fmt: skip


def _is_grease(value: int) -> bool:
    return value & 0x0F0F == 0x0A0A and (value >> 8) == (value & 0xFF)


@dataclass(frozen=True, slots=True)
class ClientHello:
    legacy_version: int
    version: int
    """The highest version offered (supported_versions, else the legacy version)."""
    server_name: str | None
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...]
    groups: tuple[int, ...]
    point_formats: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    alpn: tuple[str, ...]

    @property
    def version_text(self) -> str | None:
        return _TLS_VERSIONS.get(self.version)

    @property
    def ja3_string(self) -> str:
        return ",".join(
            (
                str(self.legacy_version),
                "-".join(str(c) for c in self.cipher_suites if not _is_grease(c)),
                "-".join(str(e) for e in self.extensions if not _is_grease(e)),
                "-".join(str(g) for g in self.groups if not _is_grease(g)),
                "-".join(str(p) for p in self.point_formats),
            )
        )

    @property
    def ja3(self) -> str:
        # JA3 is defined as an MD5 digest; not a security use.
        return hashlib.md5(self.ja3_string.encode(), usedforsecurity=False).hexdigest()

    @property
    def ja4(self) -> str:
        """JA4 (FoxIO) of a ClientHello seen over TCP."""
        ciphers = [c for c in self.cipher_suites if not _is_grease(c)]
        extensions = [e for e in self.extensions if not _is_grease(e)]
        alpn = self.alpn[0] if self.alpn else ""
        if not alpn:
            alpn_code = "00"
        elif alpn[0].isascii() and alpn[0].isalnum() and alpn[-1].isascii() and alpn[-1].isalnum():
            alpn_code = alpn[0] + alpn[-1]
        else:
            raw = alpn.encode("latin-1").hex()
            alpn_code = raw[0] + raw[-1]
        part_a = (
            f"t{_JA4_VERSIONS.get(self.version, '00')}{'d' if self.server_name else 'i'}"
            f"{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{alpn_code}"
        )
        part_b = _ja4_hash(",".join(sorted(f"{c:04x}" for c in ciphers))) if ciphers else None
        listed = sorted(f"{e:04x}" for e in extensions if e not in (0x0000, 0x0010))
        text = ",".join(listed)
        if self.signature_algorithms:
            text += "_" + ",".join(f"{s:04x}" for s in self.signature_algorithms)
        part_c = _ja4_hash(text) if listed else None
        return f"{part_a}_{part_b or '0' * 12}_{part_c or '0' * 12}"


def _ja4_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tls_client_hello_length(payload: bytes) -> int | None:
    """The length of the TLS record holding a ClientHello that starts `payload`, or None
    when the payload does not start one."""
    if len(payload) < 6 or payload[0] != 0x16 or payload[1] != 0x03 or payload[5] != 0x01:
        return None
    return 5 + ((payload[3] << 8) | payload[4])


def parse_client_hello(record: bytes) -> ClientHello:
    """A ClientHello from the start of its TLS record (which may be cut short: what is
    there is read, and a cut inside the extensions raises)."""
    if tls_client_hello_length(record) is None:
        raise PacketError("tls: not a ClientHello record")
    body = record[9:]
    try:
        legacy_version = _U16.unpack_from(body, 0)[0]
        offset = 34
        offset += 1 + body[offset]
        cipher_length = _U16.unpack_from(body, offset)[0]
        ciphers = struct.unpack_from(f"!{cipher_length // 2}H", body, offset + 2)
        offset += 2 + cipher_length
        offset += 1 + body[offset]
        extensions: list[int] = []
        groups: tuple[int, ...] = ()
        formats: tuple[int, ...] = ()
        algorithms: tuple[int, ...] = ()
        alpn: list[str] = []
        versions: list[int] = []
        server_name = None
        if offset + 2 <= len(body):
            end = offset + 2 + _U16.unpack_from(body, offset)[0]
            offset += 2
            while offset + 4 <= end:
                kind, length = _PORTS.unpack_from(body, offset)
                data = body[offset + 4 : offset + 4 + length]
                if len(data) < length:
                    raise PacketError("tls: ClientHello extension cut short")
                extensions.append(kind)
                if kind == 0 and length >= 5 and data[2] == 0:
                    size = _U16.unpack_from(data, 3)[0]
                    server_name = data[5 : 5 + size].decode("ascii", "backslashreplace")
                elif kind == 10 and length >= 2:
                    groups = struct.unpack_from(f"!{_U16.unpack_from(data)[0] // 2}H", data, 2)
                elif kind == 11 and length >= 1:
                    formats = tuple(data[1 : 1 + data[0]])
                elif kind == 13 and length >= 2:
                    count = _U16.unpack_from(data)[0] // 2
                    algorithms = struct.unpack_from(f"!{count}H", data, 2)
                elif kind == 16 and length >= 2:
                    position = 2
                    while position < length:
                        size = data[position]
                        alpn.append(data[position + 1 : position + 1 + size].decode("latin-1"))
                        position += 1 + size
                elif kind == 43 and length >= 1:
                    count = data[0] // 2
                    versions = [v for v in struct.unpack_from(f"!{count}H", data, 1)]
                offset += 4 + length
    except (struct.error, IndexError) as exc:
        raise PacketError(f"tls: ClientHello cut short or malformed ({exc})") from exc
    offered = [v for v in versions if not _is_grease(v)]
    return ClientHello(
        legacy_version=legacy_version,
        version=max(offered) if offered else legacy_version,
        server_name=server_name,
        cipher_suites=tuple(ciphers),
        extensions=tuple(extensions),
        groups=tuple(groups),
        point_formats=formats,
        signature_algorithms=tuple(algorithms),
        alpn=tuple(alpn),
    )


# --- FTP ---------------------------------------------------------------------------------


def ftp_commands(payload: bytes) -> list[tuple[str, str]]:
    """The (command, argument) pairs of an FTP control connection segment from a client."""
    commands: list[tuple[str, str]] = []
    for line in payload.split(b"\r\n"):
        verb, _, argument = line.decode("utf-8", "replace").strip().partition(" ")
        if verb:
            commands.append((verb.upper(), argument))
    return commands
