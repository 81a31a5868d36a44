"""The Elasticsearch store's journal on disk: what survives a crash, and in which order."""

from pathlib import Path

import pytest

from canhgac.storage import StoreError
from canhgac.storage._elasticsearch_spool import WriteSpool


def record(n: int) -> dict[str, object]:
    return {"id": f"batch-{n}", "events": [[f"e{n}", "idx", {"message": f"línea {n}"}]]}


def test_records_come_back_in_order_with_their_numbers(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        first = spool.append(record(1))
        second = spool.append(record(2))
        assert [batch.seq for batch in spool.pending] == [1, 2]
        assert spool.read(first) == {**record(1), "seq": 1}
        assert spool.read(second)["id"] == "batch-2"


def test_records_not_done_are_found_again_after_a_restart(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        done = spool.append(record(1))
        spool.append(record(2))
        spool.append(record(3))
        spool.mark_done(done)
    with WriteSpool.open(tmp_path) as spool:
        assert [spool.read(batch)["id"] for batch in spool.pending] == ["batch-2", "batch-3"]
        # Numbering goes on after the highest number seen.
        assert spool.append(record(4)).seq == 4


def test_a_journal_whose_records_are_all_done_is_emptied(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        for n in range(3):
            spool.mark_done(spool.append(record(n)))
        assert spool.pending == ()
        assert (tmp_path / "journal").stat().st_size == 0
    with WriteSpool.open(tmp_path) as spool:
        assert spool.pending == ()
        assert spool.append(record(9)).seq == 4


def test_a_last_line_cut_short_by_a_crash_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        spool.append(record(1))
        spool.append(record(2))
    journal = tmp_path / "journal"
    whole = journal.read_bytes()
    journal.write_bytes(whole + whole.splitlines(keepends=True)[0][:25])
    with WriteSpool.open(tmp_path) as spool:
        assert [spool.read(batch)["id"] for batch in spool.pending] == ["batch-1", "batch-2"]
        assert journal.read_bytes() == whole
        spool.append(record(3))
    with WriteSpool.open(tmp_path) as spool:
        assert len(spool.pending) == 3


def test_a_damaged_line_ends_the_journal_there(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        spool.append(record(1))
        spool.append(record(2))
    journal = tmp_path / "journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + lines[1].replace(b"batch-2", b"batch-X"))
    with WriteSpool.open(tmp_path) as spool:
        assert [spool.read(batch)["id"] for batch in spool.pending] == ["batch-1"]


def test_records_must_be_marked_done_oldest_first(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path) as spool:
        spool.append(record(1))
        second = spool.append(record(2))
        with pytest.raises(StoreError, match="oldest first"):
            spool.mark_done(second)


def test_a_full_spool_refuses_more_with_what_to_do(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path / "probe") as probe:
        one = probe.append(record(1))
    with WriteSpool.open(tmp_path / "spool", max_bytes=2 * (one.end - one.offset)) as spool:
        spool.append(record(1))
        spool.append(record(2))
        with pytest.raises(StoreError, match=r"is full .* reachable"):
            spool.append(record(3))
        assert [spool.read(batch)["id"] for batch in spool.pending] == ["batch-1", "batch-2"]


def test_one_process_at_a_time_may_use_a_spool_folder(tmp_path: Path) -> None:
    with WriteSpool.open(tmp_path), pytest.raises(StoreError, match="in use by another"):
        WriteSpool.open(tmp_path)
    WriteSpool.open(tmp_path).close()


def test_a_closed_spool_refuses_calls(tmp_path: Path) -> None:
    spool = WriteSpool.open(tmp_path)
    spool.close()
    with pytest.raises(StoreError, match="closed"):
        spool.append(record(1))
    spool.close()
