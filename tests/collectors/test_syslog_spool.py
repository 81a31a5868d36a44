"""The syslog spool on disk: positions, reading back, torn tails, trimming."""

from pathlib import Path

from canhgac.collectors._syslog_spool import (
    KIND_FRAMING_ERROR,
    KIND_MESSAGE,
    Received,
    SpoolPosition,
    SyslogSpool,
)


def message(n: int, size: int = 10) -> Received:
    return Received(
        1_700_000_000.0 + n, KIND_MESSAGE, 1, "10.0.0.7", 40000 + n, "", b"m%d" % n * size
    )


def test_records_read_back_in_order_with_their_positions(tmp_path: Path) -> None:
    spool = SyslogSpool(tmp_path, 1 << 20)
    spool.open(None)
    positions = spool.append([message(1), message(2)])
    error = Received(5.0, KIND_FRAMING_ERROR, 2, "::1", 6514, "bad octet count", b"\xff")
    positions += spool.append([error])
    records = list(spool.read_from(SpoolPosition(1, 0)))
    assert [r.position for r in records] == positions
    assert [r.received for r in records] == [message(1), message(2), error]
    assert records[-1].end == spool.end
    assert [r.received for r in spool.read_from(positions[1])] == [message(2), error]
    spool.close()


def test_a_torn_last_record_is_cut_off_at_open(tmp_path: Path) -> None:
    spool = SyslogSpool(tmp_path, 1 << 20)
    spool.open(None)
    spool.append([message(1), message(2)])
    spool.close()
    (segment,) = tmp_path.glob("*.spool")
    data = segment.read_bytes()
    segment.write_bytes(data[:-3])
    reopened = SyslogSpool(tmp_path, 1 << 20)
    reopened.open(None)
    assert [r.received for r in reopened.read_from(SpoolPosition(1, 0))] == [message(1)]
    reopened.append([message(3)])
    assert [r.received for r in reopened.read_from(SpoolPosition(1, 0))] == [message(1), message(3)]
    reopened.close()


def test_segments_roll_over_and_stored_ones_are_trimmed(tmp_path: Path) -> None:
    spool = SyslogSpool(tmp_path, 100)
    spool.open(None)
    # Each record is over 100 bytes, so each starts a segment.
    first = spool.append([message(1, 50)])
    spool.append([message(2, 50)])
    spool.append([message(3, 50)])
    assert len(list(tmp_path.glob("*.spool"))) == 3
    assert spool.trim(first[0]) == 0
    assert spool.trim(spool.end) == 2
    assert len(list(tmp_path.glob("*.spool"))) == 1
    assert [r.received for r in spool.read_from(SpoolPosition(0, 0))] == [message(3, 50)]
    spool.close()


def test_positions_are_never_reused_after_the_spool_was_emptied(tmp_path: Path) -> None:
    spool = SyslogSpool(tmp_path, 100)
    spool.open(None)
    spool.append([message(1)])
    spool.close()
    for segment in tmp_path.glob("*.spool"):
        segment.unlink()
    stored = SpoolPosition(1, 60)
    again = SyslogSpool(tmp_path, 100)
    again.open(stored)
    (position,) = again.append([message(2)])
    assert position > stored
    again.close()
