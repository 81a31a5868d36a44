"""Collectors: read sources (files now; syslog, captures and more later) into batches.

One-shot reads: `FileReader` (line formats, and .evtx through `EvtxReader`).
"""

from canhgac.collectors._event_builder import MAX_LINE_BYTES, EventBuilder, SourceLabels
from canhgac.collectors._evtx_reader import EVTX_MAGIC, EvtxReader, is_evtx
from canhgac.collectors._file_reader import EVTX_FORMAT, FileReader
from canhgac.collectors._file_tailer import FileTailer
from canhgac.collectors._line_reader import RawLine, fingerprint, read_lines
from canhgac.collectors._read_progress import CollectorError, ReadProgress
from canhgac.collectors._registry import Collector, build_collector, collector_types

__all__ = [
    "EVTX_FORMAT",
    "EVTX_MAGIC",
    "MAX_LINE_BYTES",
    "Collector",
    "CollectorError",
    "EventBuilder",
    "EvtxReader",
    "FileReader",
    "FileTailer",
    "RawLine",
    "ReadProgress",
    "SourceLabels",
    "build_collector",
    "collector_types",
    "fingerprint",
    "is_evtx",
    "read_lines",
]
