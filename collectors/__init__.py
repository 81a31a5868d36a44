"""Collectors: read sources (files now; syslog, captures and more later) into batches.

One-shot reads: `FileReader` (line formats, .evtx through `EvtxReader`, pcap and pcapng
captures through `CaptureReader`; gzip-compressed files as their lines). `PortalMonitor`
checks provincial portals for downtime, slowness, TLS certificates and defacement.
"""

from canhgac.collectors._capture_reader import PCAP_FORMAT, CaptureReader
from canhgac.collectors._event_builder import MAX_LINE_BYTES, EventBuilder, SourceLabels
from canhgac.collectors._evtx_reader import EVTX_MAGIC, EvtxReader, is_evtx
from canhgac.collectors._file_reader import EVTX_FORMAT, FileReader
from canhgac.collectors._file_tailer import FileTailer
from canhgac.collectors._forward_spool import ForwardSpool
from canhgac.collectors._forwarder import ForwardingError, IngestForwarder
from canhgac.collectors._ingest_body import (
    DecodedIngest,
    IngestBodyError,
    IngestLineError,
    decode_ingest_body,
    encode_ingest_bodies,
)
from canhgac.collectors._line_reader import RawLine, fingerprint, read_lines
from canhgac.collectors._live_capture import InterfaceCapture
from canhgac.collectors._packet_events import PacketEvents
from canhgac.collectors._pcap_format import CaptureFormatError, is_capture
from canhgac.collectors._portal_checks import normalize_page, similarity
from canhgac.collectors._portal_monitor import (
    PortalMonitor,
    rebaseline_checkpoint_name,
    state_checkpoint_name,
)
from canhgac.collectors._read_progress import CollectorError, ReadProgress
from canhgac.collectors._registry import Collector, build_collector, collector_types
from canhgac.collectors._syslog_receiver import BoundListener, SyslogCounters, SyslogReceiver

__all__ = [
    "EVTX_FORMAT",
    "EVTX_MAGIC",
    "MAX_LINE_BYTES",
    "PCAP_FORMAT",
    "BoundListener",
    "CaptureFormatError",
    "CaptureReader",
    "Collector",
    "CollectorError",
    "DecodedIngest",
    "EventBuilder",
    "EvtxReader",
    "FileReader",
    "FileTailer",
    "ForwardSpool",
    "ForwardingError",
    "IngestBodyError",
    "IngestForwarder",
    "IngestLineError",
    "InterfaceCapture",
    "PacketEvents",
    "PortalMonitor",
    "RawLine",
    "ReadProgress",
    "SourceLabels",
    "SyslogCounters",
    "SyslogReceiver",
    "build_collector",
    "collector_types",
    "decode_ingest_body",
    "encode_ingest_bodies",
    "fingerprint",
    "is_capture",
    "is_evtx",
    "normalize_page",
    "read_lines",
    "rebaseline_checkpoint_name",
    "similarity",
    "state_checkpoint_name",
]
