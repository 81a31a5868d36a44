"""Syslog framing: one TCP or TLS byte stream into messages (RFC 6587), one UDP datagram
into one message (RFC 5426). Pure: bytes in, frames and framing errors out.

A stream's framing is chosen by its first byte, once per connection: a digit means
octet counting (`MSG-LEN SP MSG`, RFC 5425 and RFC 6587 section 3.4.1), anything else
newline framing (non-transparent framing with LF as the trailer, RFC 6587 3.4.2; a CR
before the LF is dropped, empty lines are skipped).

Errors: a newline-framed message longer than the limit is reported with its first bytes
and skipped up to the next LF; the stream goes on. A bad or too large octet count leaves
no way to find the next message, so it is fatal: the connection must be closed.
"""

from dataclasses import dataclass

_DIGITS = b"0123456789"
_COUNT_SHOWN = 20


@dataclass(frozen=True, slots=True)
class FramingError:
    """Bytes that are not a message: why, what was read (at most the limit), and whether
    the stream can go on (False: close the connection)."""

    reason: str
    data: bytes
    recoverable: bool


Framed = bytes | FramingError


def datagram_message(datagram: bytes, max_bytes: int) -> Framed:
    """The message in one UDP datagram: trailing LF, CR and NUL bytes are not part of it."""
    if len(datagram) > max_bytes:
        return FramingError(
            f"datagram of {len(datagram)} bytes is longer than the limit of {max_bytes}",
            datagram[:max_bytes],
            recoverable=True,
        )
    return datagram.rstrip(b"\r\n\x00")


class StreamFramer:
    """Splits one connection's bytes into messages; feed it what `recv` returns."""

    __slots__ = ("_buffer", "_failed", "_max_bytes", "_octet_counting", "_skipping")

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._buffer = bytearray()
        self._octet_counting: bool | None = None
        self._skipping = False
        self._failed = False

    @property
    def octet_counting(self) -> bool | None:
        """The framing the connection uses; None until its first byte."""
        return self._octet_counting

    @property
    def failed(self) -> bool:
        """Whether a fatal framing error was reported: the connection must be closed."""
        return self._failed

    def feed(self, data: bytes) -> list[Framed]:
        """The messages completed by `data`, in order; after a fatal error, nothing more."""
        if self._failed or not data:
            return []
        if self._octet_counting is None:
            self._octet_counting = data[0] in _DIGITS
        self._buffer += data
        return self._octet_frames() if self._octet_counting else self._newline_frames()

    def finish(self) -> list[Framed]:
        """What is left when the sender closes: a last message without its LF, or an
        octet-counted frame cut short."""
        if self._failed or not self._buffer:
            return []
        rest = bytes(self._buffer)
        self._buffer.clear()
        if not self._octet_counting:
            if self._skipping:
                return []
            message = rest.rstrip(b"\r")
            return [message] if message else []
        return [
            FramingError(
                "connection closed in the middle of an octet-counted frame",
                rest[: self._max_bytes],
                recoverable=False,
            )
        ]

    def _newline_frames(self) -> list[Framed]:
        frames: list[Framed] = []
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                line = bytes(
                    buffer[start : end - 1 if end > start and buffer[end - 1] == 13 else end]
                )
                if len(line) > self._max_bytes:
                    frames.append(self._oversized(line))
                elif line:
                    frames.append(line)
            start = end + 1
        del buffer[:start]
        if len(buffer) > self._max_bytes:
            if not self._skipping:
                frames.append(self._oversized(bytes(buffer)))
                self._skipping = True
            buffer.clear()
        return frames

    def _oversized(self, data: bytes) -> FramingError:
        return FramingError(
            f"message longer than the limit of {self._max_bytes} bytes (skipped to the next LF)",
            data[: self._max_bytes],
            recoverable=True,
        )

    def _octet_frames(self) -> list[Framed]:
        frames: list[Framed] = []
        buffer = self._buffer
        start = 0
        count_digits = len(str(self._max_bytes))
        while start < len(buffer):
            space = buffer.find(b" ", start, start + _COUNT_SHOWN + 1)
            count_text = bytes(buffer[start:] if space < 0 else buffer[start:space])
            if not _all_digits(count_text) or count_text.startswith(b"0"):
                frames.append(self._bad_count(bytes(buffer[start:])))
                return frames
            if len(count_text) > count_digits or (space >= 0 and int(count_text) > self._max_bytes):
                self._failed = True
                buffer.clear()
                shown = count_text[:_COUNT_SHOWN].decode()
                frames.append(
                    FramingError(
                        f"octet count {shown}{'' if space >= 0 else '...'} "
                        f"is larger than the limit of {self._max_bytes}",
                        count_text[:_COUNT_SHOWN],
                        recoverable=False,
                    )
                )
                return frames
            if space < 0:
                break
            end = space + 1 + int(count_text)
            if end > len(buffer):
                break
            frames.append(bytes(buffer[space + 1 : end]).rstrip(b"\n"))
            start = end
        del buffer[:start]
        return frames

    def _bad_count(self, data: bytes) -> FramingError:
        self._failed = True
        self._buffer.clear()
        shown = data[:32].decode("ascii", "backslashreplace")
        return FramingError(
            f"bad octet count: expected digits and a space, got {shown!r}",
            data[: self._max_bytes],
            recoverable=False,
        )


def _all_digits(data: bytes | bytearray) -> bool:
    return bool(data) and data.isdigit()
