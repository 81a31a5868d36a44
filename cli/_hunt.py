"""`canhgac hunt`: Sigma rules over files, as analysts do with Chainsaw, Hayabusa or Zircolite.

Nothing is stored: events are read (EVTX, JSON lines, access and auth logs), run through
the same correlator as `canhgac run`, and every match is printed.
"""

import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from canhgac.cli._options import config_option, settings_with
from canhgac.cli._reading import ReadStats, format_option, open_readers, print_error, read_batches
from canhgac.collectors import SourceLabels
from canhgac.correlator import Alert, Correlator, RuleSet, literal_scanner, load_rules
from canhgac.events import Event
from canhgac.parsers import evtx_flattening

RULE_SUFFIXES = frozenset({".yml", ".yaml"})
# Evidence of correlation alerts may point at events of earlier batches: remember this many.
_REMEMBERED_EVENTS = 200_000


@dataclass(frozen=True, slots=True)
class HuntMatch:
    rule_id: str
    rule_title: str
    level: str
    path: str | None
    record_id: int | None
    timestamp: str
    event_id: str | None
    host: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "level": self.level,
            "path": self.path,
            "record_id": self.record_id,
            "@timestamp": self.timestamp,
            "event_id": self.event_id,
            "host": self.host,
        }


def split_rule_and_event_paths(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Rule paths are YAML files and folders holding only YAML; the rest are events."""
    rules: list[Path] = []
    events: list[Path] = []
    for path in paths:
        if path.is_dir():
            suffixes = {p.suffix.lower() for p in path.rglob("*") if p.is_file()}
            is_rules = bool(suffixes & RULE_SUFFIXES) and not (
                suffixes & {".evtx", ".json", ".jsonl", ".log"}
            )
            (rules if is_rules else events).append(path)
        else:
            (rules if path.suffix.lower() in RULE_SUFFIXES else events).append(path)
    return rules, events


def match_of(alert: Alert, event: Event | None) -> HuntMatch:
    def text(name: str) -> str | None:
        value = event.get(name) if event else None
        return None if value is None else str(value)

    record = event.get("winlog.record_id") if event else None
    return HuntMatch(
        rule_id=alert.rule_id,
        rule_title=alert.rule_title,
        level=alert.severity.value,
        path=text("log.file.path"),
        record_id=record if isinstance(record, int) else None,
        timestamp=alert.timestamp.isoformat().replace("+00:00", "Z"),
        event_id=text("winlog.event_id") or text("event.code"),
        host=text("host.name"),
    )


class _RecentEvents:
    """The last events read, by id, so an alert can name its file and record."""

    def __init__(self, limit: int) -> None:
        self._events: OrderedDict[str, Event] = OrderedDict()
        self._limit = limit

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            self._events[event.id] = event
        while len(self._events) > self._limit:
            self._events.popitem(last=False)

    def get(self, event_id: str) -> Event | None:
        return self._events.get(event_id)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@format_option
@click.option("--jsonl", is_flag=True, help="One JSON object per match on stdout.")
@click.option(
    "--stats", "show_stats", is_flag=True, help="Rules, skips, events and events/s on stderr."
)
@config_option
def hunt(
    paths: tuple[Path, ...],
    format_: str,
    jsonl: bool,
    show_stats: bool,
    config_path: Path | None,
) -> int:
    """Run Sigma rules over event files: canhgac hunt RULES_PATH... EVENTS_PATH...

    RULES_PATH: Sigma YAML files or folders of them. EVENTS_PATH: .evtx files, JSON lines
    (ECS, Winlogbeat, or flat Windows fields), access or auth logs, or folders of them.
    Prints a table of matches, or with --jsonl one JSON object per match. Exits 1 if a
    path could not be read.
    """
    settings = settings_with(config_path)
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print_error(f"cannot read {path}: No such file or directory")
    rule_paths, event_paths = split_rule_and_event_paths([p for p in paths if p.exists()])
    if not rule_paths or not event_paths:
        raise click.UsageError(
            "give at least one rules path (.yml or a folder of them) and one events path"
        )
    started = time.perf_counter()
    ruleset = load_rules(rule_paths, bundled=False)
    loaded = time.perf_counter() - started
    stats = ReadStats(failed_files=len(missing))
    readers = open_readers(event_paths, format_, SourceLabels("hunt"), settings, stats)
    correlator = Correlator(ruleset)
    recent = _RecentEvents(_REMEMBERED_EVENTS)
    matches: list[HuntMatch] = []
    events_read = 0
    hunting = time.perf_counter()
    out = sys.stdout.buffer
    for _, batch in read_batches(readers, stats, "hunt"):
        events_read += len(batch.events)
        recent.add(batch.events)
        for alert in correlator.process(batch.events):
            match = match_of(alert, recent.get(alert.event_ids[-1]) if alert.event_ids else None)
            if jsonl:
                out.write(orjson.dumps(match.to_json(), option=orjson.OPT_APPEND_NEWLINE))
            else:
                matches.append(match)
    elapsed = time.perf_counter() - hunting
    out.flush()
    if not jsonl:
        _print_table(matches)
    if show_stats:
        _print_stats(ruleset, loaded, events_read, elapsed, stats)
    return 1 if stats.failed_files else 0


def _print_table(matches: Sequence[HuntMatch]) -> None:
    # Off a terminal (a pipe, a file) rich assumes 80 columns; a report wants whole lines.
    console = Console() if sys.stdout.isatty() else Console(width=240)
    if not matches:
        console.print("no matches")
        return
    table = Table("time", "level", "rule", "host", "event", "record", "file")
    for m in sorted(matches, key=lambda m: m.timestamp):
        table.add_row(
            m.timestamp,
            m.level,
            m.rule_title,
            m.host or "",
            m.event_id or "",
            "" if m.record_id is None else str(m.record_id),
            m.path or "",
        )
    console.print(table)
    console.print(f"{len(matches)} matches")


def _print_stats(
    ruleset: RuleSet, load_seconds: float, events: int, seconds: float, stats: ReadStats
) -> None:
    err = Console(stderr=True)
    loaded = len(ruleset.rules) + len(ruleset.correlations)
    err.print(
        f"rules loaded: {loaded} in {load_seconds:.1f} s; skipped: {len(ruleset.errors)}; "
        f"literal scan: {literal_scanner()}; evtx flattening: {evtx_flattening()}"
    )
    for error in ruleset.errors:
        err.print(f"  skipped {error.path}: {error.reason}", markup=False, highlight=False)
    rate = events / seconds if seconds > 0 else 0.0
    err.print(
        f"events read: {events} in {seconds:.2f} s ({rate:,.0f} events/s); "
        f"unreadable files: {stats.failed_files}"
    )
