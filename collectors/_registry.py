"""Which collector reads which kind of configured source."""

from collections.abc import Callable
from datetime import tzinfo
from typing import Protocol

from canhgac.collectors._file_tailer import FileTailer
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
    return ("file",)


def build_collector(
    config: SourceConfig,
    *,
    load_checkpoint: Callable[[str], Checkpoint | None],
    submit: Callable[[CollectedBatch], None],
    timezone: tzinfo,
    batch_lines: int,
) -> Collector:
    if config.type == "file":
        return FileTailer(
            config,
            load_checkpoint=load_checkpoint,
            submit=submit,
            timezone=timezone,
            batch_lines=batch_lines,
        )
    raise ValueError(f"unknown source type {config.type!r}; known: {', '.join(collector_types())}")
