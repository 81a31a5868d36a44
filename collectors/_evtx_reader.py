"""`EvtxReader`: the records of a Windows .evtx file, normalized to ECS, in batches.

Records are read with the `evtx` package (the Rust `evtx` crate) as JSON and normalized
by `canhgac.parsers.normalize_windows_event`. A chunk or record the crate cannot read, or
a record that does not normalize, becomes a dead letter with the reason, and reading goes
on with the next one: a damaged log gives what can still be read of it.
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import evtx
import orjson

from canhgac.collectors._event_builder import SourceLabels
from canhgac.collectors._one_shot_reader import OneShotReader
from canhgac.collectors._read_progress import CollectorError, ReadProgress
from canhgac.events import DeadLetter, Event, event_id, make_event
from canhgac.parsers import (
    ParseContext,
    ParseError,
    normalize_windows_event,
    windows_event_origin,
)
from canhgac.pipeline import CollectedBatch

EVTX_MAGIC = b"ElfFile\x00"
"""The first eight bytes of every .evtx file."""

# The crate reports damage as RuntimeError, a file it cannot read as OSError, bad text
# encodings as ValueError.
_EVTX_ERRORS = (RuntimeError, OSError, ValueError)
# The evtx parser can report the same damaged spot again and again without moving on:
# past this many errors in a row with no record read, the rest of the file is given up.
MAX_ERRORS_IN_A_ROW = 64


def is_evtx(head: bytes) -> bool:
    """Whether a file's first bytes are the EVTX signature."""
    return head.startswith(EVTX_MAGIC)


class EvtxReader(OneShotReader):
    """Reads a whole .evtx file; raises CollectorError for a file that is not EVTX."""

    def __init__(
        self,
        path: Path,
        labels: SourceLabels,
        timezone: tzinfo,
        *,
        hostname: str | None = None,
        batch_records: int = 1000,
    ) -> None:
        self.labels = labels
        self.timezone = timezone
        self.hostname = hostname
        self.batch_records = batch_records
        super().__init__(path, len(EVTX_MAGIC))

    def _begin(self, head: bytes) -> None:
        if not is_evtx(head):
            raise CollectorError(
                f"{self.path} is not an EVTX file (it does not start with 'ElfFile'); "
                "pass another --format"
            )
        try:
            self._handle.seek(0)
            # One thread: the pipeline has its own, and one is fast enough (~100k records/s).
            self._parser = evtx.PyEvtxParser(self._handle, 1)
        except _EVTX_ERRORS as exc:
            raise CollectorError(f"{self.path}: cannot read its EVTX header: {exc}") from exc

    def batches(self) -> Iterator[ReadProgress]:
        """Events and dead letters, `batch_records` records at a time; the last batch
        reports the whole file done."""
        mtime = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        context = ParseContext(mtime, self.timezone, self.hostname)
        records = self._parser.records_json()
        events: list[Event] = []
        dead: list[DeadLetter] = []
        done = 0
        number = 0
        failures_in_a_row = 0
        while True:
            try:
                item = next(records)
            except StopIteration:
                break
            except _EVTX_ERRORS as exc:
                # No record came out; name the one after the last read as where it broke.
                failures_in_a_row += 1
                if failures_in_a_row > MAX_ERRORS_IN_A_ROW:
                    reason = (
                        f"evtx: {MAX_ERRORS_IN_A_ROW} unreadable records in a row; the rest "
                        "of the file was not read (the file is damaged there)"
                    )
                    dead.append(self._dead("", number + 1, reason))
                    break
                dead.append(self._dead("", number + 1, f"evtx: {exc}"))
            else:
                failures_in_a_row = 0
                number = _record_number(item, number)
                built = self._build(item, number, context)
                if isinstance(built, Event):
                    events.append(built)
                else:
                    dead.append(built)
            if len(events) + len(dead) >= self.batch_records:
                done = max(done, min(self._handle.tell(), self.size))
                yield ReadProgress(self._batch(events, dead), done)
                events, dead = [], []
        yield ReadProgress(self._batch(events, dead), self.size)

    def _build(self, item: Any, number: int, context: ParseContext) -> Event | DeadLetter:
        data = item.get("data") if isinstance(item, Mapping) else None
        if not isinstance(data, str):
            return self._dead("", number, "evtx: record without JSON data")
        try:
            record = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return self._dead(data, number, f"evtx: record is not valid JSON: {exc}")
        try:
            parsed = normalize_windows_event(record, context)
        except ParseError as exc:
            return self._dead(data, number, f"windows: {exc}")
        original = parsed.fields["event.original"]
        assert isinstance(original, str)  # normalize_windows_event always sets it
        origin, position = windows_event_origin(parsed.fields)
        return make_event(
            id=event_id(origin, position, original),
            timestamp=parsed.timestamp,
            fields=parsed.fields,
            original=original,
            path=str(self.path),
            system=self.labels.system,
            organization=self.labels.organization,
            owned=parsed.without_none,
        )

    def _batch(self, events: list[Event], dead: list[DeadLetter]) -> CollectedBatch:
        return CollectedBatch(self.labels.source, events, dead, (), len(events) + len(dead))

    def _dead(self, raw: str, number: int, reason: str) -> DeadLetter:
        return DeadLetter(
            source=self.labels.source,
            reason=reason,
            raw=raw,
            received_at=datetime.now(UTC),
            path=str(self.path),
            line_number=number,
        )


def _record_number(item: Any, previous: int) -> int:
    """The record's number in the file, from the crate; the next one when it gives none."""
    number = item.get("event_record_id") if isinstance(item, Mapping) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else previous + 1
