"""`SyslogReceiver`: a syslog listener (UDP, TCP, TLS) that loses nothing it received.

Two threads per source. The reader serves every listener through a selector: what it
reads is framed (collectors/_syslog_framing.py), written to the spool
(collectors/_syslog_spool.py) and queued in memory. The hand-off thread takes the queue
in batches, parses them and submits them to the pipeline, each with the spool position
after its last message as its checkpoint. At start the messages spooled after the stored
checkpoint (received, but not stored when the process stopped) are handed on first;
event ids come from spool positions, so nothing is stored twice.

Backpressure: `submit` blocks while the pipeline's queue is full, so the in-memory queue
grows. Past two batches the reader stops reading TCP connections, and TCP flow control
slows their senders down. UDP cannot be slowed, so it is read on, into the spool and the
queue, up to `max_queued_messages`: a stall of the pipeline shorter than that loses no
datagram. Beyond it the kernel drops what does not fit the socket buffer, and the
receiver reports the kernel's drop count (/proc/net/udp) as `dropped`.
"""

import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from canhgac.collectors._read_progress import CollectorError
from canhgac.collectors._syslog_framing import (
    Framed,
    FramingError,
    StreamFramer,
    datagram_message,
)
from canhgac.collectors._syslog_spool import (
    KIND_FRAMING_ERROR,
    KIND_MESSAGE,
    TRANSPORTS,
    Received,
    SpoolPosition,
    SpoolRecord,
    SyslogSpool,
)
from canhgac.collectors._syslog_tagging import SyslogTagger
from canhgac.config import SyslogListener, SyslogSourceConfig
from canhgac.events import DeadLetter, Event, event_id, make_event
from canhgac.parsers import ParseContext, ParseError, SyslogParser
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

log = logging.getLogger(__name__)

MAX_BATCH_DELAY = 0.1
"""Seconds a received message may wait for more before its batch is handed on."""

TCP_PAUSE_BATCHES = 2
"""Queued batches past which TCP connections are not read (backpressure)."""

_PAUSED_RECHECK = 0.02

_DATAGRAMS_PER_TURN = 512
_STREAM_BYTES_PER_TURN = 256 * 1024
_RECV_BYTES = 65_536
_UDP_DATAGRAM_BYTES = 65_536
_REPLAY_BATCH = 1000


@dataclass(frozen=True, slots=True)
class SyslogCounters:
    """A source's message counts since it started.

    `received` counts every message and every framing error read off the sockets, and
    those read again from the spool at start (received before a restart, never stored);
    `parsed` the events built; `dead_lettered` the messages that became dead letters;
    `dropped` the datagrams the kernel dropped because the UDP socket buffer was full.
    """

    received: int
    parsed: int
    dead_lettered: int
    dropped: int


@dataclass(frozen=True, slots=True)
class BoundListener:
    """A listening socket's transport and the address it is bound to."""

    protocol: str
    host: str
    port: int


@dataclass(slots=True)
class _Connection:
    sock: socket.socket
    transport: int
    address: str
    port: int
    framer: StreamFramer
    handshaking: bool = False


@dataclass(slots=True)
class _Listener:
    sock: socket.socket
    config: SyslogListener
    transport: int
    tls: ssl.SSLContext | None = None
    udp_inode: int | None = None
    udp_drops_at_start: int = 0


class SyslogReceiver:
    def __init__(
        self,
        config: SyslogSourceConfig,
        *,
        load_checkpoint: Callable[[str], Checkpoint | None],
        submit: Callable[[CollectedBatch], None],
        timezone: tzinfo,
        batch_lines: int = 1000,
        spool_dir: Path,
    ) -> None:
        self.config = config
        self._load_checkpoint = load_checkpoint
        self._submit = submit
        self._timezone = timezone
        self._batch_lines = batch_lines
        self._spool = SyslogSpool(spool_dir, config.spool_segment_bytes)
        self._parser = SyslogParser()
        self._tagger = SyslogTagger(config.tags, config.system, config.organization)
        self._origin = f"syslog:{config.name}"
        # Every socket; the UDP ones only (TCP paused); none (the queue is full).
        self._selector = selectors.DefaultSelector()
        self._udp_selector = selectors.DefaultSelector()
        self._idle_selector = selectors.DefaultSelector()
        self._queue: deque[SpoolRecord] = deque()
        self._queued = threading.Condition()
        self._tcp_pause = TCP_PAUSE_BATCHES * batch_lines
        self._listeners: list[_Listener] = []
        self._connections: dict[int, _Connection] = {}
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._received = 0
        self._parsed = 0
        self._dead_lettered = 0
        self._polled_received = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def poll_interval(self) -> float:
        return self.config.poll_interval

    @property
    def checkpoint_name(self) -> str:
        return f"syslog:{self.config.name}"

    def start(self) -> None:
        """Hand on what the spool holds past the stored checkpoint, then listen."""
        stored = self._stored_position()
        self._spool.open(stored)
        self._replay(stored)
        try:
            for listener in self.config.listen:
                self._listeners.append(self._listen(listener))
        except BaseException:
            self._close_sockets()
            self._spool.close()
            raise
        for selector in (self._selector, self._udp_selector, self._idle_selector):
            selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._threads = [
            threading.Thread(target=self._read, name=f"canhgac-syslog-{self.name}", daemon=True),
            threading.Thread(
                target=self._hand_off, name=f"canhgac-syslog-{self.name}-hand-off", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def poll(self) -> int:
        """Trim the spool of what is stored; returns the messages received since the last poll."""
        stored = self._stored_position()
        if stored is not None:
            self._spool.trim(stored)
        received = self._received
        new, self._polled_received = received - self._polled_received, received
        return new

    def close(self) -> None:
        """Stop listening and hand on what is queued while the pipeline takes it; what
        it does not take stays in the spool for the next start."""
        self._stopping.set()
        try:
            self._wake_write.send(b"x")
        except OSError as exc:
            log.debug("%s: waking the reader failed: %s", self.name, exc)
        with self._queued:
            self._queued.notify_all()
        for thread in self._threads:
            thread.join()
        self._threads = []
        self._close_sockets()
        self._spool.close()
        self._wake_read.close()
        self._wake_write.close()

    def counters(self) -> SyslogCounters:
        return SyslogCounters(
            received=self._received,
            parsed=self._parsed,
            dead_lettered=self._dead_lettered,
            dropped=self._udp_drops(),
        )

    def bound(self) -> list[BoundListener]:
        """Where each listener listens (the real port when the configuration said 0)."""
        return [
            BoundListener(listener.config.protocol, *listener.sock.getsockname()[:2])
            for listener in self._listeners
        ]

    # -- start-up ---------------------------------------------------------------------
    def _stored_position(self) -> SpoolPosition | None:
        checkpoint = self._load_checkpoint(self.checkpoint_name)
        if checkpoint is None:
            return None
        state = checkpoint.state
        return SpoolPosition(int(str(state["segment"])), int(str(state["offset"])))

    def _replay(self, stored: SpoolPosition | None) -> None:
        start = stored if stored is not None else self._spool.first_position()
        batch: list[SpoolRecord] = []
        replayed = 0
        for record in self._spool.read_from(start):
            batch.append(record)
            if len(batch) >= _REPLAY_BATCH:
                self._received += len(batch)
                self._hand_on(batch)
                replayed += len(batch)
                batch = []
        if batch:
            self._received += len(batch)
            self._hand_on(batch)
            replayed += len(batch)
        if replayed:
            log.info("%s: %d spooled messages handed on again", self.name, replayed)

    def _listen(self, config: SyslogListener) -> _Listener:
        transport = TRANSPORTS.index(config.protocol)
        family = socket.AF_INET6 if ":" in config.address else socket.AF_INET
        kind = socket.SOCK_DGRAM if config.protocol == "udp" else socket.SOCK_STREAM
        tls = _server_context(config) if config.protocol == "tls" else None
        sock = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            elif self.config.receive_buffer_bytes is not None:
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_RCVBUF, self.config.receive_buffer_bytes
                )
            sock.bind((config.address, config.port))
            if kind == socket.SOCK_STREAM:
                sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise CollectorError(
                f"syslog source {self.name}: cannot listen on {config.protocol} "
                f"{config.address}:{config.port}: {exc.strerror or exc}; ports below 1024 "
                "need CAP_NET_BIND_SERVICE, or pick another port"
            ) from exc
        listener = _Listener(sock, config, transport, tls)
        if kind == socket.SOCK_DGRAM:
            listener.udp_inode = os.fstat(sock.fileno()).st_ino
            listener.udp_drops_at_start = _kernel_udp_drops(listener.udp_inode) or 0
            self._udp_selector.register(sock, selectors.EVENT_READ, listener)
        self._selector.register(sock, selectors.EVENT_READ, listener)
        return listener

    # -- the reader thread --------------------------------------------------------------
    def _read(self) -> None:
        max_queued = self.config.max_queued_messages
        while not self._stopping.is_set():
            queued = len(self._queue)
            if queued >= max_queued:
                selector, timeout = self._idle_selector, _PAUSED_RECHECK
            elif queued >= self._tcp_pause:
                selector, timeout = self._udp_selector, _PAUSED_RECHECK
            else:
                selector, timeout = self._selector, None
            incoming: list[Received] = []
            for key, _ in selector.select(timeout):
                target = key.data
                if target is None:
                    self._wake_read.recv(64)
                elif isinstance(target, _Listener):
                    if target.config.protocol == "udp":
                        self._read_datagrams(target, incoming)
                    else:
                        self._accept(target)
                else:
                    assert isinstance(target, _Connection)
                    self._read_stream(target, incoming)
            if incoming:
                self._spool_and_queue(incoming)

    def _spool_and_queue(self, incoming: list[Received]) -> None:
        positions = self._spool.append(incoming)
        self._received += len(incoming)
        end = self._spool.end
        records = [
            SpoolRecord(position, positions[index + 1] if index + 1 < len(positions) else end, item)
            for index, (item, position) in enumerate(zip(incoming, positions, strict=True))
        ]
        with self._queued:
            self._queue.extend(records)
            self._queued.notify()

    # -- the hand-off thread ------------------------------------------------------------
    def _hand_off(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                self._hand_on(batch, sync=True)
        except RuntimeError as exc:
            # The pipeline stopped first: what was not handed on is in the spool.
            log.info("%s: stopped handing messages on: %s", self.name, exc)

    def _next_batch(self) -> list[SpoolRecord] | None:
        """Up to a batch of queued records, waiting up to MAX_BATCH_DELAY for a full
        one; None once stopping with nothing queued."""
        queue = self._queue
        with self._queued:
            while not queue:
                if self._stopping.is_set():
                    return None
                self._queued.wait()
            deadline = time.monotonic() + MAX_BATCH_DELAY
            while len(queue) < self._batch_lines and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._queued.wait(remaining)
            count = min(len(queue), self._batch_lines)
            return [queue.popleft() for _ in range(count)]

    def _hand_on(self, records: Sequence[SpoolRecord], *, sync: bool = False) -> None:
        if sync:
            self._spool.sync()
        events: list[Event] = []
        dead: list[DeadLetter] = []
        for record in records:
            built = self._build(record)
            if isinstance(built, Event):
                events.append(built)
            else:
                dead.append(built)
        self._parsed += len(events)
        self._dead_lettered += len(dead)
        end = records[-1].end
        self._submit(
            CollectedBatch(
                source=self.config.name,
                events=events,
                dead_letters=dead,
                checkpoints=(
                    Checkpoint(
                        self.checkpoint_name, {"segment": end.segment, "offset": end.offset}
                    ),
                ),
                lines=len(records),
            )
        )

    def _build(self, record: SpoolRecord) -> Event | DeadLetter:
        received = record.received
        raw = received.raw
        if received.kind == KIND_FRAMING_ERROR:
            return self._dead(received, received.reason)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._dead(received, f"invalid UTF-8 at byte {exc.start}")
        received_at = datetime.fromtimestamp(received.received_at, UTC)
        try:
            parsed = self._parser.parse(text, ParseContext(received_at, self._timezone))
        except ParseError as exc:
            return self._dead(received, f"syslog: {exc}")
        fields = dict(parsed.fields)
        fields["log.source.address"] = received.address
        hostname = fields.get("host.name")
        system, organization = self._tagger.labels(
            received.address, hostname if isinstance(hostname, str) else None
        )
        position = record.position
        return make_event(
            id=event_id(self._origin, f"{position.segment}:{position.offset}", raw),
            timestamp=parsed.timestamp,
            fields=fields,
            original=text,
            system=system,
            organization=organization,
        )

    def _dead(self, received: Received, reason: str) -> DeadLetter:
        transport = TRANSPORTS[received.transport]
        return DeadLetter(
            source=self.config.name,
            reason=f"from {received.address} port {received.port} ({transport}): {reason}",
            raw=received.raw.decode("utf-8", "replace"),
            received_at=datetime.fromtimestamp(received.received_at, UTC),
        )

    # -- sockets ------------------------------------------------------------------------
    def _read_datagrams(self, listener: _Listener, incoming: list[Received]) -> None:
        limit = self.config.max_message_bytes
        now = time.time()
        for _ in range(_DATAGRAMS_PER_TURN):
            try:
                datagram, sender = listener.sock.recvfrom(_UDP_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: receiving a datagram failed: %s", self.name, exc)
                return
            incoming.append(
                _received(now, listener.transport, sender, datagram_message(datagram, limit))
            )

    def _accept(self, listener: _Listener) -> None:
        while True:
            try:
                conn, sender = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: accepting a connection failed: %s", self.name, exc)
                return
            if len(self._connections) >= self.config.max_connections:
                log.warning(
                    "%s: refused a connection from %s: already %d open (max_connections)",
                    self.name,
                    sender[0],
                    len(self._connections),
                )
                conn.close()
                continue
            conn.setblocking(False)
            handshaking = False
            if listener.tls is not None:
                conn = listener.tls.wrap_socket(
                    conn, server_side=True, do_handshake_on_connect=False
                )
                handshaking = True
            connection = _Connection(
                conn,
                listener.transport,
                str(sender[0]),
                int(sender[1]),
                StreamFramer(self.config.max_message_bytes),
                handshaking,
            )
            self._connections[conn.fileno()] = connection
            self._selector.register(conn, selectors.EVENT_READ, connection)

    def _read_stream(self, connection: _Connection, incoming: list[Received]) -> None:
        sock = connection.sock
        if connection.handshaking:
            assert isinstance(sock, ssl.SSLSocket)
            try:
                sock.do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLError, OSError) as exc:
                log.warning(
                    "%s: TLS handshake with %s failed: %s", self.name, connection.address, exc
                )
                self._drop_connection(connection)
                return
            connection.handshaking = False
        now = time.time()
        budget = _STREAM_BYTES_PER_TURN
        # Bytes TLS already decrypted are no longer on the socket: the selector would
        # not wake for them, so they are read now, whatever the budget.
        while budget > 0 or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            try:
                data = sock.recv(_RECV_BYTES)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLError, OSError) as exc:
                log.info("%s: connection from %s failed: %s", self.name, connection.address, exc)
                self._finish(connection, incoming, now)
                return
            if not data:
                self._finish(connection, incoming, now)
                return
            budget -= len(data)
            for framed in connection.framer.feed(data):
                incoming.append(
                    _received(
                        now, connection.transport, (connection.address, connection.port), framed
                    )
                )
            if connection.framer.failed:
                log.warning(
                    "%s: closed the connection from %s: its framing cannot be followed",
                    self.name,
                    connection.address,
                )
                self._drop_connection(connection)
                return

    def _finish(self, connection: _Connection, incoming: list[Received], now: float) -> None:
        for framed in connection.framer.finish():
            incoming.append(
                _received(now, connection.transport, (connection.address, connection.port), framed)
            )
        self._drop_connection(connection)

    def _drop_connection(self, connection: _Connection) -> None:
        self._connections.pop(connection.sock.fileno(), None)
        self._selector.unregister(connection.sock)
        connection.sock.close()

    def _close_sockets(self) -> None:
        for connection in list(self._connections.values()):
            self._drop_connection(connection)
        for listener in self._listeners:
            listener.sock.close()
        self._listeners.clear()
        for selector in (self._selector, self._udp_selector, self._idle_selector):
            selector.close()

    def _udp_drops(self) -> int:
        total = 0
        for listener in self._listeners:
            if listener.udp_inode is not None:
                drops = _kernel_udp_drops(listener.udp_inode)
                if drops is not None:
                    total += drops - listener.udp_drops_at_start
        return total


def _received(
    now: float, transport: int, sender: tuple[str, int] | tuple[str, int, int, int], framed: Framed
) -> Received:
    address, port = str(sender[0]), int(sender[1])
    if address.startswith("::ffff:") and "." in address:
        # A dual-stack listener sees IPv4 senders as IPv4-mapped IPv6 addresses.
        address = address[7:]
    if isinstance(framed, FramingError):
        return Received(
            now, KIND_FRAMING_ERROR, transport, address, port, framed.reason, framed.data
        )
    return Received(now, KIND_MESSAGE, transport, address, port, "", framed)


def _server_context(config: SyslogListener) -> ssl.SSLContext:
    # The configuration refuses a tls listener without both files.
    assert config.certificate is not None
    assert config.key is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Senders never read: session tickets left unread make a sender's close a reset,
    # which throws away what it sent last.
    context.num_tickets = 0
    try:
        context.load_cert_chain(config.certificate, config.key)
        if config.client_ca is not None:
            context.load_verify_locations(cafile=config.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise CollectorError(
            f"cannot load the TLS certificate {config.certificate} / key {config.key}"
            f"{' / client CA ' + str(config.client_ca) if config.client_ca else ''}: {exc}; "
            "check the paths and that the key matches the certificate (PEM)"
        ) from exc
    return context


def _kernel_udp_drops(inode: int) -> int | None:
    """The kernel's count of datagrams dropped on the socket with this inode."""
    wanted = str(inode)
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with Path(table).open(encoding="ascii") as rows:
                next(rows, None)
                for row in rows:
                    columns = row.split()
                    if len(columns) >= 13 and columns[9] == wanted:
                        return int(columns[-1])
        except OSError:
            continue
    return None
