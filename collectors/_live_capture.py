"""`InterfaceCapture`: live capture on an interface (`type: capture`), through pyshark.

pyshark runs tshark with the source's capture (BPF) and display filters; a reader
thread takes each packet's raw bytes, which `PacketEvents` turns into the same ECS
events a capture file gives, so live and file captures are one decoder. A capture
cannot be slowed down: packets beyond `max_pending_packets` between two polls are
dropped and counted (`dropped`), like a syslog receiver's UDP losses.

Position: the number of packets captured, kept as the checkpoint `capture:<name>` in the
same transaction as the events of those packets. Packets on the wire are gone once
seen, so a restart cannot re-read anything; the count continues from the checkpoint so
that event ids (origin, packet number) never repeat across restarts. A connection's
event is made when it ends or idles (`idle_timeout`, by the clock); those still open
when the source stops are not reported.
"""

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyshark

from canhgac.collectors._capture_reader import packet_batch
from canhgac.collectors._event_builder import SourceLabels
from canhgac.collectors._packet_events import PacketEvents
from canhgac.collectors._read_progress import CollectorError
from canhgac.config import CaptureSourceConfig
from canhgac.parsers._packets import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

log = logging.getLogger(__name__)

# Wireshark's encapsulation numbers (frame.encap_type) are not pcap link types.
_LINKTYPES_BY_ENCAPSULATION = {1: LINKTYPE_ETHERNET, 7: LINKTYPE_RAW, 25: LINKTYPE_LINUX_SLL}
_STOP_WAIT_SECONDS = 10.0


class InterfaceCapture:
    """A running capture of one configured interface."""

    def __init__(
        self,
        config: CaptureSourceConfig,
        *,
        load_checkpoint: Callable[[str], Checkpoint | None],
        submit: Callable[[CollectedBatch], None],
        batch_packets: int = 1000,
    ) -> None:
        self.config = config
        self._load_checkpoint = load_checkpoint
        self._submit = submit
        self._batch_packets = batch_packets
        self._labels = SourceLabels(config.name, config.system, config.organization)
        self._pending: deque[tuple[int, int, int, bytes]] = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._capture: Any = None
        self._stopping = threading.Event()
        self._failure: str | None = None
        self._builder: PacketEvents | None = None
        self.packets = 0
        """Packets captured since the source was first started (across restarts)."""
        self.dropped = 0
        """Packets dropped because polls did not keep up."""
        self._dropped_reported = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def poll_interval(self) -> float:
        return self.config.poll_interval

    @property
    def failure(self) -> str | None:
        """Why tshark stopped (logged once, as an error), None while it runs."""
        return self._failure

    @property
    def checkpoint_name(self) -> str:
        return f"capture:{self.config.name}"

    def start(self) -> None:
        """Resume the packet count from the checkpoint and start tshark."""
        checkpoint = self._load_checkpoint(self.checkpoint_name)
        if checkpoint is not None:
            counted = checkpoint.state.get("packets")
            self.packets = counted if isinstance(counted, int) else 0
        self._builder = PacketEvents(
            f"capture:{self.config.name}:{self.config.interface}",
            self._labels,
            idle_timeout=self.config.idle_timeout,
        )
        self._thread = threading.Thread(
            target=self._run, name=f"canhgac-capture-{self.config.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        """The reader thread: its own event loop (pyshark is asyncio inside), packets to
        the pending queue until `close` ends tshark."""
        asyncio.set_event_loop(asyncio.new_event_loop())
        capture = pyshark.LiveCapture(
            interface=self.config.interface,
            bpf_filter=self.config.capture_filter,
            display_filter=self.config.display_filter,
            use_json=True,
            include_raw=True,
            tshark_path=self.config.tshark_path,
        )
        self._capture = capture
        number = self.packets
        try:
            for packet in capture.sniff_continuously():
                if self._stopping.is_set():
                    break
                number += 1
                raw: bytes = packet.get_raw_packet()
                item = (number, _time_ns(packet), _linktype(packet), raw)
                with self._lock:
                    if len(self._pending) >= self.config.max_pending_packets:
                        self.dropped += 1
                    else:
                        self._pending.append(item)
        except Exception as exc:  # noqa: BLE001 - tshark's failures reach us as anything
            if not self._stopping.is_set():
                self._failure = (
                    f"capture {self.name} on {self.config.interface} stopped: "
                    f"{type(exc).__name__}: {exc}"
                )
                log.error("%s", self._failure)
        finally:
            try:
                capture.close()
            except Exception as exc:  # noqa: BLE001 - closing a crashed capture may fail too
                log.debug("closing capture %s: %s", self.name, exc)

    def poll(self) -> int:
        """Turn the packets captured since the last poll into events and submit them;
        returns how many packets were read."""
        builder = self._builder
        if builder is None:
            raise CollectorError(f"capture {self.name}: poll before start")
        with self._lock:
            taken = list(self._pending)
            self._pending.clear()
        for start in range(0, len(taken), self._batch_packets):
            chunk = taken[start : start + self._batch_packets]
            for number, at, linktype, frame in chunk:
                if linktype < 0:
                    builder.dead_letter(number, f"packet {number}: link type not supported")
                    continue
                builder.add(number, at, linktype, frame, len(frame))
            self.packets = chunk[-1][0]
            self._submit_batch(builder, len(chunk))
        # Capture time runs with the clock: flows idle for long enough end without packets.
        builder.expire(time.time_ns())
        if builder.events or builder.dead_letters:
            self._submit_batch(builder, 0)
        return len(taken)

    def _submit_batch(self, builder: PacketEvents, packets: int) -> None:
        events, dead = builder.take()
        checkpoint = Checkpoint(
            self.checkpoint_name,
            {"interface": self.config.interface, "packets": self.packets, "dropped": self.dropped},
        )
        with self._lock:
            dropped, self._dropped_reported = self.dropped - self._dropped_reported, self.dropped
        self._submit(packet_batch(self.name, events, dead, packets, (checkpoint,), dropped))

    def close(self) -> None:
        """Stop tshark. Nothing is submitted: the pipeline stops before collectors close.
        Packets not yet polled and connections still open are not reported; the
        checkpoint counts only packets whose events were submitted."""
        self._stopping.set()
        capture = self._capture
        if capture is not None:
            # pyshark offers no way to end a running sniff from another thread: ending
            # its tshark process ends the packet stream the reader thread waits on.
            for process in list(getattr(capture, "_running_processes", ())):
                try:
                    process.kill()
                except ProcessLookupError:
                    log.debug("tshark of capture %s had already ended", self.name)
        if self._thread is not None:
            self._thread.join(_STOP_WAIT_SECONDS)
        builder = self._builder
        if builder is not None and (self._pending or builder.open_connections):
            log.info(
                "capture %s stopped: %d packets not yet read and %d open connections are "
                "not reported",
                self.name,
                len(self._pending),
                builder.open_connections,
            )
        self._builder = None


def _time_ns(packet: Any) -> int:
    """The capture time of a pyshark packet in nanoseconds ("1764000001.003000000")."""
    try:
        return int(Decimal(str(packet.sniff_timestamp)) * 1_000_000_000)
    except (InvalidOperation, AttributeError, ValueError):
        return time.time_ns()


def _linktype(packet: Any) -> int:
    """The pcap link type of a packet's raw bytes, -1 when it is not one we decode."""
    try:
        encapsulation = int(packet.frame_info.get_field("encap_type"))
    except (AttributeError, TypeError, ValueError):
        return LINKTYPE_ETHERNET
    return _LINKTYPES_BY_ENCAPSULATION.get(encapsulation, -1)
