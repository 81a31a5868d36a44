"""Reading whole lines from a byte stream at an offset. No parsing, no state."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

BLOCK_BYTES = 1 << 20
FINGERPRINT_BYTES = 4096


class ByteSource(Protocol):
    """What lines are read from: an open binary file, or a decompressing stream."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


@dataclass(frozen=True, slots=True)
class RawLine:
    offset: int
    """Byte offset of the line's first byte in the file."""
    data: bytes
    """The line without "\\n" (and without a "\\r" before it)."""


def read_lines(
    handle: ByteSource, offset: int, *, final: bool, max_lines: int
) -> tuple[list[RawLine], int]:
    """Read up to `max_lines` complete lines starting at `offset`.

    Returns the lines and the offset just past the last one consumed. An unterminated
    last line is left for later (a writer may be in the middle of it) unless `final`
    is set, as for a one-shot read of a file that is not being written.
    """
    lines: list[RawLine] = []
    handle.seek(offset)
    pending = b""
    pending_at = offset
    while len(lines) < max_lines:
        block = handle.read(BLOCK_BYTES)
        if not block:
            break
        data = pending + block
        start = 0
        while len(lines) < max_lines:
            end = data.find(b"\n", start)
            if end < 0:
                break
            lines.append(RawLine(pending_at + start, _strip_cr(data[start:end])))
            start = end + 1
        pending_at += start
        pending = data[start:]
        if len(lines) >= max_lines:
            return lines, pending_at
    if final and pending and len(lines) < max_lines:
        lines.append(RawLine(pending_at, _strip_cr(pending)))
        pending_at += len(pending)
    return lines, pending_at


def iter_all_lines(handle: ByteSource, batch_lines: int) -> Iterator[list[RawLine]]:
    """Every line of a file that is not being written, in batches."""
    offset = 0
    while True:
        lines, offset = read_lines(handle, offset, final=True, max_lines=batch_lines)
        if not lines:
            return
        yield lines


def fingerprint(handle: ByteSource, *, final: bool = False) -> str | None:
    """Identify a file by its first line, so a rotated or rewritten file is told apart
    from the one a checkpoint was taken on.

    None while the first line is incomplete, unless `final` (the file is complete).
    """
    handle.seek(0)
    head = handle.read(FINGERPRINT_BYTES)
    end = head.find(b"\n")
    if end >= 0:
        head = head[:end]
    elif not head or (len(head) < FINGERPRINT_BYTES and not final):
        return None
    # Not a security use: a short, stable name for the file's first line.
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line
