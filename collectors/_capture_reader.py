"""`CaptureReader`: a pcap or pcapng file to ECS network events, in batches.

The fast path chosen by measurement (bench/pcap_ingest.py): our own record reader
(`_pcap_format`) and header and message decoders (`parsers._packets`), aggregated into
events by `PacketEvents`; no tshark process, no per-packet objects of a dissector.

A file whose start is not a capture raises CollectorError (it cannot be read at all).
Damage further in ends the reading: the events of what was read are kept, and the
damage is one dead letter naming the packet and the byte where reading stopped.
"""

import hashlib
from collections.abc import Iterator
from pathlib import Path

from canhgac.collectors._event_builder import SourceLabels
from canhgac.collectors._one_shot_reader import OneShotReader
from canhgac.collectors._packet_events import PacketEvents
from canhgac.collectors._pcap_format import CaptureFile, CaptureFormatError, Frame, is_capture
from canhgac.collectors._read_progress import CollectorError, ReadProgress
from canhgac.events import DeadLetter, Event
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

PCAP_FORMAT = "pcap"
"""The format name of packet captures (pcap and pcapng), read by `CaptureReader`."""

_HEAD_BYTES = 24


class CaptureReader(OneShotReader):
    """Reads a whole capture file; `batch_packets` frames per batch."""

    def __init__(self, path: Path, labels: SourceLabels, *, batch_packets: int = 1000) -> None:
        self.labels = labels
        self.batch_packets = batch_packets
        super().__init__(path, _HEAD_BYTES)

    def _begin(self, head: bytes) -> None:
        if not is_capture(head):
            raise CollectorError(
                f"{self.path} is not a pcap or pcapng capture (unknown signature); "
                "pass another --format"
            )
        self._head = head
        try:
            self._capture = CaptureFile(self._handle)
        except CaptureFormatError as exc:
            raise CollectorError(f"{self.path}: cannot read the capture: {exc}") from exc

    def batches(self) -> Iterator[ReadProgress]:
        """Events and dead letters, `batch_packets` frames at a time; the last batch
        reports the whole file done. Raises CollectorError when not even the first
        packet could be read."""
        builder = PacketEvents("capture:", self.labels, str(self.path))
        add = builder.add
        frames = 0
        in_batch = 0
        try:
            for frame in self._capture.frames():
                if not frames:
                    builder.origin = f"capture:{self._fingerprint(frame)}"
                add(*frame)
                frames += 1
                in_batch += 1
                if in_batch >= self.batch_packets:
                    yield ReadProgress(self._batch(builder, in_batch), self._capture.bytes_done)
                    in_batch = 0
        except CaptureFormatError as exc:
            if frames == 0:
                raise CollectorError(f"{self.path}: cannot read the capture: {exc}") from exc
            builder.dead_letter(frames + 1, f"capture: {exc}")
        builder.finish()
        yield ReadProgress(self._batch(builder, in_batch), self.size)

    def _fingerprint(self, first: Frame) -> str:
        """The file's name for event ids: its header and first frame, so that a truncated
        copy, or the file read again, gives the same ids."""
        digest = hashlib.blake2b(self._head, digest_size=8)
        digest.update(str(first.time_ns).encode())
        digest.update(first.data)
        return digest.hexdigest()

    def _batch(self, builder: PacketEvents, frames: int) -> CollectedBatch:
        events, dead = builder.take()
        return packet_batch(self.labels.source, events, dead, frames)


def packet_batch(
    source: str,
    events: list[Event],
    dead: list[DeadLetter],
    packets: int,
    checkpoints: tuple[Checkpoint, ...] = (),
    dropped: int = 0,
) -> CollectedBatch:
    """A batch of `packets` frames for the loss accounting (received == parsed +
    dead_lettered + duplicates + aggregated): packets do not map one to one onto events
    (a connection's event stands for all its packets, a DNS packet also makes a DNS
    event), so `aggregated` is what balances them, batch by batch. It is negative in a
    batch that makes more events than it read packets (the connections ended at the end
    of a capture), and over a whole capture when it makes more events than packets."""
    return CollectedBatch(
        source,
        events,
        dead,
        checkpoints,
        packets,
        aggregated=packets - len(events) - len(dead),
        dropped=dropped,
    )
