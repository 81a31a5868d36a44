"""`PacketEvents`: captured frames in, ECS network events out (pure logic, no I/O).

One event per connection (packets of both directions aggregated by their 5-tuple: the
side that sent the first packet, or the SYN, is the source), and one per application
message read: DNS queries and answers, HTTP requests (with the status of their response
when it is seen), TLS ClientHellos, FTP logins. A connection's event is made when it
ends (TCP RST, or FIN both ways, then `closed_linger` seconds of capture time), when it
has been idle for `idle_timeout` seconds, or at `finish`.

Event ids are deterministic: (origin, packet number) for messages, (origin, number of
the connection's first packet, its 5-tuple) for connections, so reading the same
capture again yields the same ids. A frame that cannot be decoded becomes a dead letter
naming its number.
"""

import heapq
from collections import deque
from datetime import UTC, datetime, timedelta

from canhgac.collectors._event_builder import SourceLabels
from canhgac.events import DeadLetter, Event, FieldValue, event_id, make_event
from canhgac.parsers._packets import (
    TCP,
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    TRANSPORT_NAMES,
    UDP,
    ClientHello,
    Credentials,
    DnsMessage,
    HttpRequest,
    PacketDecoder,
    PacketError,
    domain_parts,
    ftp_commands,
    is_http_request,
    parse_client_hello,
    parse_dns,
    parse_http_request,
    parse_http_status,
    tcp_flag_names,
    tls_client_hello_length,
)

# What a connection's payloads turned out to be, decided on its first payload.
_UNKNOWN, _HTTP, _TLS, _FTP, _OTHER = range(5)
_DNS_PORTS = frozenset({53, 5353, 5355})
_FTP_PORT = 21
_TLS_BUFFER_LIMIT = 16384
_EXPIRY_EVERY_NS = 1_000_000_000


class _Flow:
    __slots__ = (
        "bytes_in",
        "bytes_out",
        "closed",
        "fins",
        "first_number",
        "first_time",
        "flags",
        "ftp_user",
        "icmp",
        "key",
        "kind",
        "last_number",
        "last_time",
        "packets_in",
        "packets_out",
        "requests",
        "tls_buffer",
    )

    def __init__(self, key: tuple[int, str, int, str, int], number: int, time: int) -> None:
        self.key = key
        self.first_number = self.last_number = number
        self.first_time = self.last_time = time
        self.packets_out = self.bytes_out = self.packets_in = self.bytes_in = 0
        self.flags = 0
        self.fins = 0
        self.closed = False
        self.icmp: tuple[int, int] | None = None
        self.kind = _UNKNOWN
        self.requests: deque[tuple[int, int, HttpRequest]] | None = None
        self.tls_buffer: bytes | None = None
        self.ftp_user: str | None = None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000
# Capture times a datetime can hold (years 1 to 9999); others come from damaged files.
_EARLIEST_NS = -62_135_596_800 * _NS
_LATEST_NS = 253_402_300_799 * _NS


def _at(time_ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


class PacketEvents:
    """Collects the events of frames added in capture order; `take` hands them over."""

    def __init__(
        self,
        origin: str,
        labels: SourceLabels,
        path: str | None = None,
        *,
        idle_timeout: float = 120.0,
        closed_linger: float = 2.0,
        max_connections: int = 500_000,
    ) -> None:
        self.origin = origin
        self.labels = labels
        self.path = path
        self._idle_ns = round(idle_timeout * _NS)
        self._linger_ns = round(closed_linger * _NS)
        self._max_connections = max_connections
        self.decoder = PacketDecoder()
        self.events: list[Event] = []
        self.dead_letters: list[DeadLetter] = []
        self.frames = 0
        """Frames added so far (the position of a live capture)."""
        self._flows: dict[tuple[int, str, int, str, int], _Flow] = {}
        self._next_expiry = 0

    @property
    def open_connections(self) -> int:
        """Connections seen whose event is not made yet."""
        return len(self._flows)

    def take(self) -> tuple[list[Event], list[DeadLetter]]:
        events, dead = self.events, self.dead_letters
        self.events, self.dead_letters = [], []
        return events, dead

    def dead_letter(self, number: int, reason: str, raw: str = "") -> None:
        self.dead_letters.append(
            DeadLetter(
                source=self.labels.source,
                reason=reason,
                raw=raw,
                received_at=datetime.now(UTC),
                path=self.path,
                line_number=number,
            )
        )

    def add(self, number: int, time: int, linktype: int, frame: bytes, wire_length: int) -> None:
        """One frame; `number` counts frames from 1, `time` is in nanoseconds since the
        epoch, `wire_length` is the frame's size on the wire."""
        self.frames += 1
        if not _EARLIEST_NS <= time <= _LATEST_NS:
            self.dead_letter(number, f"packet {number}: capture time out of range ({time} ns)")
            return
        if time >= self._next_expiry:
            self.expire(time)
        try:
            packet = self.decoder.decode(linktype, frame)
        except PacketError as exc:
            self.dead_letter(number, f"packet {number}: {exc}", frame[:64].hex())
            return
        if packet is None:
            return
        transport, source, destination, source_port, destination_port, flags, payload, _, _ = packet
        flows = self._flows
        key = (transport, source, source_port, destination, destination_port)
        flow = flows.get(key)
        outbound = True
        if flow is None:
            flow = flows.get((transport, destination, destination_port, source, source_port))
            if flow is not None:
                outbound = False
            else:
                if len(flows) >= self._max_connections:
                    self._evict()
                if transport == TCP and flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK:
                    # The first packet seen answers a SYN: its receiver opened the connection.
                    key = (transport, destination, destination_port, source, source_port)
                    flow = flows[key] = _Flow(key, number, time)
                    outbound = False
                else:
                    flow = flows[key] = _Flow(key, number, time)
                    if packet.icmp_type >= 0:
                        flow.icmp = (packet.icmp_type, packet.icmp_code)
        if flow.closed and flags & TCP_SYN and not flags & TCP_ACK:
            # A new connection reusing the ports of one that has ended.
            del flows[flow.key]
            self._emit_flow(flow)
            flow = flows[key] = _Flow(key, number, time)
            outbound = True
        if outbound:
            flow.packets_out += 1
            flow.bytes_out += wire_length
        else:
            flow.packets_in += 1
            flow.bytes_in += wire_length
        flow.last_time = time
        flow.last_number = number
        if transport == TCP:
            flow.flags |= flags
            if flags & TCP_RST:
                flow.closed = True
            elif flags & TCP_FIN:
                flow.fins |= 1 if outbound else 2
                flow.closed = flow.fins == 3
            if payload:
                self._tcp_payload(flow, outbound, number, time, payload)
        elif (
            transport == UDP
            and payload
            and (source_port in _DNS_PORTS or destination_port in _DNS_PORTS)
        ):
            self._dns(source, destination, source_port, destination_port, number, time,
                      payload, "udp")  # fmt: skip

    # -- application messages ----------------------------------------------------------------
    def _tcp_payload(
        self, flow: _Flow, outbound: bool, number: int, time: int, payload: bytes
    ) -> None:
        kind = flow.kind
        if kind == _OTHER:
            return
        if kind == _UNKNOWN:
            if is_http_request(payload) or payload.startswith(b"HTTP/1."):
                kind = _HTTP
            elif tls_client_hello_length(payload) is not None:
                kind = _TLS
            elif flow.key[4] == _FTP_PORT:
                kind = _FTP
            elif flow.key[4] in _DNS_PORTS:
                # DNS over TCP: a segment holding one whole message after its length prefix.
                if len(payload) > 2 and (payload[0] << 8 | payload[1]) == len(payload) - 2:
                    _, client, client_port, server, server_port = flow.key
                    if outbound:
                        self._dns(client, server, client_port, server_port, number, time,
                                  payload[2:], "tcp")  # fmt: skip
                    else:
                        self._dns(server, client, server_port, client_port, number, time,
                                  payload[2:], "tcp")  # fmt: skip
                return
            else:
                kind = _OTHER
            flow.kind = kind
            if kind == _OTHER:
                return
        if kind == _HTTP:
            self._http(flow, outbound, number, time, payload)
        elif kind == _TLS:
            if outbound:
                self._tls(flow, number, time, payload)
        elif kind == _FTP and outbound:
            self._ftp(flow, number, time, payload)

    def _http(self, flow: _Flow, outbound: bool, number: int, time: int, payload: bytes) -> None:
        if outbound:
            try:
                request = parse_http_request(payload)
            except PacketError as exc:
                self.dead_letter(number, f"packet {number}: {exc}", payload[:200].hex())
                return
            if request is not None:
                if flow.requests is None:
                    flow.requests = deque()
                flow.requests.append((number, time, request))
            return
        status = parse_http_status(payload)
        if status is not None and flow.requests:
            request_number, request_time, request = flow.requests.popleft()
            self._emit_http(flow, request_number, request_time, request, status)

    def _tls(self, flow: _Flow, number: int, time: int, payload: bytes) -> None:
        record = payload if flow.tls_buffer is None else flow.tls_buffer + payload
        needed = tls_client_hello_length(record)
        if needed is not None and len(record) < needed and len(record) < _TLS_BUFFER_LIMIT:
            # A ClientHello larger than a segment (post-quantum key shares): wait for more.
            flow.tls_buffer = record
            return
        flow.tls_buffer = None
        flow.kind = _OTHER
        if needed is None:
            return
        try:
            hello = parse_client_hello(record[:needed])
        except PacketError as exc:
            self.dead_letter(number, f"packet {number}: {exc}", record[:200].hex())
            return
        self._emit_tls(flow, number, time, hello)

    def _ftp(self, flow: _Flow, number: int, time: int, payload: bytes) -> None:
        for verb, argument in ftp_commands(payload):
            if verb == "USER":
                flow.ftp_user = argument
            elif verb == "PASS":
                self._emit_ftp_login(flow, number, time, flow.ftp_user)

    def _dns(
        self,
        source: str,
        destination: str,
        source_port: int,
        destination_port: int,
        number: int,
        time: int,
        payload: bytes,
        transport: str,
    ) -> None:
        try:
            message = parse_dns(payload)
        except PacketError as exc:
            self.dead_letter(number, f"packet {number}: {exc}", payload[:200].hex())
            return
        self._emit_dns(source, destination, source_port, destination_port, number, time,
                       message, transport)  # fmt: skip

    # -- expiry ------------------------------------------------------------------------------
    def expire(self, now: int) -> None:
        """Emit the connections that have ended or gone idle by capture time `now` (ns)."""
        self._next_expiry = now + _EXPIRY_EVERY_NS
        linger, idle = self._linger_ns, self._idle_ns
        ended = [
            flow
            for flow in self._flows.values()
            if now - flow.last_time > (linger if flow.closed else idle)
        ]
        for flow in ended:
            del self._flows[flow.key]
            self._emit_flow(flow)

    def _evict(self) -> None:
        """Emit the tenth of the connections quiet for longest: a bound on memory when a
        flood or scan opens connections faster than they time out."""
        quiet = heapq.nsmallest(
            max(1, self._max_connections // 10),
            self._flows.values(),
            key=lambda flow: flow.last_time,
        )
        for flow in quiet:
            del self._flows[flow.key]
            self._emit_flow(flow)

    def finish(self) -> None:
        """Emit every connection still open (the capture has ended)."""
        flows = sorted(self._flows.values(), key=lambda flow: flow.first_number)
        self._flows.clear()
        for flow in flows:
            self._emit_flow(flow)

    # -- events ------------------------------------------------------------------------------
    def _event(
        self,
        fields: dict[str, FieldValue],
        time: int,
        position: int | str,
        original: str,
        identity: str | None = None,
    ) -> None:
        """`identity` (default: `original`) is what the id hashes beside the position:
        only what the packet at that position says, never what came later."""
        self.events.append(
            make_event(
                id=event_id(self.origin, position, original if identity is None else identity),
                timestamp=_at(time),
                fields=fields,
                original=original,
                path=self.path,
                system=self.labels.system,
                organization=self.labels.organization,
            )
        )

    @staticmethod
    def _endpoints(
        fields: dict[str, FieldValue],
        transport: str,
        source: str,
        source_port: int,
        destination: str,
        destination_port: int,
    ) -> None:
        fields["network.transport"] = transport
        fields["network.type"] = "ipv6" if ":" in source else "ipv4"
        fields["source.ip"] = source
        fields["destination.ip"] = destination
        if source_port or destination_port:
            fields["source.port"] = source_port
            fields["destination.port"] = destination_port

    def _emit_flow(self, flow: _Flow) -> None:
        # Requests whose response never came are still requests.
        while flow.requests:
            number, time, request = flow.requests.popleft()
            self._emit_http(flow, number, time, request, None)
        protocol, source, source_port, destination, destination_port = flow.key
        transport = TRANSPORT_NAMES.get(protocol, str(protocol))
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": ("network",),
            "event.type": ("connection", "end") if flow.closed else ("connection",),
            "event.dataset": "network.connection",
            "event.module": "network",
            "network.iana_number": str(protocol),
            "source.packets": flow.packets_out,
            "source.bytes": flow.bytes_out,
            "destination.packets": flow.packets_in,
            "destination.bytes": flow.bytes_in,
            "network.packets": flow.packets_out + flow.packets_in,
            "network.bytes": flow.bytes_out + flow.bytes_in,
            "event.duration": flow.last_time - flow.first_time,
        }
        self._endpoints(fields, transport, source, source_port, destination, destination_port)
        if protocol == TCP:
            fields["canhgac.tcp.flags"] = tcp_flag_names(flow.flags)
        if flow.icmp is not None:
            fields["canhgac.icmp.type"], fields["canhgac.icmp.code"] = flow.icmp
        where = f"[{source}]:{source_port}" if ":" in source else f"{source}:{source_port}"
        to = (
            f"[{destination}]:{destination_port}"
            if ":" in destination
            else f"{destination}:{destination_port}"
        )
        original = (
            f"{transport} {where} -> {to} packets {flow.first_number}-{flow.last_number}: "
            f"{flow.packets_out}/{flow.bytes_out} out, {flow.packets_in}/{flow.bytes_in} in"
        )
        self.events.append(
            make_event(
                id=event_id(
                    self.origin,
                    flow.first_number,
                    f"{transport} {source} {source_port} {destination} {destination_port}",
                ),
                timestamp=_at(flow.first_time),
                fields=fields,
                original=original,
                path=self.path,
                system=self.labels.system,
                organization=self.labels.organization,
            )
        )

    def _emit_dns(
        self,
        source: str,
        destination: str,
        source_port: int,
        destination_port: int,
        number: int,
        time: int,
        message: DnsMessage,
        transport: str,
    ) -> None:
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": ("network",),
            "event.type": ("protocol",),
            "event.dataset": "network.dns",
            "event.module": "network",
            "network.protocol": "dns",
            "dns.id": str(message.id),
            "dns.type": "answer" if message.is_response else "query",
            "dns.op_code": message.op_code,
            "dns.header_flags": message.header_flags,
        }
        self._endpoints(fields, transport, source, source_port, destination, destination_port)
        if message.is_response:
            fields["dns.response_code"] = message.response_code
        name = message.question_name
        if name is not None:
            fields["dns.question.name"] = name
            fields["dns.question.type"] = message.question_type
            fields["dns.question.class"] = message.question_class
            parts = domain_parts(name)
            fields["dns.question.registered_domain"] = parts.registered_domain
            fields["dns.question.subdomain"] = parts.subdomain
            fields["dns.question.top_level_domain"] = parts.top_level_domain
            fields["canhgac.dns.question.name_length"] = parts.length
            fields["canhgac.dns.question.longest_label"] = parts.longest_label
            fields["canhgac.dns.question.subdomain_entropy"] = parts.subdomain_entropy
        if message.answers:
            answers = message.answers
            fields["dns.answers.name"] = tuple(a.name for a in answers)
            fields["dns.answers.type"] = tuple(a.type for a in answers)
            fields["dns.answers.class"] = tuple(a.dns_class for a in answers)
            fields["dns.answers.ttl"] = tuple(a.ttl for a in answers)
            fields["dns.answers.data"] = tuple(a.data for a in answers)
            resolved = tuple(a.data for a in answers if a.type in ("A", "AAAA"))
            if resolved:
                fields["dns.resolved_ip"] = resolved
        original = (
            f"dns {'answer' if message.is_response else 'query'} {message.id} "
            f"{message.question_type} {name}"
            + (f" {message.response_code}" if message.is_response else "")
        )
        self._event(fields, time, number, original)

    def _emit_http(
        self,
        flow: _Flow,
        number: int,
        time: int,
        request: HttpRequest,
        status: int | None,
    ) -> None:
        _, source, source_port, destination, destination_port = flow.key
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": ("network",),
            "event.type": ("protocol",),
            "event.dataset": "network.http",
            "event.module": "network",
            "network.protocol": "http",
            "http.request.method": request.method,
            "http.version": request.version,
            "url.original": request.target,
            "user_agent.original": request.user_agent,
            "http.request.referrer": request.referrer,
            "http.request.mime_type": request.content_type,
            "http.response.status_code": status,
        }
        self._endpoints(fields, "tcp", source, source_port, destination, destination_port)
        path, _, query = request.target.partition("?")
        fields["url.path"] = path
        if query:
            fields["url.query"] = query
        if request.host:
            host = request.host
            if host.startswith("["):
                host = host[1 : host.find("]")] if "]" in host else host
            else:
                host = host.rpartition(":")[0] if host.count(":") == 1 else host
            fields["url.domain"] = host
        if request.credentials is not None:
            self._credentials(fields, request.credentials)
        original = f"{request.method} {request.target} HTTP/{request.version}"
        if request.host:
            original += f" host={request.host}"
        identity = original
        if status is not None:
            original += f" -> {status}"
        self._event(fields, time, number, original, identity)

    @staticmethod
    def _credentials(fields: dict[str, FieldValue], credentials: Credentials) -> None:
        fields["canhgac.credentials.cleartext"] = True
        fields["canhgac.credentials.method"] = credentials.method
        if credentials.username:
            fields["user.name"] = credentials.username

    def _emit_tls(self, flow: _Flow, number: int, time: int, hello: ClientHello) -> None:
        _, source, source_port, destination, destination_port = flow.key
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": ("network",),
            "event.type": ("protocol",),
            "event.dataset": "network.tls",
            "event.module": "network",
            "network.protocol": "tls",
            "tls.client.server_name": hello.server_name,
            "tls.version": hello.version_text,
            "tls.version_protocol": "ssl" if hello.version == 0x0300 else "tls",
            "tls.client.ja3": hello.ja3,
            "tls.client.ja4": hello.ja4,
        }
        if hello.alpn:
            fields["tls.client.supported_protocols"] = hello.alpn
        if hello.server_name:
            fields["destination.domain"] = hello.server_name
        self._endpoints(fields, "tcp", source, source_port, destination, destination_port)
        original = f"tls client hello sni={hello.server_name} ja3={hello.ja3}"
        self._event(fields, time, number, original)

    def _emit_ftp_login(self, flow: _Flow, number: int, time: int, user: str | None) -> None:
        _, source, source_port, destination, destination_port = flow.key
        fields: dict[str, FieldValue] = {
            "event.kind": "event",
            "event.category": ("network", "authentication"),
            "event.type": ("protocol", "start"),
            "event.dataset": "network.ftp",
            "event.module": "network",
            "event.action": "ftp_login",
            "network.protocol": "ftp",
        }
        self._endpoints(fields, "tcp", source, source_port, destination, destination_port)
        self._credentials(fields, Credentials("ftp", user))
        self._event(fields, time, number, f"ftp USER {user} PASS (not kept)")
