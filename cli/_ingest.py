"""`canhgac ingest` and `canhgac parse`: one-shot reads of log files (text, JSON lines, .evtx)
and packet captures (pcap, pcapng)."""

import sys
from pathlib import Path

import click
import orjson

from canhgac.cli._options import config_option, settings_with
from canhgac.cli._reading import (
    ReadStats,
    format_option,
    open_readers,
    print_error,
    read_batches,
)
from canhgac.collectors import SourceLabels
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import IngestPipeline, OutcomeTotals
from canhgac.service import build_correlator, open_store
from canhgac.tuning import SETTINGS_CHECKPOINT, RuleTuning, settings_from_state

_paths = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False)
)


@click.command()
@_paths
@format_option
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
    stats = ReadStats()
    readers = open_readers(paths, format_, SourceLabels("ingest", system, org), settings, stats)
    totals = OutcomeTotals()
    store = open_store(settings)
    try:
        pipeline = IngestPipeline(
            store, build_correlator(settings, store), IncidentGrouper(settings.incidents.window)
        )
        # An admin's rule settings (disabled rules, levels, exceptions) apply here as in `run`.
        stored = store.checkpoint(SETTINGS_CHECKPOINT)
        if stored is not None:
            pipeline.tuning = RuleTuning(settings_from_state(stored.state))
        for _, batch in read_batches(readers, stats, "ingest"):
            totals.add(pipeline.process(batch))
    finally:
        store.close()
    click.echo(
        f"{len(readers)} file(s), {totals.lines} lines: {totals.events} new events, "
        f"{totals.duplicates} seen before, {totals.dead_letters} dead letters; "
        f"{totals.alerts} alerts, {totals.new_incidents} new incidents, "
        f"{totals.updated_incidents} updated"
    )
    if as_json:
        counts = {
            "files": len(readers),
            "failed_files": stats.failed_files,
            "lines": totals.lines,
            "events": totals.events,
            "duplicates": totals.duplicates,
            "dead_letters": totals.dead_letters,
            "alerts": totals.alerts,
            "incidents": totals.new_incidents,
            "incidents_updated": totals.updated_incidents,
        }
        click.echo(orjson.dumps(counts).decode())
    return 1 if stats.failed_files else 0


@click.command()
@_paths
@format_option
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
    files, PATH:RECORD: reason; for captures, PATH:PACKET: reason, and a damaged capture
    ends with one such line). Exits 1 if any path could not be read.
    """
    settings = settings_with(config_path)
    stats = ReadStats()
    readers = open_readers(paths, format_, SourceLabels("parse", system, org), settings, stats)
    out = sys.stdout.buffer
    for _, batch in read_batches(readers, stats, "parse"):
        for event in batch.events:
            out.write(orjson.dumps(event.to_ecs(), option=orjson.OPT_APPEND_NEWLINE))
        for dead in batch.dead_letters:
            print_error(f"{dead.path}:{dead.line_number}: {dead.reason}", prefix=False)
    out.flush()
    return 1 if stats.failed_files else 0
