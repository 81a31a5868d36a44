"""`canhgac rules list`."""

from pathlib import Path

import click

from canhgac.cli._options import config_option, settings_with
from canhgac.service import load_ruleset


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
