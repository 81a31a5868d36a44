"""`ForwardSpool`: request bodies waiting for an unreachable correlator, kept in order on disk.

Two files in one folder: `queue`, the append-only records (crc32 of the body and its
length, 4 bytes each little-endian, then the body), and `head`, the offset of the first
record not yet delivered, replaced atomically after each delivery. When everything is
delivered both are reset to empty. A torn last record (power loss mid-append) fails its
crc and is cut off at open; a body is only taken off after the correlator stored it, so
a crash between delivery and `pop` sends it again, which the correlator's dedupe absorbs.
"""

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from canhgac.collectors._read_progress import CollectorError

_FRAME = struct.Struct("<II")


class ForwardSpool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._queue = directory / "queue"
        self._head_file = directory / "head"
        self._fd = -1
        self._head = 0
        self._size = 0
        # The collectors' threads append while the drain job delivers and pops.
        self._lock = threading.Lock()

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self._queue, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            self._head = int(self._head_file.read_text() or 0) if self._head_file.exists() else 0
            self._size = self._valid_end()
            if os.fstat(self._fd).st_size != self._size:
                os.ftruncate(self._fd, self._size)
        except (OSError, ValueError) as exc:
            raise CollectorError(
                f"cannot open the forwarding spool in {self.directory}: {exc}; check the "
                "folder's permissions and free space"
            ) from exc

    @property
    def pending_bytes(self) -> int:
        return self._size - self._head

    def append(self, body: bytes) -> None:
        """Add a body at the end, on disk (fsync) before this returns."""
        record = _FRAME.pack(zlib.crc32(body), len(body)) + body
        with self._lock:
            try:
                os.write(self._fd, record)
                os.fsync(self._fd)
            except OSError as exc:
                raise CollectorError(
                    f"cannot write the forwarding spool {self._queue}: {exc.strerror}; free "
                    "disk space (the collectors wait meanwhile)"
                ) from exc
            self._size += len(record)

    def first(self) -> bytes | None:
        """The oldest body not yet delivered, or None when all are."""
        with self._lock:
            for _, body in self._read(self._head, self._size):
                return body
            return None

    def pop(self) -> None:
        """Mark the oldest body delivered."""
        with self._lock:
            for end, _ in self._read(self._head, self._size):
                self._set_head(end)
                return

    def bodies(self) -> Iterator[bytes]:
        """Every body not yet delivered, oldest first."""
        with self._lock:
            records = list(self._read(self._head, self._size))
        for _, body in records:
            yield body

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _set_head(self, head: int) -> None:
        if head >= self._size:
            # All delivered: start over, so the file never grows past one outage.
            os.ftruncate(self._fd, 0)
            self._size = head = 0
        temporary = self._head_file.with_suffix(".tmp")
        temporary.write_text(str(head))
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        temporary.replace(self._head_file)
        self._head = head

    def _valid_end(self) -> int:
        """The offset after the last whole record."""
        end = self._head
        size = os.fstat(self._fd).st_size
        if self._head > size:
            raise ValueError(f"head offset {self._head} is past the end of the queue ({size})")
        for record_end, _ in self._read(self._head, size):
            end = record_end
        return end

    def _read(self, start: int, stop: int) -> Iterator[tuple[int, bytes]]:
        offset = start
        while offset + _FRAME.size <= stop:
            frame = os.pread(self._fd, _FRAME.size, offset)
            crc, length = _FRAME.unpack(frame)
            body = os.pread(self._fd, length, offset + _FRAME.size)
            if len(body) != length or zlib.crc32(body) != crc:
                return
            offset += _FRAME.size + length
            yield offset, body
