"""Reading .evtx files: real logs, damaged copies, files that are not EVTX, and how
FileReader hands .evtx (and JSON lines) to the right reader."""

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canhgac.collectors import (
    EVTX_MAGIC,
    CollectorError,
    EvtxReader,
    FileReader,
    SourceLabels,
    is_evtx,
)
from canhgac.collectors._evtx_reader import MAX_ERRORS_IN_A_ROW
from canhgac.events import DeadLetter, Event

LABELS = SourceLabels("windows", system="mot-cua", organization="So KHCN")
# 530 Sysmon records over several chunks.
SAMPLE = Path("evtx-attack-samples") / "Privilege Escalation" / "Sysmon_UACME_64.evtx"
CHUNK = 65536
HEADER = 4096


def read_all(reader: EvtxReader | FileReader) -> tuple[list[Event], list[DeadLetter]]:
    events: list[Event] = []
    dead: list[DeadLetter] = []
    with reader:
        for step in reader.batches():
            events.extend(step.batch.events)
            dead.extend(step.batch.dead_letters)
    return events, dead


def evtx_reader(path: Path, batch_records: int = 1000) -> EvtxReader:
    return EvtxReader(path, LABELS, UTC, batch_records=batch_records)


@pytest.fixture
def sample(shared_dir: Path, tmp_path: Path) -> Path:
    """A copy of a real Sysmon log, in a folder whose name has a space and '&'."""
    folder = tmp_path / "Lateral Movement & Co"
    folder.mkdir()
    copy = folder / SAMPLE.name
    shutil.copyfile(shared_dir / SAMPLE, copy)
    return copy


# --- real logs -------------------------------------------------------------------------------


def test_every_shared_evtx_file_reads_with_few_dead_letters(shared_dir: Path) -> None:
    paths = sorted(
        [
            *(shared_dir / "evtx-attack-samples").rglob("*.evtx"),
            *(shared_dir / "sigma" / "regression_data").rglob("*.evtx"),
        ]
    )
    assert len(paths) >= 370
    records = 0
    dead_letters: list[DeadLetter] = []
    started = time.monotonic()
    for path in paths:
        events, dead = read_all(evtx_reader(path))
        assert events or dead, path
        records += len(events) + len(dead)
        dead_letters.extend(dead)
    elapsed = time.monotonic() - started
    assert records >= 8000
    assert len(dead_letters) < records / 100
    assert all(letter.reason for letter in dead_letters)
    assert elapsed < 120, f"reading {records} records took {elapsed:.1f} s"


def test_events_carry_the_source_labels_file_path_and_record(sample: Path) -> None:
    events, dead = read_all(evtx_reader(sample))
    assert (len(events), dead) == (530, [])
    first = events[0]
    assert first.fields["log.file.path"] == str(sample)
    assert first.fields["labels.system"] == "mot-cua"
    assert first.fields["organization.name"] == "So KHCN"
    assert first.fields["event.module"] == "sysmon"
    original = first.fields["event.original"]
    assert isinstance(original, str)
    assert (
        json.loads(original)["Event"]["System"]["EventRecordID"]
        == (first.fields["winlog.record_id"])
    )
    assert len({event.id for event in events}) == 530


def test_the_same_records_in_two_copies_get_the_same_ids(sample: Path, tmp_path: Path) -> None:
    other = tmp_path / "export-2.evtx"
    shutil.copyfile(sample, other)
    first, _ = read_all(evtx_reader(sample))
    second, _ = read_all(evtx_reader(other))
    assert [event.id for event in first] == [event.id for event in second]


def test_batches_hold_at_most_batch_records_and_the_last_reports_the_whole_file(
    sample: Path,
) -> None:
    with evtx_reader(sample, batch_records=100) as reader:
        steps = list(reader.batches())
    assert all(len(step.batch.events) + len(step.batch.dead_letters) <= 100 for step in steps)
    assert sum(step.batch.lines for step in steps) == 530
    done = [step.bytes_done for step in steps]
    assert done == sorted(done)
    assert done[-1] == sample.stat().st_size


# --- damaged files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [HEADER + 100, HEADER + CHUNK // 2, HEADER + CHUNK + 1000, HEADER + 3 * CHUNK + 7],
)
def test_a_truncated_copy_gives_what_it_can(sample: Path, tmp_path: Path, cut: int) -> None:
    whole, _ = read_all(evtx_reader(sample))
    truncated = tmp_path / "truncated.evtx"
    truncated.write_bytes(sample.read_bytes()[:cut])
    events, dead = read_all(evtx_reader(truncated))
    assert len(events) < len(whole)
    whole_ids = {event.id for event in whole}
    assert all(event.id in whole_ids for event in events)
    assert all(letter.reason and letter.path == str(truncated) for letter in dead)


def test_a_clobbered_chunk_is_a_dead_letter_and_reading_goes_on(
    sample: Path, tmp_path: Path
) -> None:
    data = bytearray(sample.read_bytes())
    data[HEADER : HEADER + 8] = b"garbage!"  # the first chunk's signature
    broken = tmp_path / "broken.evtx"
    broken.write_bytes(bytes(data))
    events, dead = read_all(evtx_reader(broken))
    assert dead
    assert all(letter.reason.startswith("evtx: ") for letter in dead)
    assert all(isinstance(letter.line_number, int) for letter in dead)
    assert 0 < len(events) < 530


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    flips=st.lists(
        st.tuples(st.integers(0, HEADER + 4 * CHUNK - 1), st.integers(0, 7)),
        min_size=1,
        max_size=40,
    )
)
def test_bit_flips_never_crash(sample: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(sample.read_bytes())
    for position, bit in flips:
        data[position] ^= 1 << bit
    flipped = sample.with_name("flipped.evtx")
    flipped.write_bytes(bytes(data))
    result = read_or_refusal(flipped)
    if isinstance(result, str):
        # Only a damaged file header stops the read, and the message says so.
        assert "EVTX" in result
    else:
        events, dead = result
        assert all(letter.reason for letter in dead)
        assert all(event.timestamp.tzinfo is not None for event in events)


def read_or_refusal(path: Path) -> tuple[list[Event], list[DeadLetter]] | str:
    """Events and dead letters, or the CollectorError's message; anything else propagates."""
    try:
        return read_all(evtx_reader(path))
    except CollectorError as error:
        return str(error)


# --- not EVTX ----------------------------------------------------------------------------------


def test_a_text_file_is_not_an_evtx_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text("Nov 24 08:15:02 web01 sshd[1]: hello\n", encoding="utf-8")
    with pytest.raises(CollectorError, match=r"auth\.log is not an EVTX file"):
        evtx_reader(path)


def test_an_empty_file_is_not_an_evtx_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.evtx"
    path.write_bytes(b"")
    with pytest.raises(CollectorError, match="is not an EVTX file"):
        evtx_reader(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match=r"cannot read .*nope\.evtx: No such file"):
        evtx_reader(tmp_path / "nope.evtx")


def test_a_cut_header_is_a_collector_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.evtx"
    path.write_bytes(EVTX_MAGIC + b"\x00" * 20)
    with pytest.raises(CollectorError, match="cannot read its EVTX header"):
        evtx_reader(path)


def test_a_header_without_chunks_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "new.evtx"
    path.write_bytes(EVTX_MAGIC + b"\x00" * (HEADER - len(EVTX_MAGIC)))
    with evtx_reader(path) as reader:
        steps = list(reader.batches())
    assert [(s.batch.lines, s.bytes_done) for s in steps] == [(0, HEADER)]


def test_is_evtx() -> None:
    assert is_evtx(b"ElfFile\x00\x00\x00")
    assert not is_evtx(b"ElfFile")
    assert not is_evtx(b"{")


# --- FileReader ------------------------------------------------------------------------------


def file_reader(path: Path, format: str) -> FileReader:
    return FileReader(path, format=format, labels=LABELS, timezone=UTC)


def test_file_reader_recognises_evtx_by_its_signature(sample: Path) -> None:
    renamed = sample.with_name("Security.log")  # the name does not matter, the bytes do
    sample.rename(renamed)
    with file_reader(renamed, "auto") as reader:
        assert reader.detected_format() == "evtx"
    events, dead = read_all(file_reader(renamed, "auto"))
    direct, _ = read_all(evtx_reader(renamed))
    assert (len(events), dead) == (530, [])
    assert [e.id for e in events] == [e.id for e in direct]


def test_file_reader_with_format_evtx_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"@timestamp": "2026-11-24T01:00:00Z"}\n', encoding="utf-8")
    with file_reader(path, "evtx") as reader, pytest.raises(CollectorError, match="not an EVTX"):
        list(reader.batches())


def test_file_reader_recognises_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "portal.jsonl"
    lines = [
        '{"@timestamp":"2026-11-24T01:15:02Z","source":{"ip":"203.113.131.5"}}',
        "not json",
        '{"@timestamp":"2026-11-24T01:15:03Z","winlog":{"channel":"Security","event_id":4625}}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with file_reader(path, "auto") as reader:
        assert reader.detected_format() == "json"
    events, dead = read_all(file_reader(path, "auto"))
    assert [event.fields["event.original"] for event in events] == [lines[0], lines[2]]
    assert events[0].fields["source.ip"] == "203.113.131.5"
    assert events[1].fields["event.outcome"] == "failure"
    assert all(event.fields["log.file.path"] == str(path) for event in events)
    assert [(letter.line_number, letter.reason.split(":")[0]) for letter in dead] == [(2, "json")]


class _StuckRecords:
    """Records that fail at the same damaged spot on every call, as bit flips once made the
    evtx parser do (a Rust iterator, unlike a generator, is not finished by raising)."""

    def __iter__(self) -> "_StuckRecords":
        return self

    def __next__(self) -> dict[str, object]:
        raise RuntimeError("failed to parse chunk header")


class _StuckParser:
    def records_json(self) -> Iterator[dict[str, object]]:
        return _StuckRecords()


def test_a_parser_stuck_on_one_damaged_spot_ends_the_read_with_a_dead_letter(
    sample: Path,
) -> None:
    reader = evtx_reader(sample)
    reader._parser = _StuckParser()  # type: ignore[assignment]
    events, dead = read_all(reader)
    assert events == []
    assert len(dead) == MAX_ERRORS_IN_A_ROW + 1
    assert "in a row" in dead[-1].reason
