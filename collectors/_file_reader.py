"""`FileReader`: one complete read of a log file, for `canhgac ingest` and `canhgac parse`.

Line formats go through a parser line by line; `evtx` (given, or recognised by its
signature under "auto") is handed to `EvtxReader`, and `pcap` (pcap and pcapng captures,
likewise) to `CaptureReader`.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from canhgac.collectors._capture_reader import PCAP_FORMAT, CaptureReader
from canhgac.collectors._directives import reads_directives, take_directive
from canhgac.collectors._event_builder import EventBuilder, SourceLabels
from canhgac.collectors._evtx_reader import EVTX_MAGIC, EvtxReader, is_evtx
from canhgac.collectors._gzip_stream import GzipStream, is_gzip
from canhgac.collectors._line_reader import ByteSource, fingerprint, read_lines
from canhgac.collectors._one_shot_reader import OneShotReader
from canhgac.collectors._pcap_format import is_capture
from canhgac.collectors._read_progress import CollectorError, ReadProgress
from canhgac.events import DeadLetter, Event
from canhgac.parsers import ParseContext, detect_format, get_parser
from canhgac.pipeline import CollectedBatch

EVTX_FORMAT = "evtx"
"""The format name of Windows .evtx files, which are read by `EvtxReader`, not by lines."""


class FileReader(OneShotReader):
    """Reads a whole file through a parser. `format` is a parser name, "evtx", "pcap" or
    "auto"."""

    def __init__(
        self,
        path: Path,
        *,
        format: str,
        labels: SourceLabels,
        timezone: tzinfo,
        hostname: str | None = None,
        batch_lines: int = 1000,
    ) -> None:
        self.format = format
        self.labels = labels
        self.timezone = timezone
        self.hostname = hostname
        self.batch_lines = batch_lines
        super().__init__(path, 2)

    def _begin(self, head: bytes) -> None:
        # A gzip-compressed file (a rotated app.log.1.gz) is read as its decompressed lines.
        self._gzip = GzipStream(self._handle) if is_gzip(head) else None
        self._lines: ByteSource = self._gzip or self._handle
        self._handle.seek(0)

    def detected_format(self) -> str | None:
        """The format to use: the configured one, or for "auto" "evtx" when the file starts
        with the EVTX signature, "pcap" for a pcap or pcapng signature, else the parser
        that recognizes its first lines."""
        if self.format != "auto":
            return self.format
        self._handle.seek(0)
        head = self._handle.read(max(len(EVTX_MAGIC), 4))
        if is_evtx(head):
            return EVTX_FORMAT
        if is_capture(head):
            return PCAP_FORMAT
        sample, _ = read_lines(self._lines, 0, final=True, max_lines=20)
        return detect_format(line.data.decode("utf-8", "replace") for line in sample)

    def batches(self) -> Iterator[ReadProgress]:
        name = self.detected_format()
        if name is None:
            raise CollectorError(f"{self.path}: cannot tell its log format; pass --format")
        if name == EVTX_FORMAT:
            with EvtxReader(
                self.path,
                self.labels,
                self.timezone,
                hostname=self.hostname,
                batch_records=self.batch_lines,
            ) as reader:
                yield from reader.batches()
            return
        if name == PCAP_FORMAT:
            with CaptureReader(self.path, self.labels, batch_packets=self.batch_lines) as capture:
                yield from capture.batches()
            return
        mtime = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        builder = EventBuilder(
            get_parser(name),
            self.labels,
            ParseContext(mtime, self.timezone, self.hostname),
            origin=f"file:{fingerprint(self._lines, final=True)}",
            path=str(self.path),
        )
        offset, line = 0, 0
        while True:
            lines, offset = read_lines(self._lines, offset, final=True, max_lines=self.batch_lines)
            if not lines:
                if self._gzip is not None and self._gzip.damage is not None:
                    raise CollectorError(
                        f"{self.path}: {self._gzip.damage}; the {line} lines before it were read"
                    )
                return
            events: list[Event] = []
            dead: list[DeadLetter] = []
            directives = reads_directives(builder.parser)
            for raw in lines:
                line += 1
                if directives and take_directive(builder, raw.data, line, dead):
                    continue
                built = builder.build(raw.data, raw.offset, line)
                if isinstance(built, Event):
                    events.append(built)
                else:
                    dead.append(built)
            batch = CollectedBatch(self.labels.source, events, dead, (), len(lines))
            done = offset if self._gzip is None else min(self._gzip.compressed_position, self.size)
            yield ReadProgress(batch, done)
