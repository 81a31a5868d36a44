"""`canhgac rules list` and `canhgac rules health`."""

from collections.abc import Sequence
from pathlib import Path

import click

from canhgac.cli._options import config_option, settings_with
from canhgac.cli._reading import ReadStats, format_option, open_readers, read_batches
from canhgac.collectors import SourceLabels
from canhgac.correlator import Correlator, RuleHealth
from canhgac.service import load_ruleset

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
