"""`canhgac rules list`, `health`, `lucene` and `backtest`."""

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click
import orjson

from canhgac.cli._options import config_option, settings_with
from canhgac.cli._reading import ReadStats, format_option, open_readers, read_batches
from canhgac.collectors import SourceLabels
from canhgac.correlator import Alert, Correlator, RuleHealth
from canhgac.scheduled import (
    LuceneRuleConverter,
    ScheduledDetection,
    ScheduledError,
    StoredEventWindow,
)
from canhgac.service import load_ruleset, open_store
from canhgac.storage import ElasticsearchStore

_TITLE_WIDTH = 60


@click.group()
def rules() -> None:
    """Inspect the Sigma rules canhgac loads."""


@rules.command("list")
@config_option
def list_rules(config_path: Path | None) -> int:
    """List the loaded rules, then every skipped rule with its reason.

    Exits 1 if any rule was skipped.
    """
    ruleset = load_ruleset(settings_with(config_path))
    infos = [r.info for r in ruleset.rules] + [c.info for c in ruleset.correlations]
    for info in infos:
        click.echo(f"{info.severity:<13} {info.rule_id}  {info.title}")
    for error in ruleset.errors:
        click.echo(f"skipped: {error}", err=True)
    loaded = len(ruleset.rules) + len(ruleset.correlations)
    click.echo(f"{loaded} rules loaded, {len(ruleset.errors)} skipped", err=True)
    return 1 if ruleset.errors else 0


@rules.command("health")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
@config_option
def rules_health(paths: tuple[Path, ...], format_: str, config_path: Path | None) -> int:
    """Show each rule's health, after running the rules over EVENTS_PATH files (if any).

    One line per rule: id, title, level, events routed to it, matches, last match,
    the fields it reads that no routed event carried, and a note (why it was skipped,
    that no events are routed to its logsource, or that it cannot fire on the routed
    events). Nothing is stored. Exits 1 if an events file could not be read.
    """
    settings = settings_with(config_path)
    correlator = Correlator(load_ruleset(settings))
    stats = ReadStats()
    readers = open_readers(paths, format_, SourceLabels("rules-health"), settings, stats)
    events = 0
    for _, batch in read_batches(readers, stats, "rules health"):
        correlator.process(batch.events)
        events += len(batch.events)
    lines = correlator.health()
    for row in health_table(lines):
        click.echo(row)
    skipped = sum(1 for line in lines if line.kind == "skipped")
    click.echo(
        f"{len(lines) - skipped} rules loaded, {skipped} skipped; "
        f"{events} events from {len(readers)} file(s)",
        err=True,
    )
    return 1 if stats.failed_files else 0


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def health_table(lines: Sequence[RuleHealth]) -> list[str]:
    """The health lines as text rows under a header, columns separated by two spaces."""
    header = (
        "RULE ID",
        "TITLE",
        "LEVEL",
        "ROUTED",
        "MATCHES",
        "LAST MATCH",
        "NEVER-SEEN FIELDS",
        "NOTE",
    )
    rows = [header]
    for line in lines:
        last = line.last_match.isoformat(timespec="seconds") if line.last_match else "-"
        rows.append(
            (
                line.rule_id or "-",
                _cell(line.title or line.path or "-", _TITLE_WIDTH),
                str(line.level) if line.level is not None else line.kind,
                str(line.events),
                str(line.matches),
                last,
                ", ".join(line.never_seen) or "-",
                line.note or "",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 2)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), *row[-2:]]
        ).rstrip()
        for row in rows
    ]


@rules.command("lucene")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@config_option
def rules_lucene(paths: tuple[Path, ...], config_path: Path | None) -> int:
    """Print the Elasticsearch Lucene query of each rule in RULE_PATH files or folders.

    Converted by pySigma's Lucene backend with canhgac's logsource pipeline, as scheduled
    detection does. A rule that cannot convert gets the reason instead of a query; a
    rule that converts but reads fields the store does not index (scheduled detection
    then evaluates it in-process) gets a note after its query. Exits 1 if a rule
    could not be converted.
    """
    settings = settings_with(config_path)
    converter = LuceneRuleConverter(
        placeholders=settings.rules.placeholders,
        searchable=ElasticsearchStore.searchable_field,
    )
    failed = 0
    for query in converter.convert_paths(list(paths)):
        name = query.title or "(no title)"
        click.echo(f"# {name} ({query.rule_id or '-'}) {query.path}")
        if query.query is None:
            failed += 1
            click.echo(f"# cannot convert: {query.fallback}")
        else:
            click.echo(query.query)
            if query.fallback is not None:
                click.echo(f"# note: {query.fallback}")
    return 1 if failed else 0


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise click.BadParameter(
            f"{text!r} is not an ISO time; write e.g. 2026-11-24T08:00:00+07:00", param_hint=option
        ) from err
    if moment.utcoffset() is None:
        raise click.BadParameter(
            f"{text!r} has no time zone; add one, e.g. {text}+07:00 or {text}Z", param_hint=option
        )
    return moment


@rules.command("backtest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--from", "start", required=True, help="Start of the range (ISO, with zone).")
@click.option("--to", "end", required=True, help="End of the range, excluded (ISO, with zone).")
@click.option("--jsonl", is_flag=True, help="One JSON object per alert on stdout.")
@config_option
def rules_backtest(
    paths: tuple[Path, ...], start: str, end: str, jsonl: bool, config_path: Path | None
) -> int:
    """Print the alerts the rules in RULE_PATH would have raised over the stored events
    from --from up to --to.

    Runs as scheduled detection does (Lucene queries on Elasticsearch where they can,
    in-process otherwise) on the configured store. Nothing is written: no alerts, no
    incidents. How each rule ran is printed on stderr.
    """
    settings = settings_with(config_path)
    try:
        window = StoredEventWindow(_moment(start, "--from"), _moment(end, "--to"))
    except ScheduledError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from exc
    store = open_store(settings)
    try:
        detection = ScheduledDetection.from_settings(settings, store, paths=list(paths))
        for error in detection.ruleset.errors:
            click.echo(f"skipped: {error}", err=True)
        for plan in detection.plan:
            how = "lucene" if plan.query is not None else f"in-process ({plan.why_in_process})"
            click.echo(f"{plan.rule_id}  {plan.title}: {how}", err=True)
        result = detection.alerts_between(window)
    finally:
        store.close()
    for rule_id, reason in result.failed_queries:
        click.echo(
            f"{rule_id}: Elasticsearch refused the query ({reason}); ran in-process", err=True
        )
    out = sys.stdout.buffer
    for alert in result.alerts:
        if jsonl:
            out.write(orjson.dumps(_alert_json(alert), option=orjson.OPT_APPEND_NEWLINE))
        else:
            click.echo(
                f"{alert.timestamp.isoformat()}  {alert.severity:<13} {alert.rule_title}  "
                f"{_entities(alert)}  events: {', '.join(alert.event_ids)}"
            )
    out.flush()
    click.echo(f"{len(result.alerts)} alerts from {window}", err=True)
    return 0


def _entities(alert: Alert) -> str:
    return ", ".join(f"{field}={value}" for field, value in alert.entities) or "-"


def _alert_json(alert: Alert) -> dict[str, object]:
    return {
        "id": alert.id,
        "@timestamp": alert.timestamp.isoformat(),
        "rule_id": alert.rule_id,
        "rule_title": alert.rule_title,
        "level": alert.severity.value,
        "entities": [list(entity) for entity in alert.entities],
        "event_ids": list(alert.event_ids),
        "system": alert.system,
        "organization": alert.organization,
    }
