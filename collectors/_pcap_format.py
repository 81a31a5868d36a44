"""The record layer of pcap and pcapng files: frames with their time and link type.

Read in large blocks with `struct` at fixed offsets (no per-record read calls). Each
frame is numbered from 1 in file order, as Wireshark numbers them; that number is the
reader's position. Damage (a record cut short, a length no capture can hold, a block
whose two length fields differ) raises `CaptureFormatError` after every frame before it
was yielded, naming the frame and the byte offset where reading stopped.
"""

import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# magic -> (byte order, nanoseconds per unit of the fractional timestamp)
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
_NS = 1_000_000_000
MAX_FRAME_BYTES = 262_144
"""The largest frame a capture holds (libpcap's and Wireshark's limit)."""
_MAX_BLOCK_BYTES = 16 * 1024 * 1024
_BLOCK_BYTES = 4 * 1024 * 1024


class CaptureFormatError(ValueError):
    """The capture's structure is broken; the message says where."""


class Frame(NamedTuple):
    number: int
    time_ns: int
    """Nanoseconds since the epoch (integers: floats would blur microseconds)."""
    linktype: int
    data: bytes
    wire_length: int
    """The frame's length on the wire (the capture may hold fewer bytes of it)."""


def is_capture(head: bytes) -> bool:
    """Whether a file's first bytes are a pcap or pcapng signature."""
    return head[:4] in _PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


class CaptureFile:
    """Frames of one pcap or pcapng file; `bytes_done` is how far reading has got."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        handle.seek(0)
        head = handle.read(24)
        self.bytes_done = 0
        self._pcapng = head[:4] == PCAPNG_MAGIC
        if self._pcapng:
            if len(head) < 12:
                raise CaptureFormatError("pcapng section header cut short")
            return
        if head[:4] not in _PCAP_MAGICS:
            raise CaptureFormatError("not a pcap or pcapng file (unknown signature)")
        if len(head) < 24:
            raise CaptureFormatError("pcap file header cut short")
        order, self._resolution = _PCAP_MAGICS[head[:4]]
        self._order = order
        self.linktype = struct.unpack_from(order + "I", head, 20)[0] & 0x0FFFFFFF

    def frames(self) -> Iterator[Frame]:
        return self._pcapng_frames() if self._pcapng else self._pcap_frames()

    def _read_more(self, buffer: bytes, offset: int, needed: int = 0) -> bytes:
        """The unread rest of `buffer` and the next block, at least `needed` bytes when the
        file has them."""
        self.bytes_done += offset
        rest = buffer[offset:]
        return rest + self._handle.read(max(_BLOCK_BYTES, needed - len(rest)))

    def _pcap_frames(self) -> Iterator[Frame]:
        self._handle.seek(24)
        self.bytes_done = 24
        header = struct.Struct(self._order + "IIII")
        unpack = header.unpack_from
        resolution = self._resolution
        linktype = self.linktype
        buffer = self._handle.read(_BLOCK_BYTES)
        offset = 0
        number = 0
        while True:
            if len(buffer) - offset < 16:
                buffer, offset = self._read_more(buffer, offset), 0
                if len(buffer) < 16:
                    if buffer:
                        raise CaptureFormatError(
                            f"record header of packet {number + 1} cut short at byte "
                            f"{self.bytes_done} ({len(buffer)} of 16 bytes)"
                        )
                    return
            seconds, fraction, captured, wire = unpack(buffer, offset)
            if captured > MAX_FRAME_BYTES:
                raise CaptureFormatError(
                    f"packet {number + 1} at byte {self.bytes_done + offset} claims "
                    f"{captured} bytes, more than any capture holds: the file is corrupt"
                )
            end = offset + 16 + captured
            if end > len(buffer):
                buffer, offset = self._read_more(buffer, offset), 0
                end = 16 + captured
                if end > len(buffer):
                    raise CaptureFormatError(
                        f"packet {number + 1} at byte {self.bytes_done} cut short "
                        f"({len(buffer) - 16} of {captured} bytes): the file is truncated"
                    )
            number += 1
            yield Frame(
                number,
                seconds * _NS + fraction * resolution,
                linktype,
                buffer[offset + 16 : end],
                wire,
            )
            offset = end

    def _pcapng_frames(self) -> Iterator[Frame]:
        self._handle.seek(0)
        self.bytes_done = 0
        buffer = self._handle.read(_BLOCK_BYTES)
        offset = 0
        number = 0
        order = "<"
        # linktype, then ns = units * multiplier // divisor + shift
        interfaces: list[tuple[int, int, int, int]] = []
        last_time = 0
        while True:
            if len(buffer) - offset < 12:
                buffer, offset = self._read_more(buffer, offset), 0
                if len(buffer) < 12:
                    if buffer:
                        raise CaptureFormatError(
                            f"block header cut short at byte {self.bytes_done} "
                            f"(after packet {number})"
                        )
                    return
            if buffer[offset : offset + 4] == PCAPNG_MAGIC:
                magic = buffer[offset + 8 : offset + 12]
                if magic == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif magic == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise CaptureFormatError(
                        f"section header at byte {self.bytes_done + offset} has no valid "
                        "byte-order magic: the file is corrupt"
                    )
                interfaces = []
            kind, length = struct.unpack_from(order + "II", buffer, offset)
            if length < 12 or length % 4 or length > _MAX_BLOCK_BYTES:
                raise CaptureFormatError(
                    f"block at byte {self.bytes_done + offset} (after packet {number}) "
                    f"claims {length} bytes: the file is corrupt"
                )
            if offset + length > len(buffer):
                buffer, offset = self._read_more(buffer, offset, length), 0
                if length > len(buffer):
                    raise CaptureFormatError(
                        f"block at byte {self.bytes_done} (after packet {number}) cut short "
                        f"({len(buffer)} of {length} bytes): the file is truncated"
                    )
            trailer = struct.unpack_from(order + "I", buffer, offset + length - 4)[0]
            if trailer != length:
                raise CaptureFormatError(
                    f"block at byte {self.bytes_done + offset} (after packet {number}) has "
                    f"two different lengths ({length}, {trailer}): the file is corrupt"
                )
            body = offset + 8
            frame: Frame | None = None
            if kind == 6 or kind == 2:  # enhanced packet block, obsolete packet block
                if kind == 6:
                    interface, high, low, captured, wire = struct.unpack_from(
                        order + "IIIII", buffer, body
                    )
                else:
                    interface, _, high, low, captured, wire = struct.unpack_from(
                        order + "HHIIII", buffer, body
                    )
                if interface >= len(interfaces):
                    raise CaptureFormatError(
                        f"packet {number + 1} names interface {interface}, which the "
                        "file does not describe: the file is corrupt"
                    )
                if captured > length - 32:
                    raise CaptureFormatError(
                        f"packet {number + 1} claims {captured} bytes in a block of "
                        f"{length}: the file is corrupt"
                    )
                linktype, multiplier, divisor, shift = interfaces[interface]
                last_time = ((high << 32) | low) * multiplier // divisor + shift
                start = body + 20
                frame = Frame(
                    number + 1, last_time, linktype, buffer[start : start + captured], wire
                )
            elif kind == 3:  # simple packet block: interface 0, no timestamp
                if not interfaces:
                    raise CaptureFormatError(
                        f"packet {number + 1} comes before any interface description"
                    )
                wire = struct.unpack_from(order + "I", buffer, body)[0]
                captured = min(wire, length - 16)
                frame = Frame(
                    number + 1,
                    last_time,
                    interfaces[0][0],
                    buffer[body + 4 : body + 4 + captured],
                    wire,
                )
            elif kind == 1:  # interface description block
                interfaces.append(_interface(buffer, body, offset + length - 4, order))
            offset += length
            if frame is not None:
                number += 1
                yield frame


def _interface(buffer: bytes, start: int, end: int, order: str) -> tuple[int, int, int, int]:
    """(link type, multiplier, divisor, nanoseconds added) of an interface block: a
    timestamp of `units` is `units * multiplier // divisor + added` nanoseconds."""
    linktype = struct.unpack_from(order + "H", buffer, start)[0]
    multiplier, divisor = 1000, 1  # microseconds unless if_tsresol says otherwise
    shift = 0
    position = start + 8
    while position + 4 <= end:
        code, size = struct.unpack_from(order + "HH", buffer, position)
        if code == 0:
            break
        value = buffer[position + 4 : position + 4 + size]
        if code == 9 and size >= 1:
            exponent = value[0]
            if exponent & 0x80:
                multiplier, divisor = _NS, 1 << (exponent & 0x7F)
            elif exponent <= 9:
                multiplier, divisor = 10 ** (9 - exponent), 1
            else:
                multiplier, divisor = 1, 10 ** (exponent - 9)
        elif code == 14 and size == 8:
            shift = struct.unpack_from(order + "q", value)[0] * _NS
        position += 4 + (size + 3) // 4 * 4
    return linktype, multiplier, divisor, shift
