"""Syslog framing (RFC 6587, RFC 5426): bytes in, messages and framing errors out."""

from hypothesis import given
from hypothesis import strategies as st

from canhgac.collectors._syslog_framing import (
    FramingError,
    StreamFramer,
    datagram_message,
)


def feed_in_pieces(framer: StreamFramer, data: bytes, size: int) -> list[bytes | FramingError]:
    out: list[bytes | FramingError] = []
    for start in range(0, len(data), size):
        out.extend(framer.feed(data[start : start + size]))
    return out


def test_newline_framing_splits_on_lf_and_drops_cr_and_empty_lines() -> None:
    framer = StreamFramer(100)
    assert framer.feed(b"<13>one\r\n\n<13>tw") == [b"<13>one"]
    assert framer.feed(b"o\n") == [b"<13>two"]
    assert framer.octet_counting is False
    assert framer.finish() == []


def test_newline_framing_keeps_a_last_message_without_lf_at_close() -> None:
    framer = StreamFramer(100)
    assert framer.feed(b"<13>one\n<13>last") == [b"<13>one"]
    assert framer.finish() == [b"<13>last"]


def test_octet_counting_reads_exactly_the_counted_bytes() -> None:
    framer = StreamFramer(100)
    assert framer.feed(b"7 <13>a\nb3 <1") == [b"<13>a\nb"]
    assert framer.feed(b">") == [b"<1>"]
    assert framer.octet_counting is True


def test_octet_counting_across_any_split() -> None:
    data = b"".join(b"%d %s" % (len(m), m) for m in (b"<13>x", b"<14>yy y", b"<15>" + b"z" * 50))
    for size in (1, 2, 3, 7, 100):
        assert feed_in_pieces(StreamFramer(100), data, size) == [
            b"<13>x",
            b"<14>yy y",
            b"<15>" + b"z" * 50,
        ]


def test_a_bad_octet_count_is_fatal() -> None:
    framer = StreamFramer(100)
    out = framer.feed(b"5 <13>a12x4 <13>")
    assert out[0] == b"<13>a"
    error = out[1]
    assert isinstance(error, FramingError)
    assert "bad octet count" in error.reason
    assert not error.recoverable
    assert framer.failed
    assert framer.feed(b"3 abc") == []


def test_an_octet_count_over_the_limit_is_fatal() -> None:
    framer = StreamFramer(100)
    (error,) = framer.feed(b"101 ")
    assert isinstance(error, FramingError)
    assert "octet count 101 is larger than the limit of 100" in error.reason
    assert framer.failed


def test_too_many_count_digits_without_a_space_is_fatal() -> None:
    framer = StreamFramer(100)
    (error,) = framer.feed(b"99999")
    assert isinstance(error, FramingError)
    assert framer.failed


def test_a_frame_cut_short_at_close_is_an_error() -> None:
    framer = StreamFramer(100)
    assert framer.feed(b"10 <13>") == []
    (error,) = framer.finish()
    assert isinstance(error, FramingError)
    assert "middle of an octet-counted frame" in error.reason


def test_an_oversized_newline_message_is_reported_once_and_skipped() -> None:
    framer = StreamFramer(10)
    out = framer.feed(b"<13>" + b"a" * 20)
    assert len(out) == 1
    assert isinstance(out[0], FramingError)
    assert out[0].recoverable
    assert out[0].data == b"<13>aaaaaa"
    assert framer.feed(b"b" * 30) == []
    assert framer.feed(b"end\n<13>ok\n") == [b"<13>ok"]
    assert not framer.failed


def test_an_oversized_line_inside_one_piece() -> None:
    framer = StreamFramer(5)
    out = framer.feed(b"x23456789\nabc\n")
    assert isinstance(out[0], FramingError)
    assert out[1] == b"abc"


def test_datagrams() -> None:
    assert datagram_message(b"<13>hi\n\x00", 100) == b"<13>hi"
    error = datagram_message(b"x" * 101, 100)
    assert isinstance(error, FramingError)
    assert "101 bytes" in error.reason


@given(st.binary(max_size=300), st.integers(1, 40))
def test_any_bytes_frame_without_raising(data: bytes, size: int) -> None:
    framer = StreamFramer(64)
    out = feed_in_pieces(framer, data, size) + framer.finish()
    for item in out:
        if isinstance(item, bytes):
            assert len(item) <= 64
        else:
            assert len(item.data) <= 64


@given(st.lists(st.binary(min_size=1, max_size=60), max_size=10), st.integers(1, 50))
def test_octet_counted_messages_come_back_whole(messages: list[bytes], size: int) -> None:
    data = b"".join(b"%d %s" % (len(m), m) for m in messages)
    framer = StreamFramer(64)
    assert feed_in_pieces(framer, data, size) == [m.rstrip(b"\n") for m in messages]


@given(
    st.lists(st.binary(min_size=1, max_size=60).filter(lambda m: b"\n" not in m), max_size=10),
    st.integers(1, 50),
)
def test_newline_framed_messages_come_back_whole(messages: list[bytes], size: int) -> None:
    messages = [b"<" + m.rstrip(b"\r") for m in messages]
    data = b"".join(m + b"\n" for m in messages)
    framer = StreamFramer(64)
    assert feed_in_pieces(framer, data, size) == [m for m in messages if len(m) <= 64]
