"""One-shot reads of gzip-compressed rotated logs and of IIS / W3C files with headers."""

import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from canhgac.collectors import CollectorError, FileReader, SourceLabels
from canhgac.events import DeadLetter, Event
from tests.conftest import REPO, run_canhgac

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PORTAL = REPO / "samples" / "portal-access.log"
# The portal sample holds one deliberately truncated line (line 151).
PORTAL_BROKEN_LINE = 151

IIS = """#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2026-11-24 01:00:00
#Fields: date time c-ip cs-method cs-uri-stem sc-status
2026-11-24 01:00:03 203.113.7.9 GET /dvc 200
2026-11-24 01:00:04 203.113.7.9 GET /dvc/thu-tuc 404
#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status time-taken
2026-11-24 01:05:00 198.51.100.23 GET /tra-cuu q=1 200 15
2026-11-24 01:05:01 198.51.100.23 GET /tra-cuu - 200 -
"""


def read_all(
    path: Path, format: str = "auto", batch_lines: int = 1000
) -> tuple[list[Event], list[DeadLetter]]:
    events: list[Event] = []
    dead: list[DeadLetter] = []
    with FileReader(
        path, format=format, labels=SourceLabels("test"), timezone=ZONE, batch_lines=batch_lines
    ) as reader:
        for step in reader.batches():
            events.extend(step.batch.events)
            dead.extend(step.batch.dead_letters)
    return events, dead


def compressed(tmp_path: Path, data: bytes, name: str = "portal-access.log.1.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data))
    return path


def test_a_gzip_file_reads_as_the_plain_one_with_the_same_event_ids(tmp_path: Path) -> None:
    plain_events, plain_dead = read_all(PORTAL)
    events, dead = read_all(compressed(tmp_path, PORTAL.read_bytes()), batch_lines=7)
    assert [e.id for e in events] == [e.id for e in plain_events]
    assert [d.line_number for d in dead] == [PORTAL_BROKEN_LINE]
    assert [d.reason for d in dead] == [d.reason for d in plain_dead]
    assert events[0].get("log.file.path") == str(tmp_path / "portal-access.log.1.gz")


def test_concatenated_gzip_members_are_read_one_after_the_other(tmp_path: Path) -> None:
    lines = PORTAL.read_bytes().splitlines(keepends=True)
    path = tmp_path / "two.log.gz"
    path.write_bytes(gzip.compress(b"".join(lines[:40])) + gzip.compress(b"".join(lines[40:])))
    events, dead = read_all(path, format="nginx")
    assert len(events) + len(dead) == len(lines)


def read_until_error(path: Path) -> tuple[list[Event], int, CollectorError | None]:
    """The events read, how many lines were read, and the error that ended the read."""
    events: list[Event] = []
    lines = 0
    with FileReader(path, format="nginx", labels=SourceLabels("t"), timezone=ZONE) as reader:
        try:
            for step in reader.batches():
                events.extend(step.batch.events)
                lines += step.batch.lines
        except CollectorError as exc:
            return events, lines, exc
    return events, lines, None


def test_a_truncated_gzip_gives_the_lines_before_the_damage_then_an_error(
    tmp_path: Path,
) -> None:
    data = gzip.compress(PORTAL.read_bytes())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    events, lines, error = read_until_error(path)
    assert 20 < len(events) < len(PORTAL.read_bytes().splitlines())
    assert str(error) == (
        f"{path}: the compressed data ends early (truncated file); "
        f"the {lines} lines before it were read"
    )


def test_corrupt_gzip_data_is_an_error_after_what_could_be_read(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(PORTAL.read_bytes()))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "flipped.log.gz"
    path.write_bytes(bytes(data))
    events, _, error = read_until_error(path)
    assert error is not None
    assert "the compressed data is corrupt" in str(error)
    assert len(events) > 0


@pytest.mark.slow
def test_parse_reads_a_truncated_gzip_and_says_so_in_one_line(tmp_path: Path) -> None:
    data = gzip.compress(PORTAL.read_bytes())
    cut = tmp_path / "portal-access.log.2.gz"
    cut.write_bytes(data[: len(data) // 2])
    result = run_canhgac("parse", str(cut))
    errors = [line for line in result.stderr.splitlines() if line.startswith("canhgac: error:")]
    assert len(errors) == 1, result.stderr
    assert "ends early (truncated file)" in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout.count("\n") > 20


def test_w3c_directives_set_the_columns_of_the_lines_after_them(tmp_path: Path) -> None:
    path = tmp_path / "u_ex261124.log"
    path.write_text(IIS, encoding="utf-8")
    events, dead = read_all(path, batch_lines=3)
    assert dead == []
    assert [e.get("url.original") for e in events] == [
        "/dvc",
        "/dvc/thu-tuc",
        "/tra-cuu?q=1",
        "/tra-cuu",
    ]
    assert events[2].get("event.duration") == 15_000_000
    assert events[3].get("event.dataset") == "iis.access"


def test_w3c_in_a_gzip_file(tmp_path: Path) -> None:
    events, dead = read_all(compressed(tmp_path, IIS.encode(), "u_ex261123.log.gz"), "w3c")
    assert (len(events), len(dead)) == (4, 0)


def test_a_bad_w3c_directive_is_a_dead_letter_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "u_ex.log"
    path.write_text("#Fields:\n#Fields: date time c-ip\n2026-11-24 01:00:03 10.0.0.1\n")
    events, dead = read_all(path, format="w3c")
    assert [(d.line_number, d.reason) for d in dead] == [
        (1, "w3c: #Fields: directive names no field")
    ]
    assert [e.get("source.ip") for e in events] == ["10.0.0.1"]
