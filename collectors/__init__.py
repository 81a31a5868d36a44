"""Collectors: read sources (files now; syslog, captures and more later) into batches."""

from canhgac.collectors._event_builder import MAX_LINE_BYTES, EventBuilder, SourceLabels
from canhgac.collectors._file_reader import CollectorError, FileReader, ReadProgress
from canhgac.collectors._file_tailer import FileTailer
from canhgac.collectors._line_reader import RawLine, fingerprint, read_lines
from canhgac.collectors._registry import Collector, build_collector, collector_types

__all__ = [
    "MAX_LINE_BYTES",
    "Collector",
    "CollectorError",
    "EventBuilder",
    "FileReader",
    "FileTailer",
    "RawLine",
    "ReadProgress",
    "SourceLabels",
    "build_collector",
    "collector_types",
    "fingerprint",
    "read_lines",
]
