"""`SyslogSpool`: the append-only file every received syslog message is written to before
it is handed on, so that a received message survives a kill of the process.

The spool is a series of segment files `<number>.spool` in one folder. A record's
position is (segment, offset), unique for the life of the folder (segment numbers only
grow), so it names the message in its event id. The position after the last record of
a batch is the checkpoint stored with the batch's events; at start the records after the
stored checkpoint are read again, and segments wholly before it are deleted (`trim`).

Record: crc32 (4 bytes, of the body) and body length (4), then the body: received time
(float seconds), kind (0 message, 1 framing error), transport, sender address length,
sender port, reason length, then the sender address, the reason and the raw bytes, all
little-endian. A torn last record (power loss) fails its crc and is cut off at open.
"""

import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from canhgac.collectors._read_progress import CollectorError

_FRAME = struct.Struct("<II")
_BODY = struct.Struct("<dBBBHH")
_SUFFIX = ".spool"

KIND_MESSAGE = 0
KIND_FRAMING_ERROR = 1

TRANSPORTS = ("udp", "tcp", "tls")
"""Transport names by the code a record keeps."""


@dataclass(frozen=True, slots=True, order=True)
class SpoolPosition:
    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Received:
    """What the receiver read: a message or a framing error, with its sender."""

    received_at: float
    kind: int
    transport: int
    address: str
    port: int
    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    position: SpoolPosition
    end: SpoolPosition
    received: Received


class SyslogSpool:
    def __init__(self, directory: Path, segment_bytes: int) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._fd = -1
        self._segment = 0
        self._size = 0
        # The reader appends while the hand-off thread syncs and the scheduler trims.
        self._lock = threading.Lock()

    @property
    def end(self) -> SpoolPosition:
        """The position after the last record written."""
        return SpoolPosition(self._segment, self._size)

    def open(self, after: SpoolPosition | None) -> None:
        """Open for appending; `after` is the stored checkpoint, so that new segment
        numbers stay above every position ever handed out."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            segments = self._segments()
            if segments:
                last = segments[-1]
                self._cut_torn_tail(last)
            floor = after.segment if after is not None else 0
            if segments and segments[-1] >= floor:
                self._segment = segments[-1]
            else:
                self._segment = floor + 1
            self._open_segment()
        except OSError as exc:
            raise CollectorError(
                f"cannot open the syslog spool in {self.directory}: {exc.strerror}; "
                "check that the folder is writable (spool_dir, or data_dir)"
            ) from exc

    def append(self, items: Sequence[Received]) -> list[SpoolPosition]:
        """Write records at the end; returns the position of each. Written to the file
        (not yet synced) when this returns. A segment is closed once it reaches the
        segment size, so a record may start a new one."""
        with self._lock:
            return self._append(items)

    def _append(self, items: Sequence[Received]) -> list[SpoolPosition]:
        positions: list[SpoolPosition] = []
        chunks: list[bytes] = []
        for item in items:
            if self._size >= self._segment_bytes:
                self._write(chunks)
                chunks = []
                # `sync` only reaches the current segment: this one is made durable now.
                os.fdatasync(self._fd)
                os.close(self._fd)
                self._segment += 1
                self._open_segment()
            address = item.address.encode("ascii", "replace")
            reason = item.reason.encode("utf-8")
            body = b"".join(
                (
                    _BODY.pack(
                        item.received_at,
                        item.kind,
                        item.transport,
                        len(address),
                        item.port,
                        len(reason),
                    ),
                    address,
                    reason,
                    item.raw,
                )
            )
            chunks.append(_FRAME.pack(zlib.crc32(body), len(body)))
            chunks.append(body)
            positions.append(SpoolPosition(self._segment, self._size))
            self._size += _FRAME.size + len(body)
        self._write(chunks)
        return positions

    def _write(self, chunks: list[bytes]) -> None:
        data = memoryview(b"".join(chunks))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def sync(self) -> None:
        """Make what was appended durable against power loss, not only against a kill."""
        with self._lock:
            os.fdatasync(self._fd)

    def read_from(self, start: SpoolPosition) -> Iterator[SpoolRecord]:
        """The records at or after `start`, oldest first, up to the current end."""
        for segment in self._segments():
            if segment < start.segment:
                continue
            offset = start.offset if segment == start.segment else 0
            yield from self._read_segment(segment, offset)

    def first_position(self) -> SpoolPosition:
        """Where the oldest record kept starts."""
        segments = self._segments()
        return SpoolPosition(segments[0] if segments else self._segment, 0)

    def trim(self, stored: SpoolPosition) -> int:
        """Delete the segments wholly before `stored`; returns how many."""
        deleted = 0
        with self._lock:
            current = self._segment
        for segment in self._segments():
            if segment >= min(stored.segment, current):
                break
            self._path(segment).unlink(missing_ok=True)
            deleted += 1
        return deleted

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _segments(self) -> list[int]:
        numbers = []
        for path in self.directory.glob("*" + _SUFFIX):
            stem = path.name[: -len(_SUFFIX)]
            if stem.isdigit():
                numbers.append(int(stem))
        return sorted(numbers)

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{_SUFFIX}"

    def _open_segment(self) -> None:
        path = self._path(self._segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _read_segment(self, segment: int, offset: int) -> Iterator[SpoolRecord]:
        try:
            data = self._path(segment).read_bytes()
        except FileNotFoundError:
            return
        at = offset
        while True:
            record = _decode(data, at)
            if record is None:
                return
            received, end = record
            yield SpoolRecord(SpoolPosition(segment, at), SpoolPosition(segment, end), received)
            at = end

    def _cut_torn_tail(self, segment: int) -> None:
        path = self._path(segment)
        data = path.read_bytes()
        at = 0
        while (record := _decode(data, at)) is not None:
            at = record[1]
        if at < len(data):
            os.truncate(path, at)


def _decode(data: bytes, at: int) -> tuple[Received, int] | None:
    """The record at `at` and where it ends; None at the end or at a torn record."""
    if at + _FRAME.size > len(data):
        return None
    crc, length = _FRAME.unpack_from(data, at)
    start = at + _FRAME.size
    end = start + length
    if end > len(data) or length < _BODY.size or zlib.crc32(data[start:end]) != crc:
        return None
    received_at, kind, transport, address_length, port, reason_length = _BODY.unpack_from(
        data, start
    )
    at = start + _BODY.size
    address = data[at : at + address_length].decode("ascii", "replace")
    at += address_length
    reason = data[at : at + reason_length].decode("utf-8", "replace")
    at += reason_length
    return Received(received_at, kind, transport, address, port, reason, data[at:end]), end
