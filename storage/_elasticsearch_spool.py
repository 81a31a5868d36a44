"""`WriteSpool`: the Elasticsearch store's write-ahead journal on local disk.

Every batch the store accepts is appended here before it is sent to Elasticsearch, and
marked done once Elasticsearch acknowledged all of it. A batch that is not done
(Elasticsearch unreachable, or the process killed half-way) is sent again, in order, by
the next store that opens the folder: every part of a batch is written with a
deterministic id, so sending it twice stores it once.

When what is on disk: `append` leaves the record in the operating system's cache, which
outlives the process (kill -9 loses nothing); `sync` (fsync) is called before any part of
a record is sent, so a batch Elasticsearch has anything of is on disk. A power cut can
only take records nothing of was sent, and their collector checkpoints with them: the
collectors read those lines again. Marking a batch done needs no fsync: at worst a crash
sends a stored batch once more.

Files in the folder: `journal` (one record a line: CRC-32 in hex, a space, the JSON
record, which carries its sequence number `seq`), `done` (the highest `seq` stored)
and `lock` (held by the one process that may use the folder).
"""

import fcntl
import itertools
import os
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import orjson

from canhgac.storage._store import StoreError

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
"""How much the journal may hold before `append` refuses batches (backpressure)."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One record in the journal: its sequence number and where its line is."""

    seq: int
    offset: int
    end: int


def _encode(record: Mapping[str, Any]) -> bytes:
    payload = orjson.dumps(record)
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _decode(line: bytes) -> dict[str, Any] | None:
    """The record of one journal line, or None for a torn or damaged line."""
    if len(line) < 10 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    payload = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(payload):
            return None
        record = orjson.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
        return None
    return record


class WriteSpool:
    """The journal of one store. Not thread-safe: the store calls it under its lock."""

    def __init__(self, folder: Path, journal: BinaryIO, lock: BinaryIO, max_bytes: int) -> None:
        """Use `WriteSpool.open`."""
        self.folder = folder
        self._journal = journal
        self._lock = lock
        self._max_bytes = max_bytes
        self._pending: deque[SpooledBatch] = deque()
        self._size = 0
        self._last_seq = 0
        self._closed = False

    @classmethod
    def open(cls, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Self:
        """Open (or create) the journal in `folder` and find the records not done.

        A last line cut short by a crash was never acknowledged to anyone: it is removed.
        Raises StoreError when the folder cannot be used or another process holds it.
        """
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = (folder / "lock").open("ab")
        except OSError as exc:
            raise StoreError(
                f"cannot use the spool folder {folder}: {exc.strerror}; make it writable "
                "or choose another spool_dir"
            ) from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise StoreError(
                f"the spool folder {folder} is in use by another canhgac process; give "
                "each process that writes to Elasticsearch its own spool_dir"
            ) from exc
        try:
            journal = (folder / "journal").open("a+b")
            spool = cls(folder, journal, lock, max_bytes)
            spool._recover(_read_done(folder))
        except OSError as exc:
            lock.close()
            raise StoreError(f"cannot read the spool in {folder}: {exc.strerror}") from exc
        return spool

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _recover(self, done: int) -> None:
        self._journal.seek(0)
        data = self._journal.read()
        self._last_seq = done
        offset = 0
        while offset < len(data):
            end = data.find(b"\n", offset) + 1
            record = _decode(data[offset:end]) if end else None
            if record is None:
                break
            seq = record["seq"]
            if seq > done:
                self._pending.append(SpooledBatch(seq, offset, end))
                self._size += end - offset
            self._last_seq = max(self._last_seq, seq)
            offset = end
        if offset < len(data):
            self._journal.truncate(offset)
            self._sync()

    @property
    def pending(self) -> tuple[SpooledBatch, ...]:
        """The records not done yet, oldest first."""
        return tuple(self._pending)

    def __len__(self) -> int:
        """How many records are not done."""
        return len(self._pending)

    def oldest(self, count: int) -> list[SpooledBatch]:
        """The `count` oldest records not done (fewer if there are fewer)."""
        return list(itertools.islice(self._pending, count))

    @property
    def oldest_seq(self) -> int | None:
        return self._pending[0].seq if self._pending else None

    @property
    def newest_seq(self) -> int | None:
        return self._pending[-1].seq if self._pending else None

    @property
    def size(self) -> int:
        """Bytes of journal held by records not done."""
        return self._size

    def append(self, record: Mapping[str, Any]) -> SpooledBatch:
        """Append `record` (numbered: a `seq` key is added); `sync` puts it on disk.

        Raises StoreError when the spool is full or cannot be written.
        """
        self._check_open()
        seq = self._last_seq + 1
        line = _encode({**record, "seq": seq})
        if self._pending and self.size + len(line) > self._max_bytes:
            raise StoreError(
                f"the spool in {self.folder} is full ({self.size // (1024 * 1024)} MiB of "
                "batches that Elasticsearch has not acknowledged); make Elasticsearch "
                "reachable again, or give the spool more room"
            )
        try:
            self._journal.seek(0, os.SEEK_END)
            offset = self._journal.tell()
            self._journal.write(line)
            self._journal.flush()
        except OSError as exc:
            raise StoreError(
                f"cannot write the spool in {self.folder}: {exc.strerror}; free disk space"
            ) from exc
        self._last_seq = seq
        batch = SpooledBatch(seq, offset, offset + len(line))
        self._pending.append(batch)
        self._size += len(line)
        return batch

    def sync(self) -> None:
        """Put every appended record on disk (fsync). Raises StoreError when it fails."""
        self._check_open()
        try:
            os.fsync(self._journal.fileno())
        except OSError as exc:
            raise StoreError(
                f"cannot write the spool in {self.folder} to disk: {exc.strerror}"
            ) from exc

    def read(self, batch: SpooledBatch) -> dict[str, Any]:
        """The record of `batch`."""
        self._check_open()
        self._journal.seek(batch.offset)
        record = _decode(self._journal.read(batch.end - batch.offset))
        if record is None:
            raise StoreError(
                f"the spool in {self.folder} is damaged at byte {batch.offset}; move the "
                "folder aside to start without it (its batches will be missing)"
            )
        return record

    def mark_done(self, *batches: SpooledBatch) -> None:
        """Record that `batches`, the oldest pending records in order, are stored in
        Elasticsearch."""
        self._check_open()
        for batch in batches:
            if not self._pending or self._pending[0] != batch:
                raise StoreError("spooled batches must be marked done oldest first")
            self._pending.popleft()
            self._size -= batch.end - batch.offset
        if not batches:
            return
        try:
            _write_done(self.folder, batches[-1].seq)
            if not self._pending:
                self._journal.truncate(0)
        except OSError as exc:
            raise StoreError(
                f"cannot update the spool in {self.folder}: {exc.strerror}; free disk space"
            ) from exc

    def close(self) -> None:
        """Close the files and release the folder; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        self._journal.close()
        self._lock.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the spool in {self.folder} is closed")

    def _sync(self) -> None:
        self._journal.flush()
        os.fsync(self._journal.fileno())


def _read_done(folder: Path) -> int:
    try:
        text = (folder / "done").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return 0
    return int(text) if text.isdigit() else 0


def _write_done(folder: Path, seq: int) -> None:
    # Replaced whole, so a crash leaves the old number or the new one, never half of one.
    temporary = folder / "done.tmp"
    temporary.write_text(str(seq), encoding="ascii")
    temporary.replace(folder / "done")
