"""Which collector reads which kind of configured source."""

from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Protocol

from canhgac.collectors._file_tailer import FileTailer
from canhgac.collectors._live_capture import InterfaceCapture
from canhgac.collectors._portal_monitor import PortalMonitor
from canhgac.collectors._read_progress import CollectorError
from canhgac.collectors._syslog_receiver import SyslogReceiver
from canhgac.config import SourceConfig
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint


class Collector(Protocol):
    """A running source. `start` opens what it listens on (a socket, a capture); `poll`,
    called every `poll_interval` seconds by the scheduler, reads or drains what is new and
    submits batches; `close` stops it and frees what it holds."""

    @property
    def name(self) -> str: ...

    @property
    def poll_interval(self) -> float: ...

    def start(self) -> None: ...

    def poll(self) -> int: ...

    def close(self) -> None: ...


def collector_types() -> tuple[str, ...]:
    """The `type:` values a source may have in the configuration."""
    return ("file", "portal_monitor", "syslog", "capture")


def build_collector(
    config: SourceConfig,
    *,
    load_checkpoint: Callable[[str], Checkpoint | None],
    submit: Callable[[CollectedBatch], None],
    timezone: tzinfo,
    batch_lines: int,
    data_dir: Path | None = None,
) -> Collector:
    """The collector of a configured source; `data_dir` holds the syslog spool unless the
    source sets `spool_dir`."""
    if config.type == "file":
        return FileTailer(
            config,
            load_checkpoint=load_checkpoint,
            submit=submit,
            timezone=timezone,
            batch_lines=batch_lines,
        )
    if config.type == "portal_monitor":
        return PortalMonitor(config, load_checkpoint=load_checkpoint, submit=submit)
    if config.type == "syslog":
        spool_dir = config.spool_dir
        if spool_dir is None:
            if data_dir is None:
                raise CollectorError(
                    f"syslog source {config.name} needs a spool folder: set its spool_dir"
                )
            spool_dir = data_dir / "syslog-spool" / config.name
        return SyslogReceiver(
            config,
            load_checkpoint=load_checkpoint,
            submit=submit,
            timezone=timezone,
            batch_lines=batch_lines,
            spool_dir=spool_dir,
        )
    if config.type == "capture":
        return InterfaceCapture(
            config, load_checkpoint=load_checkpoint, submit=submit, batch_packets=batch_lines
        )
    raise ValueError(f"unknown source type {config.type!r}; known: {', '.join(collector_types())}")
