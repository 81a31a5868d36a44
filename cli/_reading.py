"""Reading files for one-shot commands (ingest, parse, hunt): paths, formats, progress."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from canhgac.collectors import EVTX_FORMAT, PCAP_FORMAT, CollectorError, FileReader, SourceLabels
from canhgac.config import Settings
from canhgac.parsers import parser_names
from canhgac.pipeline import CollectedBatch

FORMATS = ("auto", *parser_names(), EVTX_FORMAT, PCAP_FORMAT)

format_option = click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help=(
        "Log format of the files; auto recognises it from the first lines "
        "(.evtx, pcap and pcapng by their signatures, JSON lines by a leading '{')."
    ),
)


@dataclass(slots=True)
class ReadStats:
    """Files that could not be read at all (each already reported on stderr)."""

    failed_files: int = 0


def print_error(message: str, *, prefix: bool = True) -> None:
    click.echo(f"canhgac: error: {message}" if prefix else message, err=True)


def expand_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given; folders as the files below them, sorted, hidden ones skipped."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def open_readers(
    paths: Sequence[Path],
    format_: str,
    labels: SourceLabels,
    settings: Settings,
    stats: ReadStats,
) -> list[FileReader]:
    """A reader per file; a path that cannot be opened is one line on stderr."""
    readers: list[FileReader] = []
    for path in expand_paths(paths):
        try:
            readers.append(
                FileReader(
                    path,
                    format=format_,
                    labels=labels,
                    timezone=settings.zone,
                    batch_lines=settings.pipeline.batch_size,
                )
            )
        except CollectorError as exc:
            print_error(str(exc))
            stats.failed_files += 1
    return readers


def read_batches(
    readers: Sequence[FileReader], stats: ReadStats, label: str
) -> Iterator[tuple[FileReader, CollectedBatch]]:
    """Every batch of every reader, with a progress bar on a terminal; a file that fails
    midway is reported and counted, and the next one is read."""
    with _progress(sum(r.size for r in readers), label) as advance:
        for reader in readers:
            with reader:
                done = 0
                try:
                    for step in reader.batches():
                        yield reader, step.batch
                        advance(step.bytes_done - done)
                        done = step.bytes_done
                except CollectorError as exc:
                    print_error(str(exc))
                    stats.failed_files += 1


@contextmanager
def _progress(total_bytes: int, label: str) -> Iterator[Callable[[int], None]]:
    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total_bytes)
        yield lambda n: progress.advance(task, n)
