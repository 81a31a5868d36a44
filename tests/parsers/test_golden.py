"""Hand-written golden files: golden/<format>_<case>.log beside the expected fields.

Each <case>.json holds one object per line of <case>.log: every ECS field the line must
give (tuples as JSON lists) plus "@timestamp" in ISO form with the logged offset, or
{"error": "..."}, a part of the ParseError message the line must raise. All files are
read in one context: reference time 2026-11-24 23:59:59 at UTC+7, zone UTC+7.
"""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from canhgac.parsers import ParseContext, ParseError, get_parser

GOLDEN = Path(__file__).parent / "golden"
ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 23, 59, 59, tzinfo=ICT), timezone=ICT)


def _lines(path: Path) -> list[str]:
    # split("\n"), not splitlines(): a line may end in a space that must survive.
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _cases() -> list[tuple[str, int, str, dict[str, Any]]]:
    cases = []
    for log in sorted(GOLDEN.glob("*.log")):
        lines = _lines(log)
        expected = json.loads(log.with_suffix(".json").read_text(encoding="utf-8"))
        assert len(lines) == len(expected), (
            f"{log.name}: {len(lines)} lines, {len(expected)} expected"
        )
        for number, (line, want) in enumerate(zip(lines, expected, strict=True), start=1):
            cases.append((log.stem, number, line, want))
    return cases


CASES = _cases()


def test_golden_files_cover_every_format() -> None:
    formats = {case.split("_")[0] for case, _, _, _ in CASES}
    assert formats == {"nginx", "apache", "auth", "syslog"}


@pytest.mark.parametrize(
    ("case", "number", "line", "want"), CASES, ids=[f"{c}:{n}" for c, n, _, _ in CASES]
)
def test_golden_line(case: str, number: int, line: str, want: dict[str, Any]) -> None:
    parser = get_parser(case.split("_")[0])
    if "error" in want:
        with pytest.raises(ParseError) as raised:
            parser.parse(line, CONTEXT)
        assert want["error"] in str(raised.value)
        return
    record = parser.parse(line, CONTEXT)
    assert not any(isinstance(value, list) for value in record.fields.values())
    got: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in record.fields.items()
    }
    got["@timestamp"] = record.timestamp.isoformat()
    assert got == want
