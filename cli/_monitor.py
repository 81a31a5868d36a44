"""`canhgac monitor rebaseline`: accept a portal's current page as its new baseline."""

from datetime import UTC, datetime
from pathlib import Path

import click

from canhgac.cli._options import config_option, settings_with
from canhgac.collectors import rebaseline_checkpoint_name
from canhgac.config import PortalMonitorSourceConfig
from canhgac.service import open_store
from canhgac.storage import Checkpoint, WriteBatch


@click.group()
def monitor() -> None:
    """Manage the portal monitor (sources of `type: portal_monitor`)."""


@monitor.command()
@click.argument("source")
@click.argument("targets", nargs=-1)
@config_option
def rebaseline(source: str, targets: tuple[str, ...], config_path: Path | None) -> None:
    """Take the next page fetched of each TARGET (all of SOURCE's when none is named) as
    its new baseline, approving the defacement markers it shows.

    Run it after a legitimate redesign of a portal; a running `canhgac run` picks the
    request up at its next check of the target."""
    settings = settings_with(config_path)
    config = next(
        (
            s
            for s in settings.sources
            if isinstance(s, PortalMonitorSourceConfig) and s.name == source
        ),
        None,
    )
    if config is None:
        known = [s.name for s in settings.sources if isinstance(s, PortalMonitorSourceConfig)]
        raise click.BadParameter(
            f"no portal_monitor source named {source!r} in the configuration; "
            f"known: {', '.join(known) or 'none'}",
            param_hint="SOURCE",
        )
    names = [target.name for target in config.targets]
    unknown = [name for name in targets if name not in names]
    if unknown:
        raise click.BadParameter(
            f"{source} has no target {', '.join(unknown)}; its targets: {', '.join(names)}",
            param_hint="TARGETS",
        )
    chosen = list(targets) or names
    requested = {"requested_at": datetime.now(UTC).isoformat()}
    store = open_store(settings)
    try:
        store.write(
            WriteBatch(
                checkpoints=tuple(
                    Checkpoint(rebaseline_checkpoint_name(source, name), requested)
                    for name in chosen
                )
            )
        )
    finally:
        store.close()
    click.echo(
        f"{source}: the next check of {', '.join(chosen)} takes a new baseline "
        f"(requested {requested['requested_at']})."
    )
