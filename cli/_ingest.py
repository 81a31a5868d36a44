"""`canhgac ingest` and `canhgac parse`: one-shot reads of log files (text, JSON lines, .evtx)."""

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from canhgac.cli._options import config_option, settings_with
from canhgac.collectors import EVTX_FORMAT, CollectorError, FileReader, SourceLabels
from canhgac.config import Settings
from canhgac.correlator import Correlator
from canhgac.incidents import IncidentGrouper
from canhgac.parsers import parser_names
from canhgac.pipeline import BatchOutcome, IngestPipeline
from canhgac.service import load_ruleset, open_store

_FORMATS = ["auto", *parser_names(), EVTX_FORMAT]
_format = click.option(
    "--format",
    "format_",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help=(
        "Log format of the files; auto recognises it from the first lines "
        "(.evtx by its signature, JSON lines by a leading '{')."
    ),
)
_paths = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False)
)


@dataclass(slots=True)
class IngestSummary:
    files: int = 0
    failed_files: int = 0
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    alerts: int = 0
    incidents: int = 0
    incidents_updated: int = 0

    def add(self, outcome: BatchOutcome) -> None:
        self.lines += outcome.lines
        self.events += outcome.events
        self.duplicates += outcome.duplicates
        self.dead_letters += outcome.dead_letters
        self.alerts += outcome.alerts
        self.incidents += outcome.new_incidents
        self.incidents_updated += outcome.updated_incidents


@click.command()
@_paths
@_format
@click.option(
    "--system", default=None, help="Provincial system the logs come from (labels.system)."
)
@click.option("--org", default=None, help="Agency the logs belong to (organization.name).")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the counts.")
@config_option
def ingest(
    paths: tuple[Path, ...],
    format_: str,
    system: str | None,
    org: str | None,
    as_json: bool,
    config_path: Path | None,
) -> int:
    """Read log files once through the parsers, correlator and store.

    Lines read before (by an earlier ingest or by `canhgac run`) are recognised and not
    stored or alerted on twice. Exits 1 if any path could not be read.
    """
    settings = settings_with(config_path)
    labels = SourceLabels("ingest", system, org)
    readers, failed = _open_readers(paths, format_, labels, settings)
    summary = IngestSummary(files=len(readers), failed_files=failed)
    store = open_store(settings)
    try:
        pipeline = IngestPipeline(
            store, Correlator(load_ruleset(settings)), IncidentGrouper(settings.incidents.window)
        )
        with _progress(sum(r.size for r in readers)) as advance:
            for reader in readers:
                with reader:
                    try:
                        done = 0
                        for step in reader.batches():
                            summary.add(pipeline.process(step.batch))
                            advance(step.bytes_done - done)
                            done = step.bytes_done
                    except CollectorError as exc:
                        _error(str(exc))
                        summary.failed_files += 1
    finally:
        store.close()
    click.echo(
        f"{summary.files} file(s), {summary.lines} lines: {summary.events} new events, "
        f"{summary.duplicates} seen before, {summary.dead_letters} dead letters; "
        f"{summary.alerts} alerts, {summary.incidents} new incidents, "
        f"{summary.incidents_updated} updated"
    )
    if as_json:
        click.echo(orjson.dumps(asdict(summary)).decode())
    return 1 if summary.failed_files else 0


@click.command()
@_paths
@_format
@click.option("--system", default=None, help="Value for labels.system.")
@click.option("--org", default=None, help="Value for organization.name.")
@config_option
def parse(
    paths: tuple[Path, ...],
    format_: str,
    system: str | None,
    org: str | None,
    config_path: Path | None,
) -> int:
    """Print what canhgac makes of log files: one ECS JSON event per line; nothing is stored.

    Lines that cannot be parsed are reported on stderr as PATH:LINE: reason (for .evtx
    files, PATH:RECORD: reason). Exits 1 if any path could not be read.
    """
    settings = settings_with(config_path)
    readers, failed = _open_readers(paths, format_, SourceLabels("parse", system, org), settings)
    out = sys.stdout.buffer
    for reader in readers:
        with reader:
            try:
                for step in reader.batches():
                    for event in step.batch.events:
                        out.write(orjson.dumps(event.to_ecs(), option=orjson.OPT_APPEND_NEWLINE))
                    for dead in step.batch.dead_letters:
                        _error(f"{dead.path}:{dead.line_number}: {dead.reason}", prefix=False)
            except CollectorError as exc:
                _error(str(exc))
                failed += 1
    out.flush()
    return 1 if failed else 0


def _open_readers(
    paths: Sequence[Path], format_: str, labels: SourceLabels, settings: Settings
) -> tuple[list[FileReader], int]:
    readers: list[FileReader] = []
    failed = 0
    for path in _expand(paths):
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
            _error(str(exc))
            failed += 1
    return readers, failed


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
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


@contextmanager
def _progress(total_bytes: int) -> Iterator[Callable[[int], None]]:
    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("ingest", total=total_bytes)
        yield lambda n: progress.advance(task, n)


def _error(message: str, *, prefix: bool = True) -> None:
    click.echo(f"canhgac: error: {message}" if prefix else message, err=True)
