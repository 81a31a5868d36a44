"""Reading a gzip-compressed log (a rotated `app.log.1.gz`) as its uncompressed bytes.

`GzipStream` is the part of a binary file that `read_lines` and `fingerprint` use
(`read`, `seek`, `tell`), over the decompressed data. Unlike `gzip.GzipFile`, a file
that ends early (truncated while copied, a disk filled up) gives every byte that could
be decompressed and sets `damage` instead of raising, so the lines before the damage are
still read. Concatenated members (`cat a.gz b.gz`) are read one after the other.
"""

import zlib
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_SALVAGE_STEP = 64


def is_gzip(head: bytes) -> bool:
    return head.startswith(GZIP_MAGIC)


class GzipStream:
    """Decompressed reading of an open gzip file; seeking backwards starts over."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.damage: str | None = None
        """Why the data ended early (truncated or corrupt), once that was reached."""
        self._restart()

    def _restart(self) -> None:
        self._raw_offset = 0
        self._decompressor = zlib.decompressobj(_GZIP_WBITS)
        self._buffer = b""
        self._position = 0
        self._ended = False

    @property
    def compressed_position(self) -> int:
        """Bytes of the compressed file consumed so far (for progress)."""
        return self._raw_offset

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise ValueError("a gzip stream seeks only from its start")
        if offset < self._position:
            self._restart()
        while self._position < offset:
            skipped = self.read(min(offset - self._position, 1 << 20))
            if not skipped:
                break
        return self._position

    def read(self, size: int = -1) -> bytes:
        wanted = size if size >= 0 else 1 << 62
        while len(self._buffer) < wanted and not self._ended:
            self._fill(wanted - len(self._buffer))
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        self._position += len(data)
        return data

    def _read_raw(self) -> bytes:
        # Others may move the shared handle (format detection reads its signature).
        self._raw.seek(self._raw_offset)
        chunk = self._raw.read(_CHUNK)
        self._raw_offset += len(chunk)
        return chunk

    def _fill(self, wanted: int) -> None:
        decompressor = self._decompressor
        if decompressor.unconsumed_tail:
            source = decompressor.unconsumed_tail
        elif decompressor.eof:
            rest = decompressor.unused_data or self._read_raw()
            if not rest.strip(b"\x00"):  # trailing zero padding is allowed after members
                self._ended = True
                return
            self._decompressor = decompressor = zlib.decompressobj(_GZIP_WBITS)
            source = rest
        else:
            source = self._read_raw()
            if not source:
                self._ended = True
                self.damage = "the compressed data ends early (truncated file)"
                return
        before = decompressor.copy()
        try:
            self._buffer += decompressor.decompress(source, max(wanted, _CHUNK))
        except zlib.error as exc:
            self._buffer += _salvage(before, source)
            self._ended = True
            self.damage = f"the compressed data is corrupt ({exc})"


def _salvage(decompressor: "zlib._Decompress", source: bytes) -> bytes:
    """What decompresses of `source` before the corrupt byte, fed a little at a time."""
    salvaged = bytearray()
    for start in range(0, len(source), _SALVAGE_STEP):
        try:
            salvaged += decompressor.decompress(source[start : start + _SALVAGE_STEP])
        except zlib.error:
            break
    return bytes(salvaged)
