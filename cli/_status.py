"""`canhgac status`: per-source loss accounting, read from the configured store."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from canhgac.cli._options import config_option, settings_with
from canhgac.config import Settings
from canhgac.service import open_store
from canhgac.storage import SourceCounters, SourceCountersReport, Store

IDENTITY = "received = parsed + dead-lettered + duplicates + aggregated"
"""What "nothing lost" means for a source; `dropped` must also be 0."""


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@config_option
def status(as_json: bool, config_path: Path | None) -> int:
    """Show what each source delivered, and whether anything was lost.

    Per source: records received, parsed into events, dead-lettered (stored with the
    reason), duplicates (stored before), aggregated (packets folded into a flow's
    event), dropped before they could be read (UDP), late (too old for correlation
    windows; still stored), and the newest event. Nothing was lost when, for every
    source, received = parsed + dead-lettered + duplicates + aggregated and nothing was
    dropped. Reads the configured store (SQLite or Elasticsearch).
    """
    settings = settings_with(config_path)
    with _reading_store(settings) as store:
        report = SourceCountersReport.of(()) if store is None else store.source_counters()
    if as_json:
        click.echo(orjson.dumps(report_document(report, settings.storage)).decode())
        return 0
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped or captured: no terminal width to fit
    if report.sources:
        console.print(counters_table(report))
    else:
        console.print("No source has delivered anything to this store yet.")
    for line in loss_lines(report):
        console.print(line, markup=False, highlight=False)
    return 0


@contextmanager
def _reading_store(settings: Settings) -> Iterator[Store | None]:
    """The configured store, opened to read; None for a SQLite file not created yet."""
    if settings.storage == "sqlite" and not settings.database_path.exists():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="canhgac-status-") as spool:
        # Elasticsearch gets a spool folder of its own, which stays empty: a running
        # service holds the configured one.
        reading = (
            settings
            if settings.storage == "sqlite"
            else settings.model_copy(update={"data_dir": Path(spool)})
        )
        store = open_store(reading)
        try:
            yield store
        finally:
            store.close()


# -- what is shown (pure) ------------------------------------------------------------------


def loss_lines(report: SourceCountersReport) -> list[str]:
    """The verdict: one "nothing lost" line, or one line per source that lost records."""
    lines: list[str] = []
    for counters in report.sources:
        if counters.unaccounted:
            lines.append(
                f"{counters.source}: {counters.unaccounted:+d} record(s) unaccounted for: "
                f"received {counters.received} != parsed {counters.parsed} + dead-lettered "
                f"{counters.dead_lettered} + duplicates {counters.duplicates} + aggregated "
                f"{counters.aggregated}"
            )
        if counters.dropped:
            lines.append(
                f"{counters.source}: {counters.dropped} record(s) dropped before they could "
                "be read (the kernel's UDP buffer was full)"
            )
    if not lines:
        subject = "every source" if report.sources else "no source yet"
        lines.append(f"Nothing lost: {IDENTITY} for {subject}, and nothing was dropped.")
    return lines


def report_document(report: SourceCountersReport, store: str) -> dict[str, Any]:
    """`canhgac status --json`."""
    return {
        "store": store,
        "identity": IDENTITY,
        "nothing_lost": all(counters.nothing_lost for counters in report.sources),
        "sources": [_counters_document(counters) for counters in report.sources],
        "totals": _counters_document(report.totals),
    }


def _counters_document(counters: SourceCounters) -> dict[str, Any]:
    return {
        "source": counters.source,
        "received": counters.received,
        "parsed": counters.parsed,
        "dead_lettered": counters.dead_lettered,
        "duplicates": counters.duplicates,
        "aggregated": counters.aggregated,
        "dropped": counters.dropped,
        "late": counters.late,
        "unaccounted": counters.unaccounted,
        "nothing_lost": counters.nothing_lost,
        "last_event": _time_text(counters.last_event),
        "last_batch": _time_text(counters.last_batch),
    }


def counters_table(report: SourceCountersReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("source", overflow="fold")
    # Only sources of packets aggregate: the column is left out when it is all zeros.
    names = ["received", "parsed", "dead_lettered", "duplicates", "dropped", "late"]
    if report.totals.aggregated:
        names.insert(4, "aggregated")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right", no_wrap=True)
    table.add_column("last event (UTC)", no_wrap=True)
    rows = list(report.sources)
    if len(rows) > 1:
        rows.append(report.totals)
    for counters in rows:
        table.add_row(
            counters.source,
            *(f"{getattr(counters, name):,}" for name in names),
            _time_text(counters.last_event, seconds=True) or "-",
            end_section=counters is report.sources[-1] and len(rows) > 1,
        )
    return table


def _time_text(moment: datetime | None, *, seconds: bool = False) -> str | None:
    """ISO 8601 in UTC with a Z (the store reads times back in UTC)."""
    if moment is None:
        return None
    if seconds:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat().replace("+00:00", "Z")
